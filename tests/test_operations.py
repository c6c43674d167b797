import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_settings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="aidcase.example.org",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/aidcase",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = _manage("check", DEBUG="False", DATABASE_URL="postgres://postgres@127.0.0.1:5432/aidcase")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_refuses_a_weak_secret_key():
    result = _manage("check", DEBUG="False", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_nothing_set_runs_the_quick_start_defaults():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["True", "django.db.backends.sqlite3", "True"]


@pytest.mark.django_db
def test_debug_serves_plain_http(client):
    response = client.get("/healthz")
    assert response.status_code == 200


@pytest.mark.django_db
def test_healthz_with_redis(client, settings):
    settings.REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_redis_down_is_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "redis": "unavailable"}


@pytest.mark.django_db
def test_healthz_without_redis_configured(client, settings):
    settings.REDIS_URL = ""
    assert client.get("/healthz").json() == {"database": "ok", "redis": "not configured"}


@pytest.mark.django_db
def test_openapi_schema_describes_the_api(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = (
        response.json()
        if response["Content-Type"].startswith("application/json")
        else yaml.safe_load(response.content)
    )
    assert schema["openapi"].startswith("3.")
    for path in [
        "/api/v1/families/",
        "/api/v1/families/{family_id}/",
        "/api/v1/families/{family_id}/disbursements/",
        "/api/v1/disbursements/{disbursement_id}/approve/",
        "/api/v1/batches/{batch_id}/export/",
    ]:
        assert path in schema["paths"], path


PARTNER_OPERATIONS = [
    ("/api/v1/referrals/", "get"),
    ("/api/v1/referrals/{referral_id}/", "get"),
    ("/api/v1/referrals/{referral_id}/status/", "post"),
    ("/api/v1/webhooks/", "get"),
    ("/api/v1/webhooks/", "post"),
    ("/api/v1/webhooks/deliveries/", "get"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method"), PARTNER_OPERATIONS)
def test_every_partner_endpoint_has_examples_and_bearer_auth(client, path, method):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"][path][method]
    text = str(operation)
    assert "examples" in text, f"{method.upper()} {path} has no example"
    assert {"BearerApiKey": []} in operation["security"]


@pytest.mark.django_db
def test_nul_characters_are_refused_with_400_not_500(make_user, api_client, client):
    from tests.conftest import registration_body

    api = api_client(make_user("case_worker"))
    response = api.post("/api/v1/families/", registration_body(crossing_point="833\x00"), format="json")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert api.get("/api/v1/families/", {"search": "gul\x00"}).status_code == 400
    client.force_login(make_user("case_worker"))
    assert client.get("/families/", {"q": "a\x00b"}).status_code == 400
