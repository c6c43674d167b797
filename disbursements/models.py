import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from aidcase.core.models import AppendOnlyModel

CURRENCY = "AFN"


class SupportAmount(models.Model):
    """The programme's support payment amount from a date on. Past disbursements keep the amount they got."""

    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=CURRENCY)
    effective_from = models.DateField(unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="support_amount_positive"),
            models.CheckConstraint(condition=Q(currency=CURRENCY), name="support_amount_currency_afn"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} from {self.effective_from}"


class LegalBasis(models.TextChoices):
    """Why the family's data may be processed for the payment: consent is never required for assistance."""

    VITAL_INTERESTS = "vital_interests", _("Vital interests of the family")
    PUBLIC_INTEREST = "public_interest", _("Public interest (humanitarian mandate)")
    CONSENT = "consent", _("Consent")


class Channel(models.TextChoices):
    CASH = "cash", _("Cash at the reception centre")
    HAWALA = "hawala", _("Hawala agent")
    MOBILE_MONEY = "mobile_money", _("Mobile money")


class Disbursement(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Cancelled")
        EXPORTED = "exported", _("Exported in a payout list")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    # A family holds at most one support payment in these states (partial unique index below).
    ACTIVE_STATUSES = (Status.REQUESTED, Status.APPROVED, Status.EXPORTED, Status.PAID)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=32, unique=True)
    family = models.ForeignKey("families.Family", on_delete=models.PROTECT, related_name="disbursements")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default=CURRENCY)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    legal_basis = models.CharField(
        max_length=20, choices=LegalBasis.choices, default=LegalBasis.VITAL_INTERESTS
    )
    reissue_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reissued_as"
    )

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    batch = models.ForeignKey(
        "PayoutBatch", on_delete=models.PROTECT, null=True, blank=True, related_name="items"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # How the recipient confirmed a cash payment (one-time code check or a signature reference).
    recipient_confirmation = models.CharField(max_length=100, blank=True)
    # HMAC of the one-time code handed to the family when the payment was requested (never stored in clear).
    recipient_code_hash = models.CharField(max_length=64, blank=True)
    failure_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["status", "-requested_at"], name="disbursement_queue_idx"),
            models.Index(fields=["-requested_at", "id"], name="disbursement_list_idx"),
        ]
        constraints = [
            # Never paid twice: one support payment per family that is not rejected, cancelled or failed.
            models.UniqueConstraint(
                fields=["family"],
                condition=Q(status__in=["requested", "approved", "exported", "paid"]),
                name="one_active_support_payment_per_family",
            ),
            # Four-eyes, enforced by the database as well as by the service.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="disbursement_four_eyes",
            ),
            models.CheckConstraint(condition=Q(amount__gt=Decimal("0")), name="disbursement_amount_positive"),
            models.CheckConstraint(condition=Q(currency=CURRENCY), name="disbursement_currency_afn"),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "exported", "paid"]) | Q(approved_by__isnull=False),
                name="disbursement_approved_has_approver",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["exported", "paid"]) | Q(batch__isnull=False),
                name="disbursement_exported_in_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} {self.currency} ({self.status})"


class DisbursementTransition(AppendOnlyModel):
    """Append-only ledger of every status change (a PostgreSQL trigger refuses UPDATE and DELETE)."""

    append_only_message = "The disbursement ledger is append-only."

    id = models.BigAutoField(primary_key=True)
    disbursement = models.ForeignKey(Disbursement, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.disbursement_id}: {self.from_status or '-'} -> {self.to_status}"


class PayoutBatch(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        EXPORTED = "exported", _("Exported (locked)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=32, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    # The exported payout list, kept byte for byte: exporting again returns the same file and checksum.
    export_csv = models.BinaryField(null=True, blank=True, editable=False)
    export_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "payout batches"
        indexes = [models.Index(fields=["-created_at", "id"], name="payout_batch_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | (Q(export_csv__isnull=False) & ~Q(export_sha256="")),
                name="exported_batch_has_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.channel}, {self.status})"


class Statement(models.Model):
    """A payment provider's statement: what it paid or failed to pay, line by line (CONTRACT: reconciliations)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sha256 = models.CharField(max_length=64, unique=True)  # the same bytes are one statement
    filename = models.CharField(max_length=255, blank=True)
    file_format = models.CharField(max_length=4, choices=[("csv", "CSV"), ("xlsx", "XLSX")])
    content = models.BinaryField(editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lines_total = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    amount_mismatch = models.PositiveIntegerField(default=0)
    unknown_reference = models.PositiveIntegerField(default=0)
    duplicate_line = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["-created_at"], name="statement_created_idx")]

    def __str__(self) -> str:
        return f"{self.filename or self.sha256[:12]} ({self.status})"


class StatementLine(models.Model):
    class Outcome(models.TextChoices):
        MATCHED = "matched", _("Matched: paid")
        FAILED = "failed", _("Failed")
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount differs")
        UNKNOWN_REFERENCE = "unknown_reference", _("Unknown reference")
        DUPLICATE_LINE = "duplicate_line", _("Duplicate line")
        ERROR = "error", _("Error")

    id = models.BigAutoField(primary_key=True)
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveIntegerField()
    reference = models.CharField(max_length=64, blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    paid = models.BooleanField(null=True)  # True: "paid", False: "failed", None: unreadable
    paid_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    message = models.CharField(max_length=300, blank=True)
    disbursement = models.ForeignKey(
        Disbursement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["statement", "line_no"]
        constraints = [models.UniqueConstraint(fields=["statement", "line_no"], name="statement_line_unique")]
        indexes = [models.Index(fields=["reference"], name="statement_line_ref_idx")]

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.reference} {self.outcome}"


class Discrepancy(models.Model):
    """Something finance must look at: a mismatch, an unknown or duplicate line, an error, a missing payment."""

    class Kind(models.TextChoices):
        AMOUNT_MISMATCH = "amount_mismatch", _("Amount differs")
        UNKNOWN_REFERENCE = "unknown_reference", _("Unknown reference")
        DUPLICATE_LINE = "duplicate_line", _("Duplicate line")
        ERROR = "error", _("Unreadable line or never exported")
        MISSING = "missing", _("Exported but not in any statement")

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    statement = models.ForeignKey(
        Statement, on_delete=models.CASCADE, null=True, blank=True, related_name="discrepancies"
    )
    line = models.OneToOneField(
        StatementLine, on_delete=models.CASCADE, null=True, blank=True, related_name="discrepancy"
    )
    disbursement = models.ForeignKey(
        Disbursement, on_delete=models.PROTECT, null=True, blank=True, related_name="discrepancies"
    )
    details = models.CharField(max_length=300, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A missing payment is flagged once, however often the daily check runs.
            models.UniqueConstraint(
                fields=["disbursement"], condition=Q(kind="missing"), name="one_missing_flag_per_disbursement"
            ),
        ]
        indexes = [
            models.Index(fields=["resolved_at", "kind"], name="discrepancy_open_idx"),
            # Lists are oldest first: all, open only (the page's default; partial, stays small), by kind.
            models.Index(fields=["created_at", "id"], name="discrepancy_created_idx"),
            models.Index(
                fields=["created_at", "id"],
                condition=Q(resolved_at__isnull=True),
                name="discrepancy_unresolved_idx",
            ),
            models.Index(fields=["kind", "created_at", "id"], name="discrepancy_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.details}"
