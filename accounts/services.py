from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts.models import AuditEvent, Organization, Role, User, UserAPIKey

UNKNOWN_ROLE = "Unknown role '{role}'. Choose one of: {choices}."
PARTNER_NEEDS_ORG = "A partner user needs an organization (--org CODE)."
UNKNOWN_ORG = "Unknown organization '{code}'."
USERNAME_TAKEN = "A user named '{username}' already exists."
ORG_CODE_TAKEN = "An organization with code '{code}' already exists."
NO_SUCH_USER = "No user named '{username}'."


def audit_record(
    *, actor: User | None, action: str, target: models.Model, data: dict[str, Any] | None = None
) -> AuditEvent:
    """Append one audit event in the caller's transaction: the change and its record commit together."""
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_username=getattr(actor, "username", "") or "",
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        data=data or {},
    )


def audit_records(*, actor: User | None, events: list[tuple[str, models.Model, dict[str, Any]]]) -> None:
    """Append several audit events (action, target, data) with one INSERT, in the caller's transaction."""
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor=actor if actor is not None and actor.pk else None,
                actor_username=getattr(actor, "username", "") or "",
                action=action,
                target_type=target._meta.label_lower,
                target_id=str(target.pk),
                data=data or {},
            )
            for action, target, data in events
        ]
    )


def audit_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for the fields whose value changed, JSON-ready."""
    return {k: [_jsonable(before.get(k)), _jsonable(v)] for k, v in after.items() if before.get(k) != v}


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
        return value
    return str(value)


@transaction.atomic
def organization_create(*, code: str, name: str, actor: User | None = None) -> Organization:
    code = code.strip().upper()
    if Organization.objects.filter(code=code).exists():
        raise ValidationError({"code": ORG_CODE_TAKEN.format(code=code)})
    organization = Organization(code=code, name=name.strip())
    organization.full_clean()
    organization.save()
    audit_record(
        actor=actor, action="organization.created", target=organization, data={"code": code, "name": name}
    )
    return organization


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    organization_code: str | None = None,
    password: str | None = None,
    email: str = "",
    actor: User | None = None,
    check_password_strength: bool = True,
) -> User:
    if role not in Role.values:
        raise ValidationError({"role": UNKNOWN_ROLE.format(role=role, choices=", ".join(Role.values))})
    organization = None
    if organization_code:
        organization = Organization.objects.filter(code=organization_code.strip().upper()).first()
        if organization is None:
            raise ValidationError({"organization": UNKNOWN_ORG.format(code=organization_code)})
    if role == Role.PARTNER and organization is None:
        raise ValidationError({"organization": PARTNER_NEEDS_ORG})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": USERNAME_TAKEN.format(username=username)})

    user = User(
        username=username,
        email=email,
        role=role,
        organization=organization,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        if check_password_strength:
            validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()  # API-only account (e.g. a partner integration)
    user.full_clean(exclude=["password"])
    user.save()
    audit_record(
        actor=actor,
        action="user.created",
        target=user,
        data={
            "username": username,
            "role": role,
            "organization": organization.code if organization else None,
        },
    )
    return user


@transaction.atomic
def api_key_create(*, user: User, name: str = "", actor: User | None = None) -> tuple[UserAPIKey, str]:
    """Create an API key for `user`. Returns the key row and the plain key, which is shown once and never stored."""
    api_key, plain = UserAPIKey.objects.create_key(user=user, name=name or f"{user.username} key")
    audit_record(actor=actor, action="api_key.created", target=user, data={"prefix": api_key.prefix})
    return api_key, plain


@transaction.atomic
def api_keys_revoke(*, user: User, actor: User | None = None) -> int:
    """Revoke every usable key of `user` at once; they answer 401 from then on."""
    prefixes = list(UserAPIKey.objects.filter(user=user, revoked=False).values_list("prefix", flat=True))
    UserAPIKey.objects.filter(user=user, revoked=False).update(revoked=True)
    audit_record(actor=actor, action="api_key.revoked", target=user, data={"prefixes": prefixes})
    return len(prefixes)


def api_key_touch(*, api_key: UserAPIKey) -> None:
    """Record when a key was last used, at most once a minute per key (no write on every request)."""
    now = timezone.now()
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        UserAPIKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
