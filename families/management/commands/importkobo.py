"""python manage.py importkobo EXPORT.xlsx --form ASSET_UID: take the submissions of a KoBo XLSX export."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from families.kobo import export_take
from families.models import KoboForm


class Command(BaseCommand):
    help = "Register the submissions of a KoBo/ODK XLSX export (household sheet + members sheet) once each."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--form", required=True, help="asset uid of the form (its mapping is used)")

    def handle(self, *args, path, form, **options):
        try:
            kobo_form = KoboForm.objects.get(asset_uid=form)
        except KoboForm.DoesNotExist:
            raise CommandError(f"No KoBo form '{form}'; add it in the admin first.") from None
        source = Path(path)
        if not source.is_file():
            raise CommandError(f"No such file: {path}")
        try:
            counts = export_take(form=kobo_form, content=source.read_bytes())
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing new")
