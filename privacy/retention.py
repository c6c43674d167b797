"""Retention: the personal data of a closed case is anonymised once it has been closed for
RETENTION_CLOSED_CASE_DAYS (default 730).

A case is *closed* (`Family.case_closed_at`) when
- its support payment is paid, no payment is in progress, every referral is finished (completed, declined or
  closed) and no possible duplicate waits for review: the nightly run closes such cases itself; or
- a case worker closed it (nothing may be in progress then either).
A family merged into another (a duplicate record) closes with the family it was merged into. A new referral or
payment request reopens a closed case (`families.services.family_case_touch`), so the clock starts again.

Anonymising keeps what the reports count (crossing point, arrival date, destination province, household size,
each member's sex, relationship, birth year and vulnerability codes, payment amounts, statuses and dates,
referrals with their organisation, service, status and dates) and removes what identifies people: names,
phone, document numbers, exact dates of birth (the age at arrival is kept), district and origin, every
free-text note and reason, the personal values in the audit trail and in the webhook log. Case numbers and
payment references stay: they are the finance audit trail's keys and say nothing about a person once the
rest is gone.

Each run works in batches, one transaction per batch; a batch locks its families with
`SELECT ... FOR UPDATE SKIP LOCKED`, so two runs at once (or a run and a case worker) never work on the same
family and every family is anonymised once. The append-only tables (audit trail, referral history, payment
ledger) accept, in that transaction only, an UPDATE of their free-text and data columns (see
privacy/migrations/0001); their rows are never deleted and their who/what/when never changes.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import AuditEvent
from disbursements.models import Disbursement, DisbursementTransition, Discrepancy
from families.models import DuplicateFlag, Family, FamilyImport, KoboSubmission, Member
from grievances.models import Grievance, GrievanceEvent, PdvSample
from referrals.models import Referral, ReferralEvent, WebhookDelivery
from referrals.serializers import WITHHELD_FAMILY, WITHHELD_REFERRAL

logger = logging.getLogger(__name__)

ANONYMISED = "[anonymised]"
BATCH_SIZE = 200
# Audit data keys whose values may identify a person (free text or personal fields).
PERSONAL_KEYS = frozenset(
    {
        "note",
        "reason",
        "name",
        "head_name",
        "given_name",
        "father_name",
        "family_name",
        "phone",
        "tazkira_number",
        "date_of_birth",
        "destination_district",
        "origin_location",
        "signature_reference",
        "recipient_confirmation",
    }
)
# Changed fields whose old and new values stay in the audit trail (codes, not personal data).
KEPT_CHANGES = frozenset({"consent_to_share", "destination_province"})
PAYMENT_IN_PROGRESS = ("requested", "approved", "exported")
REFERRAL_OPEN = ("sent", "accepted", "in_progress")


def retention_days() -> int:
    return settings.RETENTION_CLOSED_CASE_DAYS


def retention_cutoff(*, days: int | None = None, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=retention_days() if days is None else days)


# --- which cases ---------------------------------------------------------------------------------


def _open_items() -> tuple[Exists, Exists, Exists]:
    in_progress = Exists(Disbursement.objects.filter(family=OuterRef("pk"), status__in=PAYMENT_IN_PROGRESS))
    open_referral = Exists(Referral.objects.filter(family=OuterRef("pk"), status__in=REFERRAL_OPEN)) | Exists(
        Grievance.objects.filter(family=OuterRef("pk"), status__in=Grievance.ACTIVE_STATUSES)
    )
    open_flag = Exists(
        DuplicateFlag.objects.filter(
            Q(family=OuterRef("pk")) | Q(candidate=OuterRef("pk")), status=DuplicateFlag.Status.OPEN
        )
    )
    return in_progress, open_referral, open_flag


def settled_cases() -> QuerySet[Family]:
    """Open cases that are finished: paid, nothing in progress, every referral final, no review pending."""
    in_progress, open_referral, open_flag = _open_items()
    paid = Exists(Disbursement.objects.filter(family=OuterRef("pk"), status=Disbursement.Status.PAID))
    return Family.objects.filter(
        paid, case_closed_at__isnull=True, anonymised_at__isnull=True, duplicate_of__isnull=True
    ).exclude(in_progress | open_referral | open_flag)


def merged_with_closed_case() -> QuerySet[Family]:
    """Duplicate records whose kept family is closed: they close with it."""
    in_progress, open_referral, open_flag = _open_items()
    return Family.objects.filter(
        duplicate_of__case_closed_at__isnull=False, case_closed_at__isnull=True, anonymised_at__isnull=True
    ).exclude(in_progress | open_referral | open_flag)


def anonymisation_due(*, cutoff: datetime) -> QuerySet[Family]:
    return Family.objects.filter(anonymised_at__isnull=True, case_closed_at__lt=cutoff)


def imports_due(*, cutoff: datetime) -> QuerySet[FamilyImport]:
    """Uploaded household lists (whole files of personal data) older than the retention period."""
    return FamilyImport.objects.filter(
        created_at__lt=cutoff, status__in=(FamilyImport.Status.DONE, FamilyImport.Status.FAILED)
    ).exclude(content=b"", report=b"")


# --- closing -------------------------------------------------------------------------------------


def _system_events(action: str, target_type: str, rows: list[tuple[str, dict]]) -> None:
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=None, actor_username="", action=action, target_type=target_type, target_id=pk, data=d
            )
            for pk, d in rows
        ]
    )


def _close_batch(queryset: QuerySet[Family], *, why: str, batch_size: int) -> int:
    with transaction.atomic(durable=True):
        ids = list(
            queryset.select_for_update(skip_locked=True, of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        Family.objects.filter(pk__in=ids, case_closed_at__isnull=True).update(case_closed_at=timezone.now())
        _system_events("family.case_closed", "families.family", [(str(pk), {"reason": why}) for pk in ids])
        return len(ids)


def cases_close_settled(*, batch_size: int = BATCH_SIZE) -> int:
    """Close every settled case, then the duplicates of closed ones. Returns how many were closed."""
    closed = 0
    for queryset, why in (
        (settled_cases, "payment paid and every referral finished"),
        (merged_with_closed_case, "merged into a closed case"),
    ):
        while n := _close_batch(queryset(), why=why, batch_size=batch_size):
            closed += n
    return closed


# --- anonymising ---------------------------------------------------------------------------------


def redact(data: dict[str, Any]) -> dict[str, Any]:
    """An audit record's data without personal values: keys stay (what changed), values go."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "changes" and isinstance(value, dict):
            out[key] = {f: (c if f in KEPT_CHANGES else ANONYMISED) for f, c in value.items()}
        elif key in PERSONAL_KEYS and value not in ("", None, [], {}):
            out[key] = ANONYMISED
        else:
            out[key] = value
    return out


def _allow_erasure() -> None:
    """Let this transaction update the free-text columns of the append-only tables (PostgreSQL triggers)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('aidcase.erasure', 'on', true)")


def _age_at(arrival, born) -> int:
    return arrival.year - born.year - ((arrival.month, arrival.day) < (born.month, born.day))


def _anonymise_members(family_ids: list) -> dict:
    with_dob = list(
        Member.objects.filter(family_id__in=family_ids, date_of_birth__isnull=False).select_related("family")
    )
    for member in with_dob:  # the exact date goes; the age at arrival (and the birth year) stay
        member.age_years = max(0, _age_at(member.family.arrival_date, member.date_of_birth))
    Member.objects.bulk_update(with_dob, ["age_years"], batch_size=500)
    counts = dict(
        Member.objects.filter(family_id__in=family_ids)
        .values("family_id")
        .annotate(n=Count("id"))
        .values_list("family_id", "n")
    )
    Member.objects.filter(family_id__in=family_ids).update(
        given_name="",
        father_name="",
        family_name="",
        tazkira_number="",
        tazkira_key="",
        name_key="",
        date_of_birth=None,
    )
    return counts


def _redact_payload(payload: dict) -> dict:
    referral = dict(payload.get("referral") or {})
    referral.update(WITHHELD_REFERRAL, family_data_withheld=True)
    referral["family"] = {**(referral.get("family") or {}), **WITHHELD_FAMILY}
    return {**payload, "referral": referral}


def _redact_audit(
    targets: dict[tuple[str, str], Any], case_numbers: dict[str, Any], per_family: dict
) -> None:
    by_type: dict[str, list[str]] = {}
    for target_type, target_id in targets:
        by_type.setdefault(target_type, []).append(target_id)
    condition = Q()
    for target_type, ids in by_type.items():
        condition |= Q(target_type=target_type, target_id__in=ids)
    # A review of a possible duplicate is recorded on the other family; its note may name this one.
    condition |= Q(action__startswith="duplicate.", data__candidate__in=list(case_numbers))
    condition |= Q(action="family.merged", data__into__in=list(case_numbers))
    changed = []
    for event in AuditEvent.objects.filter(condition).only(
        "id", "target_type", "target_id", "action", "data"
    ):
        data = redact(event.data or {})
        if data != event.data:
            family_id = targets.get((event.target_type, event.target_id)) or case_numbers.get(
                event.data.get("candidate") or event.data.get("into")
            )
            event.data = data
            changed.append(event)
            per_family[family_id]["audit_events_redacted"] += 1
    AuditEvent.objects.bulk_update(changed, ["data"], batch_size=500)


def _anonymise(families: list[Family], *, now: datetime) -> dict:
    """Anonymise locked families; returns per-family counts for their audit records."""
    ids = [f.pk for f in families]
    per_family: dict = {
        f.pk: {"members": 0, "referrals": 0, "disbursements": 0, "audit_events_redacted": 0} for f in families
    }
    for family_id, n in _anonymise_members(ids).items():
        per_family[family_id]["members"] = n

    referrals = list(Referral.objects.filter(family_id__in=ids).values_list("pk", "family_id"))
    payments = list(Disbursement.objects.filter(family_id__in=ids).values_list("pk", "family_id"))
    members = list(Member.objects.filter(family_id__in=ids).values_list("pk", "family_id"))
    for _pk, family_id in referrals:
        per_family[family_id]["referrals"] += 1
    for _pk, family_id in payments:
        per_family[family_id]["disbursements"] += 1

    Family.objects.filter(pk__in=ids).update(
        head_name="",
        head_name_key="",
        phone="",
        destination_district="",
        origin_location="",
        import_fingerprint="",
        client_reference=None,
        anonymised_at=now,
        updated_at=now,
    )
    DuplicateFlag.objects.filter(Q(family_id__in=ids) | Q(candidate_id__in=ids)).exclude(note="").update(
        note=""
    )
    KoboSubmission.objects.filter(family_id__in=ids).update(errors=[])

    referral_ids = [pk for pk, _ in referrals]
    Referral.objects.filter(pk__in=referral_ids).update(note="", status_note="")
    ReferralEvent.objects.filter(referral_id__in=referral_ids).exclude(note="").update(note="")
    deliveries = list(
        WebhookDelivery.objects.filter(payload__referral__id__in=[str(pk) for pk in referral_ids])
    )
    for delivery in deliveries:
        delivery.payload = _redact_payload(delivery.payload)
    WebhookDelivery.objects.bulk_update(deliveries, ["payload"], batch_size=500)

    grievance_ids = list(Grievance.objects.filter(family_id__in=ids).values_list("pk", flat=True))
    # A complaint keeps a text where its constraints ask for one (a resolved complaint has a resolution).
    Grievance.objects.filter(pk__in=grievance_ids).update(description=ANONYMISED)
    Grievance.objects.filter(pk__in=grievance_ids).exclude(resolution="").update(resolution=ANONYMISED)
    GrievanceEvent.objects.filter(grievance_id__in=grievance_ids).exclude(note="").update(note="")
    PdvSample.objects.filter(family_id__in=ids).exclude(notes="").update(notes="")

    payment_ids = [pk for pk, _ in payments]
    Disbursement.objects.filter(pk__in=payment_ids).update(
        decision_reason="", failure_reason="", recipient_code_hash=""
    )
    DisbursementTransition.objects.filter(disbursement_id__in=payment_ids).exclude(reason="").update(
        reason=""
    )
    Discrepancy.objects.filter(disbursement_id__in=payment_ids).exclude(resolution_note="").update(
        resolution_note=""
    )

    targets: dict[tuple[str, str], Any] = {("families.family", str(pk)): pk for pk in ids}
    targets.update({("families.member", str(pk)): fid for pk, fid in members})
    targets.update({("referrals.referral", str(pk)): fid for pk, fid in referrals})
    targets.update({("disbursements.disbursement", str(pk)): fid for pk, fid in payments})
    _redact_audit(targets, {f.case_number: f.pk for f in families}, per_family)
    return per_family


def anonymise_batch(*, cutoff: datetime, batch_size: int = BATCH_SIZE, trigger: str = "scheduled") -> int:
    """Anonymise up to `batch_size` families closed before `cutoff`, in one transaction. Returns how many."""
    now = timezone.now()
    with transaction.atomic(durable=True):
        _allow_erasure()
        # SKIP LOCKED: a family another run (or a case worker's transaction) holds is left for later;
        # the WHERE is checked again on the locked row, so a family anonymised meanwhile is not taken.
        families = list(
            anonymisation_due(cutoff=cutoff)
            .select_for_update(skip_locked=True)
            .order_by("case_closed_at", "pk")[:batch_size]
        )
        if not families:
            return 0
        per_family = _anonymise(families, now=now)
        _system_events(
            "family.anonymised",
            "families.family",
            [
                (
                    str(f.pk),
                    {
                        "policy": "retention of closed cases",
                        "retention_days": retention_days(),
                        "case_closed_at": f.case_closed_at.isoformat(),
                        "trigger": trigger,
                        **per_family[f.pk],
                    },
                )
                for f in families
            ],
        )
        return len(families)


def imports_purge(*, cutoff: datetime, trigger: str = "scheduled") -> int:
    """Empty the stored files (and reports) of household lists older than the retention period."""
    with transaction.atomic(durable=True):
        ids = list(
            imports_due(cutoff=cutoff).select_for_update(skip_locked=True).values_list("pk", flat=True)
        )
        FamilyImport.objects.filter(pk__in=ids).update(content=b"", report=b"")
        _system_events(
            "family_import.purged",
            "families.familyimport",
            [(str(pk), {"policy": "retention of closed cases", "trigger": trigger}) for pk in ids],
        )
        return len(ids)


def retention_run(
    *,
    days: int | None = None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    trigger: str = "scheduled",
) -> dict[str, Any]:
    """The whole policy: close settled cases, anonymise those closed before the cutoff, purge old uploads.

    Safe to run at any time, twice, or twice at once. `dry_run` only counts.
    """
    cutoff = retention_cutoff(days=days)
    if dry_run:
        return {
            "cutoff": cutoff.isoformat(),
            "dry_run": True,
            "closed": settled_cases().count() + merged_with_closed_case().count(),
            "anonymised": anonymisation_due(cutoff=cutoff).count(),
            "imports_purged": imports_due(cutoff=cutoff).count(),
        }
    closed = cases_close_settled(batch_size=batch_size)
    anonymised = 0
    while n := anonymise_batch(cutoff=cutoff, batch_size=batch_size, trigger=trigger):
        anonymised += n
    purged = imports_purge(cutoff=cutoff, trigger=trigger)
    result = {
        "cutoff": cutoff.isoformat(),
        "dry_run": False,
        "closed": closed,
        "anonymised": anonymised,
        "imports_purged": purged,
    }
    logger.info("retention run: %s", result)
    return result
