"""The read replica, for real: a throw-away primary and its streaming replica (tests/pg_pair.py), gunicorn
with DATABASE_URL and DATABASE_REPLICA_URL pointing at them, and requests over HTTP.

Evidence of where a read went: replay on the replica is paused, so it does not see what the primary wrote
since; a report that leaves out a family the primary has came from the replica.
"""

import json
import subprocess
import sys
import uuid

import pytest
import redis
from django.conf import settings

from tests.celery_worker import wait_for
from tests.conftest import registration_body
from tests.live_server import ROOT, Client, Gunicorn
from tests.pg_pair import pg_bindir, remove_pair, start_pair

pytestmark = pytest.mark.postgres

USERS = """
import json
from accounts.services import api_key_create, user_create
keys = {}
for name, role, org in [
    ("worker", "case_worker", None), ("fin1", "finance", None), ("fin2", "finance", None),
    ("coord", "coordinator", None), ("unhcr1", "partner", "UNHCR"), ("unhcr2", "partner", "UNHCR"),
]:
    user = user_create(username=name, role=role, organization_code=org, password="pw-for-tests-1",
                       check_password_strength=False)
    keys[name] = api_key_create(user=user)[1]
print("KEYS=" + json.dumps(keys))
"""
PERIOD = "from=2026-11-01&to=2026-11-30"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if pg_bindir() is None:
        pytest.skip("needs the PostgreSQL server programs (initdb, pg_basebackup)")
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    logs = tmp_path_factory.mktemp("replica")
    prefix = f"test-{uuid.uuid4().hex[:8]}-"  # this module's cache keys (primary pins) in the shared Redis
    pair = start_pair()
    servers = []
    try:
        env = {"DATABASE_URL": pair.primary_url, "DEBUG": "True", "REDIS_URL": settings.REDIS_URL}
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v", "0"], cwd=ROOT, env=_env(env), check=True)
        out = subprocess.run(
            [*manage, "shell", "-c", USERS],
            cwd=ROOT,
            env=_env(env),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        keys = json.loads(out.split("KEYS=")[1])
        common = {
            **env,
            "DATABASE_REPLICA_URL": pair.replica_url,
            "REPLICA_CHECK_SECONDS": "0",
            # Long enough for any loaded machine: a user who just changed something reads the primary.
            "REPLICA_PIN_SECONDS": "3600",
            "CELERY_TASK_ALWAYS_EAGER": "True",
            "REDIS_KEY_PREFIX": prefix,
        }
        # `tolerant` accepts any lag (reads go to the paused replica); `strict` accepts one second.
        tolerant = Gunicorn({**common, "REPLICA_MAX_LAG_SECONDS": "3600"}, logs / "tolerant.log")
        servers.append(tolerant)
        strict = Gunicorn({**common, "REPLICA_MAX_LAG_SECONDS": "1"}, logs / "strict.log")
        servers.append(strict)
        # `cached` checks the replica once an hour: a replica that dies is noticed by a failing query. It
        # accepts any lag, so its one check never finds the replica a moment behind (WAL received but not
        # yet replayed counts from the last replayed commit, which may be a while ago).
        cached = Gunicorn(
            {**common, "REPLICA_CHECK_SECONDS": "3600", "REPLICA_MAX_LAG_SECONDS": "3600"},
            logs / "cached.log",
        )
        servers.append(cached)
        yield {
            "pair": pair,
            "keys": keys,
            "tolerant": tolerant.base,
            "strict": strict.base,
            "cached": cached.base,
            "cached_log": cached.log_path,
        }
    finally:
        for server in servers:
            server.stop()
        remove_pair(pair)
        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


def _env(extra):
    import os

    env = {**os.environ, **extra}
    env.pop("DATABASE_REPLICA_URL", None)
    return env


def _clients(site):
    return {name: Client(key) for name, key in site["keys"].items()}


def _families_in_report(client, base) -> int:
    response = client.get(f"{base}/api/v1/reports/summary/?{PERIOD}")
    assert response.status_code == 200, response.text
    return response.json()["arrivals"]["families"]


def _count(pair, port) -> int:
    return pair.sql(port, "SELECT count(*) FROM families_family")[0][0]


def _register(client, base) -> dict:
    response = client.post(f"{base}/api/v1/families/", registration_body(client_id=str(uuid.uuid4())))
    assert response.status_code == 201, response.text
    return response.json()


def test_writes_and_what_reads_them_use_the_primary_reports_and_partner_pulls_the_replica(site):
    pair, api, c = site["pair"], f"{site['tolerant']}/api/v1", _clients(site)
    first = _register(c["worker"], site["tolerant"])
    referral = c["worker"].post(
        f"{api}/families/{first['id']}/referrals/",
        {"organization": "UNHCR", "service": "shelter", "urgency": "high", "note": ""},
    )
    assert referral.status_code == 201, referral.text
    referral_id = referral.json()["id"]
    pair.replica_catch_up()
    pair.pause_replay()
    try:
        before = _families_in_report(c["coord"], site["tolerant"])

        # Registration, payment request, approval, batch export and reconciliation, each reading what the
        # step before wrote a moment ago: all on the primary, although the replica has seen none of it.
        family = _register(c["worker"], site["tolerant"])
        payment = c["worker"].post(f"{api}/families/{family['id']}/disbursements/", {})
        assert payment.status_code == 201, payment.text
        payment = payment.json()
        approved = c["fin1"].post(f"{api}/disbursements/{payment['id']}/approve/", {})
        assert approved.status_code == 200, approved.text
        batch = c["fin1"].post(f"{api}/batches/", {"channel": "hawala", "disbursements": [payment["id"]]})
        assert batch.status_code == 201, batch.text
        exported = c["fin1"].post(f"{api}/batches/{batch.json()['id']}/export/", {})
        assert exported.status_code == 200, exported.text
        statement = f"reference,amount,status,paid_at\n{payment['reference']},10000.00,paid,2026-11-21\n"
        upload = c["fin2"].post(f"{api}/reconciliations/", files={"file": ("s.csv", statement.encode())})
        assert upload.status_code == 202, upload.text
        result = c["fin2"].get(f"{api}/reconciliations/{upload.json()['id']}/").json()
        assert (result["status"], result["matched"]) == ("done", 1)
        assert c["fin2"].get(f"{api}/disbursements/{payment['id']}/").json()["status"] == "paid"

        # The report came from the replica: it does not have the family the primary has.
        assert _count(pair, pair.primary_port) == _count(pair, pair.replica_port) + 1
        assert _families_in_report(c["coord"], site["tolerant"]) == before

        # A partner who just accepted a referral reads it back accepted (pinned to the primary); a
        # colleague's key, which changed nothing, pulls from the replica and still sees it `sent`.
        moved = c["unhcr1"].post(f"{api}/referrals/{referral_id}/status/", {"status": "accepted", "note": ""})
        assert moved.status_code == 200, moved.text
        mine = c["unhcr1"].get(f"{api}/referrals/{referral_id}/")
        assert mine.status_code == 200 and mine.json()["status"] == "accepted"
        theirs = c["unhcr2"].get(f"{api}/referrals/")
        assert theirs.status_code == 200
        assert {r["id"]: r["status"] for r in theirs.json()["results"]}[referral_id] == "sent"
    finally:
        pair.resume_replay()
    pair.replica_catch_up()
    assert _families_in_report(c["coord"], site["tolerant"]) == before + 1
    theirs = c["unhcr2"].get(f"{api}/referrals/").json()["results"]
    assert {r["id"]: r["status"] for r in theirs}[referral_id] == "accepted"


def test_a_lagging_or_stopped_replica_is_skipped(site):
    pair, c = site["pair"], _clients(site)
    pair.replica_catch_up()
    pair.pause_replay()
    try:
        _register(c["worker"], site["strict"])
        primary = _count(pair, pair.primary_port)
        assert _count(pair, pair.replica_port) == primary - 1
        # Once the replica is more than REPLICA_MAX_LAG_SECONDS behind, reports come from the primary.
        wait_for(lambda: _families_in_report(c["coord"], site["strict"]) == primary, timeout=120)
    finally:
        pair.resume_replay()
    pair.replica_catch_up()

    assert _families_in_report(c["coord"], site["cached"]) == primary  # the replica, checked and used
    pair.pg_ctl("replica", "stop", "-m", "fast")
    try:
        _register(c["worker"], site["strict"])
        assert _families_in_report(c["coord"], site["strict"]) == primary + 1
        # The process that still believes in the replica fails on it and answers from the primary.
        assert _families_in_report(c["coord"], site["cached"]) == primary + 1
        assert "read replica failed during a request" in site["cached_log"].read_text()
        pulled = c["unhcr2"].get(f"{site['strict']}/api/v1/referrals/")
        assert pulled.status_code == 200, pulled.text
        assert c["coord"].get(f"{site['strict']}/healthz").status_code == 200
    finally:
        pair.pg_ctl("replica", "start")
    pair.replica_catch_up()  # streaming again: the pair is left as the module found it


def test_without_a_replica_every_read_goes_to_the_primary():
    from aidcase.core.replica import PrimaryReplicaRouter, replica_reads
    from families.models import Family

    router = PrimaryReplicaRouter()
    seen = []
    replica_reads(lambda request: seen.append(router.db_for_read(Family)))(object())
    assert seen == ["default"] and router.db_for_read(Family) == "default"
    assert router.db_for_write(Family) == "default"
    assert router.allow_migrate("replica", "families") is False


def test_the_replica_setting_adds_a_database_that_mirrors_the_primary_in_tests():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "r = s.DATABASES['replica']; print(json.dumps([r['PORT'], r['TEST']['MIRROR'], r['OPTIONS'], s.DATABASE_ROUTERS]))"
    )
    env = _env({"DATABASE_URL": "postgres://u@127.0.0.1:5432/a", "DEBUG": "True"})
    env.update(
        DATABASE_REPLICA_URL="postgres://u@127.0.0.1:5433/a", DJANGO_SETTINGS_MODULE="aidcase.settings"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == [
        5433,
        "default",
        {"connect_timeout": 2},
        ["aidcase.core.replica.PrimaryReplicaRouter"],
    ]
