"""An optional PostgreSQL read replica (DATABASE_REPLICA_URL) for report queries and partner pulls.

Only reads that tolerate a few seconds of staleness go there, and only inside `replica_reads` (the
report and partner-pull views use it). Everything else, above all whatever must read its own writes
(registration, approval, reconciliation), stays on the primary. Inside `replica_reads`:

- a write sends the rest of the request back to the primary (read your own writes);
- a user whose last request changed something reads from the primary for REPLICA_PIN_SECONDS (pinned in
  the shared cache, so every web process knows), e.g. a partner who just accepted a referral and pulls;
- a replica that is down, or lags more than REPLICA_MAX_LAG_SECONDS, is skipped: reads go to the primary.
  Its state is checked with one small query at most every REPLICA_CHECK_SECONDS per process.
"""

import contextvars
import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connections
from django.http import HttpRequest

logger = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"
PIN_KEY = "aidcase:primary-pin:{user_id}"

_reads = contextvars.ContextVar("aidcase_replica_reads", default=False)
_wrote = contextvars.ContextVar("aidcase_replica_wrote", default=False)
_used = contextvars.ContextVar("aidcase_replica_used", default=False)
# Per process: (monotonic time of the last check, usable then).
_health = {"checked_at": float("-inf"), "usable": False}

# Seconds the replica is behind: 0 when it has replayed everything it received from the primary.
LAG_SQL = """
SELECT CASE
  WHEN NOT pg_is_in_recovery() THEN 0
  WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
  ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_lag_seconds() -> float | None:
    """The replica's lag in seconds; None when it cannot be asked or cannot tell."""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            (lag,) = cursor.fetchone()
    except (OperationalError, InterfaceError) as exc:
        logger.warning("read replica unavailable: %s", exc)
        connections[REPLICA].close()
        return None
    return None if lag is None else float(lag)


def replica_usable() -> bool:
    if not replica_configured():
        return False
    now = time.monotonic()
    if now - _health["checked_at"] >= settings.REPLICA_CHECK_SECONDS:
        lag = replica_lag_seconds()
        usable = lag is not None and lag <= settings.REPLICA_MAX_LAG_SECONDS
        if not usable and _health["usable"]:
            logger.warning("read replica not used (lag: %s s): reading from the primary", lag)
        _health.update(checked_at=now, usable=usable)
    return _health["usable"]


def replica_forget_health() -> None:
    _health.update(checked_at=float("-inf"), usable=False)


def primary_pin(*, user_id) -> None:
    """This user just changed something: their next reads, in any web process, go to the primary."""
    cache.set(PIN_KEY.format(user_id=user_id), 1, settings.REPLICA_PIN_SECONDS)


def _pinned(user) -> bool:
    return bool(user and user.is_authenticated and cache.get(PIN_KEY.format(user_id=user.pk)))


class PrimaryReplicaRouter:
    """DATABASE_ROUTERS: reads inside `replica_reads` to the replica when usable, everything else to the primary."""

    def db_for_read(self, model, **hints):
        if _reads.get() and not _wrote.get() and replica_usable():
            _used.set(True)
            return REPLICA
        return PRIMARY

    def db_for_write(self, model, **hints):
        _wrote.set(True)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY


def replica_reads(view):
    """Decorate a view (function or APIView method): its reads may come from the replica.

    Applied to the handler, it runs after authentication, permissions and throttling, which always read
    the primary (a revoked key stops working at once). If the replica fails mid-request, the handler runs
    again on the primary.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        request = next((a for a in args if isinstance(a, HttpRequest) or hasattr(a, "_request")), None)
        user = getattr(request, "user", None)
        if not replica_configured() or _pinned(user):
            return view(*args, **kwargs)
        tokens = (_reads.set(True), _wrote.set(False), _used.set(False))
        try:
            return view(*args, **kwargs)
        except (OperationalError, InterfaceError):
            if not _used.get():
                raise
            logger.warning("read replica failed during a request: answering from the primary")
            connections[REPLICA].close()
            replica_forget_health()
            _health["checked_at"] = time.monotonic()  # not usable until the next check
            _reads.set(False)
            return view(*args, **kwargs)
        finally:
            for var, token in zip((_reads, _wrote, _used), tokens, strict=True):
                var.reset(token)

    return wrapper


class PrimaryPinMiddleware:
    """After a request that changed something, pin its user to the primary (only with a replica)."""

    SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            replica_configured()
            and request.method not in self.SAFE_METHODS
            and response.status_code < 400
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            primary_pin(user_id=request.user.pk)
        return response
