import csv
import io
from datetime import date, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Organization
from disbursements.models import Disbursement
from disbursements.services import (
    batch_create,
    batch_export,
    disbursement_approve,
    disbursement_request,
    disbursement_settle,
)
from families.models import CrossingPoint, Province
from families.services import MemberInput
from referrals.models import Referral
from referrals.services import referral_create, referral_transition
from reports.models import SituationReport
from reports.situation import situation_report_generate
from tests.celery_worker import celery_worker, wait_for  # noqa: F401 - fixture

TODAY = date(2026, 11, 25)


@pytest.fixture
def activity(register_family, make_user):
    """Families over two crossing points and provinces, with payments and referrals."""
    worker, fin = make_user("case_worker"), make_user("finance")
    partner = make_user("partner", org="IOM")
    made = []
    for i, (cp, size, day) in enumerate(
        [("TORKHAM", 3, 20), ("TORKHAM", 5, 21), ("SPIN_BOLDAK", 2, 22), ("TORKHAM", 4, 24)]
    ):
        members = [
            MemberInput(given_name=f"Head{i}", father_name="F", sex="M", relationship="head", age_years=40)
        ]
        members += [
            MemberInput(
                given_name=f"C{i}{j}", father_name=f"Head{i}", sex="F", relationship="child", age_years=5
            )
            for j in range(size - 1)
        ]
        made.append(
            register_family(
                crossing_point=cp, members=members, arrival=date(2026, 11, day), created_by=worker
            )
        )
    d0 = disbursement_request(family=made[0], requested_by=worker)
    disbursement_approve(disbursement=d0, approved_by=fin)
    disbursement_request(family=made[1], requested_by=worker)
    batch_export(
        batch=batch_create(channel="cash", disbursement_ids=[d0.pk], created_by=fin), exported_by=fin
    )
    with transaction.atomic():
        disbursement_settle(
            disbursement=d0, paid=True, at=timezone.make_aware(timezone.datetime(2026, 11, 23, 12)), actor=fin
        )
    r = referral_create(family=made[2], organization_code="IOM", service_code="transport", created_by=worker)
    referral_transition(referral=r, target="accepted", actor=partner)
    return made


@pytest.mark.django_db
def test_summary_contract(activity, make_user, api_client, settings):
    client = api_client(make_user("coordinator"))
    body = client.get("/api/v1/reports/summary/", {"from": "2026-11-20", "to": "2026-11-24"}).json()
    assert (body["from"], body["to"]) == ("2026-11-20", "2026-11-24")
    assert body["arrivals"]["families"] == 4 and body["arrivals"]["individuals"] == 14
    assert body["arrivals"]["by_crossing_point"]["TORKHAM"] == {"families": 3, "individuals": 12}
    assert body["arrivals"]["by_crossing_point"]["SPIN_BOLDAK"] == {"families": 1, "individuals": 2}
    assert body["arrivals"]["by_crossing_point"]["BAHRAMCHA"] == {"families": 0, "individuals": 0}
    assert set(body["arrivals"]["by_province"]) == set(Province.objects.values_list("code", flat=True))
    assert set(body["arrivals"]["by_crossing_point"]) == set(
        CrossingPoint.objects.values_list("code", flat=True)
    )
    # disbursements by request date: both were requested "today" (the test run's date), not in 20..24 Nov
    assert set(body["disbursements"]["by_status"]) == set(Disbursement.Status.values)
    assert set(body["referrals"]["by_organization"]) == set(
        Organization.objects.values_list("code", flat=True)
    )
    assert all(set(v) == set(Referral.Status.values) for v in body["referrals"]["by_organization"].values())
    today = timezone.localdate().isoformat()
    now = client.get("/api/v1/reports/summary/", {"from": today, "to": today}).json()
    assert now["disbursements"]["by_status"]["paid"] == {"count": 1, "amount": "10000.00"}
    assert now["disbursements"]["by_status"]["requested"] == {"count": 1, "amount": "10000.00"}
    assert now["referrals"]["by_organization"]["IOM"]["accepted"] == 1


@pytest.mark.django_db
def test_summary_defaults_and_errors(make_user, api_client):
    client = api_client(make_user("finance"))
    body = client.get("/api/v1/reports/summary/").json()
    assert body["to"] == timezone.localdate().isoformat()
    assert body["from"] == (timezone.localdate() - timedelta(days=6)).isoformat()
    assert client.get("/api/v1/reports/summary/?from=2026-02-30").status_code == 400
    assert client.get("/api/v1/reports/summary/?from=2026-11-10&to=2026-11-01").status_code == 400
    assert api_client(make_user("case_worker")).get("/api/v1/reports/summary/").status_code == 403
    assert api_client(make_user("partner")).get("/api/v1/reports/summary/").status_code == 403


def _csv_rows(content: bytes) -> list[dict]:
    lines = content.decode().splitlines()
    assert lines[1].startswith("#date")  # HXL hashtag row
    return list(csv.DictReader(io.StringIO("\n".join([lines[0], *lines[2:]]))))


@pytest.mark.django_db
def test_weekly_report_numbers_equal_an_independent_count(activity):
    report = situation_report_generate(kind="weekly", today=TODAY)
    assert (report.status, report.period_start, report.period_end) == (
        "done",
        date(2026, 11, 18),
        date(2026, 11, 24),
    )
    rows = _csv_rows(bytes(report.csv))
    families = [f for f in activity]
    assert sum(int(r["families"]) for r in rows) == len(families)
    assert sum(int(r["individuals"]) for r in rows) == sum(f.household_size for f in families)
    torkham = [r for r in rows if r["crossing_point"] == "TORKHAM" and r["week"] == "2026-11-16"]
    assert sum(int(r["families"]) for r in torkham) == 2  # 20 and 21 Nov fall in the week of Monday 16 Nov
    paid_row = next(r for r in rows if r["payments_paid"] == "1")
    assert paid_row["afn_paid"] == "10000.00" and paid_row["median_days_arrival_to_payment"] == "3.0"
    assert sum(int(r["payments_requested"]) for r in rows) == 2
    assert sum(int(r["referrals_accepted"]) for r in rows) == 1
    sheet = load_workbook(io.BytesIO(bytes(report.xlsx)))["situation"]
    assert sheet.max_row == len(rows) + 2
    again = situation_report_generate(kind="weekly", today=TODAY)
    assert again.pk == report.pk and SituationReport.objects.count() == 1


@pytest.mark.django_db
def test_dashboard_and_downloads(client, activity, make_user):
    report = situation_report_generate(kind="daily", today=TODAY)
    client.force_login(make_user("coordinator"))
    page = client.get("/reports/").content.decode()
    assert "chart-4.6.1.umd.min.js" in page and 'id="chart-data"' in page
    download = client.get(f"/reports/{report.pk}.csv")
    assert download.status_code == 200 and download.content == bytes(report.csv)
    client.force_login(make_user("case_worker"))
    assert client.get("/reports/").status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_scheduled_report_runs_on_a_real_worker(celery_worker, activity):  # noqa: F811
    from reports.tasks import situation_report_task

    situation_report_task.delay("weekly")
    report = wait_for(lambda: SituationReport.objects.filter(kind="weekly", status="done").first())
    start, end = report.period_start, report.period_end
    expected = sum(f.household_size for f in activity if start <= f.arrival_date <= end)
    assert sum(int(r["individuals"]) for r in _csv_rows(bytes(report.csv))) == expected
    assert report.totals["individuals"] == expected


@pytest.mark.django_db
def test_registered_today_counts_the_local_calendar_day(register_family):
    from datetime import datetime, time

    from families.models import Family
    from reports.selectors import registry_today

    today_family, yesterday_family = register_family(), register_family(given="K")
    midnight = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    Family.objects.filter(pk=today_family.pk).update(created_at=midnight)
    Family.objects.filter(pk=yesterday_family.pk).update(created_at=midnight - timedelta(seconds=1))
    assert registry_today()["registered_today"] == 1
