"""Daily and weekly situation reports: aggregated in PostgreSQL, stored as CSV (with HXL tags) and XLSX.

Rows are one per week x crossing point x destination province. Medians (days from arrival to payment, from
referral to acceptance) use percentile_cont in PostgreSQL; other databases compute them in Python over the
already-filtered rows (the quick start's data is small).
"""

import statistics
from collections import defaultdict
from datetime import date, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from aidcase.core.spreadsheets import csv_bytes, xlsx_bytes
from disbursements.models import Disbursement
from families.models import Family
from referrals.models import Referral, ReferralEvent
from reports.models import SituationReport
from reports.summary import local_day_bounds

COLUMNS = [
    ("week", "#date+week_start"),
    ("crossing_point", "#loc+crossing+code"),
    ("province", "#adm1+code"),
    ("families", "#affected+households"),
    ("individuals", "#affected+individuals"),
    ("vulnerable_households", "#affected+households+vulnerable"),
    ("female_headed", "#affected+households+f+head"),
    ("payments_requested", "#output+payments+requested"),
    ("payments_approved", "#output+payments+approved"),
    ("payments_paid", "#output+payments+paid"),
    ("payments_failed", "#output+payments+failed"),
    ("afn_paid", "#value+paid+afn"),
    ("median_days_arrival_to_payment", "#indicator+days+arrival_to_payment+median"),
    ("referrals", "#output+referrals"),
    ("referrals_accepted", "#output+referrals+accepted"),
    ("referrals_completed", "#output+referrals+completed"),
    ("median_days_referral_to_acceptance", "#indicator+days+referral_to_acceptance+median"),
]
REFERRAL_COLUMNS = [
    ("week", "#date+week_start"),
    ("organization", "#org+code"),
    ("status", "#status"),
    ("referrals", "#output+referrals"),
]


def period_for(kind: str, today: date) -> tuple[date, date]:
    """Daily: yesterday. Weekly: the seven days ending yesterday."""
    end = today - timedelta(days=1)
    return (end, end) if kind == SituationReport.Kind.DAILY else (end - timedelta(days=6), end)


def _median_pg(sql: str, params: list) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {tuple(row[:3]): row[3] for row in cursor.fetchall()}


def _key(week, cp, prov):
    return (week.isoformat() if hasattr(week, "isoformat") else str(week)[:10], cp, prov)


def build_rows(date_from: date, date_to: date) -> tuple[list[dict], list[dict]]:
    start, end = local_day_bounds(date_from, date_to)
    families = Family.objects.filter(arrival_date__range=(date_from, date_to), duplicate_of__isnull=True)
    group = {
        "week": TruncWeek("arrival_date"),
        "cp": F("crossing_point__code"),
        "prov": F("destination_province__code"),
    }
    medians = ("median_days_arrival_to_payment", "median_days_referral_to_acceptance")
    rows: dict = defaultdict(lambda: {c: "" if c in medians else 0 for c, _ in COLUMNS})
    for r in (
        families.annotate(**group)
        .values("week", "cp", "prov")
        .annotate(
            families=Count("id"),
            individuals=Sum("household_size"),
            vulnerable=Count("id", filter=~Q(vulnerabilities=[])),
            female_headed=Count(
                "id",
                filter=Q(vulnerabilities__contains="female_headed")
                if connection.vendor == "postgresql"
                else Q(vulnerabilities__icontains="female_headed"),
            ),
        )
    ):
        row = rows[_key(r["week"], r["cp"], r["prov"])]
        row.update(
            families=r["families"],
            individuals=r["individuals"] or 0,
            vulnerable_households=r["vulnerable"],
            female_headed=r["female_headed"],
        )

    payments = Disbursement.objects.filter(family__in=families)
    pgroup = {
        "week": TruncWeek("family__arrival_date"),
        "cp": F("family__crossing_point__code"),
        "prov": F("family__destination_province__code"),
    }
    for r in (
        payments.annotate(**pgroup)
        .values("week", "cp", "prov")
        .annotate(
            requested=Count("id"),
            approved=Count("id", filter=Q(approved_at__isnull=False)),
            paid=Count("id", filter=Q(status="paid")),
            failed=Count("id", filter=Q(status="failed")),
            afn=Sum("amount", filter=Q(status="paid")),
        )
    ):
        rows[_key(r["week"], r["cp"], r["prov"])].update(
            payments_requested=r["requested"],
            payments_approved=r["approved"],
            payments_paid=r["paid"],
            payments_failed=r["failed"],
            afn_paid=f"{r['afn'] or 0:.2f}",
        )

    referrals = Referral.objects.filter(family__in=families)
    for r in (
        referrals.annotate(**pgroup)
        .values("week", "cp", "prov")
        .annotate(
            n=Count("id"),
            accepted=Count("id", filter=Q(status__in=["accepted", "in_progress", "completed"])),
            completed=Count("id", filter=Q(status="completed")),
        )
    ):
        rows[_key(r["week"], r["cp"], r["prov"])].update(
            referrals=r["n"], referrals_accepted=r["accepted"], referrals_completed=r["completed"]
        )

    for key, days in _median_days_to_payment(families).items():
        rows[key]["median_days_arrival_to_payment"] = days
    for key, days in _median_days_to_acceptance(families).items():
        rows[key]["median_days_referral_to_acceptance"] = days

    out = []
    for (week, cp, prov), row in sorted(rows.items()):
        row.update(week=week, crossing_point=cp, province=prov)
        out.append(row)
    by_org = [
        {
            "week": _key(r["week"], "", "")[0],
            "organization": r["organization__code"],
            "status": r["status"],
            "referrals": r["n"],
        }
        for r in Referral.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(week=TruncWeek("created_at"))
        .values("week", "organization__code", "status")
        .annotate(n=Count("id"))
        .order_by("week", "organization__code", "status")
    ]
    return out, by_org


def _median_days_to_payment(families) -> dict:
    paid = Disbursement.objects.filter(family__in=families, status="paid", paid_at__isnull=False)
    if connection.vendor == "postgresql":
        sql, params = paid.values("pk").query.sql_with_params()
        return {
            _key(*k[:3]): round(float(v), 1)
            for k, v in _median_pg(
                "SELECT date_trunc('week', f.arrival_date)::date, cp.code, p.code, "  # noqa: S608 - Django's own SQL
                "percentile_cont(0.5) WITHIN GROUP (ORDER BY (d.paid_at AT TIME ZONE %s)::date - f.arrival_date) "
                "FROM disbursements_disbursement d JOIN families_family f ON f.id = d.family_id "
                "JOIN families_crossingpoint cp ON cp.id = f.crossing_point_id JOIN families_province p ON p.id = f.destination_province_id "
                f"WHERE d.id IN ({sql}) GROUP BY 1, 2, 3",
                [timezone.get_current_timezone_name(), *params],
            ).items()
        }
    values = defaultdict(list)
    for d in paid.select_related("family__crossing_point", "family__destination_province"):
        f = d.family
        week = f.arrival_date - timedelta(days=f.arrival_date.weekday())
        values[_key(week, f.crossing_point.code, f.destination_province.code)].append(
            (timezone.localtime(d.paid_at).date() - f.arrival_date).days
        )
    return {k: round(float(statistics.median(v)), 1) for k, v in values.items()}


def _median_days_to_acceptance(families) -> dict:
    values = defaultdict(list)
    accepted = ReferralEvent.objects.filter(referral__family__in=families, to_status="accepted")
    if (
        connection.vendor == "postgresql"
    ):  # in the database: a model instance per event was most of the report
        sql, params = accepted.values("pk").query.sql_with_params()
        return {
            _key(*k[:3]): round(float(v), 1)
            for k, v in _median_pg(
                "SELECT date_trunc('week', f.arrival_date)::date, cp.code, p.code, "  # noqa: S608 - Django's own SQL
                "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM e.created_at - r.created_at) / 86400) "
                "FROM referrals_referralevent e JOIN referrals_referral r ON r.id = e.referral_id "
                "JOIN families_family f ON f.id = r.family_id "
                "JOIN families_crossingpoint cp ON cp.id = f.crossing_point_id JOIN families_province p ON p.id = f.destination_province_id "
                f"WHERE e.id IN ({sql}) GROUP BY 1, 2, 3",
                params,
            ).items()
        }
    events = accepted.select_related(
        "referral__family__crossing_point", "referral__family__destination_province", "referral"
    )
    for e in events.iterator(chunk_size=2000):
        f = e.referral.family
        week = f.arrival_date - timedelta(days=f.arrival_date.weekday())
        values[_key(week, f.crossing_point.code, f.destination_province.code)].append(
            (e.created_at - e.referral.created_at).total_seconds() / 86400
        )
    return {k: round(float(statistics.median(v)), 1) for k, v in values.items()}


def render_csv(rows: list[dict], columns) -> bytes:
    header = [c for c, _ in columns]
    hxl = [h for _, h in columns]  # HXL hashtag row
    return csv_bytes([header, hxl, *([row.get(c, "") for c, _ in columns] for row in rows)])


def render_xlsx(rows: list[dict], by_org: list[dict]) -> bytes:
    return xlsx_bytes(
        (
            title,
            [
                [c for c, _ in columns],
                [h for _, h in columns],
                *([r.get(c, "") for c, _ in columns] for r in data),
            ],
        )
        for title, data, columns in (
            ("situation", rows, COLUMNS),
            ("referrals by organization", by_org, REFERRAL_COLUMNS),
        )
    )


def situation_report_generate(*, kind: str, today: date | None = None) -> SituationReport:
    """Produce the report for the period ending yesterday, once: a second run returns the first report."""
    date_from, date_to = period_for(kind, today or timezone.localdate())
    try:
        with transaction.atomic():
            report = SituationReport.objects.create(kind=kind, period_start=date_from, period_end=date_to)
    except IntegrityError:
        report = SituationReport.objects.get(kind=kind, period_start=date_from, period_end=date_to)
        if report.status != SituationReport.Status.FAILED:
            return report
    try:
        rows, by_org = build_rows(date_from, date_to)
        report.csv = render_csv(rows, COLUMNS)
        report.xlsx = render_xlsx(rows, by_org)
        report.totals = {
            "families": sum(r["families"] for r in rows),
            "individuals": sum(r["individuals"] for r in rows),
            "payments_paid": sum(r["payments_paid"] for r in rows),
            "referrals": sum(r["referrals"] for r in rows),
        }
        report.status = SituationReport.Status.DONE
        report.error = ""
    except Exception as exc:
        report.status = SituationReport.Status.FAILED
        report.error = f"{type(exc).__name__}: {exc}"[:2000]
        report.finished_at = timezone.now()
        report.save()
        raise
    report.finished_at = timezone.now()
    report.save()
    return report
