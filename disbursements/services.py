"""The support payment: request, four-eyes approval, payout lists, payment confirmation, re-issue.

Every status change goes through `_transition`, which writes the append-only ledger and the audit trail in the
same transaction. Rows are locked (`select_for_update`) before any status is read and changed.
"""

import csv
import hashlib
import hmac
import io
import secrets
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.services import audit_record
from aidcase.core.exceptions import Conflict, Forbidden
from aidcase.core.spreadsheets import csv_bytes, xlsx_bytes
from disbursements.models import (
    CURRENCY,
    Channel,
    Disbursement,
    DisbursementTransition,
    LegalBasis,
    PayoutBatch,
    SupportAmount,
)
from families.models import Family
from families.services import family_case_touch

Status = Disbursement.Status

FAMILY_MERGED = "Family {case_number} is a duplicate of {kept}: request the payment for {kept} instead."
ALREADY_ACTIVE = "Family {case_number} already has a support payment ({reference}, {status})."
DUPLICATE_ALREADY_PAID = (
    "A duplicate record of this family ({case_number}) already has a support payment ({reference})."
)
NOT_PROGRAMME_AMOUNT = "The support payment is {amount} {currency}; other amounts are not allowed."
NOT_PROGRAMME_CURRENCY = "Payments are made in {currency} only."
NO_AMOUNT_CONFIGURED = "No support amount is configured for {day}."
FOUR_EYES = "The person who requested a disbursement cannot approve it."
FINANCE_ONLY = "Only finance staff can approve or reject disbursements."
NOT_REQUESTED = "Only requested disbursements can be {action} (status: {status})."
REASON_REQUIRED = "Give a reason."
NOT_CANCELLABLE = (
    "Only requested or approved disbursements that are not exported can be cancelled (status: {status})."
)
CANCEL_NOT_ALLOWED = "Only finance staff or the requester can cancel a disbursement."
NOT_REISSUABLE = "Only failed disbursements can be re-issued (status: {status})."
ALREADY_REISSUED = "This failed disbursement was already re-issued as {reference}."
BATCH_EMPTY = "A payout batch needs at least one disbursement."
BATCH_DUPLICATE_ITEMS = "The same disbursement is listed twice."
BATCH_UNKNOWN_ITEMS = "Unknown disbursements: {ids}."
BATCH_ITEM_NOT_APPROVED = "Disbursement {reference} is {status}, not approved."
BATCH_ITEM_IN_BATCH = "Disbursement {reference} is already in batch {batch}."
BATCH_NOT_EXPORTABLE = "This batch cannot be exported: {problem}."
NOT_EXPORTED = "Only exported disbursements can be marked paid or failed (status: {status})."
NOT_CASH = "Only disbursements paid in cash at the reception centre are confirmed here (channel: {channel})."
CONFIRMATION_REQUIRED = (
    "The recipient's confirmation is required: the one-time code or a signature reference."
)
WRONG_CODE = "The one-time code does not match."

PAYOUT_COLUMNS = [
    "reference",
    "case_number",
    "name",
    "father_name",
    "phone",
    "amount",
    "currency",
    "channel",
    "batch",
]


# --- programme amount ----------------------------------------------------------------------------


def support_amount_on(*, day: date) -> SupportAmount:
    amount = SupportAmount.objects.filter(effective_from__lte=day).order_by("-effective_from").first()
    if amount is None:
        raise Conflict(NO_AMOUNT_CONFIGURED.format(day=day), code="no_amount")
    return amount


@transaction.atomic
def support_amount_set(
    *, amount: Decimal, effective_from: date, actor: User, note: str = ""
) -> SupportAmount:
    """Change the programme amount from a date on; disbursements already requested keep theirs."""
    setting = SupportAmount.objects.create(amount=amount, effective_from=effective_from, note=note)
    audit_record(
        actor=actor,
        action="support_amount.set",
        target=setting,
        data={"amount": str(amount), "from": str(effective_from)},
    )
    return setting


# --- helpers ---------------------------------------------------------------------------------------


def _transition(
    disbursement: Disbursement,
    *,
    to: str,
    actor: User | None,
    reason: str = "",
    data: dict | None = None,
    old: str = "",
) -> None:
    DisbursementTransition.objects.create(
        disbursement=disbursement, from_status=old, to_status=to, actor=actor, reason=reason, data=data or {}
    )
    audit_record(
        actor=actor,
        action=f"disbursement.{to}",
        target=disbursement,
        data={"reference": disbursement.reference, "from": old, "to": to, "reason": reason, **(data or {})},
    )


def _set_status(
    disbursement: Disbursement, *, to: str, actor: User | None, reason: str = "", fields=(), data=None
):
    old = disbursement.status
    disbursement.status = to
    disbursement.save(update_fields=["status", "updated_at", *fields])
    _transition(disbursement, to=to, old=old, actor=actor, reason=reason, data=data)


def _locked(disbursement: Disbursement) -> Disbursement:
    return (
        Disbursement.objects.select_for_update(of=("self",))
        .select_related("family", "batch")
        .get(pk=disbursement.pk)
    )


def _code_hash(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def _check_amount(amount, currency, programme: SupportAmount) -> None:
    if currency not in (None, "") and currency != CURRENCY:
        raise ValidationError({"currency": NOT_PROGRAMME_CURRENCY.format(currency=CURRENCY)})
    if amount not in (None, ""):
        try:
            value = Decimal(str(amount))
        except InvalidOperation:
            value = None
        if value != programme.amount:
            raise ValidationError(
                {"amount": NOT_PROGRAMME_AMOUNT.format(amount=programme.amount, currency=programme.currency)}
            )


def _create(
    *, family: Family, requested_by: User, amount: Decimal, legal_basis: str, reissue_of=None
) -> Disbursement:
    """Insert a requested disbursement for a locked family that has no active one."""
    sequence = Disbursement.objects.filter(family=family).count() + 1
    code = f"{secrets.randbelow(10**6):06d}"
    try:
        with transaction.atomic():
            disbursement = Disbursement.objects.create(
                reference=f"{family.case_number}-P{sequence}",
                family=family,
                amount=amount,
                currency=CURRENCY,
                legal_basis=legal_basis,
                requested_by=requested_by,
                reissue_of=reissue_of,
                recipient_code_hash=_code_hash(code),
            )
    except IntegrityError as exc:  # the partial unique index: another request won the race
        raise Conflict(
            ALREADY_ACTIVE.format(case_number=family.case_number, reference="?", status="active")
        ) from exc
    _transition(disbursement, to=Status.REQUESTED, actor=requested_by, data={"amount": str(amount)})
    disbursement.recipient_code = code  # shown once to the case worker, for the family
    return disbursement


def _lock_family_for_payment(family: Family, actor: User) -> Family:
    family = Family.objects.select_for_update().get(pk=family.pk)
    if family.duplicate_of_id is not None:
        kept = Family.objects.get(pk=family.duplicate_of_id)
        raise Conflict(
            FAMILY_MERGED.format(case_number=family.case_number, kept=kept.case_number), code="family_merged"
        )
    active = Disbursement.objects.filter(family=family, status__in=Disbursement.ACTIVE_STATUSES).first()
    if active:
        raise Conflict(
            ALREADY_ACTIVE.format(
                case_number=family.case_number, reference=active.reference, status=active.status
            ),
            code="already_paid",
        )
    # Records merged into this family are the same household: their payment counts as this family's.
    merged_paid = (
        Disbursement.objects.filter(family__duplicate_of=family, status__in=Disbursement.ACTIVE_STATUSES)
        .select_related("family")
        .first()
    )
    if merged_paid:
        raise Conflict(
            DUPLICATE_ALREADY_PAID.format(
                case_number=merged_paid.family.case_number, reference=merged_paid.reference
            ),
            code="already_paid",
        )
    family_case_touch(family=family, actor=actor, reason="support payment requested")
    return family


# --- lifecycle ---------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def disbursement_request(
    *,
    family: Family,
    requested_by: User,
    amount: Decimal | str | None = None,
    currency: str | None = None,
    legal_basis: str = LegalBasis.VITAL_INTERESTS,
) -> Disbursement:
    """Request the family's support payment at the programme amount of today.

    Consent to share data is not looked at: assistance never depends on it (the legal basis is recorded).
    """
    if not requested_by.has_role(Role.CASE_WORKER, Role.FINANCE):
        raise Forbidden("Only case workers and finance staff can request a payment.")
    programme = support_amount_on(day=timezone.localdate())
    _check_amount(amount, currency, programme)
    family = _lock_family_for_payment(family, requested_by)
    return _create(family=family, requested_by=requested_by, amount=programme.amount, legal_basis=legal_basis)


@transaction.atomic(durable=True)
def disbursement_approve(*, disbursement: Disbursement, approved_by: User) -> Disbursement:
    if not approved_by.has_role(Role.FINANCE):
        raise Forbidden(FINANCE_ONLY)
    # Lock the row: two officers approving at once must not both pass the checks.
    disbursement = _locked(disbursement)
    if disbursement.requested_by_id == approved_by.id:
        raise Forbidden(FOUR_EYES, code="four_eyes")
    if disbursement.status != Status.REQUESTED:
        raise Conflict(
            NOT_REQUESTED.format(action="approved", status=disbursement.status), code="invalid_status"
        )
    if disbursement.family.duplicate_of_id is not None:
        raise Conflict(
            FAMILY_MERGED.format(case_number=disbursement.family.case_number, kept="the kept record")
        )
    disbursement.approved_by = approved_by
    disbursement.approved_at = timezone.now()
    _set_status(disbursement, to=Status.APPROVED, actor=approved_by, fields=["approved_by", "approved_at"])
    return disbursement


@transaction.atomic(durable=True)
def disbursement_reject(*, disbursement: Disbursement, rejected_by: User, reason: str) -> Disbursement:
    if not rejected_by.has_role(Role.FINANCE):
        raise Forbidden(FINANCE_ONLY)
    if not (reason or "").strip():
        raise ValidationError({"reason": REASON_REQUIRED})
    disbursement = _locked(disbursement)
    if disbursement.status != Status.REQUESTED:
        raise Conflict(
            NOT_REQUESTED.format(action="rejected", status=disbursement.status), code="invalid_status"
        )
    disbursement.decision_reason = reason.strip()
    _set_status(
        disbursement, to=Status.REJECTED, actor=rejected_by, reason=reason.strip(), fields=["decision_reason"]
    )
    return disbursement


@transaction.atomic(durable=True)
def disbursement_cancel(*, disbursement: Disbursement, cancelled_by: User, reason: str) -> Disbursement:
    if not (reason or "").strip():
        raise ValidationError({"reason": REASON_REQUIRED})
    disbursement = _locked(disbursement)
    if not (cancelled_by.has_role(Role.FINANCE) or disbursement.requested_by_id == cancelled_by.id):
        raise Forbidden(CANCEL_NOT_ALLOWED)
    batch_open = disbursement.batch is None or disbursement.batch.status == PayoutBatch.Status.OPEN
    if disbursement.status not in (Status.REQUESTED, Status.APPROVED) or not batch_open:
        raise Conflict(NOT_CANCELLABLE.format(status=disbursement.status), code="invalid_status")
    disbursement.decision_reason = reason.strip()
    disbursement.batch = None  # leaves an open batch, which can still be exported without it
    _set_status(
        disbursement,
        to=Status.CANCELLED,
        actor=cancelled_by,
        reason=reason.strip(),
        fields=["decision_reason", "batch"],
    )
    return disbursement


@transaction.atomic(durable=True)
def disbursement_reissue(*, failed: Disbursement, requested_by: User) -> Disbursement:
    """A new disbursement for a failed one, at the failed one's amount (the entitlement does not change)."""
    if not requested_by.has_role(Role.FINANCE, Role.CASE_WORKER):
        raise Forbidden("Only case workers and finance staff can re-issue a payment.")
    failed = _locked(failed)
    if failed.status != Status.FAILED:
        raise Conflict(NOT_REISSUABLE.format(status=failed.status), code="invalid_status")
    existing = Disbursement.objects.filter(reissue_of=failed).first()
    if existing:
        raise Conflict(ALREADY_REISSUED.format(reference=existing.reference), code="already_reissued")
    family = _lock_family_for_payment(failed.family, requested_by)
    return _create(
        family=family,
        requested_by=requested_by,
        amount=failed.amount,
        legal_basis=failed.legal_basis,
        reissue_of=failed,
    )


@transaction.atomic(durable=True)
def disbursement_confirm_cash(
    *, disbursement: Disbursement, paid_by: User, recipient_code: str = "", signature_reference: str = ""
) -> Disbursement:
    """Record a cash payment handed over at the reception centre, with the recipient's confirmation."""
    if not paid_by.has_role(Role.FINANCE):
        raise Forbidden("Only finance staff record cash payments.")
    disbursement = _locked(disbursement)
    if disbursement.status != Status.EXPORTED:
        raise Conflict(NOT_EXPORTED.format(status=disbursement.status), code="invalid_status")
    if disbursement.batch.channel != Channel.CASH:
        raise Conflict(NOT_CASH.format(channel=disbursement.batch.channel))
    recipient_code, signature_reference = (recipient_code or "").strip(), (signature_reference or "").strip()
    if not recipient_code and not signature_reference:
        raise ValidationError({"recipient_code": CONFIRMATION_REQUIRED})
    if recipient_code and not hmac.compare_digest(
        _code_hash(recipient_code), disbursement.recipient_code_hash
    ):
        raise ValidationError({"recipient_code": WRONG_CODE})
    disbursement.paid_at = timezone.now()
    disbursement.paid_by = paid_by
    disbursement.recipient_confirmation = (
        "one-time code" if recipient_code else f"signature: {signature_reference}"
    )
    _set_status(
        disbursement, to=Status.PAID, actor=paid_by, fields=["paid_at", "paid_by", "recipient_confirmation"]
    )
    return disbursement


def disbursement_settle(
    *,
    disbursement: Disbursement,
    paid: bool,
    at: datetime | None,
    actor: User | None,
    reason: str = "",
    data=None,
) -> Disbursement:
    """Mark an exported disbursement paid or failed as a provider reported it. Caller holds the transaction."""
    disbursement = _locked(disbursement)
    if disbursement.status != Status.EXPORTED:
        raise Conflict(NOT_EXPORTED.format(status=disbursement.status), code="invalid_status")
    if paid:
        disbursement.paid_at = at or timezone.now()
        _set_status(disbursement, to=Status.PAID, actor=actor, reason=reason, fields=["paid_at"], data=data)
    else:
        disbursement.failure_reason = reason
        _set_status(
            disbursement, to=Status.FAILED, actor=actor, reason=reason, fields=["failure_reason"], data=data
        )
    return disbursement


# --- payout batches ----------------------------------------------------------------------------


@transaction.atomic(durable=True)
def batch_create(*, channel: str, disbursement_ids: list, created_by: User) -> PayoutBatch:
    if not created_by.has_role(Role.FINANCE):
        raise Forbidden("Only finance staff create payout batches.")
    if channel not in Channel.values:
        raise ValidationError({"channel": f"Choose one of: {', '.join(Channel.values)}."})
    if not disbursement_ids:
        raise ValidationError({"disbursements": BATCH_EMPTY})
    if len(set(disbursement_ids)) != len(disbursement_ids):
        raise ValidationError({"disbursements": BATCH_DUPLICATE_ITEMS})
    # Lock in a stable order so two batches built at once cannot deadlock or share an item.
    items = list(
        Disbursement.objects.select_for_update(of=("self",))
        .select_related("batch")
        .filter(pk__in=disbursement_ids)
        .order_by("pk")
    )
    missing = set(map(str, disbursement_ids)) - {str(d.pk) for d in items}
    if missing:
        raise ValidationError({"disbursements": BATCH_UNKNOWN_ITEMS.format(ids=", ".join(sorted(missing)))})
    for item in items:
        if item.batch_id is not None:
            raise Conflict(BATCH_ITEM_IN_BATCH.format(reference=item.reference, batch=item.batch.reference))
        if item.status != Status.APPROVED:
            raise Conflict(BATCH_ITEM_NOT_APPROVED.format(reference=item.reference, status=item.status))
    batch = PayoutBatch.objects.create(
        reference=f"B-{timezone.localdate():%Y%m%d}-{secrets.token_hex(3).upper()}",
        channel=channel,
        created_by=created_by,
    )
    Disbursement.objects.filter(pk__in=[d.pk for d in items]).update(batch=batch, updated_at=timezone.now())
    audit_record(
        actor=created_by, action="batch.created", target=batch, data={"channel": channel, "count": len(items)}
    )
    return batch


def _payout_rows(batch: PayoutBatch) -> list[list[str]]:
    items = batch.items.select_related("family").prefetch_related("family__members").order_by("reference")
    rows = []
    for item in items:
        head = next(m for m in item.family.members.all() if m.relationship == "head")
        name = " ".join(p for p in (head.given_name, head.family_name) if p)
        rows.append(
            [
                item.reference,
                item.family.case_number,
                name,
                head.father_name,
                item.family.phone,
                f"{item.amount:.2f}",
                item.currency,
                batch.channel,
                batch.reference,
            ]
        )
    return rows


def _csv_bytes(rows: list[list[str]]) -> bytes:
    return csv_bytes([PAYOUT_COLUMNS, *rows])


@transaction.atomic(durable=True)
def batch_export(*, batch: PayoutBatch, exported_by: User) -> PayoutBatch:
    """Lock the batch and produce its payout list once; later exports return the same bytes."""
    if not exported_by.has_role(Role.FINANCE):
        raise Forbidden("Only finance staff export payout lists.")
    batch = PayoutBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.status == PayoutBatch.Status.EXPORTED:
        return batch
    items = list(batch.items.select_for_update().order_by("pk"))
    if not items:
        raise Conflict(BATCH_NOT_EXPORTABLE.format(problem="it is empty"), code="batch_empty")
    not_approved = [d for d in items if d.status != Status.APPROVED]
    if not_approved:
        problem = ", ".join(f"{d.reference} is {d.status}" for d in not_approved)
        raise Conflict(BATCH_NOT_EXPORTABLE.format(problem=problem), code="batch_not_approved")
    content = _csv_bytes(_payout_rows(batch))
    now = timezone.now()
    batch.export_csv = content
    batch.export_sha256 = hashlib.sha256(content).hexdigest()
    batch.status = PayoutBatch.Status.EXPORTED
    batch.exported_at = now
    batch.exported_by = exported_by
    batch.save(update_fields=["export_csv", "export_sha256", "status", "exported_at", "exported_by"])
    for item in items:
        item.exported_at = now
        _set_status(
            item,
            to=Status.EXPORTED,
            actor=exported_by,
            fields=["exported_at"],
            data={"batch": batch.reference},
        )
    audit_record(
        actor=exported_by,
        action="batch.exported",
        target=batch,
        data={"count": len(items), "sha256": batch.export_sha256},
    )
    return batch


def batch_xlsx(*, batch: PayoutBatch) -> bytes:
    """The exported payout list as an XLSX workbook (same rows as the CSV)."""
    if batch.status != PayoutBatch.Status.EXPORTED:
        raise Conflict("Export the batch first; only a locked payout list is given out.")
    rows = csv.reader(io.StringIO(bytes(batch.export_csv).decode("utf-8")))
    return xlsx_bytes([("payout", rows)])


def batch_total(batch: PayoutBatch) -> Decimal:
    return sum((d.amount for d in batch.items.all()), Decimal("0.00"))
