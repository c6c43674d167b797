from dataclasses import dataclass, field
from datetime import date
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import audit_changes, audit_record
from aidcase.core.exceptions import Conflict
from families.duplicates import Applicant, Match, find_possible_duplicates
from families.models import (
    CaseNumberCounter,
    CrossingPoint,
    DuplicateFlag,
    Family,
    Member,
    Province,
    Relationship,
    Vulnerability,
)
from families.names import clean_script, digits_key, head_key, person_key

EXACTLY_ONE_HEAD = "Exactly one member must have relationship 'head' (found {count})."
NO_MEMBERS = "A family needs at least one member."
DOB_OR_AGE = "Give date_of_birth or age_years."
DOB_IN_FUTURE = "Date of birth cannot be after the arrival date."
ARRIVAL_IN_FUTURE = "Arrival date cannot be in the future."
INVALID_PHONE = "Enter a valid phone number, e.g. +93700123456."
UNKNOWN_VULNERABILITY = "Unknown vulnerability code '{code}'."
DUPLICATE_TAZKIRA_IN_FAMILY = "The same Tazkira number is given for two members."
FLAG_NOT_OPEN = "This possible duplicate has already been reviewed ({status})."
CANNOT_MERGE_MERGED = "Family {case_number} is already merged into another family."
WITHDRAW_CONSENT_SEPARATELY = (
    "Consent is withdrawn with 'Withdraw consent' on the family page, which also stops sharing with partners."
)
FAMILY_ANONYMISED = (
    "Family {case_number} was anonymised under the retention policy: its record only counts in reports."
)
CASE_ALREADY_CLOSED = "The case of family {case_number} is already closed."
CASE_HAS_PAYMENT_IN_PROGRESS = (
    "The support payment {reference} is still {status}: settle it before closing the case."
)
CASE_HAS_OPEN_REFERRALS = "{count} referral(s) are not finished: close them before closing the case."
CASE_HAS_OPEN_COMPLAINTS = "{count} complaint(s) are not resolved: resolve them before closing the case."
# Payment and referral statuses that keep a case open (read through reverse relations: the registry never
# imports the money or referral code).
PAYMENT_IN_PROGRESS = ("requested", "approved", "exported")
REFERRAL_OPEN = ("sent", "accepted", "in_progress")
MAX_MEMBERS = 40


@dataclass
class MemberInput:
    given_name: str
    father_name: str
    sex: str
    relationship: str
    family_name: str = ""
    date_of_birth: date | None = None
    age_years: int | None = None
    tazkira_number: str = ""
    vulnerabilities: list[str] = field(default_factory=list)


def normalize_phone(raw: str) -> str:
    """E.164 form of an Afghan (default) or international number; '' when empty."""
    raw = clean_script(raw or "")
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")), "AF")
    except phonenumbers.NumberParseException:
        raise ValidationError({"phone": INVALID_PHONE}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": INVALID_PHONE})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _birth_year(member: MemberInput, arrival_date: date) -> int | None:
    if member.date_of_birth:
        return member.date_of_birth.year
    if member.age_years is not None:
        return arrival_date.year - member.age_years
    return None


def _validate_members(members: list[MemberInput], arrival_date: date) -> None:
    errors: dict[str, list[str]] = {}
    if not members:
        raise ValidationError({"members": NO_MEMBERS})
    if len(members) > MAX_MEMBERS:
        raise ValidationError({"members": f"At most {MAX_MEMBERS} members per household."})
    heads = sum(1 for m in members if m.relationship == Relationship.HEAD)
    if heads != 1:
        errors["members"] = [EXACTLY_ONE_HEAD.format(count=heads)]
    for i, m in enumerate(members):
        if m.date_of_birth is None and m.age_years is None:
            errors.setdefault(f"members[{i}].date_of_birth", []).append(DOB_OR_AGE)
        if m.date_of_birth and m.date_of_birth > arrival_date:
            errors.setdefault(f"members[{i}].date_of_birth", []).append(DOB_IN_FUTURE)
        for code in m.vulnerabilities:
            if code not in Vulnerability.values:
                errors.setdefault(f"members[{i}].vulnerabilities", []).append(
                    UNKNOWN_VULNERABILITY.format(code=code)
                )
    keys = [digits_key(m.tazkira_number) for m in members if digits_key(m.tazkira_number)]
    if len(keys) != len(set(keys)):
        errors.setdefault("members", []).append(DUPLICATE_TAZKIRA_IN_FAMILY)
    if errors:
        raise ValidationError(errors)


def applicant_from_input(*, members: list[MemberInput], arrival_date: date, phone: str) -> Applicant:
    head = next((m for m in members if m.relationship == Relationship.HEAD), members[0])
    return Applicant(
        head_given_name=head.given_name,
        head_father_name=head.father_name,
        head_birth_year=_birth_year(head, arrival_date),
        phone=phone,
        tazkira_keys=[k for k in (digits_key(m.tazkira_number) for m in members) if k],
    )


def registration_check(*, members: list[MemberInput], arrival_date: date, phone: str = "") -> list[Match]:
    """Validate a household as the form would save it and list its possible duplicates (saves nothing)."""
    phone = normalize_phone(phone)
    _validate_members(members, arrival_date)
    return find_possible_duplicates(
        applicant_from_input(members=members, arrival_date=arrival_date, phone=phone)
    )


def case_number_next(*, crossing_point: CrossingPoint, year: int) -> str:
    """Next case number for a crossing point and year, e.g. TKM-2026-000042.

    One atomic upsert: concurrent registrations each get their own number, with no gaps from retries.
    """
    table = CaseNumberCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, year, last) VALUES (%s, %s, 1) "  # noqa: S608 - table name is ours
            f"ON CONFLICT (prefix, year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [crossing_point.case_prefix, year],
        )
        (sequence,) = cursor.fetchone()
    return f"{crossing_point.case_prefix}-{year}-{sequence:06d}"


def _family_vulnerabilities(household: list[str], members: list[MemberInput]) -> list[str]:
    codes = set(household)
    for m in members:
        codes.update(m.vulnerabilities)
    return sorted(codes)


@transaction.atomic(durable=True)
def family_register(
    *,
    created_by: User,
    crossing_point: CrossingPoint,
    arrival_date: date,
    destination_province: Province,
    members: list[MemberInput],
    destination_district: str = "",
    phone: str = "",
    consent_to_share: bool = False,
    origin_location: str = "",
    documentation_status: str = "",
    return_type: str = "",
    vulnerabilities: list[str] | None = None,
    client_reference=None,
) -> Family:
    """Register a household with its members; flag its possible duplicates for review.

    Returns the family with `possible_duplicates` (list of `Match`) attached. All or nothing.
    `client_reference`: the id the registering device gave this registration (offline queues send again
    when unsure); the same id registers once, a repeat returns the first family with `replayed` set.
    """
    if client_reference is not None:
        existing = _registered_with(client_reference)
        if existing is not None:
            return existing
    if arrival_date > timezone.localdate():
        raise ValidationError({"arrival_date": ARRIVAL_IN_FUTURE})
    for code in vulnerabilities or []:
        if code not in Vulnerability.values:
            raise ValidationError({"vulnerabilities": UNKNOWN_VULNERABILITY.format(code=code)})
    phone = normalize_phone(phone)
    _validate_members(members, arrival_date)

    head = next(m for m in members if m.relationship == Relationship.HEAD)
    # Head first, then the order given.
    ordered = [head] + [m for m in members if m is not head]
    now = timezone.now()
    family = Family(
        case_number=case_number_next(crossing_point=crossing_point, year=arrival_date.year),
        crossing_point=crossing_point,
        arrival_date=arrival_date,
        origin_location=clean_script(origin_location),
        documentation_status=documentation_status,
        return_type=return_type,
        destination_province=destination_province,
        destination_district=clean_script(destination_district),
        phone=phone,
        consent_to_share=consent_to_share,
        consent_recorded_at=now,
        consent_recorded_by=created_by,
        vulnerabilities=_family_vulnerabilities(vulnerabilities or [], members),
        household_size=len(members),
        head_name=" ".join(p for p in (clean_script(head.given_name), clean_script(head.father_name)) if p),
        head_name_key=head_key(head.given_name, head.father_name),
        head_birth_year=_birth_year(head, arrival_date),
        created_by=created_by,
        client_reference=client_reference,
    )
    # Look for duplicates before inserting, so the new row is not its own candidate.
    applicant = applicant_from_input(members=members, arrival_date=arrival_date, phone=phone)
    matches = find_possible_duplicates(applicant)
    family.save()
    member_rows = [
        Member(
            family=family,
            position=i,
            given_name=clean_script(m.given_name),
            father_name=clean_script(m.father_name),
            family_name=clean_script(m.family_name),
            sex=m.sex,
            date_of_birth=m.date_of_birth,
            age_years=m.age_years,
            birth_year=_birth_year(m, arrival_date),
            relationship=m.relationship,
            tazkira_number=clean_script(m.tazkira_number),
            tazkira_key=digits_key(m.tazkira_number),
            vulnerabilities=sorted(set(m.vulnerabilities)),
            name_key=person_key(m.given_name, m.father_name, m.family_name),
        )
        for i, m in enumerate(ordered)
    ]
    Member.objects.bulk_create(member_rows)
    DuplicateFlag.objects.bulk_create(
        [DuplicateFlag(family=family, candidate=m.family, score=m.score, reasons=m.reasons) for m in matches]
    )
    audit_record(
        actor=created_by,
        action="family.created",
        target=family,
        data={
            "case_number": family.case_number,
            "crossing_point": crossing_point.code,
            "household_size": family.household_size,
            "consent_to_share": consent_to_share,
            "possible_duplicates": [m.family.case_number for m in matches],
        },
    )
    for member in member_rows:
        audit_record(
            actor=created_by,
            action="member.created",
            target=member,
            data={
                "family": family.case_number,
                "relationship": member.relationship,
                "position": member.position,
            },
        )
    family.possible_duplicates = matches
    family.replayed = False
    return family


def _registered_with(client_reference) -> Family | None:
    """The family already registered under a device's id, waiting for a registration of it in flight."""
    if connection.vendor == "postgresql":  # two sends at once: the second waits for the first to commit
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 7316003))", [str(client_reference)]
            )
    family = Family.objects.filter(client_reference=client_reference).first()
    if family is not None:
        family.possible_duplicates = None  # the stored review items stand for them
        family.replayed = True
    return family


FAMILY_EDITABLE_FIELDS = ("phone", "destination_province", "destination_district", "consent_to_share")


@transaction.atomic(durable=True)
def family_update(*, family: Family, changed_by: User, **changes: Any) -> Family:
    """Change a family's contact, destination or consent. Every change is in the audit trail."""
    unknown = set(changes) - set(FAMILY_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    family = Family.objects.select_for_update().get(pk=family.pk)
    if family.is_anonymised:
        raise Conflict(FAMILY_ANONYMISED.format(case_number=family.case_number), code="anonymised")
    if family.consent_to_share and changes.get("consent_to_share") is False:
        # Withdrawal also closes the family's open referrals and stops partner data: its own service.
        raise ValidationError({"consent_to_share": WITHDRAW_CONSENT_SEPARATELY})
    if "phone" in changes:
        changes["phone"] = normalize_phone(changes["phone"])
    before = {k: getattr(family, k) for k in changes}
    for name, value in changes.items():
        setattr(family, name, value)
    diff = audit_changes(
        {k: getattr(v, "code", v) for k, v in before.items()},
        {k: getattr(v, "code", v) for k, v in changes.items()},
    )
    if not diff:
        return family
    update_fields = list(changes)
    if "consent_to_share" in diff:
        family.consent_recorded_at = timezone.now()
        family.consent_recorded_by = changed_by
        update_fields += ["consent_recorded_at", "consent_recorded_by"]
    family.save(update_fields=[*update_fields, "updated_at"])
    audit_record(actor=changed_by, action="family.changed", target=family, data={"changes": diff})
    return family


def _root(family: Family) -> Family:
    while family.duplicate_of_id is not None:
        family = family.duplicate_of
    return family


@transaction.atomic(durable=True)
def duplicate_flag_resolve(
    *, flag: DuplicateFlag, decision: str, resolved_by: User, note: str = ""
) -> DuplicateFlag:
    """Close a possible-duplicate review: `distinct`, or `merged` (the newer family is merged into the other).

    Merging keeps both records and their history; the merged one points to the kept one and is never paid.
    """
    if decision not in (DuplicateFlag.Status.DISTINCT, DuplicateFlag.Status.MERGED):
        raise ValidationError({"decision": "Choose 'distinct' or 'merged'."})
    flag = DuplicateFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.status != DuplicateFlag.Status.OPEN:
        raise Conflict(FLAG_NOT_OPEN.format(status=flag.status))
    # Lock both families in a stable order so concurrent merges cannot deadlock or cross.
    families = {
        f.pk: f
        for f in Family.objects.select_for_update()
        .filter(pk__in=[flag.family_id, flag.candidate_id])
        .order_by("pk")
    }
    if decision == DuplicateFlag.Status.MERGED:
        duplicate, kept = families[flag.family_id], _root(families[flag.candidate_id])
        if kept.pk == duplicate.pk:
            raise ValidationError({"decision": "A family cannot be merged into itself."})
        if duplicate.is_merged:
            # Already merged into this same family through another of its flags: the decision agrees,
            # so it only closes this flag. Merged elsewhere: the reviewer must sort that out.
            if _root(duplicate).pk != kept.pk:
                raise Conflict(CANNOT_MERGE_MERGED.format(case_number=duplicate.case_number))
        else:
            duplicate.duplicate_of = kept
            duplicate.status = Family.Status.MERGED
            duplicate.save(update_fields=["duplicate_of", "status", "updated_at"])
            audit_record(
                actor=resolved_by,
                action="family.merged",
                target=duplicate,
                data={"into": kept.case_number, "flag": str(flag.pk), "note": note},
            )
    flag.status = decision
    flag.note = note
    flag.resolved_by = resolved_by
    flag.resolved_at = timezone.now()
    flag.save(update_fields=["status", "note", "resolved_by", "resolved_at"])
    audit_record(
        actor=resolved_by,
        action=f"duplicate.{decision}",
        target=flag.family,
        data={"candidate": flag.candidate.case_number, "score": flag.score, "note": note},
    )
    return flag


def match_as_dict(match: Match) -> dict[str, Any]:
    return {
        "id": match.family.id,
        "case_number": match.family.case_number,
        "score": match.score,
        "reasons": match.reasons,
    }


def family_case_touch(*, family: Family, actor: User | None, reason: str) -> None:
    """Called, with the family row locked, by the referral and payment services before they act on a family.

    An anonymised family takes no new referral or payment (409); a closed case is reopened, so that the
    retention clock starts again when it closes next time.
    """
    if family.anonymised_at is not None:
        raise Conflict(FAMILY_ANONYMISED.format(case_number=family.case_number), code="anonymised")
    if family.case_closed_at is not None:
        closed_at = family.case_closed_at
        Family.objects.filter(pk=family.pk).update(case_closed_at=None, case_closed_by=None)
        family.case_closed_at = family.case_closed_by = None
        audit_record(
            actor=actor,
            action="family.case_reopened",
            target=family,
            data={"reason": reason, "closed_at": closed_at.isoformat()},
        )


def case_close_blocker(family: Family) -> str | None:
    """Why the case cannot be closed now (None: it can)."""
    payment = family.disbursements.filter(status__in=PAYMENT_IN_PROGRESS).first()
    if payment is not None:
        return CASE_HAS_PAYMENT_IN_PROGRESS.format(reference=payment.reference, status=payment.status)
    open_referrals = family.referrals.filter(status__in=REFERRAL_OPEN).count()
    if open_referrals:
        return CASE_HAS_OPEN_REFERRALS.format(count=open_referrals)
    open_complaints = family.grievances.filter(status__in=family.grievances.model.ACTIVE_STATUSES).count()
    if open_complaints:
        return CASE_HAS_OPEN_COMPLAINTS.format(count=open_complaints)
    return None


@transaction.atomic(durable=True)
def family_case_close(*, family: Family, closed_by: User, reason: str = "") -> Family:
    """A case worker closes a case (the family left, was paid elsewhere, ...): no payment may be in progress
    and no referral open. The retention period runs from now."""
    family = Family.objects.select_for_update().get(pk=family.pk)
    if family.is_anonymised:
        raise Conflict(FAMILY_ANONYMISED.format(case_number=family.case_number), code="anonymised")
    if family.case_closed_at is not None:
        raise Conflict(CASE_ALREADY_CLOSED.format(case_number=family.case_number), code="case_closed")
    blocker = case_close_blocker(family)
    if blocker:
        raise Conflict(blocker, code="case_open_items")
    family.case_closed_at = timezone.now()
    family.case_closed_by = closed_by
    family.save(update_fields=["case_closed_at", "case_closed_by", "updated_at"])
    audit_record(actor=closed_by, action="family.case_closed", target=family, data={"reason": reason})
    return family
