"""Redis (broker, cache, results) goes down: the work of the day goes on and no task is lost.

A Redis of the test's own is stopped; registrations (API and form), a payment approval, a referral, a
statement upload and a household list are made; each commits, and the tasks they call for wait in the
outbox. Redis comes back, two drainers run at once, each task reaches the broker once and a real worker runs it.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from accounts.models import AuditEvent
from aidcase.core.models import OutboxMessage
from aidcase.core.outbox import outbox_drain
from disbursements.models import Disbursement, Statement
from disbursements.services import disbursement_request
from families.models import Family, FamilyImport
from referrals.models import Referral, WebhookDelivery
from tests.celery_worker import wait_for
from tests.concurrency import run_concurrently
from tests.conftest import registration_body
from tests.families.test_imports import GOOD, _csv
from tests.families.test_views import HEAD, form_data
from tests.faults.conftest import queued
from tests.referrals.test_webhooks import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TASKS = {
    "referrals.tasks.webhook_deliver_task",
    "disbursements.tasks.statement_process_task",
    "families.tasks.family_import_task",
}


@pytest.fixture
def hook(settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = True
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_redis_down_everything_commits_and_every_task_runs_once_when_it_returns(
    redis_server, workers, make_user, api_client, client, register_family, hook, settings
):
    settings.FAMILY_IMPORT_INLINE_BYTES = 10  # the list goes to a worker
    case_worker, fin_a, fin_b = make_user("case_worker"), make_user("finance"), make_user("finance")
    partner = api_client(make_user("partner", org="UNHCR"))
    assert partner.post("/api/v1/webhooks/", {"url": hook.url}, format="json").status_code == 201
    to_refer = register_family(given="Refer", father="Me", consent=True)
    payment = disbursement_request(family=register_family(given="Pay", father="Me"), requested_by=fin_a)
    api, finance_b = api_client(case_worker), api_client(fin_b)
    client.force_login(case_worker)

    redis_server.stop()

    registered = api.post("/api/v1/families/", registration_body(), format="json")
    assert registered.status_code == 201, registered.content
    form = client.post(reverse("family-register"), form_data([HEAD], consent_to_share="on"))
    assert form.status_code == 302
    approved = finance_b.post(f"/api/v1/disbursements/{payment.pk}/approve/")
    assert approved.status_code == 200, approved.content
    referred = api.post(
        f"/api/v1/families/{to_refer.pk}/referrals/",
        {"organization": "UNHCR", "service": "food"},
        format="json",
    )
    assert referred.status_code == 201, referred.content
    statement = api_client(fin_a).post(
        "/api/v1/reconciliations/",
        {
            "file": SimpleUploadedFile(
                "s.csv", b"reference,amount,status,paid_at\nNO-SUCH,10000,paid,2026-11-21\n"
            )
        },
        format="multipart",
    )
    assert statement.status_code == 202, statement.content
    imported = client.post(reverse("family-import"), {"file": SimpleUploadedFile("list.csv", _csv(GOOD))})
    assert imported.status_code == 302

    pulled = partner.get("/api/v1/referrals/")  # the throttle's counters are in Redis: skipped, not a 500
    assert pulled.status_code == 200 and pulled.json()["results"][0]["id"] == referred.json()["id"]

    health = client.get("/healthz")
    assert health.status_code == 503 and health.json() == {"database": "ok", "redis": "unavailable"}

    # Everything committed ...
    assert Family.objects.filter(case_number=registered.json()["case_number"]).exists()
    assert Family.objects.filter(members__given_name=HEAD["given_name"]).count() == 1
    assert Disbursement.objects.get(pk=payment.pk).status == "approved"
    referral = Referral.objects.get(pk=referred.json()["id"])
    assert WebhookDelivery.objects.get().status == "pending"
    assert Statement.objects.get().status == "queued"
    assert FamilyImport.objects.get().status == "queued"
    # ... and each task it calls for waits in the outbox, with the failed attempt recorded.
    pending = list(OutboxMessage.objects.filter(sent_at__isnull=True))
    assert {m.task for m in pending} == TASKS and len(pending) == 3
    assert all(m.attempts == 1 and m.last_error for m in pending)

    redis_server.start()
    assert client.get("/healthz").status_code == 200

    # Two drainers at once (beat's task and an operator's command): each message is published once.
    sent = run_concurrently(lambda i: outbox_drain(), 2)
    assert all(isinstance(n, int) for n in sent) and sum(sent) == 3, sent
    assert queued(redis_server) == 3  # exactly the three messages on the broker
    call_command("drainoutbox")  # nothing left: sends nothing, exits 0
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()

    workers()
    delivery = wait_for(lambda: WebhookDelivery.objects.filter(status="delivered").first())
    assert len(hook.received) == 1 and delivery.attempts == 1
    assert json.loads(hook.received[0]["body"])["referral"]["id"] == str(referral.pk)
    done = wait_for(lambda: Statement.objects.filter(status__in=["done", "failed"]).first())
    assert (done.status, done.unknown_reference) == ("done", 1)
    upload = wait_for(lambda: FamilyImport.objects.filter(status__in=["done", "failed"]).first())
    assert upload.status == "done" and upload.summary["registered"] == 2
    assert AuditEvent.objects.filter(action="statement.processed").count() == 1
    assert all(m.attempts == 2 for m in OutboxMessage.objects.all())  # one refused, one sent: never twice
