from datetime import datetime

from django.db.models import QuerySet

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


def partner_reads_record(*, actor: User, referrals: list[Referral], endpoint: str) -> None:
    """Access log: which partner user read which family's data, when, through which call."""
    if not actor.has_role(Role.PARTNER) or not referrals:
        return
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor,
                actor_username=actor.username,
                action="family.read_by_partner",
                target_type="families.family",
                target_id=str(r.family_id),
                data={"referral": str(r.pk), "organization": actor.organization.code, "endpoint": endpoint},
            )
            for r in referrals
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
