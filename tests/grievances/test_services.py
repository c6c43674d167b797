from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditEvent
from aidcase.core.exceptions import Conflict, Forbidden
from disbursements.reconciliation import statement_process, statement_upload
from disbursements.services import batch_create, batch_export, disbursement_approve, disbursement_request
from grievances.models import Grievance, GrievanceEvent, PdvSample
from grievances.selectors import grievance_list, payment_reconciliation, pdv_report
from grievances.services import (
    grievance_create,
    grievance_transition,
    grievance_update,
    pdv_answer_record,
    pdv_round_create,
)

pytestmark = pytest.mark.django_db


def test_priority_sets_the_due_date_from_settings(complaint, settings):
    settings.GRIEVANCE_SLA_HOURS = {"urgent": 6, "high": 48, "medium": 100, "low": 300}
    g = complaint(priority="urgent")
    assert g.due_at - g.created_at == timedelta(hours=6)
    assert complaint(category="other").priority == "medium"
    assert complaint(category="protection_concern").priority == "high"


def test_create_records_history_and_audit_without_the_text(complaint):
    g = complaint(description="Threatened by the landlord.")
    event = GrievanceEvent.objects.get(grievance=g)
    assert (event.action, event.to_status, event.changes["category"]) == ("created", "open", "other")
    audit = AuditEvent.objects.get(action="grievance.created", target_id=str(g.pk))
    assert "landlord" not in str(audit.data)


def test_payment_complaint_links_the_familys_payment(register_family, pay, people):
    family, other = register_family(given="A"), register_family(given="B")
    own, foreign = pay([family, other])
    g = grievance_create(
        family=family,
        category="payment_not_received",
        description="Nothing came.",
        created_by=people["worker"],
    )
    assert g.disbursement == own
    with pytest.raises(ValidationError) as exc:
        grievance_create(
            family=family,
            category="wrong_amount",
            description="8,000 only.",
            disbursement=foreign,
            created_by=people["worker"],
        )
    assert "another family" in str(exc.value)


def test_partners_and_bad_input_are_refused(register_family, people):
    family = register_family()
    with pytest.raises(Forbidden):
        grievance_create(family=family, category="other", description="x", created_by=people["partner"])
    with pytest.raises(ValidationError):
        grievance_create(family=family, category="nonsense", description="x", created_by=people["worker"])
    with pytest.raises(ValidationError):
        grievance_create(family=family, category="other", description="  ", created_by=people["worker"])
    assert not Grievance.objects.exists()


def test_lifecycle_resolution_close_and_reopen(complaint, people):
    g = complaint()
    g = grievance_transition(grievance=g, actor=people["worker"], target="in_progress")
    with pytest.raises(ValidationError):
        grievance_transition(grievance=g, actor=people["worker"], target="resolved", resolution=" ")
    with pytest.raises(Conflict):
        grievance_transition(grievance=g, actor=people["worker"], target="closed")
    g = grievance_transition(grievance=g, actor=people["worker"], target="resolved", resolution="Paid again.")
    assert (g.status, g.done, g.resolved_by) == ("resolved", True, people["worker"])
    g = grievance_transition(grievance=g, actor=people["coordinator"], target="closed")
    with pytest.raises(ValidationError):
        grievance_transition(grievance=g, actor=people["worker"], target="open")
    g = grievance_transition(grievance=g, actor=people["worker"], target="open", note="Still not paid.")
    assert (g.status, g.done, g.resolution, g.resolved_at) == ("open", False, "", None)
    assert g.due_at > timezone.now()
    actions = list(g.events.values_list("action", "from_status", "to_status"))
    assert actions == [
        ("created", "", "open"),
        ("status_changed", "open", "in_progress"),
        ("status_changed", "in_progress", "resolved"),
        ("status_changed", "resolved", "closed"),
        ("reopened", "closed", "open"),
    ]
    assert AuditEvent.objects.filter(target_id=str(g.pk), action__startswith="grievance.").count() == 5


def test_the_database_refuses_a_resolved_complaint_without_resolution(complaint):
    g = complaint()
    with pytest.raises(IntegrityError), transaction.atomic():
        Grievance.objects.filter(pk=g.pk).update(status="resolved", done=True)


def test_triage_moves_the_due_date_and_assigns(complaint, people):
    g = complaint(priority="low")
    g = grievance_update(
        grievance=g, actor=people["coordinator"], priority="urgent", assigned_to=people["finance"]
    )
    assert g.due_at == g.created_at + timedelta(hours=24)
    assert g.assigned_to == people["finance"]
    event = g.events.last()
    assert event.changes["priority"] == ["low", "urgent"] and event.changes["assigned_to"] == [None, "fin-a"]
    # Finance does not handle complaints, except the ones assigned to them.
    other = complaint()
    with pytest.raises(Forbidden):
        grievance_transition(grievance=other, actor=people["finance"], target="in_progress")
    grievance_transition(grievance=g, actor=people["finance"], target="resolved", resolution="Re-issued.")
    with pytest.raises(ValidationError):
        grievance_update(grievance=other, actor=people["worker"], assigned_to=people["partner"])


def test_sensitive_complaints_are_handled_by_designated_staff_only(complaint, people):
    g = complaint(sensitive=True, category="protection_concern")
    for actor in (people["worker"], people["admin"], people["coordinator"]):
        with pytest.raises(Forbidden):
            grievance_transition(grievance=g, actor=actor, target="in_progress")
    with pytest.raises(ValidationError):
        grievance_update(grievance=g, actor=people["protection"], assigned_to=people["worker"])
    grievance_update(grievance=g, actor=people["protection"], assigned_to=people["protection"])
    # Marking a complaint sensitive needs a designated assignee.
    plain = complaint(assigned_to=people["worker2"])
    with pytest.raises(ValidationError):
        grievance_update(grievance=plain, actor=people["worker"], sensitive=True)
    grievance_update(grievance=plain, actor=people["worker"], sensitive=True, assigned_to=None)
    plain.refresh_from_db()
    assert plain.sensitive
    with pytest.raises(Forbidden):
        grievance_update(grievance=plain, actor=people["worker"], sensitive=False)


def test_overdue_complaints_come_first_and_done_ones_last(complaint, people):
    later = complaint(priority="low")
    soon = complaint(priority="urgent")
    late = complaint(priority="low")
    Grievance.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=1))
    done = complaint(priority="urgent")
    grievance_transition(grievance=done, actor=people["worker"], target="resolved", resolution="ok")
    Grievance.objects.filter(pk=done.pk).update(due_at=timezone.now() - timedelta(days=9))
    order = list(grievance_list(actor=people["worker"]).values_list("pk", flat=True))
    assert order == [late.pk, soon.pk, later.pk, done.pk]
    assert list(grievance_list(actor=people["worker"], overdue=True)) == [late]
    assert list(grievance_list(actor=people["partner"])) == []


def _exported(family, people):
    d = disbursement_request(family=family, requested_by=people["worker"])
    disbursement_approve(disbursement=d, approved_by=people["finance"])
    batch = batch_create(channel="hawala", disbursement_ids=[d.pk], created_by=people["finance"])
    batch_export(batch=batch, exported_by=people["finance"])
    d.refresh_from_db()
    return d


def _reconcile(lines, people):
    content = ("reference,amount,status,paid_at\n" + "\n".join(lines) + "\n").encode()
    statement, _ = statement_upload(content=content, filename="hawala.csv", uploaded_by=people["finance"])
    return statement_process(statement_id=statement.pk)


def test_payment_complaint_shows_the_reconciliation(register_family, people):
    short = _exported(register_family(given="Short"), people)
    fine = _exported(register_family(given="Fine"), people)
    _reconcile(
        [f"{short.reference},9000.00,paid,2026-11-21", f"{fine.reference},10000.00,paid,2026-11-21"], people
    )
    short.refresh_from_db()
    g = grievance_create(
        family=short.family, category="wrong_amount", description="8,000 only.", created_by=people["worker"]
    )
    info = payment_reconciliation(disbursement=g.disbursement)
    assert info["reconciliation"] == "amount_mismatch"
    assert info["statement_line"]["line_no"] == 2 and info["statement_line"]["amount"] == Decimal("9000.00")
    assert info["open_discrepancies"] == 1 and info["discrepancies"][0]["kind"] == "amount_mismatch"
    fine.refresh_from_db()
    info = payment_reconciliation(disbursement=fine)
    assert (info["status"], info["reconciliation"], info["open_discrepancies"]) == ("paid", "matched", 0)


# --- post-distribution verification -----------------------------------------------------------------


def _round(people, **kwargs):
    today = timezone.localdate()
    return pdv_round_create(paid_from=today, paid_to=today, created_by=people["coordinator"], **kwargs)


def test_round_draws_a_reproducible_sample_of_paid_families(paid_families, register_family, people):
    paid = paid_families(12)
    disbursement_request(family=register_family(given="Unpaid"), requested_by=people["worker"])
    first = _round(people, margin=Decimal("0.3"), seed=42)
    # 12 paid at 95 % / 30 %: n0 = 10.67, with the correction 5.9 -> 6.
    assert (first.population_size, first.sample_size, first.seed) == (12, 6, 42)
    picked = list(first.samples.values_list("disbursement_id", flat=True))
    assert len(set(picked)) == 6 and set(picked) <= {d.pk for d in paid}
    again = _round(people, margin=Decimal("0.3"), seed=42)
    assert list(again.samples.values_list("disbursement_id", flat=True)) == picked
    assert _round(people).sample_size == 12  # at 95 % / 5 % a population of 12 is taken whole
    audit = AuditEvent.objects.get(action="pdv.round_created", target_id=str(first.pk))
    assert audit.data["seed"] == 42


def test_round_refusals(paid_families, people):
    today = timezone.localdate()
    with pytest.raises(ValidationError):
        _round(people)  # nobody paid yet
    paid_families(1)
    with pytest.raises(Forbidden):
        pdv_round_create(paid_from=today, paid_to=today, created_by=people["worker"])
    with pytest.raises(ValidationError):
        pdv_round_create(paid_from=today, paid_to=today - timedelta(days=1), created_by=people["finance"])
    with pytest.raises(ValidationError):
        _round(people, margin=Decimal("0.001"))
    earlier = today - timedelta(days=30)
    with pytest.raises(ValidationError):
        pdv_round_create(paid_from=earlier, paid_to=earlier, created_by=people["admin"])


@pytest.fixture
def samples(paid_families, people):
    paid_families(4)
    return list(_round(people).samples.select_related("disbursement"))


def test_confirmed_answers_open_nothing(samples, people):
    s = pdv_answer_record(sample=samples[0], actor=people["worker"], reached=True, confirmed_full_amount=True)
    assert s.amount_reported == Decimal("10000.00") and not s.mismatch
    pdv_answer_record(sample=samples[1], actor=people["worker"], reached=False, notes="Phone off.")
    assert not Grievance.objects.exists()


def test_not_received_opens_one_complaint_linked_to_the_payment(samples, people):
    s = samples[0]
    pdv_answer_record(
        sample=s,
        actor=people["worker"],
        reached=True,
        confirmed_full_amount=False,
        amount_reported=Decimal("0"),
    )
    g = Grievance.objects.get()
    assert (g.category, g.channel, g.disbursement_id, g.family_id) == (
        "payment_not_received",
        "pdv",
        s.disbursement_id,
        s.family_id,
    )
    assert g.pdv_sample_id == s.pk and s.disbursement.reference in g.description
    # Recorded again (a correction, a double submit): still one complaint.
    pdv_answer_record(
        sample=s,
        actor=people["coordinator"],
        reached=True,
        confirmed_full_amount=False,
        amount_reported=Decimal("0"),
    )
    pdv_answer_record(
        sample=s,
        actor=people["worker"],
        reached=True,
        confirmed_full_amount=False,
        amount_reported=Decimal("5000"),
    )
    assert Grievance.objects.count() == 1
    assert AuditEvent.objects.filter(action="pdv.answer_recorded", target_id=str(s.pk)).count() == 3


def test_a_different_amount_opens_a_wrong_amount_complaint(samples, people):
    pdv_answer_record(sample=samples[0], actor=people["worker"], reached=True, confirmed_full_amount=True)
    assert not Grievance.objects.exists()
    # Corrected later: the family got 8,000.
    pdv_answer_record(
        sample=samples[0],
        actor=people["worker"],
        reached=True,
        confirmed_full_amount=False,
        amount_reported=Decimal("8000"),
    )
    assert Grievance.objects.get().category == "wrong_amount"


@pytest.mark.parametrize(
    "answer",
    [
        {"reached": False, "confirmed_full_amount": True},
        {"reached": True},
        {"reached": True, "confirmed_full_amount": True, "amount_reported": Decimal("9000")},
        {"reached": True, "confirmed_full_amount": False},
        {"reached": True, "confirmed_full_amount": False, "amount_reported": Decimal("10000")},
        {"reached": True, "confirmed_full_amount": False, "amount_reported": Decimal("-1")},
    ],
)
def test_inconsistent_answers_are_refused(samples, people, answer):
    with pytest.raises(ValidationError):
        pdv_answer_record(sample=samples[0], actor=people["worker"], **answer)
    assert PdvSample.objects.get(pk=samples[0].pk).reached is None
    assert not Grievance.objects.exists()


def test_finance_and_partners_do_not_record_answers(samples, people):
    for actor in (people["finance"], people["partner"]):
        with pytest.raises(Forbidden):
            pdv_answer_record(sample=samples[0], actor=actor, reached=False)


def test_report_counts_rate_and_interval(samples, people):
    pdv_answer_record(sample=samples[0], actor=people["worker"], reached=True, confirmed_full_amount=True)
    pdv_answer_record(sample=samples[1], actor=people["worker"], reached=True, confirmed_full_amount=True)
    pdv_answer_record(
        sample=samples[2],
        actor=people["worker"],
        reached=True,
        confirmed_full_amount=False,
        amount_reported=0,
    )
    pdv_answer_record(sample=samples[3], actor=people["worker"], reached=False)
    report = pdv_report(pdv_round=samples[0].round)
    assert {
        k: report[k] for k in ("sampled", "answered", "pending", "reached", "not_reached", "verified")
    } == {
        "sampled": 4,
        "answered": 4,
        "pending": 0,
        "reached": 3,
        "not_reached": 1,
        "verified": 2,
    }
    assert (report["mismatches"], report["grievances"]) == (1, 1)
    assert report["verified_rate"] == pytest.approx(2 / 3)
    # Wilson 95 % for 2/3: 0.208 - 0.939.
    assert (round(report["interval_low"], 3), round(report["interval_high"], 3)) == (0.208, 0.939)
