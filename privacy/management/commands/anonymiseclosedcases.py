from django.core.management.base import BaseCommand, CommandError

from privacy.retention import BATCH_SIZE, retention_run


class Command(BaseCommand):
    help = (
        "Apply the retention policy now: close settled cases, anonymise the personal data of cases closed "
        "longer than RETENTION_CLOSED_CASE_DAYS, empty old uploaded household lists. The nightly task does "
        "the same; both can run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count what would be done")
        parser.add_argument("--days", type=int, help="retention period in days (default: the setting)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="families per transaction")

    def handle(self, *args, dry_run=False, days=None, batch_size=BATCH_SIZE, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        result = retention_run(days=days, batch_size=batch_size, dry_run=dry_run, trigger="manage.py")
        verb = "would be" if dry_run else "were"
        self.stdout.write(f"Cases closed before {result['cutoff']} are due.")
        self.stdout.write(f"{result['closed']} settled case(s) {verb} closed.")
        self.stdout.write(f"{result['anonymised']} family(ies) {verb} anonymised.")
        self.stdout.write(f"{result['imports_purged']} uploaded household list(s) {verb} emptied.")
