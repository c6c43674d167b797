"""Writes for complaints and post-distribution verification. Each public service owns its transaction."""

import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import audit_record
from aidcase.core.exceptions import Conflict, Forbidden
from disbursements.models import Disbursement
from families.models import Family
from families.services import family_case_touch
from grievances import sampling
from grievances.models import Grievance, GrievanceEvent, PdvRound, PdvSample
from grievances.selectors import (
    HANDLER_ROLES,
    PDV_ANSWER_ROLES,
    PDV_CREATE_ROLES,
    READ_ROLES,
    assignable_users,
    can_view_sensitive,
)

Status = Grievance.Status
Category = Grievance.Category

# Which moves the lifecycle allows; reopening goes back to open from resolved or closed.
TRANSITIONS = {
    Status.OPEN: {Status.IN_PROGRESS, Status.RESOLVED},
    Status.IN_PROGRESS: {Status.RESOLVED},
    Status.RESOLVED: {Status.CLOSED, Status.OPEN},
    Status.CLOSED: {Status.OPEN},
}
DEFAULT_PRIORITY = {
    Category.PROTECTION_CONCERN: Grievance.Priority.HIGH,
    Category.PAYMENT_NOT_RECEIVED: Grievance.Priority.HIGH,
}

_UNSET: Any = object()


def due_at_for(*, priority: str, start: datetime) -> datetime:
    """The SLA of a priority (settings.GRIEVANCE_SLA_HOURS) from `start`."""
    return start + timedelta(hours=settings.GRIEVANCE_SLA_HOURS[priority])


def _can_handle(*, grievance: Grievance, actor: User) -> bool:
    if not actor.has_role(*READ_ROLES):
        return False
    if grievance.sensitive and not can_view_sensitive(actor):
        return False
    return actor.has_role(*HANDLER_ROLES) or grievance.assigned_to_id == actor.pk


def can_handle(*, grievance: Grievance, actor: User) -> bool:
    return _can_handle(grievance=grievance, actor=actor)


def _check_handler(*, grievance: Grievance, actor: User) -> None:
    if not _can_handle(grievance=grievance, actor=actor):
        if grievance.sensitive and not can_view_sensitive(actor):
            raise Forbidden(_("Only designated staff handle a sensitive complaint."))
        raise Forbidden(_("Your role does not allow changing this complaint."))


def _check_assignee(*, assignee: User | None, sensitive: bool) -> None:
    if assignee is None:
        return
    if not assignable_users(sensitive=sensitive).filter(pk=assignee.pk).exists():
        if sensitive:
            raise ValidationError(
                {"assigned_to": _("A sensitive complaint can only be assigned to designated staff.")}
            )
        raise ValidationError({"assigned_to": _("Complaints are assigned to active staff members.")})


def _check_disbursement(*, family: Family, disbursement: Disbursement | None) -> None:
    if disbursement is not None and disbursement.family_id != family.pk:
        raise ValidationError({"disbursement": _("This payment belongs to another family.")})


def _event(
    grievance: Grievance,
    *,
    actor: User | None,
    action: str,
    from_status: str = "",
    to_status: str = "",
    changes: dict | None = None,
    note: str = "",
) -> None:
    GrievanceEvent.objects.create(
        grievance=grievance,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        changes=changes or {},
        note=note,
    )
    # The audit trail gets the fact, never the free text: it is read by administrators, who may not be
    # designated for sensitive complaints.
    audit_record(
        actor=actor,
        action=f"grievance.{action}",
        target=grievance,
        data={
            "family": str(grievance.family_id),
            **({"from": from_status, "to": to_status} if to_status else {}),
            **({"changes": changes} if changes else {}),
        },
    )


def _create(
    *,
    family: Family,
    category: str,
    description: str,
    created_by: User,
    channel: str = Grievance.Channel.IN_PERSON,
    priority: str | None = None,
    sensitive: bool = False,
    disbursement: Disbursement | None = None,
    assigned_to: User | None = None,
    pdv_sample: PdvSample | None = None,
) -> Grievance:
    if not created_by.has_role(*READ_ROLES):
        raise Forbidden(_("Your role does not allow raising complaints."))
    if category not in Category.values:
        raise ValidationError({"category": _("Unknown category.")})
    if not description.strip():
        raise ValidationError({"description": _("Describe the complaint.")})
    priority = priority or DEFAULT_PRIORITY.get(category, Grievance.Priority.MEDIUM)
    if priority not in Grievance.Priority.values:
        raise ValidationError({"priority": _("Unknown priority.")})
    _check_disbursement(family=family, disbursement=disbursement)
    if disbursement is None and category in Grievance.PAYMENT_CATEGORIES:
        # The complaint is about the family's support payment: link the latest one.
        disbursement = family.disbursements.order_by("-requested_at").first()
    _check_assignee(assignee=assigned_to, sensitive=sensitive)
    # A complaint reopens a closed case (its retention clock starts again); an anonymised family is refused.
    family_case_touch(
        family=Family.objects.select_for_update().get(pk=family.pk),
        actor=created_by,
        reason="complaint raised",
    )
    now = timezone.now()
    grievance = Grievance.objects.create(
        family=family,
        category=category,
        channel=channel,
        priority=priority,
        sensitive=sensitive,
        description=description.strip(),
        disbursement=disbursement,
        assigned_to=assigned_to,
        pdv_sample=pdv_sample,
        due_at=due_at_for(priority=priority, start=now),
        sla_from=now,
        created_by=created_by,
        created_at=now,
    )
    _event(
        grievance,
        actor=created_by,
        action="created",
        to_status=Status.OPEN,
        changes={
            "category": category,
            "priority": priority,
            "channel": channel,
            "sensitive": sensitive,
            "assigned_to": assigned_to.username if assigned_to else None,
            "disbursement": disbursement.reference if disbursement else None,
        },
    )
    return grievance


@transaction.atomic(durable=True)
def grievance_create(**kwargs) -> Grievance:
    """Raise a complaint for a family (see `_create` for the arguments). The due date follows the priority."""
    return _create(**kwargs)


def _locked(grievance: Grievance) -> Grievance:
    return (
        Grievance.objects.select_for_update(of=("self",)).select_related("assigned_to").get(pk=grievance.pk)
    )


@transaction.atomic(durable=True)
def grievance_update(
    *,
    grievance: Grievance,
    actor: User,
    priority: str = _UNSET,
    assigned_to: User | None = _UNSET,
    sensitive: bool = _UNSET,
    note: str = "",
) -> Grievance:
    """Triage: priority (the due date moves with it), assignment, the sensitive flag; each change recorded."""
    grievance = _locked(grievance)
    _check_handler(grievance=grievance, actor=actor)
    changes: dict[str, list] = {}
    if sensitive is not _UNSET and sensitive != grievance.sensitive:
        if not sensitive and not can_view_sensitive(actor):
            raise Forbidden(_("Only designated staff handle a sensitive complaint."))
        changes["sensitive"] = [grievance.sensitive, sensitive]
        grievance.sensitive = sensitive
        if sensitive and assigned_to is _UNSET:
            assigned_to = grievance.assigned_to  # re-checked below: the assignee must be designated too
    if priority is not _UNSET and priority != grievance.priority:
        if priority not in Grievance.Priority.values:
            raise ValidationError({"priority": _("Unknown priority.")})
        changes["priority"] = [grievance.priority, priority]
        old_due = grievance.due_at
        grievance.priority = priority
        grievance.due_at = due_at_for(priority=priority, start=grievance.sla_from)
        changes["due_at"] = [old_due.isoformat(), grievance.due_at.isoformat()]
    if assigned_to is not _UNSET:
        _check_assignee(assignee=assigned_to, sensitive=grievance.sensitive)
        if (assigned_to.pk if assigned_to else None) != grievance.assigned_to_id:
            changes["assigned_to"] = [
                grievance.assigned_to.username if grievance.assigned_to else None,
                assigned_to.username if assigned_to else None,
            ]
            grievance.assigned_to = assigned_to
    if not changes and not note.strip():
        return grievance
    grievance.save()
    _event(grievance, actor=actor, action="updated", changes=changes, note=note.strip())
    return grievance


@transaction.atomic(durable=True)
def grievance_transition(
    *, grievance: Grievance, actor: User, target: str, note: str = "", resolution: str = ""
) -> Grievance:
    """open → in_progress → resolved (resolution required) → closed; reopen from resolved or closed."""
    grievance = _locked(grievance)
    _check_handler(grievance=grievance, actor=actor)
    if target not in Status.values:
        raise ValidationError({"status": _("Unknown status.")})
    current = grievance.status
    if target not in TRANSITIONS[current]:
        raise Conflict(
            _("A complaint that is %(current)s cannot become %(target)s.")
            % {"current": current, "target": target},
            code="invalid_transition",
        )
    now = timezone.now()
    action = "status_changed"
    if target == Status.RESOLVED:
        if not resolution.strip():
            raise ValidationError({"resolution": _("Say how the complaint was resolved.")})
        grievance.resolution = resolution.strip()
        grievance.resolved_by = actor
        grievance.resolved_at = now
        note = note or grievance.resolution
    elif target == Status.CLOSED:
        grievance.closed_at = now
    elif target == Status.OPEN:
        if not note.strip():
            raise ValidationError({"note": _("Say why the complaint is reopened.")})
        action = "reopened"
        # The previous resolution stays in the history; the next one starts from scratch, on a fresh SLA.
        grievance.resolution = ""
        grievance.resolved_by = None
        grievance.resolved_at = None
        grievance.closed_at = None
        grievance.sla_from = now
        grievance.due_at = due_at_for(priority=grievance.priority, start=now)
    grievance.status = target
    grievance.done = target in (Status.RESOLVED, Status.CLOSED)
    grievance.save()
    _event(grievance, actor=actor, action=action, from_status=current, to_status=target, note=note.strip())
    return grievance


# --- post-distribution verification -----------------------------------------------------------------


def pdv_population(*, paid_from: date, paid_to: date):
    """Support payments paid in the period (Kabul dates), in reference order: the frame the sample is drawn from."""
    # Local midnights as a timestamp range (not `__date`), so an index on paid_at can serve it.
    start = timezone.make_aware(datetime.combine(paid_from, time.min))
    end = timezone.make_aware(datetime.combine(paid_to + timedelta(days=1), time.min))
    return (
        Disbursement.objects.filter(status=Disbursement.Status.PAID, paid_at__gte=start, paid_at__lt=end)
        .order_by("reference")
        .values_list("pk", "family_id")
    )


@transaction.atomic(durable=True)
def pdv_round_create(
    *,
    paid_from: date,
    paid_to: date,
    created_by: User,
    confidence: Decimal | float = Decimal("0.95"),
    margin: Decimal | float = Decimal("0.05"),
    seed: int | None = None,
    name: str = "",
) -> PdvRound:
    """Draw the sample: Cochran's size for the confidence and margin, then a seeded random draw (stored)."""
    if not created_by.has_role(*PDV_CREATE_ROLES):
        raise Forbidden(_("Your role does not allow drawing a verification sample."))
    if paid_to < paid_from:
        raise ValidationError({"paid_to": _("The period ends before it starts.")})
    confidence, margin = Decimal(str(confidence)), Decimal(str(margin))
    if not Decimal("0.5") <= confidence <= Decimal("0.999"):
        raise ValidationError({"confidence": _("Choose a confidence level between 0.5 and 0.999.")})
    if not Decimal("0.01") <= margin <= Decimal("0.5"):
        raise ValidationError({"margin": _("Choose a margin of error between 0.01 and 0.5.")})
    population = list(pdv_population(paid_from=paid_from, paid_to=paid_to))
    if not population:
        raise ValidationError({"paid_from": _("No support payment was paid in this period.")})
    size = sampling.sample_size(
        population=len(population), confidence=float(confidence), margin=float(margin)
    )
    seed = secrets.randbits(62) if seed is None else seed
    chosen = sampling.draw(population, size=size, seed=seed)
    pdv_round = PdvRound.objects.create(
        name=name.strip(),
        paid_from=paid_from,
        paid_to=paid_to,
        confidence=confidence,
        margin=margin,
        seed=seed,
        population_size=len(population),
        sample_size=size,
        created_by=created_by,
    )
    PdvSample.objects.bulk_create(
        PdvSample(round=pdv_round, position=i, disbursement_id=d, family_id=f)
        for i, (d, f) in enumerate(chosen, start=1)
    )
    audit_record(
        actor=created_by,
        action="pdv.round_created",
        target=pdv_round,
        data={
            "paid_from": paid_from.isoformat(),
            "paid_to": paid_to.isoformat(),
            "confidence": str(confidence),
            "margin": str(margin),
            "seed": seed,
            "population": len(population),
            "sample": size,
        },
    )
    return pdv_round


@transaction.atomic(durable=True)
def pdv_answer_record(
    *,
    sample: PdvSample,
    actor: User,
    reached: bool,
    confirmed_full_amount: bool | None = None,
    amount_reported: Decimal | None = None,
    notes: str = "",
) -> PdvSample:
    """Record what a sampled family said. A mismatch opens one complaint, however often it is recorded.

    Not reached: nothing else is asked. Reached and confirmed: the amount is the payment's. Reached and not
    confirmed: the amount received is required (0 when nothing came) and opens a payment_not_received
    (0) or wrong_amount complaint linked to the payment.
    """
    if not actor.has_role(*PDV_ANSWER_ROLES):
        raise Forbidden(_("Your role does not allow recording verification answers."))
    # Lock the sampled row: two people (or one double-click) recording at once open one complaint.
    sample = (
        PdvSample.objects.select_for_update(of=("self",))
        .select_related("disbursement", "family")
        .get(pk=sample.pk)
    )
    paid = sample.disbursement.amount
    if not reached:
        if confirmed_full_amount is not None or amount_reported is not None:
            raise ValidationError({"reached": _("A family that was not reached has no answer to record.")})
    elif confirmed_full_amount is None:
        raise ValidationError(
            {"confirmed_full_amount": _("Say whether the family confirms receiving the full amount.")}
        )
    elif confirmed_full_amount:
        if amount_reported is not None and amount_reported != paid:
            raise ValidationError(
                {"amount_reported": _("The family confirms the full amount: leave the amount empty.")}
            )
        amount_reported = paid
    else:
        if amount_reported is None:
            raise ValidationError(
                {"amount_reported": _("Record the amount the family received (0 if nothing).")}
            )
        if amount_reported < 0:
            raise ValidationError({"amount_reported": _("The amount cannot be negative.")})
        if amount_reported == paid:
            raise ValidationError(
                {"amount_reported": _("That is the full amount: record the answer as confirmed.")}
            )
    if amount_reported is not None:
        amount_reported = Decimal(amount_reported).quantize(Decimal("0.01"))
    before = {
        "reached": sample.reached,
        "confirmed_full_amount": sample.confirmed_full_amount,
        "amount_reported": sample.amount_reported,
    }
    sample.reached = reached
    sample.confirmed_full_amount = confirmed_full_amount if reached else None
    sample.amount_reported = amount_reported if reached else None
    sample.notes = notes.strip()
    sample.recorded_by = actor
    sample.recorded_at = timezone.now()
    sample.save()
    audit_record(
        actor=actor,
        action="pdv.answer_recorded",
        target=sample,
        data={
            "round": str(sample.round_id),
            "family": str(sample.family_id),
            "before": {k: None if v is None else str(v) for k, v in before.items()},
            "reached": reached,
            "confirmed_full_amount": sample.confirmed_full_amount,
            "amount_reported": None if sample.amount_reported is None else str(sample.amount_reported),
        },
    )
    if sample.mismatch and not Grievance.objects.filter(pdv_sample=sample).exists():
        nothing = sample.amount_reported == 0
        _create(
            family=sample.family,
            category=Category.PAYMENT_NOT_RECEIVED if nothing else Category.WRONG_AMOUNT,
            channel=Grievance.Channel.PDV,
            description=_(
                "Post-distribution verification: the family reports receiving %(reported)s AFN of "
                "%(paid)s AFN (payment %(reference)s)."
            )
            % {"reported": sample.amount_reported, "paid": paid, "reference": sample.disbursement.reference}
            + (f"\n{sample.notes}" if sample.notes else ""),
            created_by=actor,
            disbursement=sample.disbursement,
            pdv_sample=sample,
        )
    return sample
