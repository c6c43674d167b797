from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import AuditEvent
from families.models import CrossingPoint, Family, Member, Province
from families.services import MemberInput, family_register, family_update
from tests.concurrency import run_concurrently
from tests.factories import FamilyFactory, MemberInputFactory

pytestmark = pytest.mark.django_db


def test_registration_writes_family_and_member_audit_events(register_family, make_user):
    worker = make_user("case_worker")
    family = register_family(
        created_by=worker,
        members=[
            MemberInput(given_name="Gul", father_name="Ahmad", sex="F", relationship="head", age_years=40),
            MemberInput(given_name="Ali", father_name="Rahim", sex="M", relationship="child", age_years=3),
        ],
    )
    created = AuditEvent.objects.get(action="family.created", target_id=str(family.pk))
    assert created.actor == worker and created.data["household_size"] == 2
    member_events = AuditEvent.objects.filter(action="member.created", target_type="families.member")
    assert {e.target_id for e in member_events} == {str(m.pk) for m in family.members.all()}
    assert all(e.actor_username == worker.username for e in member_events)


def test_update_records_old_and_new_values(register_family, make_user):
    family = register_family(phone="+93700000001", consent=False)
    editor = make_user("case_worker")
    family_update(family=family, changed_by=editor, phone="0700 000 002", consent_to_share=True)
    family.refresh_from_db()
    assert family.phone == "+93700000002" and family.consent_to_share is True
    assert family.consent_recorded_by == editor
    event = AuditEvent.objects.get(action="family.changed")
    assert event.data["changes"] == {
        "phone": ["+93700000001", "+93700000002"],
        "consent_to_share": [False, True],
    }
    family_update(family=family, changed_by=editor, phone="+93700000002")  # no change, no event
    assert AuditEvent.objects.filter(action="family.changed").count() == 1
    # Withdrawing consent is its own service (it also stops sharing with partners), never a field edit.
    with pytest.raises(ValidationError):
        family_update(family=family, changed_by=editor, consent_to_share=False)
    family.refresh_from_db()
    assert family.consent_to_share is True


def test_audit_events_cannot_be_changed_or_deleted(register_family):
    register_family()
    event = AuditEvent.objects.first()
    event.action = "tampered"
    with pytest.raises(RuntimeError, match="append-only"):
        event.save()
    with pytest.raises(RuntimeError, match="append-only"):
        event.delete()


@pytest.mark.postgres
def test_database_refuses_update_and_delete_of_audit_rows(register_family):
    register_family()
    for sql in ("UPDATE accounts_auditevent SET action = 'x'", "DELETE FROM accounts_auditevent"):
        with (
            pytest.raises(Exception, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert not AuditEvent.objects.filter(action="x").exists()


def test_database_allows_only_one_head(register_family):
    family = register_family()
    with pytest.raises(IntegrityError), transaction.atomic():
        Member.objects.create(
            family=family, given_name="B", father_name="C", sex="M", relationship="head", age_years=30
        )


def test_case_numbers_are_per_crossing_point_and_year(register_family):
    a = register_family(crossing_point="TORKHAM")
    b = register_family(crossing_point="TORKHAM", given="Karim")
    c = register_family(crossing_point="SPIN_BOLDAK", given="Rahim")
    d = register_family(crossing_point="TORKHAM", given="Omar", arrival=date(2025, 12, 31))
    assert (a.case_number, b.case_number) == ("TKM-2026-000001", "TKM-2026-000002")
    assert c.case_number == "SPB-2026-000001"
    assert d.case_number == "TKM-2025-000001"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_get_distinct_consecutive_case_numbers(make_user):
    worker = make_user("case_worker")
    torkham = CrossingPoint.objects.get(code="TORKHAM")
    province = Province.objects.get(code="AF-KAB")

    def register(i: int) -> str:
        family = family_register(
            created_by=worker,
            crossing_point=torkham,
            arrival_date=date(2026, 11, 20),
            destination_province=province,
            members=[
                MemberInput(
                    given_name=f"Name{i}",
                    father_name=f"Father{i}",
                    sex="M",
                    relationship="head",
                    age_years=30,
                )
            ],
        )
        return family.case_number

    results = run_concurrently(register, 20)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [f"TKM-2026-{n:06d}" for n in range(1, 21)]
    assert Family.objects.count() == 20


def test_head_is_stored_first_and_household_vulnerabilities_add_up():
    family = FamilyFactory(
        members=[
            MemberInputFactory(
                relationship="child", age_years=4, date_of_birth=None, vulnerabilities=["disability"]
            ),
            MemberInputFactory(given_name="Zainab", sex="F", vulnerabilities=["female_headed"]),
        ],
        vulnerabilities=["chronic_illness"],
    )
    assert family.household_size == 2 == family.members.count()
    assert [m.relationship for m in family.members.order_by("position")] == ["head", "child"]
    assert family.head_name.startswith("Zainab ")
    assert family.vulnerabilities == ["chronic_illness", "disability", "female_headed"]
    assert family.members.get(relationship="child").birth_year == 2026 - 4


def test_arrival_today_in_kabul_is_accepted_tomorrow_is_not():
    today = timezone.localdate()  # in TIME_ZONE (Asia/Kabul)
    assert FamilyFactory(arrival_date=today).arrival_date == today
    with pytest.raises(ValidationError) as excinfo:
        FamilyFactory(arrival_date=today + timedelta(days=1))
    assert excinfo.value.message_dict == {"arrival_date": ["Arrival date cannot be in the future."]}
    assert Family.objects.count() == 1


def test_update_refuses_fields_it_does_not_own():
    family = FamilyFactory()
    with pytest.raises(ValueError, match="Not editable here: case_number"):
        family_update(family=family, changed_by=family.created_by, case_number="X-1")
    family.refresh_from_db()
    assert family.case_number.startswith("TKM-")
    assert not AuditEvent.objects.filter(action="family.changed").exists()


def test_update_with_an_invalid_phone_changes_nothing():
    family = FamilyFactory(phone="+93700000001")
    with pytest.raises(ValidationError) as excinfo:
        family_update(family=family, changed_by=family.created_by, phone="12")
    assert excinfo.value.message_dict == {"phone": ["Enter a valid phone number, e.g. +93700123456."]}
    family.refresh_from_db()
    assert family.phone == "+93700000001"
    assert not AuditEvent.objects.filter(action="family.changed").exists()


def test_a_failed_registration_uses_no_case_number():
    head = MemberInputFactory()
    with pytest.raises(ValidationError):
        FamilyFactory(members=[head, MemberInputFactory()])  # two heads
    assert FamilyFactory(members=[head]).case_number == "TKM-2026-000001"


def test_build_needs_no_database():
    family = FamilyFactory.build(
        members=[MemberInputFactory.build(), MemberInputFactory.build(relationship="child")]
    )
    assert family.pk is not None and family._state.adding
    assert family.household_size == 2 and not family.is_merged
