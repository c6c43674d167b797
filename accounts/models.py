import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from aidcase.core.models import AppendOnlyModel


class Organization(models.Model):
    """A partner organization that receives referrals (UNHCR, IOM, WFP, ... or a national NGO)."""

    code = models.SlugField(max_length=32, unique=True, allow_unicode=False)
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class Role(models.TextChoices):
    CASE_WORKER = "case_worker", _("Case worker")
    FINANCE = "finance", _("Finance")
    COORDINATOR = "coordinator", _("Coordinator")
    PARTNER = "partner", _("Partner")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = (Role.CASE_WORKER, Role.FINANCE, Role.COORDINATOR, Role.ADMIN)


class User(AbstractUser):
    role = models.CharField(max_length=20, choices=Role.choices)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )

    class Meta:
        constraints = [
            # A partner user always belongs to exactly one organization; what it may see follows from that.
            models.CheckConstraint(
                condition=~Q(role=Role.PARTNER) | Q(organization__isnull=False),
                name="partner_user_has_organization",
            ),
        ]

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles

    @property
    def is_partner(self) -> bool:
        return self.role == Role.PARTNER


class UserAPIKeyManager(APIKeyManager):
    def get_usable_keys(self) -> models.QuerySet:
        return super().get_usable_keys().select_related("user", "user__organization")


class UserAPIKey(AbstractAPIKey):
    """A hashed API key that authenticates as its user (`Authorization: Bearer <prefix>.<secret>`)."""

    objects = UserAPIKeyManager()

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "user API key"


class AuditEvent(AppendOnlyModel):
    """Append-only trail of who did what to which record (and, for partner reads, who saw what).

    Rows are only ever inserted: on PostgreSQL a trigger refuses UPDATE and DELETE on this table.
    """

    append_only_message = "Audit events are append-only."

    id = models.BigAutoField(primary_key=True)
    uuid = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64)
    target_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "created_at"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_username or 'system'} {self.action} {self.target_id}"
