"""Transactional outbox for Celery tasks: a task asked for by a change is never lost when Redis is down.

`enqueue(task, *args)` writes an `OutboxMessage` row in the caller's transaction, so the row exists exactly
when the business change committed. After the commit it is sent to the broker at once; if the broker does not
answer, the request still succeeds and the row stays pending until `outbox_drain` sends it (Celery beat every
minute, or `python manage.py drainoutbox`). Senders lock rows with `SELECT ... FOR UPDATE SKIP LOCKED` and mark
them sent in the same transaction, so two drainers never send the same row. A process that dies between the
publish and the commit sends it again later: tasks are idempotent, as they must be for redelivery anyway.

With Celery eager (no REDIS_URL, the quick start) there is no broker to lose: the task runs after the commit.
"""

import logging
from datetime import timedelta

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from aidcase.core.models import OutboxMessage

logger = logging.getLogger(__name__)
BATCH = 100


def enqueue(task, *args) -> None:
    """Run `task(*args)` on a worker once the current transaction commits (at once outside a transaction).

    Arguments must be JSON values (pass ids as strings). Never raises for a broker outage.
    """
    from aidcase.celery import app

    if app.conf.task_always_eager:
        transaction.on_commit(lambda: task.apply_async(args), robust=True)
        return
    message = OutboxMessage.objects.create(task=task.name, args=list(args))
    transaction.on_commit(lambda: outbox_send(ids=[message.pk]), robust=True)


def outbox_send(*, ids: list[int] | None = None, limit: int = BATCH) -> int:
    """Send pending messages (those in `ids`, or the oldest `limit`); returns how many were sent.

    Stops at the first broker error: the rest stay pending, with the attempt and the error recorded.
    """
    from aidcase.celery import app

    sent: list[int] = []
    down = _broker_down(app.conf.broker_url)
    if down:  # Kombu's own connection attempts take seconds to give up; the request must not wait on them
        pending = OutboxMessage.objects.filter(sent_at__isnull=True)
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        pending.update(attempts=F("attempts") + 1, last_error=down[:2000])
        logger.warning("outbox: broker unreachable, tasks kept for later: %s", down)
        return 0
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(sent_at__isnull=True)
        if ids is not None:
            pending = pending.filter(pk__in=ids)
        messages = list(pending.order_by("pk")[:limit])
        for message in messages:
            try:
                # retry=False: a broker that is down answers at once instead of holding the request; results
                # are not kept (state lives in the database), so nothing else talks to Redis here.
                app.send_task(message.task, args=message.args, retry=False, ignore_result=True)
            except Exception as exc:  # broker unreachable (any kombu/redis/socket error): keep for the drain
                logger.warning("outbox: %s not sent, kept for later: %s", message, exc)
                OutboxMessage.objects.filter(pk__in=[m.pk for m in messages if m.pk not in sent]).update(
                    attempts=F("attempts") + 1, last_error=f"{type(exc).__name__}: {exc}"[:2000]
                )
                break
            sent.append(message.pk)
        OutboxMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now(), attempts=F("attempts") + 1)
    return len(sent)


def _broker_down(url: str) -> str:
    """Why the Redis broker cannot be reached, or "" (one quick PING, no retries)."""
    if not url.startswith(("redis://", "rediss://")):
        return ""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, retry=None)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def outbox_drain() -> int:
    """Send everything pending, oldest first, until the outbox is empty or the broker fails again."""
    total = 0
    while True:
        sent = outbox_send()
        total += sent
        if sent < BATCH:
            break
    cutoff = timezone.now() - timedelta(hours=settings.OUTBOX_RETENTION_HOURS)
    OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return total


def outbox_pending_count() -> int:
    return OutboxMessage.objects.filter(sent_at__isnull=True).count()
