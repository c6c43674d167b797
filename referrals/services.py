"""Referrals: creation by case workers, the lifecycle moved by partners and staff, webhook events."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Organization, Role, User
from accounts.services import audit_record
from aidcase.core.exceptions import Conflict, Forbidden
from families.models import Family
from families.services import family_case_touch
from referrals.models import Referral, ReferralEvent, ServiceType, Urgency, WebhookDelivery, WebhookEndpoint
from referrals.webhooks import NOT_SENT_CONSENT_WITHDRAWN, endpoint_url_is_allowed, webhook_events_queue

logger = logging.getLogger(__name__)
Status = Referral.Status

NO_CONSENT = (
    "Family {case_number} has not agreed to share its data with partners, so it cannot be referred. "
    "Assistance does not depend on this: record consent on the family page if the family agrees."
)
FAMILY_MERGED = "Family {case_number} was merged into {kept}: refer {kept} instead."
UNKNOWN_ORGANIZATION = "Unknown organization '{code}'."
UNKNOWN_SERVICE = "Unknown service '{code}'."
NOTE_TOO_LONG = "At most 2000 characters."
NOTE_REQUIRED = "Give the reason for declining in the note."
TRANSITION_FORBIDDEN = "A referral that is {current} cannot become {target}."
ROLE_CANNOT_MOVE = "Your role cannot set a referral to {target}."

# Who may make which move, and from where (the contract's lifecycle).
PARTNER_MOVES = {
    Status.ACCEPTED: {Status.SENT},
    Status.DECLINED: {Status.SENT, Status.ACCEPTED, Status.IN_PROGRESS},
    Status.IN_PROGRESS: {Status.ACCEPTED},
    Status.COMPLETED: {Status.ACCEPTED, Status.IN_PROGRESS},
}
STAFF_MOVES = {Status.CLOSED: {Status.SENT, Status.ACCEPTED, Status.IN_PROGRESS}}
STAFF_ROLES = (Role.CASE_WORKER, Role.COORDINATOR, Role.ADMIN)


@transaction.atomic(durable=True)
def referral_create(
    *,
    family: Family,
    organization_code: str,
    service_code: str,
    created_by: User,
    urgency: str = Urgency.MEDIUM,
    note: str = "",
) -> Referral:
    if not created_by.has_role(Role.CASE_WORKER, Role.ADMIN):
        raise Forbidden("Only case workers refer families.")
    errors = {}
    organization = Organization.objects.filter(code=(organization_code or "").upper(), is_active=True).first()
    if organization is None:
        errors["organization"] = [UNKNOWN_ORGANIZATION.format(code=organization_code)]
    service = ServiceType.objects.filter(code=service_code).first()
    if service is None:
        errors["service"] = [UNKNOWN_SERVICE.format(code=service_code)]
    if urgency not in Urgency.values:
        errors["urgency"] = [f"Choose one of: {', '.join(Urgency.values)}."]
    if len(note or "") > 2000:
        errors["note"] = [NOTE_TOO_LONG]
    if errors:
        raise ValidationError(errors)
    family = Family.objects.select_for_update().get(pk=family.pk)
    if family.duplicate_of_id:
        raise Conflict(
            FAMILY_MERGED.format(case_number=family.case_number, kept=family.duplicate_of.case_number)
        )
    if not family.consent_to_share:
        raise Conflict(NO_CONSENT.format(case_number=family.case_number), code="no_consent")
    family_case_touch(family=family, actor=created_by, reason="referral created")
    referral = Referral.objects.create(
        family=family,
        organization=organization,
        service=service,
        urgency=urgency,
        note=note or "",
        created_by=created_by,
    )
    ReferralEvent.objects.create(referral=referral, to_status=Status.SENT, actor=created_by, note=note or "")
    audit_record(
        actor=created_by,
        action="referral.created",
        target=referral,
        data={"family": family.case_number, "organization": organization.code, "service": service.code},
    )
    webhook_events_queue(referral=referral, event="referral.created")
    return referral


def _check_move(*, referral: Referral, target: str, actor: User) -> None:
    if actor.has_role(Role.PARTNER):
        moves = PARTNER_MOVES
        if referral.organization_id != actor.organization_id:
            raise Forbidden("Not your organization's referral.")
    elif actor.has_role(*STAFF_ROLES):
        moves = STAFF_MOVES
    else:
        moves = {}
    if target not in moves:
        raise Forbidden(ROLE_CANNOT_MOVE.format(target=target), code="transition_not_allowed_for_role")
    if referral.status not in moves[target]:
        raise Conflict(
            TRANSITION_FORBIDDEN.format(current=referral.status, target=target), code="invalid_transition"
        )


@transaction.atomic(durable=True)
def referral_transition(*, referral: Referral, target: str, actor: User, note: str = "") -> Referral:
    """Move a referral along its lifecycle. Role first (403), then the lifecycle (409), then the note (400)."""
    if target not in Status.values:
        raise ValidationError({"status": [f"Choose one of: {', '.join(Status.values)}."]})
    if len(note or "") > 2000:
        raise ValidationError({"note": [NOTE_TOO_LONG]})
    referral = Referral.objects.select_for_update(of=("self",)).select_related("family").get(pk=referral.pk)
    _check_move(referral=referral, target=target, actor=actor)
    if target == Status.DECLINED and not (note or "").strip():
        raise ValidationError({"note": [NOTE_REQUIRED]})
    previous = referral.status
    referral.status = target
    referral.status_note = note or ""
    referral.save(update_fields=["status", "status_note", "updated_at"])
    ReferralEvent.objects.create(
        referral=referral, from_status=previous, to_status=target, actor=actor, note=note or ""
    )
    audit_record(
        actor=actor,
        action=f"referral.{target}",
        target=referral,
        data={"from": previous, "to": target, "note": note},
    )
    webhook_events_queue(referral=referral, event="referral.status_changed")
    return referral


@transaction.atomic
def webhook_endpoint_create(*, actor: User, url: str) -> WebhookEndpoint:
    if not actor.has_role(Role.PARTNER):
        raise Forbidden("Only partner users register webhooks for their organization.")
    if not endpoint_url_is_allowed(url):
        raise ValidationError({"url": ["Webhook endpoints must use https://."]})
    endpoint = WebhookEndpoint.objects.create(organization=actor.organization, url=url, created_by=actor)
    audit_record(actor=actor, action="webhook.created", target=endpoint, data={"url": url})
    return endpoint


@transaction.atomic
def webhook_endpoint_deactivate(*, endpoint, actor: User):
    endpoint.is_active = False
    endpoint.save(update_fields=["is_active"])
    audit_record(actor=actor, action="webhook.deactivated", target=endpoint, data={"url": endpoint.url})
    return endpoint


CLOSED_CONSENT_WITHDRAWN = "Closed: the family withdrew its consent to share its data."


def referrals_withhold_for_family(*, family: Family, actor: User) -> dict[str, int]:
    """The family withdrew its consent to share: close its open referrals and stop what is queued for
    partners. Runs in the caller's transaction, with the family row locked. No webhook is sent for it.

    Returns the counts, for the caller's audit record.
    """
    closed = 0
    for referral in (
        Referral.objects.select_for_update().filter(family=family).exclude(status__in=Referral.FINAL)
    ):
        previous = referral.status
        referral.status = Status.CLOSED
        referral.status_note = CLOSED_CONSENT_WITHDRAWN
        referral.save(update_fields=["status", "status_note", "updated_at"])
        ReferralEvent.objects.create(
            referral=referral,
            from_status=previous,
            to_status=Status.CLOSED,
            actor=actor,
            note=CLOSED_CONSENT_WITHDRAWN,
        )
        audit_record(
            actor=actor,
            action="referral.closed",
            target=referral,
            data={"from": previous, "to": Status.CLOSED, "note": CLOSED_CONSENT_WITHDRAWN},
        )
        closed += 1
    referral_ids = [str(pk) for pk in Referral.objects.filter(family=family).values_list("pk", flat=True)]
    cancelled = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, payload__referral__id__in=referral_ids
    ).update(
        status=WebhookDelivery.Status.FAILED,
        next_attempt_at=None,
        last_error=NOT_SENT_CONSENT_WITHDRAWN,
    )
    return {"referrals_closed": closed, "webhooks_cancelled": cancelled}
