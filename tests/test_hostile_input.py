"""Hostile input: brute-forced logins, oversized / wrong / zip-bomb uploads on every upload endpoint, and
spreadsheet formulas smuggled in through a family's name into the exports finance and coordinators open."""

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from families.models import Family

pytestmark = [pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
INJECTION = "=cmd|' /C calc'!A0"


def _zip_bomb() -> bytes:
    """A valid-looking XLSX whose sheet inflates to 50 MB (about 50 KB on the wire)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (50 * 2**20))
    return buffer.getvalue()


# --- login brute force (django-axes) -------------------------------------------------------------------


def test_login_brute_force_is_locked_out_even_with_the_right_password(client, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("case_worker", username="amina", password="the-right-password-1")
    for _ in range(3):
        response = client.post("/accounts/login/", {"username": "amina", "password": "guess"})
        assert response.status_code in (200, 429)
    locked = client.post("/accounts/login/", {"username": "amina", "password": "the-right-password-1"})
    assert locked.status_code == 429  # locked: the right password no longer gets in
    assert "_auth_user_id" not in client.session
    other = client.post(
        "/accounts/login/", {"username": "amina", "password": "the-right-password-1"}, REMOTE_ADDR="10.9.9.9"
    )
    assert other.status_code == 302  # username + address: the person at another desk still gets in


# --- uploads -----------------------------------------------------------------------------------------------


def _finance_api(make_user, api_client):
    return api_client(make_user("finance"))


@pytest.mark.parametrize(
    ("name", "content", "status", "message"),
    [
        ("big.csv", b"reference,amount,status,paid_at\n" + b"x" * 400, 413, "larger than"),
        ("photo.png", PNG, 400, "reference,amount,status,paid_at"),
        ("statement.csv", b"MZ\x90\x00 this is a program", 400, "reference,amount,status,paid_at"),
        ("bomb.xlsx", None, 400, "once unpacked"),
    ],
)
def test_statement_upload_api_refuses_hostile_files(
    make_user, api_client, settings, name, content, status, message
):
    settings.RECONCILIATION_MAX_UPLOAD_BYTES = 300
    settings.SPREADSHEET_MAX_INFLATED_BYTES = 10 * 2**20
    if content is None:
        settings.RECONCILIATION_MAX_UPLOAD_BYTES = 10**6
        content = _zip_bomb()
    response = _finance_api(make_user, api_client).post(
        "/api/v1/reconciliations/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
    )
    assert response.status_code == status, response.content
    assert message in str(response.json())


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.csv", b"reference,amount,status,paid_at\n" + b"x" * 400, "too large"),
        ("photo.png", PNG, "reference,amount,status,paid_at"),
        ("bomb.xlsx", None, "once unpacked"),
    ],
)
def test_statement_upload_page_refuses_hostile_files(client, make_user, settings, name, content, message):
    from disbursements.models import Statement

    settings.RECONCILIATION_MAX_UPLOAD_BYTES = 300
    settings.SPREADSHEET_MAX_INFLATED_BYTES = 10 * 2**20
    if content is None:
        settings.RECONCILIATION_MAX_UPLOAD_BYTES = 10**6
        content = _zip_bomb()
    client.force_login(make_user("finance"))
    response = client.post("/statements/", {"file": SimpleUploadedFile(name, content)}, follow=True)
    assert response.status_code == 200
    assert message in " ".join(str(m) for m in response.context["messages"])
    assert not Statement.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.csv", b"household_id\n" + b"x" * 400, "larger than"),
        ("setup.exe", b"MZ\x90\x00", "Upload a .csv or .xlsx file."),
        ("photo.png", PNG, "Upload a .csv or .xlsx file."),
        ("bomb.xlsx", None, "once unpacked"),
    ],
)
def test_family_import_page_refuses_hostile_files(client, make_user, settings, name, content, message):
    settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES = 300
    settings.SPREADSHEET_MAX_INFLATED_BYTES = 10 * 2**20
    if content is None:
        settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES = 10**6
        content = _zip_bomb()
    client.force_login(make_user("case_worker"))
    response = client.post(
        "/families/import/", {"file": SimpleUploadedFile(name, content), "dry_run": "on"}, follow=True
    )
    page = response.content.decode()
    assert response.status_code in (200, 400)
    assert message in page.replace("&#x27;", "'"), page[-3000:]
    assert not Family.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.xlsx", b"PK\x03\x04" + b"x" * 400, "larger than"),
        ("list.csv", b"a,b\n", "Upload the .xlsx export of the form."),
        ("photo.xlsx", PNG, "could not be read as XLSX"),
        ("bomb.xlsx", None, "once unpacked"),
    ],
)
def test_kobo_export_upload_refuses_hostile_files(client, make_user, settings, name, content, message):
    from families.models import KoboForm

    settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES = 300
    settings.SPREADSHEET_MAX_INFLATED_BYTES = 10 * 2**20
    if content is None:
        settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES = 10**6
        content = _zip_bomb()
    form = KoboForm.objects.create(
        asset_uid="aHostile", name="f", members_group="g", import_as=make_user("case_worker")
    )
    client.force_login(make_user("case_worker"))
    response = client.post(
        "/families/import/kobo/", {"kobo_form": form.pk, "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert not Family.objects.exists()


def test_every_upload_in_the_code_is_one_tested_here():
    """A new file upload (form FileField, request.FILES, serializer FileField) must be added to these tests."""
    found = set()
    for app in ("accounts", "aidcase", "families", "disbursements", "referrals", "reports"):
        for path in (ROOT / app).rglob("*.py"):
            text = path.read_text()
            if "migrations" in path.parts:
                continue
            for marker in ("request.FILES", "FileField("):
                if marker in text:
                    found.add((path.relative_to(ROOT).as_posix(), marker, text.count(marker)))
    assert found == {
        ("families/forms.py", "FileField(", 2),  # FamilyImportForm, KoboExportForm
        ("families/views.py", "request.FILES", 2),  # the household list and KoBo pages
        ("disbursements/views.py", "request.FILES", 1),  # the statements page
        ("disbursements/apis.py", "FileField(", 1),  # POST /api/v1/reconciliations/
    }


# --- formula injection in exports --------------------------------------------------------------------------


def _register(register_family, **kwargs):
    from families.services import MemberInput

    return register_family(
        members=[
            MemberInput(
                given_name=INJECTION,
                father_name="+1+cmd|x",
                family_name="@SUM(1+1)",
                sex="F",
                relationship="head",
                date_of_birth=date(1990, 1, 1),
            )
        ],
        **kwargs,
    )


def test_formula_in_a_name_is_neutralised_in_the_payout_list_csv_and_xlsx(
    register_family, make_user, api_client
):
    from disbursements.services import batch_create, disbursement_approve, disbursement_request

    family = _register(register_family, phone="+93700123456")
    finance = make_user("finance")
    d = disbursement_request(family=family, requested_by=make_user("case_worker"))
    disbursement_approve(disbursement=d, approved_by=finance)
    batch = batch_create(channel="hawala", disbursement_ids=[d.pk], created_by=finance)
    client = api_client(finance)
    rows = list(
        csv.DictReader(io.StringIO(client.post(f"/api/v1/batches/{batch.pk}/export/").content.decode()))
    )
    assert rows[0]["name"] == "'" + INJECTION + " @SUM(1+1)"
    assert rows[0]["father_name"] == "'+1+cmd|x"
    assert rows[0]["phone"] == "+93700123456"  # a phone number is data, not a formula: left as it is
    sheet = load_workbook(io.BytesIO(client.get(f"/api/v1/batches/{batch.pk}/export.xlsx").content)).active
    cells = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c for c in cells if c[:1] in "=+-@" and c != "+93700123456"], cells
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


def test_formula_in_a_crossing_point_code_is_neutralised_in_the_situation_report(register_family):
    """The situation report carries no names; its text cells are codes of reference data that administrators
    add (crossing points, organizations). A hostile code must come out inert in the CSV and the XLSX."""
    from families.models import CrossingPoint
    from reports.situation import situation_report_generate

    CrossingPoint.objects.create(code=INJECTION, name="Hostile")
    _register(register_family, arrival=date(2026, 11, 18), crossing_point=INJECTION)
    report = situation_report_generate(kind="weekly", today=date(2026, 11, 23))
    rows = list(csv.reader(io.StringIO(bytes(report.csv).decode())))
    assert ["'" + INJECTION] == [c for row in rows for c in row if INJECTION in c]
    book = load_workbook(io.BytesIO(bytes(report.xlsx)))
    values = [c.value for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert "'" + INJECTION in values and INJECTION not in values
    assert all(c.data_type != "f" for sheet in book.worksheets for row in sheet.iter_rows() for c in row)


def test_every_spreadsheet_export_goes_through_the_neutralising_writer():
    """CSV and XLSX are written only by aidcase/core/spreadsheets.py (csv_bytes, xlsx_bytes)."""
    offenders = []
    for app in ("accounts", "aidcase", "families", "disbursements", "referrals", "reports"):
        for path in (ROOT / app).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() == "aidcase/core/spreadsheets.py":
                continue
            text = path.read_text()
            offenders += [
                f"{path.name}: {m}" for m in ("csv.writer", "csv.DictWriter", "Workbook(") if m in text
            ]
    assert not offenders
