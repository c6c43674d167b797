"""PostgreSQL restarts under a running web server (gunicorn, DEBUG off, persistent connections).

A cluster of the test's own is migrated and served by gunicorn. Requests are held inside PostgreSQL (a table
lock) when the cluster restarts with `pg_ctl restart -m fast`: they answer 503 with a JSON error, no traceback.
While it is stopped, requests fail the same way at once. The requests after it succeed on the same gunicorn.
"""

import json
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import psycopg
import pytest

from tests.services import ROOT, free_port, manage, project_env, wait_until

CREATE_USER_AND_KEY = """
from accounts.services import api_key_create, user_create
user = user_create(username="restart", role="case_worker", password="pw-restart-1", check_password_strength=False)
print(api_key_create(user=user)[1])
"""


def call(url: str, key: str = "", cookie: str = "", data: dict | None = None, timeout: float = 30):
    """(status, content type, body) of one request; a hang fails the test through the timeout."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if cookie:
        headers["Cookie"] = cookie
    body = None
    if data is not None:
        body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
    request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - local server
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode()


def assert_clean_503(status, content_type, body):
    assert status == 503, (status, body[:500])
    assert "Traceback" not in body and 'File "' not in body and "psycopg" not in body
    if content_type.startswith("application/json"):
        assert json.loads(body)["code"] == "unavailable"
    else:
        assert "unavailable" in body


@pytest.fixture
def served(postgres_cluster):
    """gunicorn (2 workers x 2 threads, DEBUG off) on a migrated database of the throw-away cluster."""
    url = postgres_cluster.create_database("aidcase")
    env = project_env(database_url=url, debug=False, CONN_MAX_AGE="600")
    manage("migrate", "-v", "0", env={**env, "DEBUG": "True"})
    key = manage("shell", "-c", CREATE_USER_AND_KEY, env={**env, "DEBUG": "True"}).strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "aidcase.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "2", "--threads", "2", "--timeout", "60", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(base), timeout=60, what="gunicorn")
        yield postgres_cluster, base, key
    finally:
        server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        server.wait(timeout=30)


def _up(base: str) -> bool:
    try:
        return call(f"{base}/healthz", timeout=2)[0] == 200
    except OSError:
        return False


def test_requests_in_flight_during_a_restart_get_503_and_the_next_ones_succeed(served):
    cluster, base, key = served
    families = f"{base}/api/v1/families/"
    for _ in range(3):  # every worker thread holds a persistent connection that the restart will kill
        statuses = _parallel(lambda: call(families, key)[0], 8)
        assert statuses == [200] * 8

    blocker = psycopg.connect(cluster.url("aidcase"), autocommit=False)
    try:
        blocker.execute("LOCK TABLE families_family IN ACCESS EXCLUSIVE MODE")
        results: list = []
        # Two: a gunicorn worker may accept both, and each worker has two threads to run them.
        threads = [threading.Thread(target=lambda: results.append(call(families, key))) for _ in range(2)]
        for t in threads:
            t.start()
        wait_until(
            lambda: _waiting_on_lock(cluster) == 2, timeout=30, what="two requests waiting inside PostgreSQL"
        )
        cluster.restart()  # terminates the waiting backends (and the blocker)
        for t in threads:
            t.join(timeout=60)
    finally:
        blocker.close()  # its session ended with the restart
    assert len(results) == 2
    # The fast shutdown signals every backend at once: the blocker may die first and a waiting query then
    # finish and answer before its own backend stops. Either way the client gets a true answer or a clean
    # 503, never a 500 or a hang; a stopped cluster (below) gives the 503 every time.
    for status, content_type, body in results:
        if status == 200:
            assert content_type == "application/json" and json.loads(body)["results"] == []
        else:
            assert_clean_503(status, content_type, body)

    # The same gunicorn, no restart: every thread's next request gets a working connection.
    for _ in range(3):
        assert _parallel(lambda: call(families, key)[0], 8) == [200] * 8
    created = call(families, key, data=_registration())
    assert created[0] == 201, created

    # Stopped outright: refused at once, JSON for the API and a page for the browser.
    cluster.stop()
    assert_clean_503(*call(families, key))
    assert_clean_503(*call(f"{base}/families/", cookie="sessionid=" + "x" * 32))
    assert call(f"{base}/healthz")[0] == 503
    cluster.start()
    assert _parallel(lambda: call(families, key)[0], 8) == [200] * 8


def _parallel(fn, count: int) -> list:
    out: list = [None] * count

    def run(i):
        out[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return out


def _waiting_on_lock(cluster) -> int:
    rows = cluster.sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'aidcase' AND wait_event_type = 'Lock'"
        " AND backend_type = 'client backend' AND query LIKE '%families_family%'"
        " AND pid <> ALL(SELECT pid FROM pg_locks WHERE granted AND mode = 'AccessExclusiveLock')"
    )
    return rows[0][0]


def _registration() -> dict:
    from tests.conftest import registration_body

    return registration_body()
