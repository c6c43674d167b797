import pytest
from django.utils import timezone

from grievances.models import Grievance
from grievances.services import grievance_transition, pdv_round_create

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "case_worker", "finance", "coordinator", "partner", "admin"]
STAFF = {"case_worker", "finance", "coordinator", "admin"}


@pytest.fixture
def world(paid_families, complaint, people):
    paid = paid_families(2)
    grievance = complaint(family=paid[0].family)
    today = timezone.localdate()
    pdv_round = pdv_round_create(paid_from=today, paid_to=today, created_by=people["finance"])
    return {
        "family": str(paid[1].family_id),
        "grievance": str(grievance.pk),
        "round": str(pdv_round.pk),
        "sample": pdv_round.samples.first().pk,
        "today": today.isoformat(),
    }


ENDPOINTS = [
    ("get", "/api/v1/grievances/", None, STAFF, 200),
    (
        "post",
        "/api/v1/grievances/",
        {"family": "{family}", "category": "other", "description": "x"},
        STAFF,
        201,
    ),
    ("get", "/api/v1/grievances/{grievance}/", None, STAFF, 200),
    (
        "patch",
        "/api/v1/grievances/{grievance}/",
        {"priority": "high"},
        {"case_worker", "coordinator", "admin"},
        200,
    ),
    (
        "post",
        "/api/v1/grievances/{grievance}/status/",
        {"status": "in_progress"},
        {"case_worker", "coordinator", "admin"},
        200,
    ),
    ("get", "/api/v1/pdv-rounds/", None, STAFF, 200),
    (
        "post",
        "/api/v1/pdv-rounds/",
        {"paid_from": "{today}", "paid_to": "{today}"},
        {"finance", "coordinator", "admin"},
        201,
    ),
    ("get", "/api/v1/pdv-rounds/{round}/", None, STAFF, 200),
    ("get", "/api/v1/pdv-rounds/{round}/samples/", None, STAFF, 200),
    (
        "post",
        "/api/v1/pdv-samples/{sample}/answer/",
        {"reached": False},
        {"case_worker", "coordinator", "admin"},
        200,
    ),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "allowed", "ok"), ENDPOINTS, ids=[f"{m} {u}" for m, u, *_ in ENDPOINTS]
)
def test_permission_matrix(world, make_user, api_client, role, method, url, body, allowed, ok):
    client = api_client(None if role == "anonymous" else make_user(role))
    body = {k: v.format(**world) if isinstance(v, str) else v for k, v in (body or {}).items()}
    response = getattr(client, method)(url.format(**world), body, format="json")
    expected = 401 if role == "anonymous" else ok if role in allowed else 403
    assert response.status_code == expected, response.content[:300]


def test_a_partner_learns_nothing(world, api_client, people):
    client = api_client(people["partner"])
    response = client.get("/api/v1/grievances/")
    assert response.status_code == 403 and "results" not in response.json()
    assert client.get(f"/api/v1/grievances/{world['grievance']}/").status_code == 403


def test_hotline_complaint_about_a_payment_shows_its_status(paid_families, api_client, people):
    paid = paid_families(1)[0]
    client = api_client(people["worker"])
    response = client.post(
        "/api/v1/grievances/",
        {
            "family": str(paid.family_id),
            "category": "wrong_amount",
            "channel": "hotline",
            "description": "Only 9,000 AFN.",
            "assigned_to": "fin-a",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["priority"], body["channel"], body["assigned_to"]) == (
        "open",
        "medium",
        "hotline",
        "fin-a",
    )
    assert body["disbursement"] == str(paid.pk)
    payment = body["payment"]
    assert (payment["reference"], payment["status"], payment["reconciliation"]) == (
        paid.reference,
        "paid",
        "confirmed_in_person",
    )
    assert body["history"][0]["action"] == "created"
    assert Grievance.objects.get().created_by == people["worker"]


def test_validation_errors(paid_families, register_family, api_client, people):
    paid = paid_families(1)[0]
    other = register_family(given="Other")
    client = api_client(people["worker"])
    base = {"family": str(other.pk), "category": "wrong_amount", "description": "x"}
    response = client.post("/api/v1/grievances/", {**base, "disbursement": str(paid.pk)}, format="json")
    assert response.status_code == 400 and "disbursement" in response.json()
    response = client.post("/api/v1/grievances/", {**base, "category": "lost_goat"}, format="json")
    assert response.status_code == 400 and "category" in response.json()
    response = client.post("/api/v1/grievances/", {**base, "assigned_to": "nobody"}, format="json")
    assert response.status_code == 400 and "assigned_to" in response.json()
    assert not Grievance.objects.exists()


def test_status_moves_over_the_api(complaint, api_client, people):
    g = complaint()
    client = api_client(people["worker"])
    url = f"/api/v1/grievances/{g.pk}/status/"
    assert client.post(url, {"status": "closed"}, format="json").status_code == 409
    response = client.post(url, {"status": "resolved"}, format="json")
    assert response.status_code == 400 and "resolution" in response.json()
    response = client.post(url, {"status": "resolved", "resolution": "Explained the amount."}, format="json")
    assert response.status_code == 200 and response.json()["resolution"] == "Explained the amount."
    response = client.post(url, {"status": "open"}, format="json")
    assert response.status_code == 400
    assert (
        client.post(url, {"status": "open", "note": "Called again."}, format="json").json()["status"]
        == "open"
    )


def test_list_filters_and_overdue_first(complaint, api_client, people):
    low = complaint(priority="low")
    urgent = complaint(priority="urgent", assigned_to=people["worker"])
    done = complaint()
    grievance_transition(grievance=done, actor=people["worker"], target="resolved", resolution="ok")
    client = api_client(people["worker"])
    ids = [r["id"] for r in client.get("/api/v1/grievances/").json()["results"]]
    assert ids == [str(urgent.pk), str(low.pk), str(done.pk)]
    assert [r["id"] for r in client.get("/api/v1/grievances/?active=true").json()["results"]] == [
        str(urgent.pk),
        str(low.pk),
    ]
    assert [r["id"] for r in client.get("/api/v1/grievances/?assigned_to_me=true").json()["results"]] == [
        str(urgent.pk)
    ]
    page = client.get("/api/v1/grievances/?limit=2").json()
    assert len(page["results"]) == 2 and page["next"]
    assert [r["id"] for r in client.get(page["next"]).json()["results"]] == [str(done.pk)]
    assert client.get("/api/v1/grievances/?status=lost").status_code == 400


@pytest.mark.parametrize("designated", [False, True])
def test_sensitive_details_only_for_designated_staff(complaint, api_client, people, designated, make_user):
    g = complaint(sensitive=True, category="protection_concern", description="Threats from a relative.")
    grievance_transition(
        grievance=g, actor=people["protection"], target="resolved", resolution="Referred to a safe house."
    )
    readers = (
        [people["protection"]] if designated else [people["worker"], people["admin"], people["coordinator"]]
    )
    for reader in readers:
        client = api_client(reader)
        detail = client.get(f"/api/v1/grievances/{g.pk}/").json()
        listed = client.get("/api/v1/grievances/").json()["results"][0]
        text = str(detail) + str(listed)
        # Everyone sees that it exists, its category, status and due date.
        assert (detail["category"], detail["status"], detail["sensitive"]) == (
            "protection_concern",
            "resolved",
            True,
        )
        assert detail["due_at"] and listed["due_at"]
        if designated:
            assert detail["description"] == "Threats from a relative."
            assert detail["resolution"] == "Referred to a safe house."
            assert "safe house" in str(detail["history"])
        else:
            assert detail["details_hidden"] and listed["details_hidden"]
            assert detail["description"] is None and detail["resolution"] is None
            assert "relative" not in text and "safe house" not in text
            # Nor can they act on it.
            response = client.post(f"/api/v1/grievances/{g.pk}/status/", {"status": "closed"}, format="json")
            assert response.status_code == 403


def test_verification_over_the_api(paid_families, api_client, people):
    paid_families(3)
    today = timezone.localdate().isoformat()
    created = api_client(people["finance"]).post(
        "/api/v1/pdv-rounds/", {"paid_from": today, "paid_to": today, "seed": 7}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["population_size"], body["sample_size"], body["seed"]) == (3, 3, 7)
    assert body["report"]["pending"] == 3
    worker = api_client(people["worker"])
    samples = worker.get(f"/api/v1/pdv-rounds/{body['id']}/samples/").json()["results"]
    assert [s["position"] for s in samples] == [1, 2, 3]
    url = f"/api/v1/pdv-samples/{samples[0]['id']}/answer/"
    answer = {"reached": True, "confirmed_full_amount": False, "amount_reported": "0"}
    first = worker.post(url, answer, format="json")
    assert first.status_code == 200 and first.json()["grievance"]
    again = worker.post(url, answer, format="json")
    assert again.json()["grievance"] == first.json()["grievance"]
    assert Grievance.objects.count() == 1
    bad = worker.post(f"/api/v1/pdv-samples/{samples[1]['id']}/answer/", {"reached": True}, format="json")
    assert bad.status_code == 400 and "confirmed_full_amount" in bad.json()
    worker.post(
        f"/api/v1/pdv-samples/{samples[1]['id']}/answer/",
        {"reached": True, "confirmed_full_amount": True},
        format="json",
    )
    report = worker.get(f"/api/v1/pdv-rounds/{body['id']}/").json()["report"]
    assert (report["reached"], report["verified"], report["mismatches"], report["grievances"]) == (2, 1, 1, 1)
    assert report["verified_rate"] == 0.5 and report["interval_low"] < 0.5 < report["interval_high"]


def test_schema_describes_the_new_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in [
        "/api/v1/grievances/",
        "/api/v1/grievances/{grievance_id}/status/",
        "/api/v1/pdv-samples/{sample_id}/answer/",
    ]:
        assert path in schema["paths"], path
