from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import NO_SUCH_USER, api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key for USERNAME. The key is printed once, as the last line; only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(NO_SUCH_USER.format(username=username))
        if not user.is_active:
            raise CommandError(f"User '{username}' is deactivated.")
        api_key, key = api_key_create(user=user, name=name)
        self.stdout.write(
            f"API key {api_key.prefix} for {user.username} ({user.role}). Store it now; it is not shown again:"
        )
        self.stdout.write(key)
