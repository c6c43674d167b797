"""A stateless web tier: two gunicorn processes behind an imaginary load balancer answer like one.

Sessions, idempotency records and client ids live in PostgreSQL, throttling counters in Redis: nothing a
request leaves behind stays in one process. Requests alternate between the two servers.
"""

import re
import uuid

import pytest
from django.conf import settings

from accounts.services import api_key_create
from disbursements.models import Disbursement
from families.models import Family
from tests.celery_worker import database_url
from tests.conftest import registration_body
from tests.live_server import Client, Gunicorn

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RATE = 6  # partner requests an hour, summed over every web process (an hour: a slow run stays in the window)


@pytest.fixture(scope="module")
def servers(django_db_setup, tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("web")
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    env = {
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PARTNER_THROTTLE_RATE": f"{RATE}/hour",
        "CELERY_TASK_ALWAYS_EAGER": "True",
    }
    started = []
    try:
        for name in ("a", "b"):
            started.append(Gunicorn(env, tmp_path / f"{name}.log"))
        yield [s.base for s in started]
    finally:
        for server in started:
            server.stop()


def _csrf(client, url) -> str:
    page = client.get(url)
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def test_login_on_one_process_is_a_session_on_the_other(servers, make_user, settings):
    a, b = servers
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]  # what gunicorn checks
    make_user("case_worker", username="amina", password="pw-for-tests-1")
    browser = Client()
    token = _csrf(browser, f"{a}/accounts/login/")
    login = browser.post(
        f"{a}/accounts/login/",
        form={"username": "amina", "password": "pw-for-tests-1", "csrfmiddlewaretoken": token},
    )
    assert login.status_code == 302 and browser.cookie("sessionid")
    assert browser.get(f"{b}/").status_code == 200
    assert browser.get(f"{b}/families/").status_code == 200
    # Logging out on B ends the session on A too.
    logout = browser.post(f"{b}/accounts/logout/", form={"csrfmiddlewaretoken": browser.cookie("csrftoken")})
    assert logout.status_code == 302
    assert browser.get(f"{a}/").status_code == 302


def test_a_request_sent_again_to_the_other_process_is_taken_once(servers, make_user):
    a, b = servers
    _, key = api_key_create(user=make_user("case_worker"))
    client = Client(key)
    body = registration_body(client_id=str(uuid.uuid4()))

    # A registration the device sends again (same client_id) gets the first family back with 200.
    first = client.post(f"{a}/api/v1/families/", body)
    assert first.status_code == 201, first.text
    again = client.post(f"{b}/api/v1/families/", body)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert Family.objects.filter(client_reference=body["client_id"]).count() == 1

    # The payment request with an Idempotency-Key: the retry on the other process replays the first answer.
    url = f"/api/v1/families/{first.json()['id']}/disbursements/"
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    requested = client.post(f"{a}{url}", {}, headers=headers)
    assert requested.status_code == 201, requested.text
    replayed = client.post(f"{b}{url}", {}, headers=headers)
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == requested.json()["id"]
    assert Disbursement.objects.filter(family_id=first.json()["id"]).count() == 1


def test_partner_throttling_counts_requests_to_every_process(servers, make_user):
    a, b = servers
    _, key = api_key_create(user=make_user("partner", org="UNHCR"))
    client = Client(key)
    statuses = [client.get(f"{(a, b)[i % 2]}/api/v1/referrals/").status_code for i in range(RATE + 2)]
    assert statuses == [200] * RATE + [429, 429]
    refused = client.get(f"{a}/api/v1/referrals/")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
