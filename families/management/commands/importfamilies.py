"""python manage.py importfamilies LIST.csv|LIST.xlsx --user USERNAME [--dry-run] [--report REPORT.csv]"""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.models import Role, User
from families.imports import family_import, report_filename


class Command(BaseCommand):
    help = (
        "Register the households of a CSV or XLSX list (one row per member; see the template at "
        "/families/import/template.csv). Exit status 0: all imported; 2: some households had errors and were "
        "left out (see the report); 1: the file could not be read."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--user", required=True, help="The case worker (or admin) the import is done as.")
        parser.add_argument("--dry-run", action="store_true", help="Check everything, save nothing.")
        parser.add_argument(
            "--report", help="Where to write the report (default: LIST-report.csv beside it)."
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, path, user, dry_run, report, no_progress, **options):
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            actor = User.objects.get(username=user, is_active=True)
        except User.DoesNotExist:
            raise CommandError(f"No active user '{user}'.") from None
        if not actor.has_role(Role.CASE_WORKER, Role.ADMIN):
            raise CommandError(f"'{user}' is {actor.role}: only case workers and admins import families.")
        bar = tqdm(total=0, unit=" households", disable=no_progress, file=self.stderr._out)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            result = family_import(
                content=source.read_bytes(), filename=source.name, imported_by=actor, dry_run=dry_run,
                progress=progress,
            )  # fmt: skip
        except ValidationError as exc:
            raise CommandError(" ".join(m for ms in exc.message_dict.values() for m in ms)) from None
        finally:
            bar.close()
        report_path = Path(report) if report else source.with_name(report_filename(source.name))
        report_path.write_bytes(result.report_csv())
        summary = result.summary
        verb = "would register" if dry_run else "registered"
        count = summary["would_register"] if dry_run else summary["registered"]
        self.stdout.write(
            f"{summary['rows']} rows, {summary['households']} households: {count} {verb}, "
            f"{summary['already_imported']} already imported, {summary['not_imported']} not imported "
            f"({summary['errors']} errors), {summary['possible_duplicates']} possible duplicates to review."
        )
        self.stdout.write(f"Report: {report_path}")
        if summary["not_imported"] or summary["errors"]:
            raise SystemExit(2)
