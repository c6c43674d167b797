from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=30,
    max_retries=5,
    time_limit=3 * 3600,
    soft_time_limit=3 * 3600 - 60,
)
def retention_run_task() -> dict:
    """Nightly (beat): close settled cases, anonymise those closed longer than the retention period.

    Safe to run twice or concurrently: each batch locks its families with SKIP LOCKED.
    """
    from privacy.retention import retention_run

    return retention_run(trigger="scheduled")
