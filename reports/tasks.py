from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=10,
    max_retries=5,
    time_limit=900,
    soft_time_limit=840,
)
def situation_report_task(kind: str = "daily") -> str:
    """Daily/weekly situation report (beat). Idempotent: one report per kind and period."""
    from reports.situation import situation_report_generate

    return str(situation_report_generate(kind=kind).pk)
