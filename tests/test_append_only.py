"""Histories are written once: the ORM refuses to change or delete a row of any of them."""

import pytest
from django.apps import apps

from aidcase.core.models import AppendOnlyModel

HISTORIES = [
    "accounts.AuditEvent",
    "disbursements.DisbursementTransition",
    "referrals.ReferralEvent",
    "grievances.GrievanceEvent",
]


def test_every_history_model_is_append_only():
    found = sorted(m._meta.label for m in apps.get_models() if issubclass(m, AppendOnlyModel))
    assert found == sorted(HISTORIES)


@pytest.mark.parametrize("label", HISTORIES)
def test_a_stored_row_cannot_be_saved_again_or_deleted(label):
    model = apps.get_model(label)
    row = model()
    row._state.adding = False  # as if loaded from the database; nothing is written
    with pytest.raises(RuntimeError, match="append-only"):
        row.save()
    with pytest.raises(RuntimeError, match="append-only"):
        row.delete()
