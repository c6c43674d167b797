from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
    time_limit=1800,
    soft_time_limit=1700,
)
def statement_process_task(self, statement_id: str) -> str:
    """Reconcile one statement. Idempotent: a processed statement is skipped; a crashed run rolled back."""
    from disbursements.reconciliation import statement_fail, statement_process

    try:
        return statement_process(statement_id=statement_id).status
    except (OperationalError, InterfaceError):
        if self.request.retries >= self.max_retries:
            statement_fail(
                statement_id=statement_id, reason="The database was unavailable; retries exhausted."
            )
        raise
    except Exception as exc:
        statement_fail(statement_id=statement_id, reason=f"{type(exc).__name__}: {exc}")
        raise


@shared_task(ignore_result=True)
def missing_payments_flag_task() -> int:
    """Daily: flag exported disbursements that no statement has reported after the grace period."""
    from disbursements.reconciliation import missing_flag

    return missing_flag()


@shared_task(ignore_result=True)
def statements_requeue_task() -> int:
    """Every few minutes: statements uploaded while the broker was down are queued again."""
    from disbursements.reconciliation import statements_requeue

    return statements_requeue()
