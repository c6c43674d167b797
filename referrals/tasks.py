from celery import shared_task

from referrals.models import WebhookDelivery


@shared_task(acks_late=True, ignore_result=True, time_limit=60, soft_time_limit=45)
def webhook_deliver_task(delivery_id: str) -> None:
    """Send one webhook; on failure schedule the next attempt with exponential backoff. Safe to run twice."""
    from referrals.webhooks import retry_delay, webhook_deliver

    status = webhook_deliver(delivery_id=delivery_id)
    if status == WebhookDelivery.Status.PENDING:
        attempts = (
            WebhookDelivery.objects.filter(pk=delivery_id).values_list("attempts", flat=True).first() or 1
        )
        webhook_deliver_task.apply_async((delivery_id,), countdown=retry_delay(attempts))


@shared_task(ignore_result=True)
def webhooks_sweep_task() -> int:
    """Periodic: send pending deliveries that are due (missed enqueues, retries after a restart)."""
    from referrals.webhooks import webhooks_due

    due = webhooks_due()
    for delivery_id in due:
        webhook_deliver_task.delay(str(delivery_id))
    return len(due)
