from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
    time_limit=3600,
    soft_time_limit=3500,
)
def family_import_task(upload_id: str) -> str:
    """Import a stored household list. Redelivered after a crash, it resumes without registering twice."""
    from families.imports import family_import_run

    return family_import_run(upload_id=upload_id, resume=True).status
