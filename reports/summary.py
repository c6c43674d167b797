"""Figures for coordinators, aggregated in the database (never a Python loop over families)."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import Organization
from disbursements.models import Disbursement
from families.models import CrossingPoint, Family, Province
from referrals.models import Referral


def local_day_bounds(date_from: date, date_to: date) -> tuple[datetime, datetime]:
    """[from 00:00, to+1 00:00) in TIME_ZONE, for filtering timestamps by local calendar days."""
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(date_from, time.min), tz),
        timezone.make_aware(datetime.combine(date_to + timedelta(days=1), time.min), tz),
    )


def summary(*, date_from: date, date_to: date) -> dict:
    """The contract's report summary: every crossing point, province, status and organization present."""
    start, end = local_day_bounds(date_from, date_to)
    families = Family.objects.filter(arrival_date__range=(date_from, date_to), duplicate_of__isnull=True)
    totals = families.aggregate(families=Count("id"), individuals=Sum("household_size"))

    def grouped(field: str, codes: list[str]) -> dict:
        rows = {
            r[field]: r
            for r in families.values(field).annotate(families=Count("id"), individuals=Sum("household_size"))
        }
        return {
            code: {
                "families": rows.get(code, {}).get("families", 0),
                "individuals": rows.get(code, {}).get("individuals") or 0,
            }
            for code in codes
        }

    disbursements = {
        r["status"]: r
        for r in Disbursement.objects.filter(requested_at__gte=start, requested_at__lt=end)
        .values("status")
        .annotate(count=Count("id"), amount=Sum("amount"))
    }
    referrals: dict = {
        org: {s: 0 for s in Referral.Status.values}
        for org in Organization.objects.values_list("code", flat=True)
    }
    for r in (
        Referral.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("organization__code", "status")
        .annotate(n=Count("id"))
    ):
        referrals[r["organization__code"]][r["status"]] = r["n"]
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "arrivals": {
            "families": totals["families"] or 0,
            "individuals": totals["individuals"] or 0,
            "by_crossing_point": grouped(
                "crossing_point__code", list(CrossingPoint.objects.values_list("code", flat=True))
            ),
            "by_province": grouped(
                "destination_province__code", list(Province.objects.values_list("code", flat=True))
            ),
        },
        "disbursements": {
            "by_status": {
                status: {
                    "count": disbursements.get(status, {}).get("count", 0),
                    "amount": f"{disbursements.get(status, {}).get('amount') or Decimal('0'):.2f}",
                }
                for status in Disbursement.Status.values
            }
        },
        "referrals": {"by_organization": referrals},
    }
