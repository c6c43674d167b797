"""Everything aidcase holds about one family, for a subject access request."""

from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.models import AuditEvent
from disbursements.models import Disbursement
from families.models import DuplicateFlag, Family, KoboSubmission
from referrals.models import Referral, WebhookDelivery


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _user(user) -> str | None:
    return user.username if user is not None else None


def _family(f: Family) -> dict[str, Any]:
    return {
        "id": str(f.pk),
        "case_number": f.case_number,
        "status": f.status,
        "duplicate_of": f.duplicate_of.case_number if f.duplicate_of_id else None,
        "crossing_point": f.crossing_point.code,
        "arrival_date": _iso(f.arrival_date),
        "origin_location": f.origin_location,
        "documentation_status": f.documentation_status,
        "return_type": f.return_type,
        "destination_province": f.destination_province.code,
        "destination_district": f.destination_district,
        "phone": f.phone,
        "head_name": f.head_name,
        "household_size": f.household_size,
        "vulnerabilities": f.vulnerabilities,
        "consent_to_share": f.consent_to_share,
        "consent_recorded_at": _iso(f.consent_recorded_at),
        "consent_recorded_by": _user(f.consent_recorded_by),
        "registered_by": _user(f.created_by),
        "registered_at": _iso(f.created_at),
        "updated_at": _iso(f.updated_at),
        "case_closed_at": _iso(f.case_closed_at),
        "anonymised_at": _iso(f.anonymised_at),
    }


def _members(f: Family) -> list[dict[str, Any]]:
    return [
        {
            "id": str(m.pk),
            "position": m.position,
            "given_name": m.given_name,
            "father_name": m.father_name,
            "family_name": m.family_name,
            "sex": m.sex,
            "relationship": m.relationship,
            "date_of_birth": _iso(m.date_of_birth),
            "age_years": m.age_years,
            "birth_year": m.birth_year,
            "vulnerabilities": m.vulnerabilities,
        }
        for m in f.members.all()
    ]


def _documents(f: Family) -> list[dict[str, Any]]:
    return [
        {"member": str(m.pk), "type": "tazkira", "number": m.tazkira_number}
        for m in f.members.all()
        if m.tazkira_number
    ]


def _duplicates(f: Family) -> list[dict[str, Any]]:
    flags = DuplicateFlag.objects.filter(Q(family=f) | Q(candidate=f)).select_related(
        "family", "candidate", "resolved_by"
    )
    return [
        {
            "other_case_number": (d.candidate if d.family_id == f.pk else d.family).case_number,
            "score": d.score,
            "reasons": d.reasons,
            "status": d.status,
            "note": d.note,
            "resolved_by": _user(d.resolved_by),
            "resolved_at": _iso(d.resolved_at),
            "created_at": _iso(d.created_at),
        }
        for d in flags
    ]


def _payments(f: Family) -> list[dict[str, Any]]:
    payments = (
        Disbursement.objects.filter(family=f)
        .select_related("requested_by", "approved_by", "paid_by", "batch", "reissue_of")
        .prefetch_related("transitions__actor")
        .order_by("requested_at")
    )
    return [
        {
            "reference": d.reference,
            "amount": f"{d.amount:.2f}",
            "currency": d.currency,
            "status": d.status,
            "legal_basis": d.legal_basis,
            "requested_by": _user(d.requested_by),
            "requested_at": _iso(d.requested_at),
            "approved_by": _user(d.approved_by),
            "approved_at": _iso(d.approved_at),
            "decision_reason": d.decision_reason,
            "batch": d.batch.reference if d.batch_id else None,
            "channel": d.batch.channel if d.batch_id else None,
            "exported_at": _iso(d.exported_at),
            "paid_at": _iso(d.paid_at),
            "paid_by": _user(d.paid_by),
            "recipient_confirmation": d.recipient_confirmation,
            "failure_reason": d.failure_reason,
            "reissue_of": d.reissue_of.reference if d.reissue_of_id else None,
            "transitions": [
                {
                    "from": t.from_status,
                    "to": t.to_status,
                    "by": _user(t.actor),
                    "at": _iso(t.created_at),
                    "reason": t.reason,
                }
                for t in d.transitions.all()
            ],
        }
        for d in payments
    ]


def _referrals(f: Family) -> list[dict[str, Any]]:
    referrals = (
        Referral.objects.filter(family=f)
        .select_related("organization", "service", "created_by")
        .prefetch_related("events__actor")
        .order_by("created_at")
    )
    deliveries: dict[str, list] = {}
    for d in WebhookDelivery.objects.filter(
        payload__referral__id__in=[str(r.pk) for r in referrals]
    ).select_related("endpoint__organization"):
        deliveries.setdefault(d.payload["referral"]["id"], []).append(
            {
                "organization": d.endpoint.organization.code,
                "event": d.event,
                "status": d.status,
                "created_at": _iso(d.created_at),
                "delivered_at": _iso(d.delivered_at),
            }
        )
    return [
        {
            "id": str(r.pk),
            "organization": r.organization.code,
            "service": r.service.code,
            "urgency": r.urgency,
            "status": r.status,
            "note": r.note,
            "status_note": r.status_note,
            "created_by": _user(r.created_by),
            "created_at": _iso(r.created_at),
            "updated_at": _iso(r.updated_at),
            "events": [
                {
                    "from": e.from_status,
                    "to": e.to_status,
                    "by": _user(e.actor),
                    "at": _iso(e.created_at),
                    "note": e.note,
                }
                for e in r.events.all()
            ],
            "sent_to_partner": deliveries.get(str(r.pk), []),
        }
        for r in referrals
    ]


def _audit(f: Family, member_ids, payment_ids, referral_ids) -> list[dict[str, Any]]:
    events = AuditEvent.objects.filter(
        Q(target_type="families.family", target_id=str(f.pk))
        | Q(target_type="families.member", target_id__in=member_ids)
        | Q(target_type="disbursements.disbursement", target_id__in=payment_ids)
        | Q(target_type="referrals.referral", target_id__in=referral_ids)
    ).order_by("created_at", "id")
    return [
        {
            "at": _iso(e.created_at),
            "by": e.actor_username or "system",
            "action": e.action,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "data": e.data,
        }
        for e in events
    ]


def family_subject_access_data(*, family: Family) -> dict[str, Any]:
    """Everything held about the family and its members, including who read or changed it and when."""
    family = (
        Family.objects.select_related(
            "crossing_point", "destination_province", "duplicate_of", "created_by", "consent_recorded_by"
        )
        .prefetch_related("members")
        .get(pk=family.pk)
    )
    payments = _payments(family)
    referrals = _referrals(family)
    member_ids = [str(pk) for pk in family.members.values_list("pk", flat=True)]
    payment_ids = [str(pk) for pk in family.disbursements.values_list("pk", flat=True)]
    referral_ids = [r["id"] for r in referrals]
    return {
        "generated_at": _iso(timezone.now()),
        "family": _family(family),
        "members": _members(family),
        "documents": _documents(family),
        "possible_duplicates": _duplicates(family),
        "payments": payments,
        "referrals": referrals,
        "kobo_submissions": [
            {"form": s.form.asset_uid, "uuid": s.uuid, "status": s.status, "submitted_at": s.submitted_at}
            for s in KoboSubmission.objects.filter(family=family).select_related("form")
        ],
        "audit_trail": _audit(family, member_ids, payment_ids, referral_ids),
    }


def export_rows(data: dict[str, Any]) -> list[list[str]]:
    """The export flattened for a spreadsheet: section, item, field, value (one line per value)."""
    rows: list[list[str]] = [["section", "item", "field", "value"]]

    def add(section: str, item: str, record: dict) -> None:
        for key, value in record.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for i, sub in enumerate(value, 1):
                    add(f"{section}.{key}", f"{item}.{i}", sub)
            else:
                rows.append([section, item, key, "" if value is None else str(value)])

    add("family", "1", data["family"])
    for section in (
        "members",
        "documents",
        "possible_duplicates",
        "payments",
        "referrals",
        "kobo_submissions",
        "audit_trail",
    ):
        for i, record in enumerate(data[section], 1):
            add(section, str(i), record)
    return rows
