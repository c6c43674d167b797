import pytest
from django.contrib.auth.models import Permission

from disbursements.services import (
    batch_create,
    batch_export,
    disbursement_approve,
    disbursement_confirm_cash,
    disbursement_request,
)
from grievances.services import grievance_create


def designate(user):
    """Grant grievances.view_sensitive to one user (what `grantsensitive` and the admin do)."""
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="grievances", codename="view_sensitive")
    )
    if hasattr(user, "_grievances_view_sensitive"):
        del user._grievances_view_sensitive
    return user


@pytest.fixture
def people(make_user):
    return {
        "worker": make_user("case_worker", "worker"),
        "worker2": make_user("case_worker", "worker2"),
        "protection": designate(make_user("case_worker", "protection")),
        "finance": make_user("finance", "fin-a"),
        "finance2": make_user("finance", "fin-b"),
        "coordinator": make_user("coordinator", "coord"),
        "admin": make_user("admin", "boss"),
        "partner": make_user("partner", "unhcr-api"),
    }


@pytest.fixture
def pay(people):
    """Take families through request, approval, a cash batch and the hand-over: paid payments."""

    def pay_families(families):
        requested = [disbursement_request(family=f, requested_by=people["worker"]) for f in families]
        codes = {d.pk: d.recipient_code for d in requested}
        for d in requested:
            disbursement_approve(disbursement=d, approved_by=people["finance"])
        batch = batch_create(
            channel="cash", disbursement_ids=[d.pk for d in requested], created_by=people["finance"]
        )
        batch_export(batch=batch, exported_by=people["finance"])
        paid = []
        for d in requested:
            d.refresh_from_db()
            paid.append(
                disbursement_confirm_cash(
                    disbursement=d, paid_by=people["finance2"], recipient_code=codes[d.pk]
                )
            )
        return paid

    return pay_families


@pytest.fixture
def paid_families(register_family, pay):
    """Twelve families paid today."""

    def make(count=12):
        families = [register_family(given=f"Given{i}", father=f"Father{i}", phone="") for i in range(count)]
        return pay(families)

    return make


@pytest.fixture
def complaint(register_family, people):
    def make(sensitive=False, category="other", **kwargs):
        return grievance_create(
            family=kwargs.pop("family", None) or register_family(),
            category=category,
            description=kwargs.pop("description", "The family was told to come back tomorrow."),
            sensitive=sensitive,
            created_by=kwargs.pop("created_by", people["worker"]),
            **kwargs,
        )

    return make
