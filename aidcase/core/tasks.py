from celery import shared_task


@shared_task(ignore_result=True)
def idempotency_purge_task() -> int:
    """Periodic: forget Idempotency-Key records past their retention (48 hours by default)."""
    from aidcase.core.idempotency import idempotency_records_purge

    return idempotency_records_purge()
