"""Retention: closed cases are anonymised after the retention period, reports keep their numbers."""

import json
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.models import AuditEvent
from aidcase.core.exceptions import Conflict
from disbursements.models import Disbursement, DisbursementTransition
from disbursements.services import disbursement_request
from families.models import DuplicateFlag, Family, FamilyImport, Member
from families.services import family_case_close
from grievances.models import Grievance, GrievanceEvent
from grievances.services import grievance_create, grievance_transition
from privacy.retention import ANONYMISED, anonymise_batch, retention_cutoff, retention_run
from privacy.selectors import family_subject_access_data
from referrals.models import Referral, ReferralEvent, WebhookDelivery
from referrals.services import referral_create
from reports.situation import build_rows
from reports.summary import summary
from tests.concurrency import run_concurrently
from tests.privacy.conftest import CHILD, FATHER, HEAD, NEW_PHONE, NOTE, PHONE, TAZKIRA, close_long_ago

pytestmark = pytest.mark.django_db

PERSONAL = [HEAD, FATHER, CHILD, TAZKIRA, PHONE, NEW_PHONE, NOTE, "1988-06-15", "2019-12-01", "Wardak"]


def _everything_about(family: Family) -> str:
    """Every stored value that could hold the family's personal data, as one text to search."""
    referral_ids = list(Referral.objects.filter(family=family).values_list("pk", flat=True))
    payment_ids = list(Disbursement.objects.filter(family=family).values_list("pk", flat=True))
    parts = [
        list(Family.objects.filter(pk=family.pk).values()),
        list(Member.objects.filter(family=family).values()),
        list(DuplicateFlag.objects.filter(family=family).values()),
        list(Referral.objects.filter(pk__in=referral_ids).values()),
        list(ReferralEvent.objects.filter(referral_id__in=referral_ids).values()),
        list(WebhookDelivery.objects.values("payload")),
        list(Disbursement.objects.filter(pk__in=payment_ids).values()),
        list(DisbursementTransition.objects.filter(disbursement_id__in=payment_ids).values()),
        list(AuditEvent.objects.values("data")),
        list(Grievance.objects.filter(family=family).values()),
        list(GrievanceEvent.objects.filter(grievance__family=family).values()),
    ]
    return json.dumps(parts, default=str, ensure_ascii=False)


def test_settled_cases_are_closed_open_ones_are_not(full_case):
    settled = full_case(index=1)
    open_referral = full_case(index=2, finish_referral=False)
    unpaid = full_case(index=3, pay=False)
    result = retention_run()
    assert result["closed"] == 1 and result["anonymised"] == 0
    assert Family.objects.get(pk=settled.pk).case_closed_at is not None
    assert Family.objects.get(pk=open_referral.pk).case_closed_at is None
    assert Family.objects.get(pk=unpaid.pk).case_closed_at is None
    event = AuditEvent.objects.get(action="family.case_closed", target_id=str(settled.pk))
    assert event.actor is None and event.data == {"reason": "payment paid and every referral finished"}


def test_closed_case_past_retention_is_anonymised_everywhere(full_case, staff):
    family = full_case()
    retention_run()
    assert HEAD in _everything_about(family) and NEW_PHONE in _everything_about(family)
    close_long_ago(family)

    result = retention_run()

    assert result["anonymised"] == 1
    text = _everything_about(family)
    for value in PERSONAL:
        assert value not in text, value
    family.refresh_from_db()
    assert family.is_anonymised
    assert (family.head_name, family.phone, family.destination_district) == ("", "", "")
    # What reports count stays.
    assert (family.household_size, family.arrival_date, family.crossing_point.code) == (
        3,
        date(2026, 11, 20),
        "TORKHAM",
    )
    assert family.destination_province.code == "AF-NAN" and family.head_birth_year == 1988
    assert sorted(family.vulnerabilities) == ["disability", "female_headed"]
    head, child, boy = family.members.order_by("position")
    assert (head.given_name, head.father_name, head.tazkira_number, head.date_of_birth) == ("", "", "", None)
    assert (head.sex, head.birth_year, head.age_years, head.vulnerabilities) == (
        "F",
        1988,
        38,
        ["female_headed"],
    )
    assert (child.birth_year, child.age_years, boy.age_years) == (2019, 6, 3)
    paid = family.disbursements.get(status="paid")
    assert paid.amount == 10000 and paid.paid_at is not None
    assert family.referrals.get().status == "completed"
    assert ReferralEvent.objects.filter(referral__family=family).count() == 3
    # The audit trail keeps who/what/when; the values are gone.
    changed = AuditEvent.objects.get(action="family.changed", target_id=str(family.pk))
    assert changed.data == {"changes": {"phone": ANONYMISED}} and changed.actor == staff["worker"]
    event = AuditEvent.objects.get(action="family.anonymised", target_id=str(family.pk))
    assert event.actor is None
    assert event.data["members"] == 3 and event.data["referrals"] == 1 and event.data["disbursements"] == 2
    assert event.data["audit_events_redacted"] >= 3 and event.data["retention_days"] == 730
    # The subject access export of an anonymised family holds nothing personal either.
    export = json.dumps(family_subject_access_data(family=family), ensure_ascii=False)
    for value in PERSONAL:
        assert value not in export, value


def test_review_notes_recorded_on_the_other_family_are_removed(full_case):
    family = full_case()
    later = full_case(
        index=1, finish_referral=False
    )  # flagged as a possible duplicate of the first, kept open
    review = AuditEvent.objects.get(action="duplicate.distinct", target_id=str(later.pk))
    assert HEAD in review.data["note"]
    retention_run()
    close_long_ago(family)
    retention_run()
    review.refresh_from_db()
    assert review.data["note"] == ANONYMISED and review.data["candidate"] == family.case_number
    assert DuplicateFlag.objects.get(family=later, candidate=family).note == ""
    assert not Family.objects.get(pk=later.pk).is_anonymised


def test_an_unresolved_complaint_keeps_the_case_open(full_case, staff):
    family = full_case(resolve_complaint=False)
    assert retention_run()["closed"] == 0
    with pytest.raises(Conflict, match="complaint"):
        family_case_close(family=family, closed_by=staff["worker"])
    complaint = family.grievances.get()
    grievance_transition(grievance=complaint, actor=staff["worker"], target="resolved", resolution="fixed")
    assert retention_run()["closed"] == 1


def test_a_complaint_reopens_a_closed_case(full_case, staff):
    family = full_case()
    retention_run()
    assert Family.objects.get(pk=family.pk).case_closed_at is not None
    grievance_create(family=family, category="other", description="still waiting", created_by=staff["worker"])
    assert Family.objects.get(pk=family.pk).case_closed_at is None


def test_case_closed_recently_is_kept(full_case):
    family = full_case()
    retention_run()
    close_long_ago(family, days=700)  # the default period is 730 days
    assert retention_run()["anonymised"] == 0
    family.refresh_from_db()
    assert not family.is_anonymised and family.head_name.startswith(HEAD)


def test_retention_period_comes_from_the_setting(full_case, settings):
    settings.RETENTION_CLOSED_CASE_DAYS = 30
    family = full_case()
    retention_run()
    close_long_ago(family, days=31)
    assert retention_run()["anonymised"] == 1


def test_reports_give_the_same_numbers_before_and_after(full_case):
    families = [full_case(index=i, arrival=date(2026, 11, 18 + i)) for i in range(1, 4)]
    full_case(index=9, finish_referral=False, arrival=date(2026, 11, 19))  # stays open, not anonymised
    retention_run()
    for family in families:
        close_long_ago(family)
    period = (date(2026, 11, 16), date(2026, 11, 24))
    before = (summary(date_from=period[0], date_to=timezone.localdate()), build_rows(*period))

    assert retention_run()["anonymised"] == 3

    after = (summary(date_from=period[0], date_to=timezone.localdate()), build_rows(*period))
    assert after == before
    assert before[0]["arrivals"]["families"] == 4 and before[0]["arrivals"]["individuals"] == 12
    rows = before[1][0]
    assert sum(r["female_headed"] for r in rows) == 4 and sum(r["payments_paid"] for r in rows) == 4


def test_running_twice_anonymises_once(full_case):
    family = full_case()
    retention_run()
    close_long_ago(family)
    assert retention_run()["anonymised"] == 1
    again = retention_run()
    assert (again["anonymised"], again["closed"]) == (0, 0)
    assert AuditEvent.objects.filter(action="family.anonymised", target_id=str(family.pk)).count() == 1


def test_anonymised_family_takes_no_new_referral_or_payment(full_case, staff):
    family = full_case()
    retention_run()
    close_long_ago(family)
    retention_run()
    with pytest.raises(Conflict):
        referral_create(
            family=family, organization_code="IOM", service_code="food", created_by=staff["worker"]
        )
    Disbursement.objects.filter(family=family).update(status="failed")  # even if it were payable again
    with pytest.raises(Conflict):
        disbursement_request(family=family, requested_by=staff["worker"])


def test_new_referral_reopens_a_closed_case(full_case, staff):
    family = full_case()
    retention_run()
    close_long_ago(family)
    referral_create(family=family, organization_code="IOM", service_code="food", created_by=staff["worker"])
    family.refresh_from_db()
    assert family.case_closed_at is None
    assert retention_run()["anonymised"] == 0
    assert AuditEvent.objects.filter(action="family.case_reopened", target_id=str(family.pk)).count() == 1


def test_append_only_tables_refuse_changes_outside_the_erasure(full_case):
    family = full_case()
    event = AuditEvent.objects.filter(target_id=str(family.pk)).first()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(data={})
    with pytest.raises(DatabaseError), transaction.atomic():
        ReferralEvent.objects.filter(referral__family=family).update(note="")
    with transaction.atomic():  # inside the erasure, who/what/when still never change, rows never go
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('aidcase.erasure', 'on', true)")
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action="something.else")
        with pytest.raises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk)._raw_delete(AuditEvent.objects.db)
        with pytest.raises(DatabaseError), transaction.atomic():
            DisbursementTransition.objects.filter(disbursement__family=family).update(to_status="paid")
        AuditEvent.objects.filter(pk=event.pk).update(data={"x": 1})  # what the retention run does
    event.refresh_from_db()
    assert event.data == {"x": 1}


def test_old_uploaded_lists_are_emptied(full_case, staff):
    upload = FamilyImport.objects.create(
        filename="list.csv",
        sha256="0" * 64,
        content=f"given_name\n{HEAD}\n".encode(),
        report=b"report",
        status=FamilyImport.Status.DONE,
        created_by=staff["worker"],
    )
    recent = FamilyImport.objects.create(
        filename="new.csv", sha256="1" * 64, content=b"x", status="done", created_by=staff["worker"]
    )
    FamilyImport.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(days=731))
    assert retention_run()["imports_purged"] == 1
    upload.refresh_from_db()
    assert (bytes(upload.content), bytes(upload.report)) == (b"", b"")
    assert bytes(FamilyImport.objects.get(pk=recent.pk).content) == b"x"
    assert AuditEvent.objects.filter(action="family_import.purged", target_id=str(upload.pk)).exists()


def test_command_dry_run_changes_nothing(full_case):
    family = full_case()
    out = StringIO()
    call_command("anonymiseclosedcases", "--dry-run", stdout=out)
    assert "1 settled case(s) would be closed" in out.getvalue()
    assert Family.objects.get(pk=family.pk).case_closed_at is None
    call_command("anonymiseclosedcases", stdout=StringIO())
    close_long_ago(family)
    out = StringIO()
    call_command("anonymiseclosedcases", "--dry-run", stdout=out)
    assert "1 family(ies) would be anonymised" in out.getvalue()
    assert not Family.objects.get(pk=family.pk).is_anonymised
    out = StringIO()
    call_command("anonymiseclosedcases", stdout=out)
    assert "1 family(ies) were anonymised" in out.getvalue()
    assert Family.objects.get(pk=family.pk).is_anonymised
    assert AuditEvent.objects.get(action="family.anonymised").data["trigger"] == "manage.py"


def test_the_nightly_schedule_exists():
    task = PeriodicTask.objects.get(task="privacy.tasks.retention_run_task")
    assert task.enabled and task.crontab.hour == "2"


def test_case_worker_closes_a_case_only_when_nothing_is_open(full_case, staff, api_client):
    open_case = full_case(finish_referral=False)
    client = api_client(staff["worker"])
    response = client.post(f"/api/v1/families/{open_case.pk}/close/", {"reason": "left"}, format="json")
    assert response.status_code == 409 and "referral" in response.json()["detail"]
    Referral.objects.filter(family=open_case).update(status="closed")
    assert api_client(staff["coordinator"]).post(f"/api/v1/families/{open_case.pk}/close/").status_code == 403
    response = client.post(f"/api/v1/families/{open_case.pk}/close/", {"reason": "left"}, format="json")
    assert response.status_code == 200 and response.json()["case_closed_by"] == staff["worker"].username
    assert client.post(f"/api/v1/families/{open_case.pk}/close/").status_code == 409


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_anonymise_each_family_once(full_case):
    families = [full_case(index=i) for i in range(12)]
    retention_run()
    for family in families:
        close_long_ago(family)
    cutoff = retention_cutoff()

    def run(i):
        done = 0
        while n := anonymise_batch(cutoff=cutoff, batch_size=2, trigger=f"run {i}"):
            done += n
        return done

    results = run_concurrently(run, 2)

    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(results) == 12
    for family in families:
        assert AuditEvent.objects.filter(action="family.anonymised", target_id=str(family.pk)).count() == 1
    assert Family.objects.filter(pk__in=[f.pk for f in families], anonymised_at__isnull=True).count() == 0


def test_the_nightly_task_runs_the_policy(full_case):
    from privacy.tasks import retention_run_task

    family = full_case()
    assert retention_run_task.delay().get()["closed"] == 1
    close_long_ago(family)
    assert retention_run_task.delay().get()["anonymised"] == 1
    assert AuditEvent.objects.get(action="family.anonymised").data["trigger"] == "scheduled"
