"""A registration sent with a device's id is registered once, however often (and however concurrently) sent."""

import uuid

import pytest

from families.models import DuplicateFlag, Family
from tests.concurrency import run_concurrently
from tests.conftest import registration_body

pytestmark = pytest.mark.django_db


def test_the_same_client_id_registers_once_and_replays_the_family(api_client, make_user):
    client = api_client(make_user("case_worker"))
    body = {**registration_body(), "client_id": str(uuid.uuid4())}
    first = client.post("/api/v1/families/", body, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["client_id"] == body["client_id"]
    again = client.post("/api/v1/families/", body, format="json")
    assert again.status_code == 200
    assert (
        again.json()["id"] == first.json()["id"]
        and again.json()["case_number"] == first.json()["case_number"]
    )
    assert Family.objects.count() == 1


def test_a_replay_reports_the_possible_duplicates_found_the_first_time(api_client, make_user):
    client = api_client(make_user("case_worker"))
    assert client.post("/api/v1/families/", registration_body(), format="json").status_code == 201
    body = {**registration_body(), "client_id": str(uuid.uuid4())}
    first = client.post("/api/v1/families/", body, format="json").json()
    assert [m["case_number"] for m in first["possible_duplicates"]]
    replay = client.post("/api/v1/families/", body, format="json")
    assert replay.status_code == 200
    assert replay.json()["possible_duplicates"] == first["possible_duplicates"]
    assert DuplicateFlag.objects.count() == 1


def test_without_client_id_every_post_registers(api_client, make_user):
    client = api_client(make_user("case_worker"))
    for _ in range(2):
        response = client.post("/api/v1/families/", registration_body(), format="json")
        assert response.status_code == 201 and response.json()["client_id"] is None
    assert Family.objects.count() == 2


def test_bad_client_id_is_a_field_error(api_client, make_user):
    response = api_client(make_user("case_worker")).post(
        "/api/v1/families/", {**registration_body(), "client_id": "not-a-uuid"}, format="json"
    )
    assert response.status_code == 400 and response.json()["client_id"] == ["Must be a valid UUID."]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_of_one_registration_register_it_once(make_user):
    from rest_framework.test import APIClient

    from accounts.services import api_key_create

    worker = make_user("case_worker")
    _, key = api_key_create(user=worker, name="t")
    body = {**registration_body(), "client_id": str(uuid.uuid4())}

    def send(_):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client.post("/api/v1/families/", body, format="json")

    responses = run_concurrently(send, 4)
    assert sorted(r.status_code for r in responses) == [200, 200, 200, 201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert Family.objects.filter(client_reference=body["client_id"]).count() == 1
