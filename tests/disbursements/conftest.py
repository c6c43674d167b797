import pytest

from disbursements.services import batch_create, batch_export, disbursement_approve, disbursement_request


@pytest.fixture
def staff(make_user):
    return {
        "worker": make_user("case_worker", "worker"),
        "finance": make_user("finance", "fin-a"),
        "finance2": make_user("finance", "fin-b"),
    }


@pytest.fixture
def requested(register_family, staff):
    return disbursement_request(family=register_family(), requested_by=staff["worker"])


@pytest.fixture
def approved(requested, staff):
    return disbursement_approve(disbursement=requested, approved_by=staff["finance"])


@pytest.fixture
def exported(approved, staff):
    batch = batch_create(channel="cash", disbursement_ids=[approved.pk], created_by=staff["finance"])
    batch_export(batch=batch, exported_by=staff["finance"])
    approved.refresh_from_db()
    return approved
