"""Complaints from families (grievances) and post-distribution verification (PDV) of the support payment."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aidcase.core.models import AppendOnlyModel


class Grievance(models.Model):
    class Category(models.TextChoices):
        PAYMENT_NOT_RECEIVED = "payment_not_received", _("Payment not received")
        WRONG_AMOUNT = "wrong_amount", _("Wrong amount")
        WRONG_DATA = "wrong_data", _("Wrong data")
        PROTECTION_CONCERN = "protection_concern", _("Protection concern")
        OTHER = "other", _("Other")

    # Complaints about the payment point at the disbursement they are about.
    PAYMENT_CATEGORIES = (Category.PAYMENT_NOT_RECEIVED, Category.WRONG_AMOUNT)

    class Priority(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")
        URGENT = "urgent", _("Urgent")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")
        CLOSED = "closed", _("Closed")

    ACTIVE_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    class Channel(models.TextChoices):
        IN_PERSON = "in_person", _("In person (case worker)")
        HOTLINE = "hotline", _("Hotline")
        PDV = "pdv", _("Post-distribution verification")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.ForeignKey("families.Family", on_delete=models.PROTECT, related_name="grievances")
    category = models.CharField(max_length=24, choices=Category.choices)
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.IN_PERSON)
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.MEDIUM)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    # Resolved and closed complaints sort after the active ones (a stored key: the API pages by keyset).
    done = models.BooleanField(default=False)
    # Only staff holding grievances.view_sensitive read the description, resolution and notes.
    sensitive = models.BooleanField(default=False)
    description = models.TextField()
    resolution = models.TextField(blank=True)
    disbursement = models.ForeignKey(
        "disbursements.Disbursement",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="grievances",
    )
    # The verification answer that opened this complaint: one complaint per sampled family, at most.
    pdv_sample = models.OneToOneField(
        "PdvSample", on_delete=models.PROTECT, null=True, blank=True, related_name="grievance"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField()
    # The SLA runs from here: the creation, or the last reopening.
    sla_from = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["done", "due_at", "id"]
        permissions = [("view_sensitive", "Can read the details of sensitive complaints")]
        indexes = [
            # Every filter the list offers leads an index (tests/test_indexes.py).
            models.Index(fields=["done", "due_at", "id"], name="grievance_queue_idx"),
            models.Index(fields=["status", "due_at"], name="grievance_status_idx"),
            models.Index(fields=["category", "done", "due_at"], name="grievance_category_idx"),
            models.Index(fields=["assigned_to", "done", "due_at"], name="grievance_assignee_idx"),
            models.Index(fields=["family", "created_at"], name="grievance_family_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"]) | ~Q(resolution=""),
                name="grievance_resolved_has_resolution",
            ),
            models.CheckConstraint(
                condition=(Q(done=True) & Q(status__in=["resolved", "closed"]))
                | (Q(done=False) & Q(status__in=["open", "in_progress"])),
                name="grievance_done_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.short_id} {self.category} ({self.status})"

    @property
    def short_id(self) -> str:
        return str(self.pk)[:8].upper()

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_active and self.due_at < timezone.now()


class GrievanceEvent(AppendOnlyModel):
    """The complaint's history: every change, who made it and when. Append-only."""

    append_only_message = "The complaint history is append-only."

    id = models.BigAutoField(primary_key=True)
    grievance = models.ForeignKey(Grievance, on_delete=models.PROTECT, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    # Field changes without free text ({"priority": ["medium", "high"]}); free text goes in `note`.
    changes = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.grievance_id}: {self.action}"


class PdvRound(models.Model):
    """A post-distribution verification round: a random sample of the families paid in a period."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120, blank=True)
    paid_from = models.DateField()
    paid_to = models.DateField()
    confidence = models.DecimalField(max_digits=4, decimal_places=3, default="0.950")
    margin = models.DecimalField(max_digits=4, decimal_places=3, default="0.050")
    # The sample is drawn with random.Random(seed) from the population in reference order: reproducible.
    seed = models.BigIntegerField()
    population_size = models.PositiveIntegerField()
    sample_size = models.PositiveIntegerField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [models.Index(fields=["created_at", "id"], name="pdv_round_newest_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(paid_to__gte=models.F("paid_from")), name="pdv_period_order"),
            models.CheckConstraint(
                condition=Q(sample_size__lte=models.F("population_size")), name="pdv_sample_within_population"
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"PDV {self.paid_from}–{self.paid_to}"

    @property
    def confidence_percent(self) -> str:
        return f"{(self.confidence * 100).normalize():f}"

    @property
    def margin_percent(self) -> str:
        return f"{(self.margin * 100).normalize():f}"


class PdvSample(models.Model):
    """One sampled family (through its paid support payment) and what it answered."""

    id = models.BigAutoField(primary_key=True)
    round = models.ForeignKey(PdvRound, on_delete=models.CASCADE, related_name="samples")
    position = models.PositiveIntegerField()
    disbursement = models.ForeignKey(
        "disbursements.Disbursement", on_delete=models.PROTECT, related_name="pdv_samples"
    )
    family = models.ForeignKey("families.Family", on_delete=models.PROTECT, related_name="pdv_samples")
    # None until an answer is recorded.
    reached = models.BooleanField(null=True)
    confirmed_full_amount = models.BooleanField(null=True)
    amount_reported = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "position"]
        constraints = [
            models.UniqueConstraint(fields=["round", "position"], name="pdv_sample_position_unique"),
            models.UniqueConstraint(fields=["round", "disbursement"], name="pdv_sample_once_per_round"),
            models.CheckConstraint(
                condition=Q(reached=True)
                | (Q(confirmed_full_amount__isnull=True) & Q(amount_reported__isnull=True)),
                name="pdv_answer_only_when_reached",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.round_id} #{self.position}"

    @property
    def answered(self) -> bool:
        return self.reached is not None

    @property
    def mismatch(self) -> bool:
        return bool(self.reached) and self.confirmed_full_amount is False
