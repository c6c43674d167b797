from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from accounts.management.commands._base import raise_command_error
from accounts.models import Role
from accounts.services import user_create


class Command(BaseCommand):
    help = "Create a user with a role: createuser USERNAME --role ROLE [--org CODE] [--password PASSWORD]."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help=f"One of: {', '.join(Role.values)}.")
        parser.add_argument("--org", dest="org", help="Organization code (required for partner users).")
        parser.add_argument("--password", help="Without it the user can only use API keys.")
        parser.add_argument("--email", default="")

    def handle(self, *args, username, role, org, password, email, **options):
        try:
            user = user_create(
                username=username,
                role=role,
                organization_code=org,
                password=password,
                email=email,
                # The operator chose this password explicitly; warn below rather than refuse.
                check_password_strength=False,
            )
        except ValidationError as exc:
            raise_command_error(exc)
        if password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                self.stderr.write(
                    f"Warning: weak password ({' '.join(exc.messages)}). Change it before production use."
                )
        suffix = f" of {user.organization.code}" if user.organization else ""
        self.stdout.write(f"Created user {user.username} with role {user.role}{suffix}.")
