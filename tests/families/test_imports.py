"""Bulk import of household lists: good, bad and mixed files, CSV and XLSX, dry runs and re-imports."""

import csv
import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook

from accounts.models import AuditEvent
from families.imports import TEMPLATE_COLUMNS, TEMPLATE_EXAMPLE, Outcome, family_import, template_csv
from families.models import DuplicateFlag, Family, Member

pytestmark = pytest.mark.django_db


def _row(household_id, given, father, relationship="head", **values):
    row = dict.fromkeys(TEMPLATE_COLUMNS, "")
    row.update(household_id=household_id, given_name=given, father_name=father, relationship=relationship)
    if relationship == "head":
        row.update(crossing_point="TORKHAM", arrival_date="2026-11-20", destination_province="AF-NAN")
    row.setdefault("sex", "M")
    row["sex"] = values.pop("sex", "M")
    row["age_years"] = values.pop("age_years", "30")
    row.update(values)
    return row


def _csv(rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TEMPLATE_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def _xlsx(rows) -> bytes:
    book = Workbook()
    book.active.append(TEMPLATE_COLUMNS)
    for row in rows:
        book.active.append([row[c] for c in TEMPLATE_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _report(result) -> list[dict]:
    return list(csv.DictReader(io.StringIO(result.report_csv().decode())))


GOOD = [
    _row(
        "A",
        "Gul",
        "Ahmad",
        sex="F",
        phone="0700 123 456",
        consent_to_share="yes",
        tazkira_number="1400-0101-1",
    ),
    _row("A", "Wali", "Gul", relationship="child", age_years="7"),
    _row("A", "Zarmina", "Gul", relationship="child", sex="F", date_of_birth="2019-05-01", age_years=""),
    _row("B", "Rahim", "Karim", crossing_point="SPIN_BOLDAK", destination_province="AF-KAN"),
    _row("B", "Bibi", "Nur", relationship="spouse", sex="F", vulnerabilities="pregnant_lactating"),
]


def test_good_file_registers_every_household_with_its_members(make_user):
    worker = make_user("case_worker")
    result = family_import(content=_csv(GOOD), filename="list.csv", imported_by=worker)

    assert result.summary | {"dry_run": None} == {
        "rows": 5, "households": 2, "registered": 2, "would_register": 0, "already_imported": 0,
        "not_imported": 0, "possible_duplicates": 0, "errors": 0, "dry_run": None,
    }  # fmt: skip
    a = Family.objects.get(case_number=result.households[0].case_number)
    assert a.case_number.startswith("TKM-2026-")
    assert (a.household_size, a.phone, a.consent_to_share, a.head_name) == (
        3,
        "+93700123456",
        True,
        "Gul Ahmad",
    )
    assert a.destination_province.code == "AF-NAN" and a.created_by == worker
    assert list(a.members.order_by("position").values_list("given_name", "relationship", "birth_year")) == [
        ("Gul", "head", 1996), ("Wali", "child", 2019), ("Zarmina", "child", 2019),
    ]  # fmt: skip
    assert a.members.get(given_name="Gul").tazkira_key == "140001011"
    b = Family.objects.get(case_number=result.households[1].case_number)
    assert b.case_number.startswith("SPB-2026-") and b.crossing_point.code == "SPIN_BOLDAK"
    assert b.vulnerabilities == ["pregnant_lactating"]
    # the audit trail has each family and the import itself
    created = AuditEvent.objects.filter(action="family.created", actor=worker)
    assert {e.target_id for e in created} == {str(a.pk), str(b.pk)}
    imported = AuditEvent.objects.get(action="families.imported")
    assert imported.data["registered"] == 2 and imported.data["file"] == "list.csv"


def test_case_numbers_continue_the_counter_of_single_registrations(make_user, register_family):
    single = register_family()
    result = family_import(content=_csv(GOOD[:3]), filename="l.csv", imported_by=make_user("case_worker"))
    prefix, year, number = single.case_number.rsplit("-", 2)
    assert result.households[0].case_number == f"{prefix}-{year}-{int(number) + 1:06d}"
    later = register_family()
    assert later.case_number == f"{prefix}-{year}-{int(number) + 2:06d}"


def test_reimporting_the_same_file_registers_nothing_twice(make_user):
    worker = make_user("case_worker")
    first = family_import(content=_csv(GOOD), filename="list.csv", imported_by=worker)
    # the same list again, as XLSX and with its rows in another order
    again = family_import(content=_xlsx(list(reversed(GOOD))), filename="list.xlsx", imported_by=worker)
    assert again.summary["registered"] == 0 and again.summary["already_imported"] == 2
    assert sorted(h.case_number for h in again.households) == sorted(h.case_number for h in first.households)
    assert Family.objects.count() == 2 and Member.objects.count() == 5


def test_bad_rows_are_reported_with_their_row_number_and_column(make_user):
    rows = [
        _row("A", "Gul", "Ahmad", crossing_point="NOWHERE"),
        _row("B", "", "Karim", sex="X"),
        _row("C", "Rahim", "Karim", arrival_date="20/11/2026"),
        _row("D", "Nur", "Ali", phone="12"),
        _row("E", "Nur", "Ali", age_years="two hundred"),
        _row("F", "Nur", "Ali", vulnerabilities="hungry"),
        _row("G", "Nur", "Ali", destination_province="AF-XXX"),
        _row("H", "Nur", "Ali", arrival_date="2099-01-01"),
        _row("", "No", "Household"),
    ]
    result = family_import(content=_csv(rows), filename="bad.csv", imported_by=make_user("case_worker"))
    errors = {(e.row, e.column): e.message for e in result.errors if e.column}
    assert errors[(2, "crossing_point")].startswith("Unknown crossing point 'NOWHERE'; use one of: ")
    assert errors[(3, "given_name")] == "Required."
    assert errors[(3, "sex")] == "Unknown sex 'X'; use one of: F, M."
    assert errors[(4, "arrival_date")] == "'20/11/2026' is not a date; use YYYY-MM-DD."
    assert errors[(5, "phone")] == "Enter a valid phone number, e.g. +93700123456."
    assert errors[(6, "age_years")] == "'two hundred' is not an age in years (0-120)."
    assert errors[(7, "vulnerabilities")].startswith("Unknown vulnerability 'hungry'")
    assert errors[(8, "destination_province")].startswith("Unknown province code 'AF-XXX'")
    assert errors[(9, "arrival_date")] == "Arrival date cannot be in the future."
    assert errors[(10, "household_id")] == "Required."
    assert result.summary["registered"] == 0 and result.summary["not_imported"] == 8
    assert Family.objects.count() == 0
    report = _report(result)
    assert [r["row"] for r in report] == sorted((r["row"] for r in report), key=int)
    assert {"row": "4", "household_id": "C", "outcome": "error", "case_number": "", "column": "arrival_date",
            "message": "'20/11/2026' is not a date; use YYYY-MM-DD."} in report  # fmt: skip


def test_mixed_file_imports_the_good_households_whole_and_leaves_bad_ones_whole(make_user):
    rows = [
        *GOOD[:3],
        _row("BAD", "Rahim", "Karim"),
        _row("BAD", "Bibi", "Nur", relationship="spouse", sex="F", date_of_birth="not a date", age_years=""),
        _row("TWO-HEADS", "Aziz", "Latif"),
        _row("TWO-HEADS", "Hamid", "Latif"),
        _row("NO-HEAD", "Sana", "Latif", relationship="child", crossing_point="TORKHAM", arrival_date="2026-11-20",
             destination_province="AF-NAN"),
        _row("MIXED", "Farid", "Nasir"),
        _row("MIXED", "Lina", "Farid", relationship="child", crossing_point="SPIN_BOLDAK", sex="F"),
    ]  # fmt: skip
    result = family_import(content=_csv(rows), filename="mixed.csv", imported_by=make_user("case_worker"))
    outcomes = {h.key: h.outcome for h in result.households}
    assert outcomes == {"A": Outcome.REGISTERED, "BAD": "not_imported", "TWO-HEADS": "not_imported",
                        "NO-HEAD": "not_imported", "MIXED": "not_imported"}  # fmt: skip
    # nothing of a bad household was saved, not even its good rows
    assert Family.objects.count() == 1 and Member.objects.count() == 3
    assert not Member.objects.filter(given_name__in=["Rahim", "Aziz", "Sana", "Farid"]).exists()
    messages = {(e.row, e.column): e.message for e in result.errors}
    assert messages[(6, "date_of_birth")] == "'not a date' is not a date; use YYYY-MM-DD."
    assert messages[(5, "")] == "Not imported: the household has errors in rows 6."
    assert messages[(7, "members")] == "Exactly one member must have relationship 'head' (found 2)."
    assert messages[(9, "members")] == "Exactly one member must have relationship 'head' (found 0)."
    assert messages[(11, "crossing_point")].startswith(
        "Differs from row 10 of the same household ('TORKHAM')"
    )


def test_dari_and_pashto_names_in_a_spreadsheet(make_user):
    rows = [
        _row("1", "محمد", "عبدالله", tazkira_number="۱۴۰۰-۰۱۰۱-۵۵۵۵۵", phone="۰۷۰۰۱۲۳۴۵۶"),
        _row("1", "فاطمه", "محمد", relationship="child", sex="F", age_years="۱۲"),
        _row("2", "ګل", "زلمی", sex="F", consent_to_share="هو"),  # Pashto letters; Pashto "yes"
        _row("2", "وږمه", "ګل", relationship="child", sex="F", age_years="3"),
        _row("3", "علي", "كريم", consent_to_share="نه"),  # Arabic code points for Persian ی and ک
    ]
    result = family_import(content=_xlsx(rows), filename="لیست.xlsx", imported_by=make_user("case_worker"))
    assert result.summary["registered"] == 3, result.errors
    one = Family.objects.get(case_number=result.households[0].case_number)
    assert one.head_name == "محمد عبدالله" and one.phone == "+93700123456"
    assert one.members.get(given_name="محمد").tazkira_key == "1400010155555"
    assert one.members.get(given_name="فاطمه").age_years == 12
    assert Family.objects.get(case_number=result.households[1].case_number).consent_to_share is True
    three = Family.objects.get(case_number=result.households[2].case_number)
    assert three.head_name == "علی کریم" and three.consent_to_share is False
    # the Latin spelling of the same head is found as a possible duplicate of the Arabic-script one
    again = family_import(
        content=_csv([_row("x", "Mohammad", "Abdullah", age_years="30")]), filename="l.csv",
        imported_by=make_user("case_worker"),
    )  # fmt: skip
    assert again.households[0].possible_duplicates == [one.case_number]


def test_possible_duplicates_in_the_registry_and_within_the_file_are_flagged(make_user, register_family):
    existing = register_family(given="Abdul Rahman", father="Mohammad", birth=date(1985, 3, 1))
    rows = [
        _row(
            "1", "Abdulrahman", "Muhammad", age_years=str(2026 - 1985)
        ),  # the registered head, spelled apart
        _row("2", "Nasima", "Jalal", sex="F", tazkira_number="5000-1"),
        _row("3", "Naseema", "Jalal", sex="F", tazkira_number="5000 1", age_years="31"),  # row 2's document
        _row("4", "Someone", "Else", phone="+93799000111"),
    ]
    result = family_import(content=_csv(rows), filename="d.csv", imported_by=make_user("case_worker"))
    assert result.summary["registered"] == 4 and result.summary["possible_duplicates"] == 2, result.errors
    one, two, three, four = result.households
    assert one.possible_duplicates == [existing.case_number]
    assert three.possible_duplicates == [two.case_number]  # the later row is flagged against the earlier
    assert two.possible_duplicates == [] and four.possible_duplicates == []
    flag = DuplicateFlag.objects.get(family__case_number=three.case_number)
    assert flag.candidate.case_number == two.case_number and flag.score == 100
    assert "same Tazkira number" in flag.reasons and flag.status == "open"
    assert DuplicateFlag.objects.get(family__case_number=one.case_number).candidate == existing
    report = {r["household_id"]: r for r in _report(result) if r["outcome"] == "registered"}
    assert report["3"]["message"] == f"Possible duplicate of {two.case_number}"


def test_dry_run_saves_nothing_and_says_what_would_happen(make_user, register_family):
    existing = register_family(given="Abdul Rahman", father="Mohammad", birth=date(1985, 3, 1))
    counters = list(
        __import__("families.models").models.CaseNumberCounter.objects.values_list("last", flat=True)
    )
    rows = [*GOOD, _row("X", "Abdulrahman", "Muhammad", age_years=str(2026 - 1985)), _row("Y", "", "")]
    result = family_import(
        content=_csv(rows), filename="l.csv", imported_by=make_user("case_worker"), dry_run=True
    )
    assert result.summary["would_register"] == 3 and result.summary["registered"] == 0
    assert result.summary["not_imported"] == 1 and result.summary["possible_duplicates"] == 1
    assert [h.possible_duplicates for h in result.households if h.key == "X"] == [[existing.case_number]]
    assert Family.objects.count() == 1 and DuplicateFlag.objects.count() == 0
    assert (
        not AuditEvent.objects.filter(action__in=["family.created", "families.imported"])
        .exclude(target_id=str(existing.pk))
        .exists()
    )
    from families.models import CaseNumberCounter

    assert list(CaseNumberCounter.objects.values_list("last", flat=True)) == counters
    # the preview's report has the outcomes, without case numbers
    report = _report(result)
    assert {r["outcome"] for r in report} == {"would_register", "not_imported", "error"}
    assert all(r["case_number"] == "" for r in report)
    # and the real import afterwards does what the preview said
    real = family_import(content=_csv(rows), filename="l.csv", imported_by=make_user("case_worker"))
    assert real.summary["registered"] == 3 and real.summary["possible_duplicates"] == 1


def test_file_level_problems_are_refused_with_a_clear_message(make_user, settings):
    worker = make_user("case_worker")
    with pytest.raises(ValidationError) as error:
        family_import(content=b"name,age\r\nGul,3\r\n", filename="x.csv", imported_by=worker)
    assert error.value.message_dict["file"] == [
        "The first row must name the columns; missing: household_id, crossing_point, arrival_date, "
        "destination_province, given_name, father_name, sex, relationship. Download the template."
    ]
    with pytest.raises(ValidationError) as error:
        family_import(
            content=",".join(TEMPLATE_COLUMNS).encode() + b"\r\n", filename="x.csv", imported_by=worker
        )
    assert error.value.message_dict["file"] == ["The file has no rows under its header."]
    settings.FAMILY_IMPORT_MAX_ROWS = 3
    with pytest.raises(ValidationError) as error:
        family_import(content=_csv(GOOD), filename="x.csv", imported_by=worker)
    assert error.value.message_dict["file"] == ["The file has more than 3 rows; split it."]
    assert Family.objects.count() == 0


def test_template_is_a_valid_import(make_user):
    result = family_import(
        content=template_csv(), filename="template.csv", imported_by=make_user("case_worker")
    )
    assert result.summary["registered"] == len({r[0] for r in TEMPLATE_EXAMPLE}) and not result.errors


def test_columns_in_any_order_extra_columns_ignored(make_user):
    rows = [{"Extra": "x", **_row("A", "Gul", "Ahmad")}]
    columns = ["Extra", *reversed(TEMPLATE_COLUMNS)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    result = family_import(
        content=buffer.getvalue().encode(), filename="x.csv", imported_by=make_user("admin")
    )
    assert result.summary["registered"] == 1
    assert Family.objects.get().arrival_date == date(2026, 11, 20)


def test_the_same_household_twice_in_one_list_is_registered_once(make_user):
    rows = [*GOOD[:3], *GOOD[:3]]
    rows[3:] = [{**r, "household_id": "A-again"} for r in rows[3:]]
    result = family_import(content=_csv(rows), filename="l.csv", imported_by=make_user("case_worker"))
    first, again = result.households
    assert (first.outcome, again.outcome) == ("registered", "already_imported")
    assert again.case_number == first.case_number and Family.objects.count() == 1


# --- the command ------------------------------------------------------------------------------------


def _manage(*args):
    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    except SystemExit as exc:
        return exc.code, out.getvalue(), err.getvalue()
    return 0, out.getvalue(), err.getvalue()


def test_command_imports_with_a_progress_bar_and_writes_the_report(make_user, tmp_path):
    make_user("case_worker", username="amina")
    path = tmp_path / "arrivals.csv"
    path.write_bytes(_csv(GOOD))
    status, out, err = _manage("importfamilies", str(path), "--user", "amina")
    assert status == 0, err
    assert "5 rows, 2 households: 2 registered, 0 already imported, 0 not imported (0 errors)" in out
    assert "2/2" in err and "households" in err  # tqdm's bar
    report = list(csv.DictReader((tmp_path / "arrivals-report.csv").open(encoding="utf-8")))
    assert [r["outcome"] for r in report] == ["registered", "registered"]
    assert {r["case_number"] for r in report} == set(Family.objects.values_list("case_number", flat=True))


def test_command_dry_run_and_errors_exit_2(make_user, tmp_path):
    make_user("case_worker", username="amina")
    path = tmp_path / "arrivals.csv"
    path.write_bytes(_csv([*GOOD, _row("Z", "", "Nobody")]))
    report = tmp_path / "out.csv"
    status, out, _ = _manage(
        "importfamilies", str(path), "--user", "amina", "--dry-run", "--report", str(report)
    )
    assert status == 2
    assert "2 would register" in out and "1 not imported (2 errors)" in out
    assert Family.objects.count() == 0
    assert any(r["row"] == "7" and r["column"] == "given_name" for r in csv.DictReader(report.open()))


def test_command_refuses_other_roles_unknown_users_and_unreadable_files(make_user, tmp_path):
    from django.core.management.base import CommandError

    make_user("finance", username="fatima")
    make_user("case_worker", username="amina")
    path = tmp_path / "l.csv"
    path.write_bytes(_csv(GOOD))
    with pytest.raises(
        CommandError, match="'fatima' is finance: only case workers and admins import families."
    ):
        _manage("importfamilies", str(path), "--user", "fatima")
    with pytest.raises(CommandError, match="No active user 'nobody'."):
        _manage("importfamilies", str(path), "--user", "nobody")
    with pytest.raises(CommandError, match="No such file"):
        _manage("importfamilies", str(tmp_path / "missing.csv"), "--user", "amina")
    path.write_bytes(b"\xff\xfe not text")
    with pytest.raises(CommandError, match="could not be read as UTF-8 CSV"):
        _manage("importfamilies", str(path), "--user", "amina")
    assert Family.objects.count() == 0


# --- the pages ----------------------------------------------------------------------------------------


def _upload(client, content, name="list.csv", dry_run=False):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content)}
    if dry_run:
        data["dry_run"] = "on"
    return client.post("/families/import/", data)


def test_page_preview_then_import_then_report(client, make_user):
    worker = make_user("case_worker")
    client.force_login(worker)
    assert client.get("/families/import/").status_code == 200
    template = client.get("/families/import/template.csv")
    assert template.status_code == 200 and template.content == template_csv()

    response = _upload(client, _csv([*GOOD, _row("Z", "", "Nobody")]), dry_run=True)
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.status_code == 200
    assert preview.context["import"].summary["would_register"] == 2 and Family.objects.count() == 0
    assert "Import this list" in preview.content.decode()

    applied = client.post(response["Location"] + "apply/")
    assert applied.status_code == 302 and applied["Location"] != response["Location"]
    done = client.get(applied["Location"])
    assert done.context["import"].summary["registered"] == 2 and Family.objects.count() == 2
    report = client.get(applied["Location"] + "report.csv")
    assert (
        report.status_code == 200
        and report["Content-Disposition"] == 'attachment; filename="list-report.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(report.content.decode())))
    assert {"row": "7", "household_id": "Z", "outcome": "error", "case_number": "", "column": "given_name",
            "message": "Required."} in rows  # fmt: skip


def test_page_refuses_bad_uploads_with_a_form_error(client, make_user, settings):
    client.force_login(make_user("case_worker"))
    response = _upload(client, b"%PDF-1.4", name="list.pdf")
    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["Upload a .csv or .xlsx file."]
    response = _upload(client, b"a,b\r\n1,2\r\n")
    assert response.status_code == 302  # stored, then failed with the reason shown
    failed = client.get(response["Location"]).context["import"]
    assert failed.status == "failed" and failed.error.startswith(
        "The first row must name the columns; missing:"
    )
    settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES = 100
    response = _upload(client, _csv(GOOD))
    assert response.context["form"].errors["file"] == ["The file is larger than 0 MB; split it."]
    assert Family.objects.count() == 0


def test_pages_are_for_case_workers_and_admins_and_each_sees_their_own(client, make_user):
    owner, other = make_user("case_worker"), make_user("case_worker")
    client.force_login(owner)
    location = _upload(client, _csv(GOOD))["Location"]
    for role in ("finance", "coordinator"):
        client.force_login(make_user(role))
        assert client.get("/families/import/").status_code == 403
        assert client.get(location).status_code == 403
    partner = make_user("partner")
    client.force_login(partner)
    assert client.get(location + "report.csv").status_code == 403
    client.force_login(other)
    assert client.get(location).status_code == 404 and client.get(location + "report.csv").status_code == 404
    client.force_login(make_user("admin"))
    assert client.get(location).status_code == 200


def test_large_list_goes_to_the_task_and_the_page_shows_progress(client, make_user, settings):
    settings.FAMILY_IMPORT_INLINE_BYTES = (
        10  # every list is "large": submitted to Celery (eager in unit tests)
    )
    client.force_login(make_user("case_worker"))
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        response = _upload(client, _csv(GOOD))
    queued = client.get(response["Location"])
    assert queued.context["import"].status == "queued"
    assert (
        '<meta http-equiv="refresh" content="2">' in queued.content.decode()
        and "<progress" in queued.content.decode()
    )
    assert Family.objects.count() == 0
    assert len(callbacks) == 1
    callbacks[0]()  # the task, run by the (eager) worker
    done = client.get(response["Location"]).context["import"]
    assert done.status == "done" and done.summary["registered"] == 2 and done.percent == 100
    assert Family.objects.count() == 2
