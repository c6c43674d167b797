"""Celery beat runs once even when started twice (aidcase/core/beat.py: the database scheduler behind a lock)."""

import json
import os
import subprocess
import sys
import uuid

import pytest
import redis
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from tests.celery_worker import ROOT, database_url, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _start_beat(env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "aidcase", "beat", "-l", "info", "--pidfile="],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _senders(client, queue) -> list[str]:
    """The process that published each message waiting in `queue` (Celery's `origin` header)."""
    return [json.loads(raw)["headers"]["origin"] for raw in client.lrange(queue, 0, -1)]


def _stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_two_beats_schedule_once_and_the_standby_takes_over(settings, tmp_path):
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (REDIS_URL)")
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    queue = f"{prefix}housekeeping"
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="purge every second", task="aidcase.core.tasks.idempotency_purge_task", interval=every_second
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "True",
        "REDIS_KEY_PREFIX": prefix,
        # Long enough that a leader stalled by a loaded machine keeps its lock (renewed every 5 s); a
        # leader that stops cleanly releases it, so the standby still takes over within seconds.
        "CELERY_BEAT_LOCK_SECONDS": "15",
    }
    client = redis.Redis.from_url(settings.REDIS_URL)
    beats = [_start_beat(env, tmp_path / f"beat{i}.log") for i in (1, 2)]
    try:
        # Both run (each logged its start); only one of them ever sends the every-second task.
        wait_for(
            lambda: all("beat: Starting" in (tmp_path / f"beat{i}.log").read_text() for i in (1, 2)),
            timeout=180,
        )
        senders = wait_for(lambda: (s := _senders(client, queue)) and len(s) >= 5 and s, timeout=180)
        assert all(b.poll() is None for b in beats)
        assert len(set(senders)) == 1, f"two beats scheduled: {set(senders)}"
        leader_pid = int(senders[0].split("@")[0].removeprefix("gen"))
        leader = next(b for b in beats if b.pid == leader_pid)
        standby = next(b for b in beats if b is not leader)

        # The leader stops: the standby takes over and the schedule goes on, still from one process.
        _stop(leader)
        client.delete(queue)
        taken_over = wait_for(lambda: (s := _senders(client, queue)) and len(s) >= 3 and s, timeout=180)
        assert {int(s.split("@")[0].removeprefix("gen")) for s in taken_over} == {standby.pid}
    finally:
        for beat in beats:
            _stop(beat)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)
