from django.core.management.base import BaseCommand

from aidcase.core.outbox import outbox_drain, outbox_pending_count


class Command(BaseCommand):
    help = "Send the Celery tasks kept in the outbox while the broker was unreachable (beat does it every minute)."

    def handle(self, *args, **options):
        sent = outbox_drain()
        left = outbox_pending_count()
        self.stdout.write(f"sent {sent}, still pending {left}")
        if left:
            raise SystemExit(1)
