"""A partner's webhook endpoint hangs: case workers and partners are never held by it.

Celery is not eager here (a throw-away Redis is the broker), as in production. The endpoint counts the
connections it gets: creating and updating referrals makes none (the request only writes delivery rows and
the outbox); the worker makes them, times out, and schedules the next attempt with backoff.
"""

import pytest
from django.utils import timezone

from aidcase.core.models import OutboxMessage
from referrals.models import WebhookDelivery
from referrals.webhooks import retry_delay
from tests.celery_worker import wait_for
from tests.faults.conftest import queued
from tests.referrals.test_webhooks import HangingReceiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hanging(settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = True
    endpoint = HangingReceiver()
    yield endpoint
    endpoint.close()


def test_referrals_are_created_and_updated_without_calling_a_hanging_endpoint(
    redis_server, workers, hanging, make_user, api_client, register_family
):
    partner = api_client(make_user("partner", org="UNHCR"))
    assert partner.post("/api/v1/webhooks/", {"url": hanging.url}, format="json").status_code == 201
    family = register_family(consent=True)

    created = api_client(make_user("case_worker")).post(
        f"/api/v1/families/{family.pk}/referrals/",
        {"organization": "UNHCR", "service": "shelter"},
        format="json",
    )
    assert created.status_code == 201
    moved = partner.post(
        f"/api/v1/referrals/{created.json()['id']}/status/", {"status": "accepted"}, format="json"
    )
    assert moved.status_code == 200

    # Both requests are answered and neither opened a connection to the endpoint: delivery is left to a worker.
    assert hanging.connections == 0
    assert list(WebhookDelivery.objects.values_list("status", "attempts")) == [("pending", 0)] * 2
    assert OutboxMessage.objects.filter(sent_at__isnull=False).count() == 2
    assert queued(redis_server) == 2

    workers(WEBHOOK_TIMEOUT_SECONDS="0.5")
    wait_for(lambda: list(WebhookDelivery.objects.values_list("attempts", flat=True)) == [1, 1])
    assert hanging.connections == 2
    for delivery in WebhookDelivery.objects.all():
        assert delivery.status == "pending" and "timed out" in delivery.last_error
        # The next attempt is the first backoff step after this one: later than now, at most 30 s away.
        assert (delivery.next_attempt_at - delivery.created_at).total_seconds() >= retry_delay(1)
        assert 0 < (delivery.next_attempt_at - timezone.now()).total_seconds() <= retry_delay(1)
