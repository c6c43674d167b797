"""Checkpoints for fault tests: code that passes a named point announces it in Redis and waits there.

Inert unless the point is named in the FAULT_CHECKPOINTS setting (an environment variable, set only for test
workers). Then `checkpoint("reconciliation.applied")` sets the Redis key `checkpoint:<name>:reached` and waits
until `checkpoint:<name>:release` exists, so a test can kill the worker at exactly that point.
"""

import time

from django.conf import settings


def checkpoint(name: str) -> None:
    if name not in settings.FAULT_CHECKPOINTS or not settings.REDIS_URL:
        return
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.set(f"checkpoint:{name}:reached", "1")
    while not client.exists(f"checkpoint:{name}:release"):
        time.sleep(0.05)
