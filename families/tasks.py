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


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def kobo_pull_task() -> dict:
    """Periodic: pull every active KoBo form that has a server; one failing form does not stop the others."""
    from families.kobo import KoboUnavailable, form_pull
    from families.models import KoboForm

    outcome = {}
    for form in KoboForm.objects.filter(is_active=True).exclude(server_url=""):
        try:
            outcome[form.asset_uid] = form_pull(form=form)
        except KoboUnavailable as exc:  # recorded on the form (last_pull_error) and retried next period
            outcome[form.asset_uid] = {"error": str(exc)}
    return outcome
