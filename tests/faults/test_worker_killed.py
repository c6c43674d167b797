"""A Celery worker is killed (SIGKILL, every process) in the middle of reconciling a statement.

The worker stops at a checkpoint right after the payments were updated and the ledger written (inside the
task's transaction), so the kill lands there every time. A new worker gets the message again (it was never
acknowledged: acks_late) and the statement is applied exactly once: each line once, none skipped.
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEvent
from disbursements.models import Disbursement, DisbursementTransition, Discrepancy, Statement, StatementLine
from disbursements.services import batch_create, batch_export, disbursement_approve, disbursement_request
from tests.celery_worker import wait_for
from tests.services import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAID, FAILED, NOT_ON_STATEMENT = 10, 4, 3


@pytest.fixture
def exported(make_user, register_family):
    worker, finance = make_user("case_worker"), make_user("finance")
    payments = [
        disbursement_request(family=register_family(given=f"Kill{i}", father=f"Test{i}"), requested_by=worker)
        for i in range(PAID + FAILED + NOT_ON_STATEMENT)
    ]
    for payment in payments:
        disbursement_approve(disbursement=payment, approved_by=finance)
    batch = batch_create(channel="hawala", disbursement_ids=[p.pk for p in payments], created_by=finance)
    batch_export(batch=batch, exported_by=finance)
    return finance, [Disbursement.objects.get(pk=p.pk) for p in payments]


def test_worker_killed_mid_reconciliation_the_next_worker_applies_it_exactly_once(
    redis_server, workers, exported, api_client
):
    finance, payments = exported
    paid, failed, untouched = payments[:PAID], payments[PAID : PAID + FAILED], payments[PAID + FAILED :]
    lines = ["reference,amount,status,paid_at"]
    lines += [f"{d.reference},10000.00,paid,2026-11-21T10:00:00+04:30" for d in paid]
    lines += [f"{d.reference},10000.00,failed," for d in failed]
    lines += [f"{paid[0].reference},10000.00,paid,2026-11-21", "NO-SUCH-REF,10000.00,paid,2026-11-21"]
    content = ("\n".join(lines) + "\n").encode()

    first = workers(FAULT_CHECKPOINTS="reconciliation.apply")
    response = api_client(finance).post(
        "/api/v1/reconciliations/", {"file": SimpleUploadedFile("s.csv", content)}, format="multipart"
    )
    assert response.status_code == 202
    statement_id = response.json()["id"]
    broker = redis_server.client()
    wait_until(
        lambda: broker.exists("checkpoint:reconciliation.apply:reached"), timeout=90, what="checkpoint"
    )

    # Mid-way: the worker has applied every line inside its transaction; nothing of it is visible yet.
    assert Statement.objects.get(pk=statement_id).status == "running"
    assert not DisbursementTransition.objects.filter(to_status__in=["paid", "failed"]).exists()
    first.kill()
    time.sleep(1.5)  # older than the second worker's visibility timeout: it takes the message back at once

    workers(CELERY_VISIBILITY_TIMEOUT="1")
    statement = wait_for(
        lambda: Statement.objects.filter(pk=statement_id, status__in=["done", "failed"]).first()
    )

    assert statement.status == "done", statement.failure_reason
    assert (statement.matched, statement.failed, statement.duplicate_line, statement.unknown_reference) == (
        PAID,
        FAILED,
        1,
        1,
    )
    assert (
        statement.lines_total == len(lines) - 1 == StatementLine.objects.filter(statement=statement).count()
    )
    for group, status in ((paid, "paid"), (failed, "failed")):
        for d in group:
            assert Disbursement.objects.get(pk=d.pk).status == status
            assert DisbursementTransition.objects.filter(disbursement=d, to_status=status).count() == 1
    for d in untouched:
        assert Disbursement.objects.get(pk=d.pk).status == "exported"
        assert not DisbursementTransition.objects.filter(
            disbursement=d, to_status__in=["paid", "failed"]
        ).exists()
    assert Discrepancy.objects.filter(statement=statement).count() == 2
    assert AuditEvent.objects.filter(action="statement.processed").count() == 1
    assert AuditEvent.objects.filter(action="disbursement.paid").count() == PAID
