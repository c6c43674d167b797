from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import audit_record
from grievances.selectors import READ_ROLES, SENSITIVE_PERMISSION


class Command(BaseCommand):
    help = "Designate a staff member to read sensitive complaints (or --revoke it)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--revoke", action="store_true")

    @transaction.atomic
    def handle(self, *args, username, revoke, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named '{username}'.")
        if not revoke and user.role not in READ_ROLES:
            raise CommandError("Only staff (case_worker, finance, coordinator, admin) can be designated.")
        app_label, codename = SENSITIVE_PERMISSION.split(".")
        permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
        if revoke:
            user.user_permissions.remove(permission)
        else:
            user.user_permissions.add(permission)
        audit_record(
            actor=None,
            action="grievances.sensitive_revoked" if revoke else "grievances.sensitive_granted",
            target=user,
            data={"username": username},
        )
        self.stdout.write(f"{username}: {'no longer reads' if revoke else 'reads'} sensitive complaints.")
