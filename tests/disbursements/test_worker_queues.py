"""Queues per workload (aidcase/celery.py): a reconciliation never waits behind a flood of webhooks."""

import uuid

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile

from aidcase.celery import BULK, HOUSEKEEPING, QUEUES, REPORTS, WEBHOOKS, WORKLOADS, app
from disbursements.models import Disbursement, Statement
from referrals.tasks import webhook_deliver_task
from tests.celery_worker import running_worker, wait_for
from tests.disbursements.test_reconciliation import exported_set  # noqa: F401 - fixture

FLOOD = 3000


def _queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name, (), {})["queue"].name


def test_every_aidcase_task_has_a_workload_queue():
    app.loader.import_default_modules()
    ours = {n for n in app.tasks if not n.startswith("celery.")}
    assert ours == set(WORKLOADS), "route each new task to a workload in aidcase/celery.py"
    assert _queue_of("disbursements.tasks.statement_process_task") == BULK
    assert _queue_of("families.tasks.family_import_task") == BULK
    assert _queue_of("referrals.tasks.webhook_deliver_task") == WEBHOOKS
    assert _queue_of("reports.tasks.situation_report_task") == REPORTS
    assert _queue_of("aidcase.core.tasks.idempotency_purge_task") == HOUSEKEEPING
    # A worker started without -Q (one machine, no extra setup) consumes every workload queue.
    assert set(app.amqp.queues) >= set(QUEUES)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reconciliation_runs_while_thousands_of_webhooks_wait(settings, exported_set, staff, api_client):  # noqa: F811
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    exported, requested = exported_set
    client = redis.Redis.from_url(settings.REDIS_URL)
    # Only the bulk queue has a worker, as on a machine dedicated to reconciliation and imports.
    with running_worker(settings.REDIS_URL, queues=[BULK]) as (_proc, prefix):
        with app.producer_or_acquire() as producer:
            for _ in range(FLOOD):
                webhook_deliver_task.apply_async((str(uuid.uuid4()),), producer=producer)
        assert client.llen(f"{prefix}{WEBHOOKS}") == FLOOD

        rows = "".join(f"{d.reference},10000.00,paid,2026-11-21\n" for d in exported[:3])
        response = api_client(staff["finance"]).post(
            "/api/v1/reconciliations/",
            {"file": SimpleUploadedFile("s.csv", ("reference,amount,status,paid_at\n" + rows).encode())},
            format="multipart",
        )
        assert response.status_code == 202
        statement_id = response.json()["id"]
        statement = wait_for(
            lambda: Statement.objects.filter(pk=statement_id, status__in=("done", "failed")).first()
        )
        assert statement.status == "done", statement.failure_reason
        assert statement.matched == 3
        assert set(
            Disbursement.objects.filter(pk__in=[d.pk for d in exported[:3]]).values_list("status", flat=True)
        ) == {"paid"}
        # The webhook deliveries are all still waiting for their own workers.
        assert client.llen(f"{prefix}{WEBHOOKS}") == FLOOD
