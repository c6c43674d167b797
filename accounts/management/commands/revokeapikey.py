from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services import NO_SUCH_USER, api_keys_revoke


class Command(BaseCommand):
    help = "Revoke every API key of USERNAME at once."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(NO_SUCH_USER.format(username=username))
        count = api_keys_revoke(user=user)
        self.stdout.write(f"Revoked {count} API key(s) of {user.username}.")
