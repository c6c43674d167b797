from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from accounts.management.commands._base import raise_command_error
from accounts.services import organization_create


class Command(BaseCommand):
    help = 'Add a partner organization: createorganization CODE "Name".'

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("name")

    def handle(self, *args, code, name, **options):
        try:
            organization = organization_create(code=code, name=name)
        except ValidationError as exc:
            raise_command_error(exc)
        self.stdout.write(f"Created organization {organization.code} ({organization.name}).")
