import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidcase.settings")

app = Celery("aidcase")
# Every Celery option lives in Django settings under the CELERY_ prefix (JSON only, acks late, ...).
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Queues per workload: a flood of webhook deliveries never delays a reconciliation, a slow report never
# holds up the hourly housekeeping. Each queue can get its own workers (README, "Running on several
# machines"); a worker started without -Q consumes all of them, so one machine needs no extra setup.
BULK, WEBHOOKS, REPORTS, HOUSEKEEPING = "bulk", "webhooks", "reports", "housekeeping"
QUEUES = (BULK, WEBHOOKS, REPORTS, HOUSEKEEPING)
WORKLOADS = {
    "disbursements.tasks.statement_process_task": BULK,
    "families.tasks.family_import_task": BULK,
    "families.tasks.kobo_pull_task": BULK,
    "privacy.tasks.retention_run_task": BULK,  # long nightly batches: never ahead of housekeeping
    "referrals.tasks.webhook_deliver_task": WEBHOOKS,
    "referrals.tasks.webhooks_sweep_task": WEBHOOKS,
    "reports.tasks.situation_report_task": REPORTS,
    "aidcase.core.tasks.idempotency_purge_task": HOUSEKEEPING,
    "aidcase.core.tasks.outbox_drain_task": HOUSEKEEPING,
    "disbursements.tasks.missing_payments_flag_task": HOUSEKEEPING,
    "disbursements.tasks.statements_requeue_task": HOUSEKEEPING,
}


def queue_name(workload: str) -> str:
    """The broker queue of a workload; REDIS_KEY_PREFIX keeps several deployments (or tests) apart."""
    return f"{app.conf.get('queue_prefix') or ''}{workload}"


def route_task(name, args, kwargs, options, task=None, **kw):
    """task_routes: each task to its workload's queue; anything unlisted (Celery's own) to housekeeping."""
    return {"queue": queue_name(WORKLOADS.get(name, HOUSEKEEPING))}
