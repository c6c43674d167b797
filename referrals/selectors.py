from datetime import datetime

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import AuditEvent, Role, User
from referrals.models import Referral, WebhookDelivery, WebhookEndpoint

STAFF_READERS = (Role.CASE_WORKER, Role.COORDINATOR, Role.ADMIN)


def referral_list(
    *,
    actor: User,
    status: str | None = None,
    service: str | None = None,
    updated_since: datetime | None = None,
) -> QuerySet[Referral]:
    """Referrals `actor` may see: a partner only its organization's, staff all of them, anyone else none."""
    qs = Referral.objects.select_related(
        "family", "family__destination_province", "organization", "service", "created_by"
    )
    if actor.has_role(Role.PARTNER):
        qs = qs.filter(organization_id=actor.organization_id)
    elif not actor.has_role(*STAFF_READERS):
        return Referral.objects.none()
    if status:
        qs = qs.filter(status=status)
    if service:
        qs = qs.filter(service__code=service)
    if updated_since:
        qs = qs.filter(updated_at__gte=updated_since)
    return qs


# One statement for a page's access log (100 rows): building 100 model instances cost more than the page read.
_READS_SQL = """
INSERT INTO accounts_auditevent (uuid, created_at, actor_id, actor_username, action, target_type, target_id, data)
SELECT gen_random_uuid(), %s, %s, %s, 'family.read_by_partner', 'families.family', r.family_id::text,
       jsonb_build_object('referral', r.id::text, 'organization', %s::text, 'endpoint', %s::text)
FROM unnest(%s::uuid[], %s::uuid[]) WITH ORDINALITY AS r(id, family_id, n) ORDER BY r.n
"""


def partner_reads_record(*, actor: User, referrals: list, endpoint: str) -> None:
    """Access log: which partner user read which family's data, when, through which call.

    `referrals`: Referral objects, or `.values()` rows with `id` and `family_id`."""
    if not actor.has_role(Role.PARTNER) or not referrals:
        return
    if isinstance(referrals[0], dict):
        pairs = [(r["id"], r["family_id"]) for r in referrals]
    else:
        pairs = [(r.pk, r.family_id) for r in referrals]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _READS_SQL,
                [timezone.now(), actor.pk, actor.username, actor.organization.code, endpoint,
                 [p[0] for p in pairs], [p[1] for p in pairs]],
            )  # fmt: skip
        return
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor,
                actor_username=actor.username,
                action="family.read_by_partner",
                target_type="families.family",
                target_id=str(family_id),
                data={"referral": str(pk), "organization": actor.organization.code, "endpoint": endpoint},
            )
            for pk, family_id in pairs
        ]
    )


def webhook_endpoint_list(*, actor: User) -> QuerySet[WebhookEndpoint]:
    if actor.has_role(Role.PARTNER):
        return WebhookEndpoint.objects.filter(organization_id=actor.organization_id)
    if actor.has_role(Role.ADMIN):
        return WebhookEndpoint.objects.all()
    return WebhookEndpoint.objects.none()


def webhook_delivery_list(*, actor: User) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint__in=webhook_endpoint_list(actor=actor)).select_related(
        "endpoint"
    )
