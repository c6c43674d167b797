import pytest

from accounts.models import UserAPIKey
from accounts.services import api_key_create, api_keys_revoke

pytestmark = pytest.mark.django_db


def test_bearer_key_authenticates_as_its_user(make_user, api_client):
    worker = make_user("case_worker")
    response = api_client(worker).get("/api/v1/families/")
    assert response.status_code == 200
    assert UserAPIKey.objects.get(user=worker).last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer abc.def", "Bearer", "Bearer a b", "Bearer \u00e9t\u00e9.x"],
)
def test_malformed_or_unknown_keys_are_401(api_client, header):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/families/")
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}


def test_no_credentials_is_401_with_bearer_challenge(api_client):
    response = api_client().get("/api/v1/families/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_revoking_stops_every_key_of_the_user(make_user, api_client):
    worker = make_user("case_worker")
    _, key1 = api_key_create(user=worker)
    _, key2 = api_key_create(user=worker)
    assert api_keys_revoke(user=worker) == 2
    for key in (key1, key2):
        client = api_client()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        assert client.get("/api/v1/families/").status_code == 401


def test_deactivated_user_key_is_401(make_user, api_client):
    worker = make_user("case_worker")
    client = api_client(worker)
    worker.is_active = False
    worker.save()
    assert client.get("/api/v1/families/").status_code == 401
