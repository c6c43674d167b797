"""Role-scoped reads of complaints and verification rounds, and who may read a sensitive complaint."""

from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Role, User
from disbursements.models import Disbursement, StatementLine
from grievances.models import Grievance, PdvRound, PdvSample
from grievances.sampling import wilson_interval

# Everyone on the staff reads and raises complaints (hotline operators are case workers); partners never.
READ_ROLES = (Role.CASE_WORKER, Role.FINANCE, Role.COORDINATOR, Role.ADMIN)
# Triage and follow-up; any staff member a complaint is assigned to may also move it.
HANDLER_ROLES = (Role.CASE_WORKER, Role.COORDINATOR, Role.ADMIN)
# Verification rounds: finance, coordinators and administrators draw them; the calls are made by staff who
# did not pay (case workers, coordinators, administrators), everyone on the staff reads the report.
PDV_CREATE_ROLES = (Role.FINANCE, Role.COORDINATOR, Role.ADMIN)
PDV_ANSWER_ROLES = (Role.CASE_WORKER, Role.COORDINATOR, Role.ADMIN)
PDV_READ_ROLES = READ_ROLES

SENSITIVE_PERMISSION = "grievances.view_sensitive"


def can_view_sensitive(user: User) -> bool:
    """Designated staff: the permission granted to the user or one of its groups, explicitly.

    Superuser status does not count (Django's has_perm would say yes to every administrator): protection
    details are read by the people named for it, not by everyone who runs the server.
    """
    if not (user and user.is_authenticated and user.has_role(*READ_ROLES)):
        return False
    cached = getattr(user, "_grievances_view_sensitive", None)
    if cached is None:
        app_label, codename = SENSITIVE_PERMISSION.split(".")
        cached = Permission.objects.filter(
            Q(user=user) | Q(group__user=user), content_type__app_label=app_label, codename=codename
        ).exists()
        user._grievances_view_sensitive = cached
    return cached


def details_visible(*, grievance: Grievance, user: User) -> bool:
    return not grievance.sensitive or can_view_sensitive(user)


def grievance_list(
    *,
    actor: User,
    status: str | None = None,
    category: str | None = None,
    family_id=None,
    assigned_to: User | None = None,
    overdue: bool | None = None,
    active: bool | None = None,
) -> QuerySet[Grievance]:
    """Complaints `actor` may see, active ones first, earliest due date first (so overdue ones lead)."""
    if not actor.has_role(*READ_ROLES):
        return Grievance.objects.none()
    qs = Grievance.objects.select_related(
        "family", "assigned_to", "created_by", "resolved_by", "disbursement"
    ).order_by("done", "due_at", "id")
    if status:
        qs = qs.filter(status=status)
    if category:
        qs = qs.filter(category=category)
    if family_id:
        qs = qs.filter(family_id=family_id)
    if assigned_to is not None:
        qs = qs.filter(assigned_to=assigned_to)
    if active is not None:
        qs = qs.filter(done=not active)
    if overdue is not None:
        late = Q(done=False, due_at__lt=timezone.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    return qs


def grievance_events(*, grievance: Grievance):
    return grievance.events.select_related("actor").order_by("created_at", "id")


def assignable_users(*, sensitive: bool = False) -> QuerySet[User]:
    """Staff a complaint can be assigned to; a sensitive one only to designated staff."""
    qs = User.objects.filter(is_active=True, role__in=READ_ROLES).order_by("username")
    if sensitive:
        app_label, codename = SENSITIVE_PERMISSION.split(".")
        designated = Q(
            user_permissions__codename=codename, user_permissions__content_type__app_label=app_label
        ) | Q(groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label)
        qs = qs.filter(designated).distinct()
    return qs


def payment_reconciliation(*, disbursement: Disbursement) -> dict[str, Any]:
    """What finance knows about a payment: its status, the statement line that settled it, open exceptions."""
    line = (
        StatementLine.objects.filter(disbursement_id=disbursement.pk)
        .select_related("statement")
        .order_by("-statement__created_at", "-id")
        .first()
    )
    discrepancies = [
        {
            "kind": d.kind,
            "kind_display": d.get_kind_display(),
            "details": d.details,
            "resolved": d.resolved_at is not None,
            "created_at": d.created_at,
        }
        for d in disbursement.discrepancies.order_by("created_at", "id")
    ]
    if line is not None:
        state = line.outcome
    elif disbursement.status == Disbursement.Status.PAID:
        state = "confirmed_in_person"  # cash handed over and recorded at the reception centre
    elif any(d["kind"] == "missing" and not d["resolved"] for d in discrepancies):
        state = "missing"
    else:
        state = "not_on_a_statement"
    return {
        "disbursement": disbursement.pk,
        "reference": disbursement.reference,
        "amount": disbursement.amount,
        "currency": disbursement.currency,
        "status": disbursement.status,
        "status_display": disbursement.get_status_display(),
        "paid_at": disbursement.paid_at,
        "failure_reason": disbursement.failure_reason,
        "reconciliation": state,
        "statement_line": None
        if line is None
        else {
            "statement": line.statement_id,
            "filename": line.statement.filename,
            "line_no": line.line_no,
            "outcome": line.outcome,
            "outcome_display": line.get_outcome_display(),
            "amount": line.amount,
            "paid_at": line.paid_at,
            "message": line.message,
        },
        "discrepancies": discrepancies,
        "open_discrepancies": sum(1 for d in discrepancies if not d["resolved"]),
    }


def pdv_round_list(*, actor: User) -> QuerySet[PdvRound]:
    if not actor.has_role(*PDV_READ_ROLES):
        return PdvRound.objects.none()
    return PdvRound.objects.select_related("created_by").annotate(
        answered=Count("samples", filter=Q(samples__reached__isnull=False))
    )


def pdv_sample_list(*, actor: User, pdv_round: PdvRound | None = None) -> QuerySet[PdvSample]:
    if not actor.has_role(*PDV_READ_ROLES):
        return PdvSample.objects.none()
    qs = PdvSample.objects.select_related("family", "disbursement", "recorded_by", "round", "grievance")
    if pdv_round is not None:
        qs = qs.filter(round=pdv_round)
    return qs.order_by("round", "position")


def pdv_report(*, pdv_round: PdvRound) -> dict[str, Any]:
    """Reached, verified and mismatched families; the verified rate among those reached, with its interval."""
    # Aggregate names must not shadow the model's fields (Django would read them as nested aggregates).
    raw = PdvSample.objects.filter(round=pdv_round).aggregate(
        n_sampled=Count("id"),
        n_answered=Count("id", filter=Q(reached__isnull=False)),
        n_reached=Count("id", filter=Q(reached=True)),
        n_not_reached=Count("id", filter=Q(reached=False)),
        n_verified=Count("id", filter=Q(reached=True, confirmed_full_amount=True)),
        n_mismatches=Count("id", filter=Q(reached=True, confirmed_full_amount=False)),
        n_grievances=Count("grievance"),
    )
    counts = {key.removeprefix("n_"): value for key, value in raw.items()}
    confidence = float(pdv_round.confidence)
    interval = wilson_interval(counts["verified"], counts["reached"], confidence=confidence)
    return {
        **counts,
        "pending": counts["sampled"] - counts["answered"],
        "population": pdv_round.population_size,
        "confidence": pdv_round.confidence,
        "margin": pdv_round.margin,
        "verified_rate": None if not counts["reached"] else counts["verified"] / counts["reached"],
        "interval_low": None if interval is None else interval[0],
        "interval_high": None if interval is None else interval[1],
    }
