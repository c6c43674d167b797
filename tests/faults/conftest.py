"""Fixtures for fault tests: a throw-away Redis used as broker, cache and result backend; real workers on it."""

import uuid
from contextlib import contextmanager

import pytest
from django.db import connection

from tests.services import CeleryWorker, PostgresCluster, RedisServer


def worker_database_url() -> str:
    """The test database (on the shared server: it is only read and written, never stopped)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_broker(url: str, prefix: str):
    """Point this process's Celery app at `url`, publishing to the workload queues under `prefix`, not eager."""
    from aidcase.celery import app

    def reset_pools():
        app._pool = None
        if "amqp" in app.__dict__:
            app.amqp._producer_pool = None

    saved = (app.conf.broker_url, app.conf.task_always_eager, app.conf.get("queue_prefix"))
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    app.conf.queue_prefix = prefix
    reset_pools()
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.task_always_eager, app.conf.queue_prefix = saved
        reset_pools()


def queued(server: RedisServer) -> int:
    """Messages waiting in the test's workload queues on the throw-away broker."""
    from aidcase.celery import QUEUES

    client = server.client()
    return sum(client.llen(server.prefix + q) for q in QUEUES)


@pytest.fixture
def redis_server(settings):
    """A Redis of this test's own, stopped and started at will; broker, cache and result backend."""
    if not RedisServer.available():
        pytest.skip("needs redis-server installed")
    with RedisServer() as server:
        settings.REDIS_URL = server.url()
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url()}
        }
        server.prefix = f"faults-{uuid.uuid4().hex[:8]}-"
        settings.REDIS_KEY_PREFIX = server.prefix
        with celery_broker(server.url(), server.prefix):
            yield server


@pytest.fixture
def workers(redis_server):
    """start(**env) a real Celery worker on the throw-away Redis and the test database; stopped at the end."""
    from aidcase.celery import app

    started: list[CeleryWorker] = []

    def start(**env) -> CeleryWorker:
        worker = CeleryWorker(
            redis_url=redis_server.url(),
            database_url=worker_database_url(),
            prefix=redis_server.prefix,
            **env,
        )
        started.append(worker)
        return worker.start(app)

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def postgres_cluster():
    if not PostgresCluster.available():
        pytest.skip("needs PostgreSQL server binaries (initdb, pg_ctl)")
    with PostgresCluster() as cluster:
        yield cluster
