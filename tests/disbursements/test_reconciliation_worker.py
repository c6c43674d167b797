"""Reconciliation through a real Celery worker on the real Redis, statements uploaded through the API."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disbursements.models import Disbursement, DisbursementTransition, Statement
from tests.celery_worker import celery_worker, wait_for  # noqa: F401 - fixture
from tests.disbursements.test_reconciliation import exported_set, statement_csv  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _done(statement_id):
    statement = Statement.objects.get(pk=statement_id)
    return statement if statement.status in ("done", "failed") else None


def test_statement_is_reconciled_by_the_worker(celery_worker, exported_set, staff, api_client):  # noqa: F811
    exported, requested = exported_set
    client = api_client(staff["finance"])
    response = client.post(
        "/api/v1/reconciliations/",
        {"file": SimpleUploadedFile("s.csv", statement_csv(exported, requested))},
        format="multipart",
    )
    assert response.status_code == 202
    statement = wait_for(lambda: _done(response.json()["id"]))
    assert statement.status == "done", statement.failure_reason
    body = client.get(f"/api/v1/reconciliations/{statement.pk}/").json()
    assert {
        k: body[k]
        for k in ("matched", "failed", "amount_mismatch", "unknown_reference", "duplicate_line", "missing")
    } == {
        "matched": 1,
        "failed": 1,
        "amount_mismatch": 1,
        "unknown_reference": 1,
        "duplicate_line": 1,
        "missing": 1,
    }
    assert [e["line"] for e in body["errors"]] == [7, 8, 9, 10, 11]
    assert Disbursement.objects.get(pk=exported[0].pk).status == "paid"
    assert Disbursement.objects.get(pk=exported[1].pk).status == "failed"


def test_two_statements_at_once_never_double_apply(celery_worker, exported_set, staff, api_client):  # noqa: F811
    exported, _ = exported_set
    client = api_client(staff["finance"])
    rows = "".join(f"{d.reference},10000.00,paid,2026-11-21\n" for d in exported[:5])
    ids = []
    for name, extra in (("a.csv", ""), ("b.csv", "UNKNOWN-1,5,paid,2026-11-21\n")):
        content = ("reference,amount,status,paid_at\n" + rows + extra).encode()
        response = client.post(
            "/api/v1/reconciliations/", {"file": SimpleUploadedFile(name, content)}, format="multipart"
        )
        assert response.status_code == 202
        ids.append(response.json()["id"])
    first, second = (wait_for(lambda i=i: _done(i)) for i in ids)
    assert first.status == second.status == "done"
    assert first.matched + second.matched == 5
    assert first.duplicate_line + second.duplicate_line == 5
    for d in exported[:5]:
        assert DisbursementTransition.objects.filter(disbursement=d, to_status="paid").count() == 1
        assert Disbursement.objects.get(pk=d.pk).status == "paid"
