"""/healthz, the probe a load balancer or orchestrator polls (no authentication, never cached).

Redis up / down / not configured are in test_operations.py; here: the database side and the HTTP details.
"""

from unittest.mock import patch

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db


def test_database_down_is_503_and_says_which(client, settings):
    settings.REDIS_URL = ""
    with patch("aidcase.core.health.connection.cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "redis": "not configured"}


def test_both_down_is_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    with patch("aidcase.core.health.connection.cursor", side_effect=OperationalError("connection refused")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "unavailable", "redis": "unavailable"}


def test_probe_answers_are_never_cached(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


def test_only_get(client):
    assert client.post("/healthz").status_code == 405
