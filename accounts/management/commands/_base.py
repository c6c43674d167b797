from django.core.exceptions import ValidationError
from django.core.management.base import CommandError


def validation_error_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(m for e in errors for m in e.messages)}"
            for field, errors in exc.error_dict.items()
        )
    return " ".join(exc.messages)


def raise_command_error(exc: ValidationError) -> None:
    raise CommandError(validation_error_message(exc)) from exc
