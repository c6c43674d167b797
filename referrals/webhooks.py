"""Webhook deliveries: each referral event becomes a `WebhookDelivery` row (an outbox) in the same transaction
as the change; a Celery task posts it after commit, signed, and retries with exponential backoff. A periodic
sweep picks up anything whose enqueueing failed (broker down). Case workers never wait on a partner.

Signature: `X-Aidcase-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>` with the Unix
timestamp in `X-Aidcase-Timestamp`; receivers should reject timestamps older than five minutes.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from aidcase.core.outbox import enqueue

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30  # 30 s, 1 min, 2 min, ... about 1 h 4 min for the last attempt
LEASE_SECONDS = 60  # a worker that dies mid-delivery frees the row after this
NOT_SENT_CONSENT_WITHDRAWN = "not sent: the family withdrew its consent to share"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def webhook_events_queue(*, referral, event: str) -> None:
    """Record one delivery per active endpoint of the referral's organization; send after commit."""
    from referrals.models import WebhookDelivery, WebhookEndpoint
    from referrals.serializers import PartnerReferralSerializer, family_data_withheld

    if family_data_withheld(referral.family):  # consent withdrawn or anonymised: nothing is pushed
        return
    endpoints = list(WebhookEndpoint.objects.filter(organization_id=referral.organization_id, is_active=True))
    if not endpoints:
        return
    payload = json.loads(
        json.dumps(
            {"event": event, "referral": PartnerReferralSerializer(referral).data}, cls=DjangoJSONEncoder
        )
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint=e, event=event, payload=payload, next_attempt_at=timezone.now())
            for e in endpoints
        ]
    )
    from referrals.tasks import webhook_deliver_task

    for delivery in deliveries:
        # Sent after commit through the outbox; the periodic sweep also sends any pending delivery that is due.
        enqueue(webhook_deliver_task, str(delivery.pk))


def webhook_deliver(*, delivery_id) -> str:
    """Try one delivery once and record the outcome. Returns the delivery's status.

    The row is claimed with a conditional UPDATE that also sets a lease (`next_attempt_at` a minute ahead), so
    two workers never send the same attempt, and the HTTP call happens outside any transaction.
    """
    from referrals.models import WebhookDelivery

    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
    if not claimed:  # delivered already, given up, not due yet, or another worker holds it
        return "skipped"
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    if _family_withheld(delivery):  # consent withdrawn after the event was queued: never sent
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_error=NOT_SENT_CONSENT_WITHDRAWN
        )
        return WebhookDelivery.Status.FAILED
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - endpoint URLs are https (http only with DEBUG)
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "aidcase-webhooks/1",
            "X-Aidcase-Event": delivery.event,
            "X-Aidcase-Delivery": str(delivery.pk),
            "X-Aidcase-Timestamp": timestamp,
            "X-Aidcase-Signature": sign(delivery.endpoint.secret, timestamp, body),
        },
    )
    delivery.attempts += 1
    try:
        # A partner that hangs costs one worker slot for this long (connect, and each read), then it is a retry.
        timeout = settings.WEBHOOK_TIMEOUT_SECONDS
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            delivery.last_status_code = response.status
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.last_error = ""
    except urllib.error.HTTPError as exc:
        delivery.last_status_code = exc.code
        delivery.last_error = f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        delivery.last_error = str(getattr(exc, "reason", exc))[:500]
    if delivery.status == WebhookDelivery.Status.PENDING:
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_delay(delivery.attempts))
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
        ]
    )
    return delivery.status


def _family_withheld(delivery) -> bool:
    from referrals.models import Referral
    from referrals.serializers import family_data_withheld

    referral_id = ((delivery.payload or {}).get("referral") or {}).get("id")
    referral = (
        Referral.objects.select_related("family").filter(pk=referral_id).first() if referral_id else None
    )
    return referral is not None and family_data_withheld(referral.family)


def retry_delay(attempts: int) -> int:
    return BACKOFF_SECONDS * 2 ** (attempts - 1)


def webhooks_due() -> list:
    """Pending deliveries whose next attempt is due (for the periodic sweep)."""
    from referrals.models import WebhookDelivery

    return list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now()
        ).values_list("pk", flat=True)[:500]
    )


def endpoint_url_is_allowed(url: str) -> bool:
    """HTTPS only; plain HTTP to this machine only where allowed (DEBUG, or tests with a local receiver)."""
    if url.startswith("https://"):
        return True
    local = url.startswith(("http://127.0.0.1", "http://localhost"))
    return local and getattr(settings, "WEBHOOK_ALLOW_LOCAL_HTTP", settings.DEBUG)
