"""A real Celery worker process against the real Redis and the test database, for integration tests.

Each worker gets its own queue names (REDIS_KEY_PREFIX), so tests running side by side never take each
other's tasks; the test process routes its tasks to the same prefixed queues.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextlib.contextmanager
def running_worker(redis_url: str, queues=None, concurrency: int = 2, extra_env=None):
    """Start a worker consuming `queues` (workload names, default all); yield (process, queue prefix)."""
    from aidcase.celery import QUEUES, app

    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    name = f"{prefix}worker"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "DEBUG": "True",
        "REDIS_KEY_PREFIX": prefix,
        **(extra_env or {}),
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    consumed = ",".join(prefix + q for q in (queues or QUEUES))
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "aidcase", "worker", "-Q", consumed]
        + ["--concurrency", str(concurrency), "-l", "warning"]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous = (app.conf.task_always_eager, app.conf.get("queue_prefix"))
    app.conf.task_always_eager = False
    app.conf.queue_prefix = prefix
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5):
                break
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited: {proc.stdout.read()}")
        else:
            raise RuntimeError("the Celery worker did not start within 60 s")
        yield proc, prefix
    finally:
        app.conf.task_always_eager, app.conf.queue_prefix = previous
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture
def celery_worker(settings):
    """A worker consuming every queue."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    with running_worker(settings.REDIS_URL) as (proc, _prefix):
        yield proc


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
