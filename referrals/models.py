import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from aidcase.core.models import AppendOnlyModel


class ServiceType(models.Model):
    """What a family can be referred for (shelter, food, health, ...). Reference data loaded by migrate."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Urgency(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    EMERGENCY = "emergency", _("Emergency")


class Referral(models.Model):
    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        ACCEPTED = "accepted", _("Accepted")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        DECLINED = "declined", _("Declined")
        CLOSED = "closed", _("Closed")

    FINAL = (Status.COMPLETED, Status.DECLINED, Status.CLOSED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    family = models.ForeignKey("families.Family", on_delete=models.PROTECT, related_name="referrals")
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="referrals"
    )
    service = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="referrals")
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.MEDIUM)
    note = models.TextField(blank=True, max_length=2000)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SENT)
    # The latest note of a status change (the partner's "what we did", or the reason for declining).
    status_note = models.TextField(blank=True, max_length=2000)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # Partners sync by (updated_at, id): every change moves the referral to the end of the sync order.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["updated_at", "id"]
        indexes = [
            models.Index(fields=["organization", "updated_at", "id"], name="referral_partner_sync_idx"),
            models.Index(fields=["updated_at", "id"], name="referral_sync_idx"),
            # A partner's sync filtered by status; its leading (organization, status) serves the overview counts.
            models.Index(
                fields=["organization", "status", "updated_at", "id"], name="referral_partner_status_idx"
            ),
            models.Index(fields=["status", "updated_at", "id"], name="referral_status_sync_idx"),
            models.Index(fields=["created_at"], name="referral_created_idx"),  # report periods
            # Open referrals, oldest first (the overview page): a small partial index.
            models.Index(
                fields=["created_at"],
                condition=~Q(status__in=["completed", "declined", "closed"]),
                name="referral_open_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.service_id} {self.status}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class ReferralEvent(AppendOnlyModel):
    """Append-only history of a referral: every status change with who, when and the note."""

    append_only_message = "Referral history is append-only."

    id = models.BigAutoField(primary_key=True)
    referral = models.ForeignKey(Referral, on_delete=models.PROTECT, related_name="events")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.from_status or '-'} -> {self.to_status}"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """A partner's HTTPS endpoint that receives referral events, signed with its own secret."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="webhooks"
    )
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=64, default=_new_secret)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "id"], name="webhook_endpoint_org_idx"),
            models.Index(fields=["-created_at", "id"], name="webhook_endpoint_created_idx"),
        ]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event to one endpoint: the outbox row and the delivery log at once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
            models.Index(fields=["endpoint", "-created_at", "id"], name="webhook_delivery_log_idx"),
            models.Index(fields=["-created_at", "id"], name="webhook_delivery_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} -> {self.endpoint_id} ({self.status}, {self.attempts} attempts)"
