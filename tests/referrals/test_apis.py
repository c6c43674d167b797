import json
from datetime import date

import pytest
from django.core.cache import cache

from accounts.models import AuditEvent
from families.models import Family
from families.services import MemberInput
from referrals.apis import PartnerKeyThrottle
from referrals.models import Referral, ReferralEvent

pytestmark = pytest.mark.django_db

CONTRACT_FAMILY_FIELDS = {
    "case_number",
    "head_name",
    "household_size",
    "phone",
    "destination_province",
    "destination_district",
    "vulnerabilities",
}


def test_case_worker_refers_a_family(people, register_family):
    family = register_family()
    _, client = people["worker"]
    response = client.post(
        f"/api/v1/families/{family.pk}/referrals/",
        {"organization": "UNHCR", "service": "shelter", "urgency": "high", "note": "six people"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["service"], body["organization"], body["urgency"]) == (
        "sent",
        "shelter",
        "UNHCR",
        "high",
    )
    referral = Referral.objects.get(pk=body["id"])
    assert referral.family == family and referral.created_by.username == "refer-worker"
    assert list(referral.events.values_list("to_status", flat=True)) == ["sent"]


def test_no_consent_is_409_and_nothing_saved(people, register_family):
    family = register_family(consent=False)
    response = people["worker"][1].post(
        f"/api/v1/families/{family.pk}/referrals/",
        {"organization": "UNHCR", "service": "food"},
        format="json",
    )
    assert response.status_code == 409
    assert "has not agreed to share its data" in response.json()["detail"]
    assert Referral.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"organization": "NOPE", "service": "food"}, "organization"),
        ({"organization": "UNHCR", "service": "spaceflight"}, "service"),
        ({"organization": "UNHCR", "service": "food", "urgency": "whenever"}, "urgency"),
        ({"organization": "UNHCR", "service": "food", "note": "x" * 2001}, "note"),
        ({"service": "food"}, "organization"),
    ],
)
def test_bad_referral_input_is_400_with_field_errors(people, register_family, body, field):
    family = register_family()
    response = people["worker"][1].post(f"/api/v1/families/{family.pk}/referrals/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert Referral.objects.count() == 0


@pytest.mark.parametrize("who", ["unhcr", "finance", "coordinator"])
def test_only_case_workers_refer(people, register_family, who):
    family = register_family()
    response = people[who][1].post(
        f"/api/v1/families/{family.pk}/referrals/",
        {"organization": "UNHCR", "service": "food"},
        format="json",
    )
    assert response.status_code == 403


def test_partners_see_only_their_own_referrals_on_every_endpoint(people, make_referral):
    mine = make_referral(org="UNHCR")
    theirs = make_referral(org="IOM", given="Karim")
    _, unhcr = people["unhcr"]
    assert [r["id"] for r in unhcr.get("/api/v1/referrals/").json()["results"]] == [str(mine.pk)]
    assert unhcr.get(f"/api/v1/referrals/{mine.pk}/").status_code == 200
    assert unhcr.get(f"/api/v1/referrals/{theirs.pk}/").status_code == 404
    moved = unhcr.post(f"/api/v1/referrals/{theirs.pk}/status/", {"status": "accepted"}, format="json")
    assert moved.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "sent"
    _, iom = people["iom"]
    assert [r["id"] for r in iom.get("/api/v1/referrals/").json()["results"]] == [str(theirs.pk)]
    assert iom.get(f"/api/v1/referrals/{mine.pk}/").status_code == 404


def test_partners_cannot_reach_families_or_payments(people, make_referral):
    referral = make_referral()
    _, unhcr = people["unhcr"]
    assert unhcr.get(f"/api/v1/families/{referral.family_id}/").status_code == 403
    assert unhcr.get("/api/v1/disbursements/").status_code == 403
    assert people["finance"][1].get("/api/v1/referrals/").status_code == 403


def test_partner_sees_only_the_minimised_fields(people, register_family, make_user):
    from referrals.services import referral_create

    family = register_family(
        members=[
            MemberInput(
                given_name="Gul",
                father_name="Ahmad",
                sex="F",
                relationship="head",
                date_of_birth=date(1988, 3, 14),
                tazkira_number="1400-9999-77777",
            ),
            MemberInput(
                given_name="Ali",
                father_name="Rahim",
                sex="M",
                relationship="child",
                date_of_birth=date(2019, 7, 2),
            ),
        ]
    )
    referral = referral_create(
        family=family, organization_code="UNHCR", service_code="health", created_by=people["worker"][0]
    )
    _, unhcr = people["unhcr"]
    for response in (unhcr.get(f"/api/v1/referrals/{referral.pk}/"), unhcr.get("/api/v1/referrals/")):
        text = json.dumps(response.json())
        for secret in (
            "1400-9999-77777",
            "1400999977777",
            "1988-03-14",
            "2019-07-02",
            "date_of_birth",
            "tazkira",
            "members",
        ):
            assert secret not in text
    detail = unhcr.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert set(detail["family"]) == CONTRACT_FAMILY_FIELDS
    assert {"id", "status", "service", "urgency", "note", "created_at", "updated_at", "family"} <= set(detail)
    assert "created_by" not in detail and "family_id" not in detail


LIFECYCLE = [
    # (from, to, who, expected status code)
    ("sent", "accepted", "unhcr", 200),
    ("sent", "declined", "unhcr", 200),
    ("sent", "in_progress", "unhcr", 409),
    ("sent", "completed", "unhcr", 409),
    ("accepted", "in_progress", "unhcr", 200),
    ("accepted", "completed", "unhcr", 200),
    ("accepted", "declined", "unhcr", 200),
    ("in_progress", "completed", "unhcr", 200),
    ("in_progress", "declined", "unhcr", 200),
    ("in_progress", "accepted", "unhcr", 409),
    ("completed", "declined", "unhcr", 409),
    ("declined", "accepted", "unhcr", 409),
    ("closed", "accepted", "unhcr", 409),
    ("sent", "closed", "unhcr", 403),
    ("sent", "closed", "worker", 200),
    ("accepted", "closed", "worker", 200),
    ("in_progress", "closed", "coordinator", 200),
    ("completed", "closed", "worker", 409),
    ("sent", "accepted", "worker", 403),
    ("sent", "closed", "finance", 403),
]


@pytest.mark.parametrize(("start", "target", "who", "expected"), LIFECYCLE)
def test_lifecycle(people, make_referral, start, target, who, expected):
    referral = make_referral()
    Referral.objects.filter(pk=referral.pk).update(status=start)
    _, client = people[who]
    response = client.post(
        f"/api/v1/referrals/{referral.pk}/status/", {"status": target, "note": "done"}, format="json"
    )
    assert response.status_code == expected, response.json()
    referral.refresh_from_db()
    if expected == 200:
        assert referral.status == target and referral.status_note == "done"
        event = ReferralEvent.objects.filter(referral=referral).last()
        assert (event.from_status, event.to_status, event.actor) == (start, target, people[who][0])
        assert response.json()["status"] == target
    else:
        assert referral.status == start
        assert ReferralEvent.objects.filter(referral=referral).count() == 1


def test_declining_needs_a_note(people, make_referral):
    referral = make_referral()
    response = people["unhcr"][1].post(
        f"/api/v1/referrals/{referral.pk}/status/", {"status": "declined"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"note": ["Give the reason for declining in the note."]}
    unknown = people["unhcr"][1].post(
        f"/api/v1/referrals/{referral.pk}/status/", {"status": "lost"}, format="json"
    )
    assert unknown.status_code == 400 and "status" in unknown.json()


def test_incremental_sync_sees_everything_while_records_change(people, make_referral):
    referrals = [make_referral(given=f"Name{i}", father="Father") for i in range(25)]
    _, unhcr = people["unhcr"]
    seen: list[tuple[str, str]] = []
    url = "/api/v1/referrals/?limit=10"
    page = 0
    while url:
        body = unhcr.get(url).json()
        seen += [(r["id"], r["status"]) for r in body["results"]]
        if page == 0:
            # Between pages: one referral already seen changes, one not yet seen changes too.
            unhcr.post(f"/api/v1/referrals/{referrals[0].pk}/status/", {"status": "accepted"}, format="json")
            unhcr.post(f"/api/v1/referrals/{referrals[20].pk}/status/", {"status": "accepted"}, format="json")
        url = body["next"]
        page += 1
    ids = [i for i, _ in seen]
    assert set(ids) == {str(r.pk) for r in referrals}  # none skipped
    assert ids.count(str(referrals[0].pk)) == 2  # changed after it was seen: appears again
    assert seen[-1] == (str(referrals[20].pk), "accepted") or (str(referrals[20].pk), "accepted") in seen
    unchanged = [str(r.pk) for r in referrals[1:20]] + [str(r.pk) for r in referrals[21:]]
    assert all(ids.count(i) == 1 for i in unchanged)
    assert (str(referrals[0].pk), "accepted") in seen[10:]


def test_updated_since_and_filters(people, make_referral):
    old = make_referral(service="food")
    new = make_referral(service="shelter", given="Karim")
    Referral.objects.filter(pk=old.pk).update(updated_at="2026-01-01T00:00:00Z")
    _, unhcr = people["unhcr"]
    since = unhcr.get("/api/v1/referrals/", {"updated_since": "2026-06-01T00:00:00+04:30"}).json()["results"]
    assert [r["id"] for r in since] == [str(new.pk)]
    food = unhcr.get("/api/v1/referrals/", {"service": "food"}).json()["results"]
    assert [r["id"] for r in food] == [str(old.pk)]
    assert unhcr.get("/api/v1/referrals/", {"status": "accepted"}).json()["results"] == []


@pytest.mark.parametrize(
    "query",
    [
        "updated_since=yesterday",
        "updated_since=2026-13-01",
        "status=lost",
        "limit=0",
        "limit=501",
        "cursor=abc",
    ],
)
def test_bad_sync_parameters_are_400(people, query):
    assert people["unhcr"][1].get(f"/api/v1/referrals/?{query}").status_code == 400


def test_tampered_cursor_is_400(people, make_referral):
    for i in range(3):
        make_referral(given=f"N{i}")
    _, unhcr = people["unhcr"]
    next_url = unhcr.get("/api/v1/referrals/?limit=1").json()["next"]
    tampered = next_url.replace("cursor=", "cursor=x")
    assert unhcr.get(tampered).status_code == 400


def test_partner_reads_are_logged(people, make_referral):
    referral = make_referral()
    user, unhcr = people["unhcr"]
    unhcr.get("/api/v1/referrals/")
    unhcr.get(f"/api/v1/referrals/{referral.pk}/")
    events = AuditEvent.objects.filter(
        action="family.read_by_partner", actor=user, target_id=str(referral.family_id)
    )
    assert sorted(e.data["endpoint"] for e in events) == ["referrals_list", "referrals_retrieve"]


def test_throttling_per_key_with_retry_after(people, make_referral, monkeypatch):
    monkeypatch.setattr(PartnerKeyThrottle, "THROTTLE_RATES", {"partner": "3/min"})
    cache.clear()
    _, unhcr = people["unhcr"]
    statuses = [unhcr.get("/api/v1/referrals/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = unhcr.get("/api/v1/referrals/")
    assert int(limited["Retry-After"]) > 0
    assert limited.json()["code"] == "throttled"
    assert people["iom"][1].get("/api/v1/referrals/").status_code == 200  # another key, its own budget
    assert people["worker"][1].get("/api/v1/referrals/").status_code == 200  # staff are not throttled here
    cache.clear()


def test_revoked_key_is_401(people):
    from accounts.services import api_keys_revoke

    user, unhcr = people["unhcr"]
    api_keys_revoke(user=user)
    assert unhcr.get("/api/v1/referrals/").status_code == 401


def test_partner_list_gives_exactly_the_serializers_representation(people, make_referral):
    """The partner list builds its rows from .values() for speed; the webhook payloads use the serializer."""
    from referrals.serializers import PartnerReferralSerializer

    members = [
        MemberInput(given_name="Gul", father_name="Ahmad", sex="F", relationship="head", age_years=40,
                    vulnerabilities=["disability"]),
        MemberInput(given_name="Wali", father_name="Gul", sex="M", relationship="child", age_years=7),
    ]  # fmt: skip
    make_referral(members=members, phone="+93700123456")
    make_referral(given="Wali")
    withdrawn = make_referral(given="Zarmina", phone="+93700123457")
    # A family that withdrew its consent: its personal data is withheld from partners.
    Family.objects.filter(pk=withdrawn.family_id).update(consent_to_share=False)
    _, unhcr = people["unhcr"]
    listed = unhcr.get("/api/v1/referrals/").json()["results"]
    expected = [
        json.loads(json.dumps(PartnerReferralSerializer(r).data))
        for r in Referral.objects.filter(organization__code="UNHCR").order_by("updated_at", "id")
    ]
    assert listed == expected
    assert len(listed) == 3
    assert [r["family_data_withheld"] for r in listed].count(True) == 1
    assert next(r for r in listed if r["family_data_withheld"])["family"]["phone"] == ""


def test_every_referral_of_a_page_is_logged_once(people, make_referral):
    referrals = [make_referral(given=f"N{i}") for i in range(3)]
    user, unhcr = people["unhcr"]
    assert unhcr.get("/api/v1/referrals/?limit=2").status_code == 200
    events = AuditEvent.objects.filter(action="family.read_by_partner", actor=user)
    first_two = sorted(referrals, key=lambda r: (r.updated_at, r.pk))[:2]
    assert sorted((e.target_id, e.data["referral"]) for e in events) == sorted(
        (str(r.family_id), str(r.pk)) for r in first_two
    )
    assert {(e.actor_username, e.target_type, e.data["organization"]) for e in events} == {
        (user.username, "families.family", "UNHCR")
    }
