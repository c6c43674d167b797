"""Read-only figures across the apps (reports sit on top: they read from all, nothing imports them)."""

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from disbursements.models import Disbursement
from families.models import DuplicateFlag, Family
from reports.summary import local_day_bounds


def registry_today() -> dict:
    today = timezone.localdate()
    start, end = local_day_bounds(today, today)  # a timestamp range: the created_at index applies
    return {
        "arrivals_today": Family.objects.filter(arrival_date=today).count(),
        "registered_today": Family.objects.filter(created_at__gte=start, created_at__lt=end).count(),
        "open_duplicates": DuplicateFlag.objects.filter(status=DuplicateFlag.Status.OPEN).count(),
    }


def payment_queues() -> list[dict]:
    """Count and sum of support payments per status, every status present."""
    rows = {
        r["status"]: r
        for r in Disbursement.objects.values("status").annotate(count=Count("id"), amount=Sum("amount"))
    }
    return [
        {
            "status": status,
            "label": label,
            "count": rows.get(status, {}).get("count", 0),
            "amount": rows.get(status, {}).get("amount") or Decimal("0.00"),
        }
        for status, label in Disbursement.Status.choices
    ]
