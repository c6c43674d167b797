from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import AuditEvent
from disbursements.models import Disbursement, Discrepancy, Statement
from disbursements.reconciliation import discrepancy_resolve, statement_process, statement_upload
from disbursements.services import batch_create, batch_export, disbursement_approve, disbursement_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def exported_set(register_family, staff):
    """Six exported disbursements and one that was only requested."""
    exported = []
    for i in range(6):
        d = disbursement_request(
            family=register_family(given=f"Name{i}", father="Father"), requested_by=staff["worker"]
        )
        disbursement_approve(disbursement=d, approved_by=staff["finance"])
        exported.append(d)
    batch = batch_create(
        channel="hawala", disbursement_ids=[d.pk for d in exported], created_by=staff["finance"]
    )
    batch_export(batch=batch, exported_by=staff["finance"])
    requested = disbursement_request(
        family=register_family(given="Late", father="Comer"), requested_by=staff["worker"]
    )
    # D6 was exported long ago and is on no statement: it is missing.
    Disbursement.objects.filter(pk=exported[5].pk).update(exported_at=timezone.now() - timedelta(days=30))
    return [Disbursement.objects.get(pk=d.pk) for d in exported], requested


def statement_csv(exported, requested) -> bytes:
    d = [x.reference for x in exported]
    lines = [
        "reference,amount,status,paid_at",
        f"{d[0]},10000.00,paid,2026-11-21T10:00:00+04:30",  # 2 matched
        f"{d[1]},10000.00,failed,",  # 3 failed
        f"{d[2]},9000.00,paid,2026-11-21",  # 4 amount mismatch
        "NO-SUCH-REF,10000.00,paid,2026-11-21",  # 5 unknown
        f"{d[0]},10000.00,paid,2026-11-21",  # 6 duplicate of line 2
        f"{d[3]},ten thousand,paid,2026-11-21",  # 7 error: amount
        f"{d[4]},10000.00,paid,",  # 8 error: paid without paid_at
        "JUST-A-REFERENCE,1",  # 9 error: missing columns
        f"{requested.reference},10000.00,paid,2026-11-21",  # 10 error: never exported
        f"{d[4]},10000.00,paid,21/11/2026",  # 11 error: bad date
    ]
    return ("\n".join(lines) + "\n").encode()


def test_statement_counts_and_statuses(exported_set, staff):
    exported, requested = exported_set
    statement, created = statement_upload(
        content=statement_csv(exported, requested), filename="s.csv", uploaded_by=staff["finance"]
    )
    assert created
    statement = statement_process(statement_id=statement.pk)
    assert statement.status == "done"
    counts = {
        k: getattr(statement, k)
        for k in ("matched", "failed", "amount_mismatch", "unknown_reference", "duplicate_line", "missing")
    }
    assert counts == {
        "matched": 1,
        "failed": 1,
        "amount_mismatch": 1,
        "unknown_reference": 1,
        "duplicate_line": 1,
        "missing": 1,
    }
    assert [e["line"] for e in statement.errors] == [7, 8, 9, 10, 11]
    assert (
        "amount" in statement.errors[0]["message"] and "paid_at is required" in statement.errors[1]["message"]
    )
    assert "never exported" in statement.errors[3]["message"]
    assert statement.lines_total == 10
    statuses = {d.reference: Disbursement.objects.get(pk=d.pk).status for d in exported}
    assert [statuses[d.reference] for d in exported] == [
        "paid",
        "failed",
        "exported",
        "exported",
        "exported",
        "exported",
    ]
    paid = Disbursement.objects.get(pk=exported[0].pk)
    assert paid.paid_at.isoformat().startswith("2026-11-21T05:30")  # 10:00 in Kabul (+04:30)
    assert paid.transitions.last().to_status == "paid"
    assert AuditEvent.objects.filter(action="disbursement.paid", target_id=str(paid.pk)).count() == 1
    kinds = sorted(Discrepancy.objects.values_list("kind", flat=True))
    assert kinds == sorted(
        [
            "amount_mismatch",
            "unknown_reference",
            "duplicate_line",
            "error",
            "error",
            "error",
            "error",
            "error",
            "missing",
        ]
    )


def test_same_bytes_again_change_nothing(exported_set, staff):
    exported, requested = exported_set
    content = statement_csv(exported, requested)
    first, _ = statement_upload(content=content, filename="s.csv", uploaded_by=staff["finance"])
    statement_process(statement_id=first.pk)
    before = list(Disbursement.objects.order_by("pk").values_list("status", "updated_at"))
    again, created = statement_upload(content=content, filename="renamed.csv", uploaded_by=staff["finance2"])
    assert (again.pk, created) == (first.pk, False)
    statement_process(statement_id=first.pk)  # running the task twice changes nothing either
    assert list(Disbursement.objects.order_by("pk").values_list("status", "updated_at")) == before
    assert Statement.objects.count() == 1


def test_a_later_statement_reporting_the_same_payment_is_a_duplicate(exported_set, staff):
    exported, requested = exported_set
    ref = exported[0].reference
    one, _ = statement_upload(
        content=f"reference,amount,status,paid_at\n{ref},10000,paid,2026-11-21\n".encode(),
        filename="a.csv",
        uploaded_by=staff["finance"],
    )
    two, _ = statement_upload(
        content=f"reference,amount,status,paid_at\n{ref},10000.00,paid,2026-11-22\n".encode(),
        filename="b.csv",
        uploaded_by=staff["finance"],
    )
    assert statement_process(statement_id=one.pk).matched == 1
    second = statement_process(statement_id=two.pk)
    assert (second.matched, second.duplicate_line) == (0, 1)
    assert (
        timezone.localtime(Disbursement.objects.get(pk=exported[0].pk).paid_at).date().isoformat()
        == "2026-11-21"
    )


def test_xlsx_statement(exported_set, staff):
    from io import BytesIO

    from openpyxl import Workbook

    exported, _ = exported_set
    book = Workbook()
    sheet = book.active
    sheet.append(["reference", "amount", "status", "paid_at"])
    sheet.append([exported[0].reference, 10000, "paid", "2026-11-21"])
    sheet.append([exported[1].reference, 10000, "failed", None])
    buffer = BytesIO()
    book.save(buffer)
    statement, _ = statement_upload(
        content=buffer.getvalue(), filename="s.xlsx", uploaded_by=staff["finance"]
    )
    statement = statement_process(statement_id=statement.pk)
    assert (statement.matched, statement.failed, statement.errors) == (1, 1, [])


def test_api_upload_contract(exported_set, staff, api_client, settings):
    exported, requested = exported_set
    client = api_client(staff["finance"])
    content = statement_csv(exported, requested)
    response = client.post(
        "/api/v1/reconciliations/",
        {"file": SimpleUploadedFile("s.csv", content, "text/csv")},
        format="multipart",
    )
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    statement_id = response.json()["id"]
    # eager Celery: processed on commit in production; here we run the task body directly
    statement_process(statement_id=statement_id)
    detail = client.get(f"/api/v1/reconciliations/{statement_id}/").json()
    assert (detail["status"], detail["matched"], detail["failed"], detail["missing"]) == ("done", 1, 1, 1)
    assert [e["line"] for e in detail["errors"]] == [7, 8, 9, 10, 11]
    again = client.post(
        "/api/v1/reconciliations/",
        {"file": SimpleUploadedFile("x.csv", content, "text/csv")},
        format="multipart",
    )
    assert (again.status_code, again.json()["id"]) == (200, statement_id)
    bad = client.post(
        "/api/v1/reconciliations/",
        {"file": SimpleUploadedFile("x.csv", b"ref;amt\n1;2\n")},
        format="multipart",
    )
    assert bad.status_code == 400 and "file" in bad.json()
    settings.RECONCILIATION_MAX_UPLOAD_BYTES = 100
    big = client.post(
        "/api/v1/reconciliations/",
        {"file": SimpleUploadedFile("big.csv", content + b"x" * 200)},
        format="multipart",
    )
    assert big.status_code == 413
    assert (
        api_client(staff["worker"])
        .post("/api/v1/reconciliations/", {"file": SimpleUploadedFile("s.csv", content)}, format="multipart")
        .status_code
        == 403
    )


def test_discrepancies_are_resolved_with_a_note_in_the_audit(exported_set, staff, api_client):
    exported, requested = exported_set
    statement, _ = statement_upload(
        content=statement_csv(exported, requested), filename="s.csv", uploaded_by=staff["finance"]
    )
    statement_process(statement_id=statement.pk)
    client = api_client(staff["finance2"])
    open_items = client.get("/api/v1/discrepancies/?resolved=false").json()["results"]
    mismatch = next(d for d in open_items if d["kind"] == "amount_mismatch")
    assert (
        client.post(f"/api/v1/discrepancies/{mismatch['id']}/resolve/", {}, format="json").status_code == 400
    )
    done = client.post(
        f"/api/v1/discrepancies/{mismatch['id']}/resolve/", {"note": "provider refunds 1,000"}, format="json"
    )
    assert done.status_code == 200 and done.json()["resolved_by"] == "fin-b"
    assert (
        client.post(
            f"/api/v1/discrepancies/{mismatch['id']}/resolve/", {"note": "again"}, format="json"
        ).status_code
        == 409
    )
    event = AuditEvent.objects.get(action="discrepancy.resolved")
    assert event.data["note"] == "provider refunds 1,000" and event.actor == staff["finance2"]
    with pytest.raises(Exception, match="Only finance"):
        discrepancy_resolve(discrepancy=Discrepancy.objects.first(), resolved_by=staff["worker"], note="x")


def test_amounts_are_decimals(exported_set, staff):
    exported, _ = exported_set
    statement, _ = statement_upload(
        content=f"reference,amount,status,paid_at\n{exported[0].reference},10000.001,paid,2026-11-21\n".encode(),
        filename="a.csv",
        uploaded_by=staff["finance"],
    )
    statement = statement_process(statement_id=statement.pk)
    assert statement.errors and "at most 2 decimals" in statement.errors[0]["message"]
    assert Disbursement.objects.get(pk=exported[0].pk).amount == Decimal("10000.00")


def test_upload_page_and_discrepancy_page(client, exported_set, staff):
    exported, requested = exported_set
    client.force_login(staff["finance"])
    response = client.post(
        "/statements/", {"file": SimpleUploadedFile("s.csv", statement_csv(exported, requested))}
    )
    statement = Statement.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/statements/{statement.pk}/"
    statement_process(statement_id=statement.pk)
    page = client.get(response["Location"]).content.decode()
    assert "line 7:" in page and "Done" in page
    item = Discrepancy.objects.filter(kind="unknown_reference").get()
    client.post("/discrepancies/", {"id": item.pk, "note": "provider typo, ignored"})
    item.refresh_from_db()
    assert item.resolution_note == "provider typo, ignored" and item.resolved_by == staff["finance"]
    client.force_login(staff["worker"])
    assert client.get("/statements/").status_code == 403


def test_upload_survives_a_broker_outage_and_is_requeued(
    exported_set, staff, settings, monkeypatch, django_capture_on_commit_callbacks
):
    from disbursements import tasks
    from disbursements.reconciliation import statements_requeue

    exported, requested = exported_set

    def broker_down(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(tasks.statement_process_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        statement, created = statement_upload(
            content=statement_csv(exported, requested), filename="s.csv", uploaded_by=staff["finance"]
        )
    assert created and Statement.objects.get(pk=statement.pk).status == "queued"  # stored, nothing lost
    monkeypatch.undo()
    Statement.objects.filter(pk=statement.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert statements_requeue() == 1  # eager in unit tests: processed right away
    assert Statement.objects.get(pk=statement.pk).status == "done"
