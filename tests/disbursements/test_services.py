from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from aidcase.core.exceptions import Conflict, Forbidden
from disbursements.models import Disbursement, DisbursementTransition, SupportAmount
from disbursements.services import (
    batch_create,
    batch_export,
    disbursement_approve,
    disbursement_cancel,
    disbursement_confirm_cash,
    disbursement_reissue,
    disbursement_reject,
    disbursement_request,
    disbursement_settle,
    support_amount_set,
)
from families.models import DuplicateFlag
from families.services import duplicate_flag_resolve

pytestmark = pytest.mark.django_db
Status = Disbursement.Status


def ledger(d: Disbursement) -> list[tuple[str, str]]:
    return list(DisbursementTransition.objects.filter(disbursement=d).values_list("from_status", "to_status"))


def test_request_is_10000_afn_whatever_the_consent(register_family, staff):
    family = register_family(consent=False)
    d = disbursement_request(family=family, requested_by=staff["worker"])
    assert (d.amount, d.currency, d.status) == (Decimal("10000.00"), "AFN", Status.REQUESTED)
    assert d.legal_basis == "vital_interests"
    assert d.reference == f"{family.case_number}-P1"
    assert len(d.recipient_code) == 6
    assert d.recipient_code not in d.recipient_code_hash
    assert ledger(d) == [("", "requested")]


def test_a_new_programme_amount_does_not_rewrite_past_payments(requested, register_family, staff):
    support_amount_set(amount=Decimal("12000.00"), effective_from=date(2026, 1, 1), actor=staff["finance"])
    later = disbursement_request(family=register_family(given="Karim"), requested_by=staff["worker"])
    requested.refresh_from_db()
    assert requested.amount == Decimal("10000.00")
    assert later.amount == Decimal("12000.00")
    assert SupportAmount.objects.count() == 2


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [("5000", None, "amount"), ("10000.01", None, "amount"), (None, "USD", "currency")],
)
def test_other_amounts_or_currencies_are_refused(register_family, staff, amount, currency, field):
    with pytest.raises(ValidationError) as err:
        disbursement_request(
            family=register_family(), requested_by=staff["worker"], amount=amount, currency=currency
        )
    assert field in err.value.message_dict
    assert Disbursement.objects.count() == 0


def test_second_request_for_the_same_family_is_a_conflict(requested, staff):
    with pytest.raises(Conflict, match="already has a support payment"):
        disbursement_request(family=requested.family, requested_by=staff["finance"])
    assert Disbursement.objects.count() == 1


def test_merged_duplicate_cannot_be_paid_nor_its_household_twice(register_family, staff):
    first = register_family(given="Gul", father="Ahmad")
    second = register_family(given="Gol", father="Ahmed")
    paid_as_second = disbursement_request(family=second, requested_by=staff["worker"])
    duplicate_flag_resolve(
        flag=DuplicateFlag.objects.get(family=second), decision="merged", resolved_by=staff["worker"]
    )
    second.refresh_from_db()
    with pytest.raises(Conflict, match="is a duplicate of"):
        disbursement_request(family=second, requested_by=staff["worker"])
    with pytest.raises(Conflict, match="duplicate record of this family"):
        disbursement_request(family=first, requested_by=staff["worker"])
    with pytest.raises(Conflict):  # the request made before the merge cannot be approved any more
        disbursement_approve(disbursement=paid_as_second, approved_by=staff["finance"])


def test_four_eyes_in_the_service(register_family, staff):
    d = disbursement_request(family=register_family(), requested_by=staff["finance"])
    with pytest.raises(Forbidden, match="cannot approve"):
        disbursement_approve(disbursement=d, approved_by=staff["finance"])
    d.refresh_from_db()
    assert d.status == Status.REQUESTED and d.approved_by is None


def test_four_eyes_in_the_database(register_family, staff):
    d = disbursement_request(family=register_family(), requested_by=staff["finance"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.filter(pk=d.pk).update(status=Status.APPROVED, approved_by=staff["finance"])


def test_only_finance_approves_or_rejects(requested, staff, make_user):
    for role in ("case_worker", "coordinator", "admin"):
        with pytest.raises(Forbidden, match="Only finance"):
            disbursement_approve(disbursement=requested, approved_by=make_user(role))
        with pytest.raises(Forbidden, match="Only finance"):
            disbursement_reject(disbursement=requested, rejected_by=make_user(role), reason="x")


def test_approve_then_approve_again_is_a_conflict(approved, staff):
    assert approved.status == Status.APPROVED and approved.approved_by == staff["finance"]
    with pytest.raises(Conflict, match="status: approved"):
        disbursement_approve(disbursement=approved, approved_by=staff["finance2"])
    assert ledger(approved) == [("", "requested"), ("requested", "approved")]


def test_reject_needs_a_reason_and_frees_the_family(requested, staff):
    with pytest.raises(ValidationError):
        disbursement_reject(disbursement=requested, rejected_by=staff["finance"], reason=" ")
    d = disbursement_reject(disbursement=requested, rejected_by=staff["finance"], reason="not eligible")
    assert d.status == Status.REJECTED and d.decision_reason == "not eligible"
    again = disbursement_request(family=requested.family, requested_by=staff["worker"])
    assert again.reference.endswith("-P2")


def test_cancel_before_export_only(approved, staff):
    d = disbursement_cancel(disbursement=approved, cancelled_by=staff["finance2"], reason="family left")
    assert d.status == Status.CANCELLED


def test_exported_cannot_be_cancelled(exported, staff):
    with pytest.raises(Conflict):
        disbursement_cancel(disbursement=exported, cancelled_by=staff["finance"], reason="x")


def test_batch_rules(approved, requested_and_other, staff):
    other = requested_and_other
    with pytest.raises(Conflict, match="not approved"):
        batch_create(channel="cash", disbursement_ids=[approved.pk, other.pk], created_by=staff["finance"])
    with pytest.raises(ValidationError):
        batch_create(channel="cash", disbursement_ids=[], created_by=staff["finance"])
    with pytest.raises(ValidationError):
        batch_create(channel="bitcoin", disbursement_ids=[approved.pk], created_by=staff["finance"])
    batch = batch_create(channel="hawala", disbursement_ids=[approved.pk], created_by=staff["finance"])
    with pytest.raises(Conflict, match="already in batch"):
        batch_create(channel="cash", disbursement_ids=[approved.pk], created_by=staff["finance"])
    batch = batch_export(batch=batch, exported_by=staff["finance"])
    approved.refresh_from_db()
    assert approved.status == Status.EXPORTED and batch.status == "exported"
    first_bytes = bytes(batch.export_csv)
    assert batch_export(batch=batch, exported_by=staff["finance2"]).export_csv == first_bytes


@pytest.fixture
def requested_and_other(register_family, staff):
    return disbursement_request(
        family=register_family(given="Karim", father="Omar"), requested_by=staff["worker"]
    )


def test_empty_batch_cannot_be_exported(approved, staff):
    batch = batch_create(channel="cash", disbursement_ids=[approved.pk], created_by=staff["finance"])
    disbursement_cancel(disbursement=approved, cancelled_by=staff["finance"], reason="duplicate")
    with pytest.raises(Conflict, match="empty"):
        batch_export(batch=batch, exported_by=staff["finance"])


def test_cash_payment_needs_the_recipient_code(register_family, staff):
    d = disbursement_request(family=register_family(), requested_by=staff["worker"])
    code = d.recipient_code
    disbursement_approve(disbursement=d, approved_by=staff["finance"])
    batch_export(
        batch=batch_create(channel="cash", disbursement_ids=[d.pk], created_by=staff["finance"]),
        exported_by=staff["finance"],
    )
    with pytest.raises(ValidationError, match="required"):
        disbursement_confirm_cash(disbursement=d, paid_by=staff["finance2"])
    with pytest.raises(ValidationError, match="does not match"):
        disbursement_confirm_cash(
            disbursement=d,
            paid_by=staff["finance2"],
            recipient_code="000000" if code != "000000" else "111111",
        )
    paid = disbursement_confirm_cash(disbursement=d, paid_by=staff["finance2"], recipient_code=code)
    assert paid.status == Status.PAID and paid.paid_by == staff["finance2"] and paid.paid_at
    with pytest.raises(Conflict):
        disbursement_request(family=d.family, requested_by=staff["worker"])


def test_failed_payment_is_reissued_once(exported, staff):
    with transaction.atomic():
        disbursement_settle(disbursement=exported, paid=False, at=None, actor=None, reason="wallet closed")
    new = disbursement_reissue(failed=exported, requested_by=staff["worker"])
    assert new.reissue_of == exported and new.amount == exported.amount and new.status == Status.REQUESTED
    with pytest.raises(Conflict, match="already re-issued"):
        disbursement_reissue(failed=exported, requested_by=staff["worker"])


def test_only_failed_can_be_reissued(requested, staff):
    with pytest.raises(Conflict, match="Only failed"):
        disbursement_reissue(failed=requested, requested_by=staff["worker"])


def test_ledger_is_append_only(requested):
    row = DisbursementTransition.objects.get(disbursement=requested)
    with pytest.raises(RuntimeError):
        row.save()
    with pytest.raises(RuntimeError):
        row.delete()


@pytest.mark.postgres
def test_database_refuses_ledger_updates(requested):
    with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE disbursements_disbursementtransition SET to_status = 'paid'")


@pytest.mark.postgres
def test_database_allows_one_active_payment_per_family(requested, staff):
    with pytest.raises(IntegrityError), transaction.atomic():
        Disbursement.objects.create(
            reference="X-1", family=requested.family, amount=Decimal("10000"), requested_by=staff["worker"]
        )
