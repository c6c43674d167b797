from urllib.parse import urlparse

import pytest

from accounts.models import AuditEvent
from families.models import DuplicateFlag, Family, Member
from tests.conftest import registration_body

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


INVALID = [
    ({"crossing_point": "NOWHERE"}, "crossing_point"),
    ({"destination_province": "AF-XXX"}, "destination_province"),
    ({"arrival_date": "20-11-2026"}, "arrival_date"),
    ({"arrival_date": "2099-01-01"}, "arrival_date"),
    ({"phone": "12345"}, "phone"),
    ({"consent_to_share": None}, "consent_to_share"),
    ({"members": []}, "members"),
    ({"vulnerabilities": ["rich"]}, "vulnerabilities"),
    ({"members": _member(sex="X")}, "members"),
    ({"members": _member(relationship="cousin")}, "members"),
    ({"members": _member(relationship="child")}, "members"),
    ({"members": _member(date_of_birth=None)}, "members"),
    ({"members": _member(date_of_birth="2027-01-01")}, "members[0].date_of_birth"),
    ({"members": _member(given_name="")}, "members"),
    ({"members": _member(vulnerabilities=["unknown"])}, "members"),
    ({"members": _member() + _member(relationship="spouse")}, "members"),  # same Tazkira twice
    ({"members": _member() + _member(relationship="head", tazkira_number="")}, "members"),  # two heads
]


@pytest.mark.parametrize(("changes", "field"), INVALID)
def test_invalid_registration_is_400_with_field_errors_and_saves_nothing(worker_client, changes, field):
    body = registration_body(**changes)
    body = {k: v for k, v in body.items() if v is not None}
    before = (Family.objects.count(), Member.objects.count(), AuditEvent.objects.count())
    response = worker_client.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    errors = response.json()
    assert field in errors, errors
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
