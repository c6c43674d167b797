from celery import shared_task


@shared_task(ignore_result=True)
def idempotency_purge_task() -> int:
    """Periodic: forget Idempotency-Key records past their retention (48 hours by default)."""
    from aidcase.core.idempotency import idempotency_records_purge

    return idempotency_records_purge()


@shared_task(ignore_result=True)
def outbox_drain_task() -> int:
    """Periodic: send the tasks kept in the outbox while the broker was unreachable."""
    from aidcase.core.outbox import outbox_drain

    return outbox_drain()
