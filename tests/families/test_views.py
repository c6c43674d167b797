"""The case worker pages: role gates, registration with duplicate confirmation, search, detail, review."""

from datetime import date

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from accounts.services import user_create
from families.models import CrossingPoint, DuplicateFlag, Family, Member, Province
from families.services import MemberInput, family_register

pytestmark = pytest.mark.django_db

ROLES = ["case_worker", "finance", "coordinator", "partner", "admin"]


def make_user(role: str, username: str | None = None):
    return user_create(
        username=username or f"web-{role}",
        role=role,
        organization_code="UNHCR" if role == "partner" else None,
        password="not-used-here-1",
        check_password_strength=False,
    )


def register(user, given="Gul", father="Ahmad", year=1990, phone="", tazkira=""):
    return family_register(
        created_by=user,
        crossing_point=CrossingPoint.objects.get(code="TORKHAM"),
        arrival_date=date(2026, 11, 20),
        destination_province=Province.objects.get(code="AF-NAN"),
        phone=phone,
        consent_to_share=True,
        members=[
            MemberInput(
                given_name=given,
                father_name=father,
                sex="F",
                relationship="head",
                date_of_birth=date(year, 1, 1),
                tazkira_number=tazkira,
            )
        ],
    )


def form_data(members, **family):
    data = {
        "crossing_point": "SPIN_BOLDAK",
        "arrival_date": "2026-11-21",
        "destination_province": "AF-KAN",
        "destination_district": "Kandahar",
        "phone": "",
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "1",
        "members-MAX_NUM_FORMS": "40",
        **family,
    }
    for i, member in enumerate(members):
        for key, value in member.items():
            data[f"members-{i}-{key}"] = value
    return data


HEAD = {
    "given_name": "Mohammad",
    "father_name": "Karim",
    "sex": "M",
    "relationship": "head",
    "date_of_birth": "1980-05-05",
}
CHILD = {
    "given_name": "Zainab",
    "father_name": "Mohammad",
    "sex": "F",
    "relationship": "child",
    "age_years": "6",
}


# (url name, needs a family id, roles that may open it)
PAGES = [
    ("home", False, {"case_worker", "finance", "coordinator", "admin", "partner"}),
    ("family-search", False, {"case_worker", "finance", "coordinator", "admin"}),
    ("family-register", False, {"case_worker", "finance", "coordinator", "admin"}),
    ("family-detail", True, {"case_worker", "finance", "coordinator", "admin"}),
    ("family-edit", True, {"case_worker", "admin"}),
    ("duplicate-queue", False, {"case_worker", "admin"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "needs_family", "allowed"), PAGES)
def test_page_permission_matrix(client, role, name, needs_family, allowed):
    user = make_user(role)
    family = register(make_user("case_worker", "owner")) if needs_family else None
    url = reverse(name, args=[family.pk] if family else [])
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == (200 if role in allowed else 403)


@pytest.mark.parametrize(("name", "needs_family"), [(n, f) for n, f, _ in PAGES])
def test_anonymous_is_sent_to_login(client, name, needs_family):
    family = register(make_user("case_worker", "owner")) if needs_family else None
    response = client.get(reverse(name, args=[family.pk] if family else []))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_register_family_of_two_through_the_form(client):
    worker = make_user("case_worker")
    client.force_login(worker)
    response = client.post(reverse("family-register"), form_data([HEAD, CHILD], consent_to_share="on"))
    assert response.status_code == 302
    family = Family.objects.get()
    assert response["Location"] == reverse("family-detail", args=[family.pk])
    assert family.household_size == 2
    assert family.consent_to_share is True
    assert family.created_by == worker
    assert family.case_number.startswith("SPB-2026-")
    assert list(family.members.values_list("given_name", "relationship")) == [
        ("Mohammad", "head"),
        ("Zainab", "child"),
    ]
    page = client.get(response["Location"])
    assert family.case_number in page.content.decode()


def test_form_shows_possible_duplicates_and_saves_only_after_confirmation(client):
    worker = make_user("case_worker")
    existing = register(worker, given="Mohammad", father="Karim", year=1980)
    client.force_login(worker)
    variant = {**HEAD, "given_name": "Muhammed", "father_name": "Kareem"}

    first = client.post(reverse("family-register"), form_data([variant]))
    assert first.status_code == 200
    body = first.content.decode()
    assert "Possible duplicates" in body
    assert existing.case_number in body
    assert Family.objects.count() == 1  # nothing saved yet

    confirmed = client.post(reverse("family-register"), form_data([variant], confirm_duplicates="1"))
    assert confirmed.status_code == 302
    new = Family.objects.exclude(pk=existing.pk).get()
    assert DuplicateFlag.objects.filter(family=new, candidate=existing, status="open").exists()


@pytest.mark.parametrize(
    ("members", "family", "message"),
    [
        ([{**HEAD}, {**CHILD, "relationship": "head"}], {}, "Exactly one member must have relationship"),
        ([{**CHILD}], {}, "Exactly one member must have relationship"),
        ([{**HEAD, "date_of_birth": ""}], {}, "Give a date of birth or an estimated age."),
        ([HEAD], {"phone": "12"}, "Enter a valid phone number"),
        ([{**HEAD, "date_of_birth": "2027-01-01"}], {}, "Date of birth cannot be after the arrival date."),
        ([HEAD], {"destination_province": "AF-XXX"}, "Select a valid choice"),
        ([{**HEAD, "given_name": ""}], {}, "This field is required."),
    ],
)
def test_form_errors_are_shown_and_nothing_is_saved(client, members, family, message):
    client.force_login(make_user("case_worker"))
    events = AuditEvent.objects.count()
    response = client.post(reverse("family-register"), form_data(members, **family))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Family.objects.count() == 0
    assert Member.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_add_member_button_adds_a_row_without_javascript(client):
    client.force_login(make_user("case_worker"))
    response = client.post(reverse("family-register"), form_data([HEAD], add_member="1"))
    assert response.status_code == 200
    assert 'name="members-1-given_name"' in response.content.decode()
    assert Family.objects.count() == 0


def test_search_finds_a_family_by_another_spelling_and_by_case_number(client):
    worker = make_user("case_worker")
    family = register(worker, given="Mohammad", father="Hussain", tazkira="1400-0101-55555")
    other = register(worker, given="Fatima", father="Ali")
    client.force_login(worker)
    for query in ["محمد حسین", "Muhammad Hossein", family.case_number, "1400 0101 55555"]:
        body = client.get(reverse("family-search"), {"q": query}).content.decode()
        assert family.case_number in body, query
        assert other.case_number not in body, query


def test_detail_page_shows_history_and_logs_the_view(client):
    worker = make_user("case_worker")
    family = register(worker)
    viewer = make_user("coordinator")
    client.force_login(viewer)
    body = client.get(reverse("family-detail", args=[family.pk])).content.decode()
    assert "family.created" in body
    assert (
        AuditEvent.objects.filter(action="family.viewed", actor=viewer, target_id=str(family.pk)).count() == 1
    )


def test_edit_changes_consent_with_audit(client):
    worker = make_user("case_worker")
    family = register(worker)
    Family.objects.filter(pk=family.pk).update(consent_to_share=False)  # registered without consent
    client.force_login(worker)
    response = client.post(
        reverse("family-edit", args=[family.pk]),
        {
            "phone": "0700 123 456",
            "destination_province": "AF-KAB",
            "destination_district": "Kabul",
            "consent_to_share": "on",
        },
    )
    assert response.status_code == 302
    family.refresh_from_db()
    assert family.phone == "+93700123456"
    assert family.consent_to_share is True and family.consent_recorded_by == worker
    assert family.destination_province.code == "AF-KAB"
    event = AuditEvent.objects.get(action="family.changed", target_id=str(family.pk))
    assert event.data["changes"]["consent_to_share"] == [False, True]
    assert event.data["changes"]["destination_province"] == ["AF-NAN", "AF-KAB"]


def test_duplicate_review_merge_from_the_queue(client):
    worker = make_user("case_worker")
    first = register(worker, given="Gul", father="Ahmad")
    second = register(worker, given="Gol", father="Ahmed")
    flag = DuplicateFlag.objects.get(family=second, candidate=first)
    client.force_login(worker)
    queue = client.get(reverse("duplicate-queue")).content.decode()
    assert second.case_number in queue
    response = client.post(
        reverse("duplicate-resolve", args=[flag.pk]), {"decision": "merged", "note": "same tazkira photo"}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    flag.refresh_from_db()
    assert second.status == "merged" and second.duplicate_of == first
    assert flag.status == "merged" and flag.resolved_by == worker
    assert Family.objects.count() == 2  # both records are kept


def test_rtl_layout_in_dari_and_pashto(client):
    client.force_login(make_user("case_worker"))
    for code in ["fa", "ps"]:
        client.cookies["django_language"] = code
        body = client.get(reverse("home")).content.decode()
        assert f'lang="{code}" dir="rtl"' in body
    client.cookies["django_language"] = "en"
    assert 'lang="en" dir="ltr"' in client.get(reverse("home")).content.decode()
