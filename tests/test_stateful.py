"""Property-based (stateful) tests of the two lifecycles, against the real services and database.

Hypothesis drives random sequences of actions by random users (two case workers, three finance officers, a
coordinator, partners of two organizations, an administrator). Before each action the test predicts from the
database whether it must succeed or which refusal it must get (403/409/400 kinds); after each action the
invariants are checked against the database: one active support payment per family, the requester never
approves, the ledger explains every status and sum, referral histories only follow the contract's lifecycle,
and no partner ever moved another organization's referral.

Each example runs in a savepoint that is rolled back, so examples never see each other's rows. Bounded by
HYPOTHESIS_STATEFUL_EXAMPLES (default 25 examples of up to 30 steps per machine).
"""

import hashlib
import os
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from accounts.services import api_key_create, user_create
from aidcase.core.exceptions import Conflict, Forbidden
from disbursements.models import Disbursement, DisbursementTransition, PayoutBatch, Statement
from families.models import CrossingPoint, Province
from families.services import MemberInput, family_register
from referrals.models import Referral, ReferralEvent

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

STATEFUL = settings(
    max_examples=int(os.environ.get("HYPOTHESIS_STATEFUL_EXAMPLES", "12")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)

D = Disbursement.Status
R = Referral.Status
ACTIVE = {D.REQUESTED, D.APPROVED, D.EXPORTED, D.PAID}
# The payment lifecycle as the README draws it; the ledger may only ever contain these moves.
LEDGER_MOVES = {
    ("", D.REQUESTED),
    (D.REQUESTED, D.APPROVED),
    (D.REQUESTED, D.REJECTED),
    (D.REQUESTED, D.CANCELLED),
    (D.APPROVED, D.CANCELLED),
    (D.APPROVED, D.EXPORTED),
    (D.EXPORTED, D.PAID),
    (D.EXPORTED, D.FAILED),
}
# The referral lifecycle as CONTRACT.md words it (written out here, not imported from the services).
PARTNER_MOVES = {
    (R.SENT, R.ACCEPTED),
    (R.SENT, R.DECLINED),
    (R.ACCEPTED, R.IN_PROGRESS),
    (R.ACCEPTED, R.COMPLETED),
    (R.ACCEPTED, R.DECLINED),
    (R.IN_PROGRESS, R.COMPLETED),
    (R.IN_PROGRESS, R.DECLINED),
}
STAFF_MOVES = {(R.SENT, R.CLOSED), (R.ACCEPTED, R.CLOSED), (R.IN_PROGRESS, R.CLOSED)}
FINAL = {R.COMPLETED, R.DECLINED, R.CLOSED}

_run = iter(range(1, 10**9))


def _mostly(*plausible: int):
    """An actor index: half the time one who may act, otherwise anyone (the refusals are tested too)."""
    return st.one_of(st.sampled_from(plausible), st.integers(0, 8))


ANYONE = st.integers(0, 8)
FINANCE = _mostly(2, 3, 4)
REQUESTERS = _mostly(0, 1, 2, 3)


class _RolledBack:
    """One example's database state: a savepoint rolled back at teardown.

    Marked like Django's TestCase atomics so the services' `atomic(durable=True)` may nest inside it.
    """

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic._from_testcase = True
        self.atomic.__enter__()

    def close(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)


def _users(specs):
    run = next(_run)
    return [
        user_create(
            username=f"p{run}-{name}",
            role=role,
            organization_code=org,
            password="pw-for-tests-1",
            check_password_strength=False,
        )
        for name, role, org in specs
    ]


def _family(n: int, created_by, *, consent=True, phone=""):
    return family_register(
        created_by=created_by,
        crossing_point=CrossingPoint.objects.get(code="TORKHAM"),
        arrival_date=date(2026, 11, 20),
        destination_province=Province.objects.get(code="AF-NAN"),
        phone=phone,
        consent_to_share=consent,
        members=[
            MemberInput(
                given_name=["Gul", "Karim", "Nasir", "Wali", "Zarmina"][n % 5],
                father_name=["Ahmad", "Omar", "Rahim", "Habib", "Sayed"][n % 5],
                sex="M",
                relationship="head",
                date_of_birth=date(1960 + 7 * n, 1, 1),
            )
        ],
    )


def _outcome(call):
    """'ok' with the result, or the kind of refusal: forbidden (403), conflict (409), invalid (400)."""
    try:
        return "ok", call()
    except Forbidden:
        return "forbidden", None
    except Conflict:
        return "conflict", None
    except ValidationError:
        return "invalid", None


# --- the support payment -------------------------------------------------------------------------------


class PaymentLifecycle(RuleBasedStateMachine):
    """Users and families are made once per test (`world`); each example's payments are rolled back."""

    payments = Bundle("payments")
    batches = Bundle("batches")
    world: tuple = ()

    @classmethod
    def make_world(cls):
        people = _users(
            [
                ("cw1", "case_worker", None),
                ("cw2", "case_worker", None),
                ("fin1", "finance", None),
                ("fin2", "finance", None),
                ("fin3", "finance", None),
                ("coord", "coordinator", None),
                ("unhcr", "partner", "UNHCR"),
                ("iom", "partner", "IOM"),
                ("admin", "admin", None),
            ]
        )
        cls.world = (people, [_family(n, people[0]) for n in range(3)])

    def __init__(self):
        super().__init__()
        self.db = _RolledBack()
        self.db.__enter__()
        self.people, self.families = self.world
        self.finance = [u for u in self.people if u.role == "finance"]
        self.codes: dict = {}  # one-time codes handed to families, by disbursement id
        self.statement_lines = 0
        self.run = self.people[0].username.split("-")[0]

    def teardown(self):
        self.db.close()

    # -- helpers
    def _fresh(self, d) -> Disbursement:
        return Disbursement.objects.select_related("batch").get(pk=d.pk)

    def _has_active(self, family) -> bool:
        return Disbursement.objects.filter(family=family, status__in=ACTIVE).exists()

    # -- actions
    @rule(target=payments, actor=REQUESTERS, family=st.integers(0, 2))
    def request(self, actor, family):
        user, family = self.people[actor], self.families[family]
        from disbursements.services import disbursement_request

        if user.role not in ("case_worker", "finance"):
            expected = "forbidden"
        else:
            expected = "conflict" if self._has_active(family) else "ok"
        kind, d = _outcome(lambda: disbursement_request(family=family, requested_by=user))
        assert kind == expected, (user.role, kind)
        if d is None:
            return multiple()
        self.codes[d.pk] = d.recipient_code
        return d

    @rule(target=payments, family=st.integers(0, 2), channel=st.sampled_from(["cash", "hawala"]))
    def request_approve_and_export(self, family, channel):
        """The ordinary path in one step (case worker, another finance officer), so that random sequences
        often reach exported payments and, from there, cash hand-over, statements and re-issue."""
        from disbursements.services import (
            batch_create,
            batch_export,
            disbursement_approve,
            disbursement_request,
        )

        family = self.families[family]
        if self._has_active(family):
            return multiple()
        d = disbursement_request(family=family, requested_by=self.people[1])
        self.codes[d.pk] = d.recipient_code
        disbursement_approve(disbursement=d, approved_by=self.people[3])
        batch = batch_create(channel=channel, disbursement_ids=[d.pk], created_by=self.people[4])
        batch_export(batch=batch, exported_by=self.people[2])
        return d

    @rule(payment=payments, actor=FINANCE, by_requester=st.booleans())
    def approve(self, payment, actor, by_requester):
        """`by_requester`: the person who requested the payment tries to approve it (four-eyes)."""
        from disbursements.services import disbursement_approve

        current = self._fresh(payment)
        user = current.requested_by if by_requester else self.people[actor]
        if user.role != "finance" or current.requested_by_id == user.pk:
            expected = "forbidden"  # finance only, and never the requester (four-eyes)
        else:
            expected = "ok" if current.status == D.REQUESTED else "conflict"
        kind, _ = _outcome(lambda: disbursement_approve(disbursement=current, approved_by=user))
        assert kind == expected, (user.role, current.status, kind)

    @rule(payment=payments, actor=FINANCE, reason=st.sampled_from(["", "  ", "no documents"]))
    def reject(self, payment, actor, reason):
        from disbursements.services import disbursement_reject

        user, current = self.people[actor], self._fresh(payment)
        if user.role != "finance":
            expected = "forbidden"
        elif not reason.strip():
            expected = "invalid"
        else:
            expected = "ok" if current.status == D.REQUESTED else "conflict"
        kind, _ = _outcome(lambda: disbursement_reject(disbursement=current, rejected_by=user, reason=reason))
        assert kind == expected, (user.role, current.status, kind)

    @rule(payment=payments, actor=_mostly(0, 1, 2))
    def cancel(self, payment, actor):
        from disbursements.services import disbursement_cancel

        user, current = self.people[actor], self._fresh(payment)
        batch_open = current.batch is None or current.batch.status == PayoutBatch.Status.OPEN
        if not (user.role == "finance" or current.requested_by_id == user.pk):
            expected = "forbidden"
        elif current.status in (D.REQUESTED, D.APPROVED) and batch_open:
            expected = "ok"
        else:
            expected = "conflict"
        kind, _ = _outcome(lambda: disbursement_cancel(disbursement=current, cancelled_by=user, reason="x"))
        assert kind == expected, (user.role, current.status, kind)

    @rule(target=payments, payment=payments, actor=REQUESTERS)
    def reissue(self, payment, actor):
        from disbursements.services import disbursement_reissue

        user, current = self.people[actor], self._fresh(payment)
        if user.role not in ("case_worker", "finance"):
            expected = "forbidden"
        elif current.status != D.FAILED or Disbursement.objects.filter(reissue_of=current).exists():
            expected = "conflict"
        else:
            expected = "conflict" if self._has_active(current.family) else "ok"
        kind, d = _outcome(lambda: disbursement_reissue(failed=current, requested_by=user))
        assert kind == expected, (user.role, current.status, kind)
        if d is None:
            return multiple()
        assert d.reissue_of_id == current.pk and d.amount == current.amount
        self.codes[d.pk] = d.recipient_code
        return d

    @rule(
        target=batches,
        actor=FINANCE,
        picks=st.lists(payments, min_size=1, max_size=3),
        channel=st.sampled_from(["cash", "hawala", "mobile_money"]),
    )
    def batch(self, actor, picks, channel):
        from disbursements.services import batch_create

        user = self.people[actor]
        items = list({p.pk: p for p in picks}.values())
        current = [self._fresh(p) for p in items]
        if user.role != "finance":
            expected = "forbidden"
        elif any(d.batch_id is not None or d.status != D.APPROVED for d in current):
            expected = "conflict"
        else:
            expected = "ok"
        kind, batch = _outcome(
            lambda: batch_create(channel=channel, disbursement_ids=[d.pk for d in current], created_by=user)
        )
        assert kind == expected, (user.role, [d.status for d in current], kind)
        return batch if batch is not None else multiple()

    @rule(batch=batches, actor=FINANCE)
    def export(self, batch, actor):
        from disbursements.services import batch_export

        user = self.people[actor]
        batch = PayoutBatch.objects.get(pk=batch.pk)
        items = list(batch.items.all())
        if user.role != "finance":
            expected = "forbidden"
        elif batch.status == PayoutBatch.Status.EXPORTED:
            expected = "ok"
        else:
            expected = "ok" if items and all(d.status == D.APPROVED for d in items) else "conflict"
        before = bytes(batch.export_csv or b"")
        kind, exported = _outcome(lambda: batch_export(batch=batch, exported_by=user))
        assert kind == expected, (user.role, batch.status, kind)
        if exported is not None and before:
            assert bytes(exported.export_csv) == before  # the same bytes every time

    @rule(payment=payments, actor=FINANCE, right_code=st.booleans())
    def confirm_cash(self, payment, actor, right_code):
        from disbursements.services import disbursement_confirm_cash

        user, current = self.people[actor], self._fresh(payment)
        code = self.codes[current.pk] if right_code else f"{(int(self.codes[current.pk]) + 1) % 10**6:06d}"
        if user.role != "finance":
            expected = "forbidden"
        elif current.status != D.EXPORTED or current.batch.channel != "cash":
            expected = "conflict"
        else:
            expected = "ok" if right_code else "invalid"
        kind, _ = _outcome(
            lambda: disbursement_confirm_cash(disbursement=current, paid_by=user, recipient_code=code)
        )
        assert kind == expected, (user.role, current.status, kind)

    @rule(
        lines=st.lists(
            st.tuples(payments, st.sampled_from(["paid", "failed", "wrong_amount", "unknown"])),
            min_size=1,
            max_size=4,
        ),
        actor=st.integers(2, 4),
    )
    def reconcile(self, lines, actor):
        """A provider statement: paid, failed, wrong-amount and unknown lines, references possibly repeated."""
        from disbursements.reconciliation import statement_process, statement_upload

        self.statement_lines += 1
        text = ["reference,amount,status,paid_at"]
        expected = {}
        for payment, outcome in lines:
            current = self._fresh(payment)
            reference = current.reference if outcome != "unknown" else f"NOPE-{self.statement_lines}"
            amount = current.amount + (1 if outcome == "wrong_amount" else 0)
            status = "failed" if outcome == "failed" else "paid"
            text.append(f"{reference},{amount},{status},2026-11-21T10:00:00+04:30")
            if outcome != "unknown" and current.pk not in expected:  # later lines are duplicates
                if current.status != D.EXPORTED:
                    expected[current.pk] = current.status
                else:
                    expected[current.pk] = {"paid": D.PAID, "failed": D.FAILED}.get(outcome, D.EXPORTED)
        # An unknown reference unique to this statement: identical bytes would not be processed again.
        text.append(f"NOPE-x{self.statement_lines}-{self.run},1.00,paid,2026-11-21")
        content = "\n".join(text).encode()
        statement, created = statement_upload(
            content=content, filename="statement.csv", uploaded_by=self.people[actor]
        )
        assert created
        statement = statement_process(statement_id=statement.pk)
        assert statement.status == Statement.Status.DONE
        counted = (
            statement.matched
            + statement.failed
            + statement.amount_mismatch
            + statement.unknown_reference
            + statement.duplicate_line
            + len(statement.errors)
        )
        assert counted == statement.lines_total == len(text) - 1  # every data line counted exactly once
        for pk, status in expected.items():
            assert Disbursement.objects.get(pk=pk).status == status

    # -- invariants, against the database
    @invariant()
    def one_active_payment_per_family(self):
        doubled = (
            Disbursement.objects.filter(status__in=ACTIVE)
            .values("family")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
        )
        assert not doubled.exists()

    @invariant()
    def requester_never_approves(self):
        assert not Disbursement.objects.filter(approved_by=F("requested_by")).exists()
        assert not DisbursementTransition.objects.filter(
            to_status=D.APPROVED, actor=F("disbursement__requested_by")
        ).exists()
        assert (
            not Disbursement.objects.filter(approved_by__isnull=False)
            .exclude(approved_by__role="finance")
            .exists()
        )

    @invariant()
    def ledger_explains_every_status_and_sum(self):
        chains = defaultdict(list)
        for t in DisbursementTransition.objects.order_by("id"):
            chains[t.disbursement_id].append(t)
        by_status, by_ledger, requested_sum = Counter(), Counter(), Decimal("0")
        for d in Disbursement.objects.all():
            chain = chains[d.pk]
            assert chain, d.reference
            previous = ""
            for t in chain:
                assert t.from_status == previous and (t.from_status, t.to_status) in LEDGER_MOVES, (
                    d.reference,
                    [(c.from_status, c.to_status) for c in chain],
                )
                previous = t.to_status
            assert previous == d.status
            assert Decimal(chain[0].data["amount"]) == d.amount
            requested_sum += Decimal(chain[0].data["amount"])
            by_status[d.status] += d.amount
            by_ledger[previous] += Decimal(chain[0].data["amount"])
            approval = [t for t in chain if t.to_status == D.APPROVED]
            if approval:
                assert approval[0].actor_id == d.approved_by_id != d.requested_by_id
            if d.status in (D.EXPORTED, D.PAID, D.FAILED):
                assert d.batch is not None and d.batch.status == PayoutBatch.Status.EXPORTED
        assert by_status == by_ledger
        total = Disbursement.objects.aggregate(s=Sum("amount"))["s"] or Decimal("0")
        assert requested_sum == total

    @invariant()
    def batches_are_consistent(self):
        for batch in PayoutBatch.objects.prefetch_related("items"):
            statuses = {d.status for d in batch.items.all()}
            if batch.status == PayoutBatch.Status.OPEN:
                assert statuses <= {D.APPROVED}
            else:
                assert statuses <= {D.EXPORTED, D.PAID, D.FAILED}
                assert hashlib.sha256(bytes(batch.export_csv)).hexdigest() == batch.export_sha256

    @invariant()
    def reissues_point_at_failed_payments(self):
        for d in Disbursement.objects.filter(reissue_of__isnull=False).select_related("reissue_of"):
            assert d.reissue_of.status == D.FAILED and d.family_id == d.reissue_of.family_id


def test_payment_lifecycle_under_random_actions():
    PaymentLifecycle.make_world()
    run_state_machine_as_test(PaymentLifecycle, settings=STATEFUL)


# --- referrals -----------------------------------------------------------------------------------------


class ReferralLifecycle(RuleBasedStateMachine):
    referrals = Bundle("referrals")
    world: tuple = ()

    @classmethod
    def make_world(cls):
        people = _users(
            [
                ("cw1", "case_worker", None),
                ("cw2", "case_worker", None),
                ("fin", "finance", None),
                ("coord", "coordinator", None),
                ("unhcr1", "partner", "UNHCR"),
                ("unhcr2", "partner", "UNHCR"),
                ("iom", "partner", "IOM"),
                ("admin", "admin", None),
            ]
        )
        families = [_family(0, people[0]), _family(1, people[0], consent=False)]
        clients = {}
        for user in people:
            if user.role == "partner":
                client = APIClient()
                client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user)[1]}")
                clients[user.pk] = client
        cls.world = (people, families, clients)

    def __init__(self):
        super().__init__()
        self.db = _RolledBack()
        self.db.__enter__()
        self.people, self.families, self.clients = self.world

    def teardown(self):
        self.db.close()

    def _expected_move(self, user, referral, target, note):
        if user.role == "partner":
            if referral.organization_id != user.organization_id:
                return "forbidden"
            moves = PARTNER_MOVES
        elif user.role in ("case_worker", "coordinator", "admin"):
            moves = STAFF_MOVES
        else:
            moves = set()
        if target not in {to for _, to in moves}:
            return "forbidden"
        if (referral.status, target) not in moves:
            return "conflict"
        if target == R.DECLINED and not note.strip():
            return "invalid"
        return "ok"

    @rule(
        target=referrals,
        actor=st.one_of(st.sampled_from([0, 1, 7]), st.integers(0, 7)),
        family=st.integers(0, 1),
        org=st.sampled_from(["UNHCR", "IOM"]),
        service=st.sampled_from(["shelter", "food", "health"]),
    )
    def refer(self, actor, family, org, service):
        """Create a referral, or re-refer a family that already has one (declined, closed or not)."""
        from referrals.services import referral_create

        user, family = self.people[actor], self.families[family]
        if user.role not in ("case_worker", "admin"):
            expected = "forbidden"
        else:
            expected = "ok" if family.consent_to_share else "conflict"
        kind, referral = _outcome(
            lambda: referral_create(
                family=family, organization_code=org, service_code=service, created_by=user
            )
        )
        assert kind == expected, (user.role, family.consent_to_share, kind)
        if referral is not None:
            assert referral.status == R.SENT
            return referral
        return multiple()

    @rule(
        referral=referrals,
        actor=st.one_of(st.sampled_from([0, 3, 4, 5, 6]), st.integers(0, 7)),
        to=st.one_of(st.sampled_from([R.ACCEPTED, R.IN_PROGRESS, R.COMPLETED]), st.sampled_from(R.values)),
        note=st.sampled_from(["", "seen on Tuesday"]),
        own=st.booleans(),
    )
    def move(self, referral, actor, to, note, own):
        """`own`: a partner acting is swapped for one of the referral's organization half of the time."""
        from referrals.services import referral_transition

        target = to
        user, current = self.people[actor], Referral.objects.get(pk=referral.pk)
        if own and user.role == "partner":
            user = next(u for u in self.people if u.organization_id == current.organization_id)
        expected = self._expected_move(user, current, target, note)
        kind, _ = _outcome(
            lambda: referral_transition(referral=current, target=target, actor=user, note=note)
        )
        assert kind == expected, (user.role, current.status, target, kind)

    @precondition(lambda self: self.clients)
    @rule(
        referral=referrals,
        partner=st.sampled_from(["unhcr1", "unhcr2", "iom"]),
        to=st.sampled_from([R.ACCEPTED, R.IN_PROGRESS, R.COMPLETED, R.DECLINED, R.CLOSED]),
        note=st.sampled_from(["", "we called the family"]),
    )
    def partner_moves_through_the_api(self, referral, partner, to, note):
        target = to
        user = next(u for u in self.people if u.username.endswith(f"-{partner}"))
        current = Referral.objects.get(pk=referral.pk)
        client = self.clients[user.pk]
        response = client.post(
            f"/api/v1/referrals/{current.pk}/status/", {"status": target, "note": note}, format="json"
        )
        detail = client.get(f"/api/v1/referrals/{current.pk}/")
        if current.organization_id != user.organization_id:
            assert response.status_code == 404 and detail.status_code == 404  # as if it did not exist
            return
        expected = self._expected_move(user, current, target, note)
        assert (
            response.status_code == {"ok": 200, "forbidden": 403, "conflict": 409, "invalid": 400}[expected]
        )
        assert detail.status_code == 200
        assert "tazkira" not in detail.content.decode() and "date_of_birth" not in detail.content.decode()

    @invariant()
    def histories_follow_the_lifecycle(self):
        chains = defaultdict(list)
        for e in ReferralEvent.objects.select_related("actor").order_by("id"):
            chains[e.referral_id].append(e)
        for referral in Referral.objects.all():
            chain = chains[referral.pk]
            assert chain[0].from_status == "" and chain[0].to_status == R.SENT
            assert chain[0].actor.role in ("case_worker", "admin")
            previous = R.SENT
            for e in chain[1:]:
                assert e.from_status == previous, [(c.from_status, c.to_status) for c in chain]
                assert previous not in FINAL
                if e.actor.role == "partner":
                    assert (e.from_status, e.to_status) in PARTNER_MOVES
                    # never another organization's referral
                    assert e.actor.organization_id == referral.organization_id
                else:
                    assert e.actor.role in ("case_worker", "coordinator", "admin")
                    assert (e.from_status, e.to_status) in STAFF_MOVES
                if e.to_status == R.DECLINED:
                    assert e.note.strip()
                previous = e.to_status
            assert previous == referral.status

    @invariant()
    def referrals_only_for_families_that_consented(self):
        assert not Referral.objects.filter(family__consent_to_share=False).exists()


def test_referral_lifecycle_under_random_actions(monkeypatch):
    from referrals.apis import PartnerKeyThrottle

    # Hundreds of partner calls a minute here; the throttle has its own test (referrals/test_apis.py).
    monkeypatch.setattr(PartnerKeyThrottle, "THROTTLE_RATES", {"partner": "100000/min"})
    ReferralLifecycle.make_world()
    run_state_machine_as_test(ReferralLifecycle, settings=STATEFUL)


def test_a_rolled_back_example_leaves_nothing_behind():
    PaymentLifecycle.make_world()
    before = (Disbursement.objects.count(), Referral.objects.count())
    machine = PaymentLifecycle()
    machine.request(actor=0, family=0)
    machine.teardown()
    assert (Disbursement.objects.count(), Referral.objects.count()) == before
