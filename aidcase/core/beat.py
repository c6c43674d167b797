"""Celery beat that runs once, however many are started: the database scheduler behind a Redis lock.

Every beat process asks for the lock on each tick; the one that holds it schedules, the others wait as
standbys and take over within CELERY_BEAT_LOCK_SECONDS when it stops (at once when it stops cleanly). The
schedules themselves stay in the database (django-celery-beat), editable in /admin/.
"""

import datetime
import logging
import os
import socket

import redis
from django.conf import settings
from django_celery_beat.schedulers import DatabaseScheduler

logger = logging.getLogger(__name__)

LOCK_KEY = "aidcase:celery-beat:lock"


class SingleBeatScheduler(DatabaseScheduler):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = None
        self._leading = False
        if settings.REDIS_URL:
            ttl = settings.CELERY_BEAT_LOCK_SECONDS
            client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)
            prefix = settings.REDIS_KEY_PREFIX
            self._lock = client.lock(f"{prefix}{LOCK_KEY}", timeout=ttl, blocking=False)
            # Renew the lock well before it expires, whatever the next schedule entry is.
            self.max_interval = min(self.max_interval, max(1, ttl // 3))
            self._identity = f"{socket.gethostname()}:{os.getpid()}"

    def _hold_lock(self) -> bool:
        if self._lock is None:
            return True
        try:
            if self._leading and self._lock.owned():
                self._lock.reacquire()
                return True
            if self._lock.acquire(blocking=False):
                if not self._leading:
                    logger.info("beat %s holds the lock: scheduling", self._identity)
                    # Another beat may have run entries since this one read the schedule: read it again.
                    self._last_full_sync = datetime.datetime.min  # noqa: DTZ901 - naive, as in django-celery-beat
                self._leading = True
                return True
        except redis.RedisError as exc:
            logger.warning("beat %s cannot reach Redis for its lock: %s", self._identity, exc)
        if self._leading:
            logger.warning("beat %s lost the lock: standing by", self._identity)
        self._leading = False
        return False

    def tick(self, *args, **kwargs):
        if not self._hold_lock():
            return self.max_interval  # standby: another beat is scheduling
        return super().tick(*args, **kwargs)

    def close(self):
        try:
            super().close()
        finally:
            if self._lock is not None and self._leading:
                try:
                    self._lock.release()
                except redis.RedisError:  # expires by itself after CELERY_BEAT_LOCK_SECONDS
                    pass
                self._leading = False
