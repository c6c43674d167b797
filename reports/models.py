import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class SituationReport(models.Model):
    """A daily or weekly situation report, produced by Celery beat and kept as downloadable files."""

    class Kind(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    csv = models.BinaryField(null=True, editable=False)
    xlsx = models.BinaryField(null=True, editable=False)
    totals = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_end", "kind"]
        indexes = [models.Index(fields=["-period_end", "kind"], name="situation_report_recent_idx")]
        constraints = [
            # One report per kind and period: running the task twice makes nothing new.
            models.UniqueConstraint(
                fields=["kind", "period_start", "period_end"], name="one_report_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.period_start}..{self.period_end} ({self.status})"
