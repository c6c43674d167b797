from urllib.parse import urlparse

import pytest
from django.conf import settings

from accounts.models import AuditEvent
from families.models import DuplicateFlag, Family, Member
from tests.conftest import registration_body
from tests.factories import FamilyFactory, MemberInputFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/families/"


@pytest.fixture
def worker_client(make_user, api_client):
    return api_client(make_user("case_worker", "amina"))


def test_register_family_returns_contract_fields_and_saves_members(worker_client):
    response = worker_client.post(URL, registration_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["case_number"].startswith("TKM-2026-")
    assert body["household_size"] == 2
    assert body["possible_duplicates"] == []
    assert body["created_by"] == "amina"
    assert body["crossing_point"] == "TORKHAM" and body["destination_province"] == "AF-NAN"
    assert body["vulnerabilities"] == ["female_headed"]
    assert body["created_at"].endswith("+04:30")  # ISO 8601 with the Kabul offset
    family = Family.objects.get(pk=body["id"])
    assert family.phone == "+93700123456"
    assert family.consent_recorded_by.username == "amina"
    members = list(family.members.order_by("position"))
    assert [(m.given_name, m.relationship) for m in members] == [("Gul", "head"), ("Ali", "child")]
    assert members[1].birth_year == 2026 - 7
    assert members[0].tazkira_key == "1400010112345"


def _member(**changes):
    member = dict(registration_body()["members"][0])
    member.update(changes)
    return [{k: v for k, v in member.items() if v is not None}]


def _without(*fields):
    return {field: None for field in fields}


REQUIRED = "This field is required."
# (change to the valid body (None: leave the key out), field that carries the error, text of the message)
INVALID = [
    (_without("crossing_point"), "crossing_point", REQUIRED),
    (_without("arrival_date"), "arrival_date", REQUIRED),
    (_without("destination_province"), "destination_province", REQUIRED),
    (_without("consent_to_share"), "consent_to_share", REQUIRED),
    (_without("members"), "members", REQUIRED),
    ({"crossing_point": "NOWHERE"}, "crossing_point", "Object with code=NOWHERE does not exist."),
    ({"destination_province": "AF-XXX"}, "destination_province", "Object with code=AF-XXX does not exist."),
    ({"arrival_date": "20-11-2026"}, "arrival_date", "Date has wrong format."),
    ({"arrival_date": "2099-01-01"}, "arrival_date", "Arrival date cannot be in the future."),
    ({"phone": "12345"}, "phone", "Enter a valid phone number, e.g. +93700123456."),
    ({"members": []}, "members", "at least 1"),
    ({"vulnerabilities": ["rich"]}, "vulnerabilities", '"rich" is not a valid choice.'),
    ({"members": _member(sex="X")}, "members", '"X" is not a valid choice.'),
    ({"members": _member(relationship="cousin")}, "members", '"cousin" is not a valid choice.'),
    (
        {"members": _member(relationship="child")},
        "members",
        "Exactly one member must have relationship 'head' (found 0).",
    ),
    ({"members": _member(date_of_birth=None)}, "members", "Give date_of_birth or age_years."),
    (
        {"members": _member(date_of_birth="2027-01-01")},
        "members[0].date_of_birth",
        "Date of birth cannot be after the arrival date.",
    ),
    ({"members": _member(given_name="")}, "members", "This field may not be blank."),
    ({"members": _member(vulnerabilities=["unknown"])}, "members", '"unknown" is not a valid choice.'),
    (
        {"members": _member() + _member(relationship="spouse")},
        "members",
        "The same Tazkira number is given for two members.",
    ),
    (
        {"members": _member() + _member(relationship="spouse", tazkira_number="۱۴۰۰/۰۱۰۱/۱۲۳۴۵")},
        "members",
        "The same Tazkira number is given for two members.",
    ),
    (
        {"members": _member() + _member(relationship="head", tazkira_number="")},
        "members",
        "Exactly one member must have relationship 'head' (found 2).",
    ),
]


def _messages(errors) -> list[str]:
    """Every message under a field, however deeply DRF nests it (members -> index -> field)."""
    if isinstance(errors, dict):
        return [m for value in errors.values() for m in _messages(value)]
    if isinstance(errors, list):
        return [m for value in errors for m in _messages(value)]
    return [str(errors)]


@pytest.mark.parametrize(
    ("changes", "field", "message"), INVALID, ids=[f"{f}: {m[:40]}" for _, f, m in INVALID]
)
def test_invalid_registration_is_400_with_field_errors_and_saves_nothing(
    worker_client, changes, field, message
):
    body = registration_body(**changes)
    body = {k: v for k, v in body.items() if v is not None}
    before = (Family.objects.count(), Member.objects.count(), AuditEvent.objects.count())
    response = worker_client.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()
    assert field in errors, errors
    assert any(message in m for m in _messages(errors[field])), errors
    assert (Family.objects.count(), Member.objects.count(), AuditEvent.objects.count()) == before


def test_exactly_one_head_message(worker_client):
    body = registration_body(members=_member() + _member(relationship="head", tazkira_number=""))
    response = worker_client.post(URL, body, format="json")
    assert response.json() == {"members": ["Exactly one member must have relationship 'head' (found 2)."]}


def test_member_field_errors_point_at_the_member(worker_client):
    body = registration_body(members=[registration_body()["members"][0], {"given_name": "X", "sex": "Q"}])
    errors = worker_client.post(URL, body, format="json").json()["members"]
    assert set(errors) == {"1"}  # keyed by the member's index
    assert errors["1"]["sex"] == ['"Q" is not a valid choice.']
    assert errors["1"]["father_name"] == ["This field is required."]
    assert errors["1"]["relationship"] == ["This field is required."]


def test_not_json_is_400(worker_client):
    response = worker_client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


def test_search_by_case_number_phone_tazkira_and_name_spellings(worker_client, register_family):
    target = register_family(
        given="Mohammad", father="Hussain", phone="+93700111222", tazkira="1401-5555-12345"
    )
    other = register_family(given="Fatima", father="Ali", phone="+93700999888")
    for query in [
        target.case_number,
        "0700111222",
        "1401 5555 12345",
        "Muhammed",
        "محمد",
        "Muhammad Hossein",
    ]:
        response = worker_client.get(URL, {"search": query})
        assert response.status_code == 200
        found = [f["case_number"] for f in response.json()["results"]]
        assert target.case_number in found, query
        assert other.case_number not in found, query


def test_detail_and_unknown_id(worker_client, register_family):
    family = register_family()
    response = worker_client.get(f"{URL}{family.pk}/")
    assert response.status_code == 200
    assert response.json()["members"][0]["given_name"] == "Gul"
    missing = worker_client.get(f"{URL}00000000-0000-0000-0000-000000000000/")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not found.", "code": "not_found"}


def test_list_pagination_visits_every_family_once(worker_client, register_family):
    ids = {str(register_family(given=f"Name{i}", father="Father").pk) for i in range(7)}
    seen, url, pages = [], f"{URL}?limit=3", 0
    while url:
        response = worker_client.get(url)
        assert response.status_code == 200
        body = response.json()
        seen += [f["id"] for f in body["results"]]
        url = body["next"]
        if url:
            assert urlparse(url).scheme == "http"  # absolute URL
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7
    assert set(seen) == ids


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=abc", "cursor=garbage", "cursor=WyJ4Il0"])
def test_bad_paging_parameters_are_400(worker_client, query):
    response = worker_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert set(response.json()) & {"limit", "cursor"}


def test_resolve_duplicate_via_api(worker_client, register_family):
    first = register_family(given="Gul", father="Ahmad")
    second = register_family(given="Gol", father="Ahmed")
    queue = worker_client.get("/api/v1/duplicates/").json()["results"]
    flag = next(f for f in queue if f["family_id"] == str(second.pk))
    assert flag["candidate"] == first.case_number
    response = worker_client.post(
        f"/api/v1/duplicates/{flag['id']}/resolve/", {"decision": "merged", "note": "same"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "merged"
    second.refresh_from_db()
    assert second.duplicate_of_id == first.pk and second.status == "merged"
    again = worker_client.post(
        f"/api/v1/duplicates/{flag['id']}/resolve/", {"decision": "distinct"}, format="json"
    )
    assert again.status_code == 409
    assert DuplicateFlag.objects.get(pk=flag["id"]).status == "merged"
    bad = worker_client.post(
        f"/api/v1/duplicates/{flag['id']}/resolve/", {"decision": "maybe"}, format="json"
    )
    assert bad.status_code == 400 and "decision" in bad.json()


def test_reading_a_family_is_in_the_audit_trail(make_user, api_client):
    family = FamilyFactory()
    reader = make_user("coordinator", "reader")
    response = api_client(reader).get(f"{URL}{family.pk}/")
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="family.viewed")
    assert (event.actor, event.target_type, event.target_id) == (reader, "families.family", str(family.pk))
    assert event.data == {"via": "api"}
    assert api_client(reader).get(URL).status_code == 200
    assert AuditEvent.objects.filter(action="family.viewed").count() == 1  # the list is not a read of a case


def test_search_by_tazkira_typed_in_persian_digits(worker_client):
    family = FamilyFactory(members=[MemberInputFactory(tazkira_number="1402-0303-54321")])
    FamilyFactory()
    response = worker_client.get(URL, {"search": "۱۴۰۲/۰۳۰۳/۵۴۳۲۱"})
    assert [f["id"] for f in response.json()["results"]] == [str(family.pk)]


@pytest.fixture
def flagged():
    """Two registrations of the same household (Gul son of Ahmad, then Gol son of Ahmed): one open flag."""
    first = FamilyFactory(members=[MemberInputFactory(given_name="Gul", father_name="Ahmad")])
    second = FamilyFactory(members=[MemberInputFactory(given_name="Gol", father_name="Ahmed")])
    return first, second, DuplicateFlag.objects.get(family=second, candidate=first)


def test_duplicate_queue_lists_open_flags_only(worker_client, flagged):
    first, second, flag = flagged
    FamilyFactory()  # no duplicate: no flag
    body = worker_client.get("/api/v1/duplicates/").json()
    assert body["next"] is None
    assert [(f["id"], f["family"], f["candidate"], f["status"]) for f in body["results"]] == [
        (str(flag.pk), second.case_number, first.case_number, "open")
    ]
    assert body["results"][0]["score"] >= settings.DUPLICATE_SCORE_THRESHOLD
    worker_client.post(f"/api/v1/duplicates/{flag.pk}/resolve/", {"decision": "distinct"}, format="json")
    assert worker_client.get("/api/v1/duplicates/").json()["results"] == []
    closed = worker_client.get("/api/v1/duplicates/", {"status": "distinct"}).json()["results"]
    assert [f["id"] for f in closed] == [str(flag.pk)]
    bad = worker_client.get("/api/v1/duplicates/", {"status": "whatever"})
    assert bad.status_code == 400 and "status" in bad.json()


def test_resolve_as_distinct_keeps_both_families_active(worker_client, flagged):
    first, second, flag = flagged
    response = worker_client.post(
        f"/api/v1/duplicates/{flag.pk}/resolve/", {"decision": "distinct", "note": "cousins"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "distinct" and response.json()["resolved_by"] == "amina"
    flag.refresh_from_db()
    assert (flag.status, flag.note, flag.resolved_by.username) == ("distinct", "cousins", "amina")
    assert set(Family.objects.values_list("status", flat=True)) == {"active"}
    assert not Family.objects.filter(duplicate_of__isnull=False).exists()
    event = AuditEvent.objects.get(action="duplicate.distinct")
    assert event.actor_username == "amina" and event.target_id == str(second.pk)
    assert event.data["candidate"] == first.case_number


def test_resolve_as_merged_keeps_both_records_and_audits(worker_client, flagged):
    first, second, flag = flagged
    response = worker_client.post(
        f"/api/v1/duplicates/{flag.pk}/resolve/", {"decision": "merged"}, format="json"
    )
    assert response.status_code == 200
    assert Family.objects.count() == 2 and Member.objects.count() == 2
    second.refresh_from_db()
    assert (second.status, second.duplicate_of) == ("merged", first)
    detail = worker_client.get(f"{URL}{second.pk}/").json()
    assert (detail["status"], detail["duplicate_of"]) == ("merged", str(first.pk))
    merged = AuditEvent.objects.get(action="family.merged")
    assert merged.target_id == str(second.pk) and merged.data["into"] == first.case_number
    assert AuditEvent.objects.filter(action="duplicate.merged", actor_username="amina").count() == 1
    again = worker_client.post(
        f"/api/v1/duplicates/{flag.pk}/resolve/", {"decision": "merged"}, format="json"
    )
    assert again.status_code == 409
    assert again.json() == {
        "detail": "This possible duplicate has already been reviewed (merged).",
        "code": "conflict",
    }
    assert AuditEvent.objects.filter(action="family.merged").count() == 1


def test_resolve_unknown_flag_is_404(worker_client):
    response = worker_client.post(
        "/api/v1/duplicates/00000000-0000-0000-0000-000000000000/resolve/",
        {"decision": "distinct"},
        format="json",
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_schema_documents_the_registry(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert set(paths["/api/v1/families/"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/families/{family_id}/"]
    assert "get" in paths["/api/v1/duplicates/"]
    assert "post" in paths["/api/v1/duplicates/{flag_id}/resolve/"]
    body = paths["/api/v1/families/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][name]["required"]) >= {
        "crossing_point",
        "arrival_date",
        "destination_province",
        "consent_to_share",
        "members",
    }
