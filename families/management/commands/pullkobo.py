"""python manage.py pullkobo [--form ASSET_UID]: take new submissions from the KoBo API now."""

from django.core.management.base import BaseCommand, CommandError

from families.kobo import KoboUnavailable, form_pull
from families.models import KoboForm


class Command(BaseCommand):
    help = "Pull the submissions of the active KoBo forms (or one) and register the new ones."

    def add_arguments(self, parser):
        parser.add_argument("--form", help="asset uid of one form")

    def handle(self, *args, form, **options):
        forms = KoboForm.objects.filter(is_active=True).exclude(server_url="")
        if form:
            forms = forms.filter(asset_uid=form)
            if not forms.exists():
                raise CommandError(f"No active KoBo form '{form}' with a server URL.")
        failed = False
        for item in forms:
            try:
                counts = form_pull(form=item)
            except KoboUnavailable as exc:
                self.stderr.write(f"{item.asset_uid}: {exc}")
                failed = True
                continue
            self.stdout.write(
                f"{item.asset_uid}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            )
        if failed:
            raise CommandError("Some forms could not be pulled; see above.")
