"""No N+1: every list endpoint, list page and admin changelist runs as many queries for 12 rows as for 2.

Each case is requested once to warm per-process caches, then measured with a few rows, then again after
nine more rows of everything (families with members, payments, batches, referrals with their history,
webhook deliveries, statements, discrepancies, imports, reports, users, keys, organizations...). The
query counts must be equal and the response must show the new rows.

A new list must be added to LIST_CASES (or, if it is not a list, to NOT_LISTS with the reason):
`test_every_route_is_classified` fails otherwise, and `test_every_project_admin_is_measured` does the same for
the admin.
"""

import itertools
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from accounts.services import api_key_create, organization_create, user_create
from disbursements.models import Discrepancy, Statement
from disbursements.services import batch_create, disbursement_approve, disbursement_request
from families.models import (
    CrossingPoint,
    DuplicateFlag,
    Family,
    FamilyImport,
    KoboForm,
    KoboSubmission,
    Province,
)
from families.services import MemberInput, family_register
from grievances.models import PdvRound, PdvSample
from grievances.services import grievance_create
from referrals.models import ServiceType
from referrals.services import referral_create, referral_transition, webhook_endpoint_create
from reports.models import SituationReport
from tests.factories import _father, _given

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

PROJECT_APPS = {"accounts", "families", "disbursements", "referrals", "reports", "grievances"}
SMALL, MORE = 3, 9  # three: every kind of row (requested, approved, batched payment) from the start
_seq = itertools.count(1)


def _user(role: str, org: str | None = None):
    return user_create(
        username=f"q-{role}-{next(_seq)}",
        role=role,
        organization_code=org,
        password="pw-for-tests-1",
        check_password_strength=False,
    )


class World:
    """Rows of every kind, added `n` at a time, each with its own related rows (different users, places...)."""

    def __init__(self):
        self.users = {
            role: _user(role, "UNHCR" if role == "partner" else None)
            for role in ("case_worker", "finance", "coordinator", "partner", "admin")
        }
        self.approver = _user("finance")
        self.previous = None
        self.count = 0
        # One family whose page lists a growing number of referrals (one per new organization).
        self.focus = self._family(
            next(_seq), self.users["case_worker"], CrossingPoint.objects.get(code="TORKHAM")
        )
        # One verification round whose sample grows by one family each time.
        self.pdv_round = PdvRound.objects.create(
            paid_from=date(2026, 11, 1), paid_to=date(2026, 11, 30), seed=1, population_size=1000,
            sample_size=100, created_by=self.users["finance"],
        )  # fmt: skip

    def _family(self, i: int, maker, crossing_point) -> Family:
        def member(relationship, given, sex="M", **kw):
            return MemberInput(
                given_name=given, father_name=_father(i), family_name="Khan", sex=sex,
                relationship=relationship, **({"date_of_birth": date(1980, 1, 1)} | kw),
            )  # fmt: skip

        return family_register(
            created_by=maker,
            crossing_point=crossing_point,
            arrival_date=date(2026, 11, 20),
            destination_province=Province.objects.order_by("pk")[i % 5],
            phone=f"+9370{i:07d}",
            consent_to_share=True,
            members=[
                member("head", _given(i), tazkira_number=f"1400-{i:04d}-00001"),
                member("spouse", _given(i + 1), sex="F"),
                member("child", _given(i + 2), date_of_birth=None, age_years=7),
            ],
        )

    def grow(self, n: int) -> None:
        for _ in range(n):
            self._one(next(_seq), self.count)
            self.count += 1

    def _one(self, i: int, k: int) -> None:
        worker, finance, partner = self.users["case_worker"], self.users["finance"], self.users["partner"]
        maker = _user("case_worker")
        api_key_create(user=maker)
        org = organization_create(code=f"NGO{i}", name=f"Partner {i}")
        crossing_point = CrossingPoint.objects.create(
            code=f"XP{i}", name=f"Crossing {i}", case_prefix=f"Z{i:03d}"
        )
        Province.objects.create(code=f"Q-{i:03d}", name=f"Province {i}")
        ServiceType.objects.create(code=f"svc-{i}", name=f"Service {i}")
        family = self._family(i, maker, crossing_point)

        payment = disbursement_request(family=family, requested_by=maker)
        if k % 3:
            payment = disbursement_approve(disbursement=payment, approved_by=self.approver)
        if k % 3 == 2:
            batch_create(channel="cash", disbursement_ids=[payment.pk], created_by=finance)

        webhook_endpoint_create(actor=partner, url=f"https://partner.example.org/hook/{i}")
        referral = referral_create(
            family=family, organization_code="UNHCR", service_code="shelter", created_by=maker
        )
        referral_transition(referral=referral, target="accepted", actor=partner, note="seen")
        referral_create(family=self.focus, organization_code=org.code, service_code="food", created_by=maker)

        if self.previous is not None:
            DuplicateFlag.objects.create(family=family, candidate=self.previous, score=90, reasons=["phone"])
        self.previous = family

        statement = Statement.objects.create(
            sha256=f"{i:064d}", filename=f"statement-{i}.csv", file_format="csv", content=b"",
            status=Statement.Status.DONE, uploaded_by=finance,
        )  # fmt: skip
        Discrepancy.objects.create(
            kind=Discrepancy.Kind.UNKNOWN_REFERENCE,
            statement=statement,
            disbursement=payment,
            details=f"line {i}",
        )
        FamilyImport.objects.create(
            filename=f"list-{i}.csv", sha256=f"{i:064d}", content=b"", created_by=worker,
            status=FamilyImport.Status.DONE,
        )  # fmt: skip
        day = date(2026, 1, 1) + timedelta(days=i)
        SituationReport.objects.create(
            kind="daily", period_start=day, period_end=day, status="done", totals={"families": i}
        )
        grievance_create(
            family=family, category="wrong_amount", description=f"Complaint {i}", created_by=maker,
            sensitive=bool(k % 2), assigned_to=maker if k % 2 == 0 else None,
        )  # fmt: skip
        PdvSample.objects.create(round=self.pdv_round, position=i, disbursement=payment, family=family)
        PdvRound.objects.create(
            paid_from=day, paid_to=day, seed=i, population_size=10, sample_size=10, created_by=finance
        )
        kobo_form = KoboForm.objects.create(asset_uid=f"asset{i}", name=f"Form {i}", import_as=maker)
        KoboSubmission.objects.create(form=kobo_form, uuid=f"sub-{i}", status="registered", family=family)


def _results(response) -> int:
    return len(response.json()["results"])


def _matches(pattern: str):
    regex = re.compile(pattern)
    return lambda response: len(regex.findall(response.content.decode()))


TABLE_ROW = _matches(r"<tr[ >]")
ADMIN_ROW = _matches(r'<th class="field-')


@dataclass(frozen=True)
class Case:
    url_name: str
    role: str
    rows: object  # response -> number of rows shown
    query: str = ""
    kind: str = "page"  # "api" (Bearer key), "page" (logged-in session)
    kwargs: dict = field(default_factory=dict)
    id: str = ""

    def url(self, world: World) -> str:
        kwargs = {k: v(world) for k, v in self.kwargs.items()}
        return reverse(self.url_name, kwargs=kwargs) + (f"?{self.query}" if self.query else "")


LIST_CASES = [
    # REST API
    Case("api-families", "case_worker", _results, kind="api"),
    Case("api-families", "case_worker", _results, query="search=Khan", kind="api", id="api-families-search"),
    Case("api-duplicates", "case_worker", _results, kind="api"),
    Case("api-disbursements", "finance", _results, kind="api"),
    Case(
        "api-disbursements",
        "coordinator",
        _results,
        query="status=approved",
        kind="api",
        id="api-disb-status",
    ),
    Case("api-batches", "finance", _results, kind="api"),
    Case("api-discrepancies", "finance", _results, query="resolved=false", kind="api"),
    Case("api-referrals", "coordinator", _results, kind="api", id="api-referrals-staff"),
    Case("api-referrals", "partner", _results, kind="api", id="api-referrals-partner-pull"),
    Case(
        "api-referrals",
        "partner",
        _results,
        query="updated_since=2026-01-01T00:00:00%2B04:30&status=accepted",
        kind="api",
        id="api-referrals-partner-sync",
    ),  # fmt: skip
    Case("api-webhooks", "partner", _results, kind="api"),
    Case("api-webhook-deliveries", "partner", _results, kind="api"),
    Case(
        "api-report-summary",
        "coordinator",
        lambda r: len(r.json()["referrals"]["by_organization"]),
        kind="api",
    ),
    Case("api-grievances", "case_worker", _results, kind="api"),
    Case(
        "api-grievances",
        "coordinator",
        _results,
        query="category=wrong_amount&active=true",
        kind="api",
        id="api-grievances-filtered",
    ),  # fmt: skip
    Case("api-pdv-rounds", "finance", _results, kind="api"),
    Case(
        "api-pdv-samples", "case_worker", _results, kind="api", kwargs={"round_id": lambda w: w.pdv_round.pk}
    ),
    # Pages
    Case("home", "case_worker", TABLE_ROW, id="home-case-worker"),
    Case("home", "finance", TABLE_ROW, id="home-finance"),
    Case("family-search", "case_worker", TABLE_ROW, query="q=Khan"),
    Case("family-detail", "case_worker", _matches(r"<li>\S+ · "), kwargs={"family_id": lambda w: w.focus.pk}),
    Case("duplicate-queue", "case_worker", _matches(r'<section class="card"')),
    Case("payment-queue", "finance", TABLE_ROW, query="status="),
    Case("payment-queue", "finance", TABLE_ROW, query="status=approved", id="payment-queue-approved"),
    Case("batch-index", "finance", TABLE_ROW),
    Case("statement-index", "finance", TABLE_ROW),
    Case("discrepancy-index", "finance", TABLE_ROW),
    Case("referral-overview", "coordinator", TABLE_ROW),
    Case("family-import", "case_worker", TABLE_ROW),
    Case("report-dashboard", "coordinator", TABLE_ROW),
    Case("grievance-index", "case_worker", TABLE_ROW),
    Case("pdv-index", "coordinator", TABLE_ROW),
    Case(
        "pdv-detail",
        "case_worker",
        TABLE_ROW,
        query="show=all",
        kwargs={"round_id": lambda w: w.pdv_round.pk},
    ),
]

ADMIN_CASES = {
    "accounts.Organization",
    "accounts.User",
    "accounts.UserAPIKey",
    "accounts.AuditEvent",
    "families.CrossingPoint",
    "families.Province",
    "families.Family",
    "families.DuplicateFlag",
    "families.KoboForm",
    "families.KoboSubmission",
    "referrals.ServiceType",
    "grievances.Grievance",
    "grievances.GrievanceEvent",
    "grievances.PdvRound",
}

# Routes that are not lists, and why.
NOT_LISTS = {
    "healthz": "health check",
    "schema": "OpenAPI document",
    "api-docs": "static page",
    "set_language": "POST only",
    "login": "form",
    "logout": "POST only",
    "api-family-detail": "one family (members prefetched)",
    "api-family-export": "one family's export: a fixed number of queries (prefetched), tests/privacy",
    "family-export": "one family's export: a fixed number of queries (prefetched), tests/privacy",
    "api-family-consent-withdraw": "action",
    "family-consent-withdraw": "action (and its confirmation page)",
    "api-family-close": "action",
    "family-case-close": "action (and its confirmation page)",
    "api-duplicate-resolve": "action",
    "api-family-disbursements": "POST only",
    "api-disbursement-detail": "one payment",
    "api-disbursement-approve": "action",
    "api-disbursement-reject": "action",
    "api-disbursement-cancel": "action",
    "api-disbursement-reissue": "action",
    "api-disbursement-confirm-cash": "action",
    "api-reconciliations": "POST only (upload)",
    "api-reconciliation-detail": "one statement",
    "api-discrepancy-resolve": "action",
    "api-batch-detail": "one batch",
    "api-batch-export": "file download",
    "api-batch-export-xlsx": "file download",
    "api-family-referrals": "POST only",
    "api-referral-detail": "one referral",
    "api-referral-status": "action",
    "api-webhook-detail": "DELETE only",
    "family-register": "form",
    "family-register-offline": "form (reference data only)",
    "family-register-offline-sw": "JavaScript",
    "family-edit": "form",
    "kobo-export-import": "POST only",
    "family-import-template": "file download",
    "family-import-detail": "one import",
    "family-import-report": "file download",
    "family-import-apply": "POST only",
    "duplicate-resolve": "POST only",
    "payment-bulk": "POST only",
    "payment-detail": "one payment; its short ledger is loaded with select_related('actor')",
    "payment-request": "POST only",
    "statement-detail": "one statement",
    "batch-export": "POST only (file download)",
    "referral-create": "POST only",
    "referral-close": "POST only",
    "report-download": "file download",
    "api-grievance-detail": "one complaint with its history and payment",
    "api-grievance-status": "action",
    "api-pdv-round-detail": "one round and its report (aggregates)",
    "api-pdv-answer": "action",
    "grievance-detail": "one complaint with its history and payment",
    "grievance-new": "form",
    "pdv-answer": "form",
}


def _case_id(case: Case) -> str:
    return case.id or case.url_name


def _admin_url(label: str) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name.lower()}_changelist")


@dataclass
class Measured:
    url: str
    status: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    queries: list = field(default_factory=list)


@pytest.fixture(scope="module")
def measured(django_db_setup, django_db_blocker):
    """Every case measured with SMALL rows, then with SMALL + MORE: the world is built once for all cases.

    Runs in one transaction rolled back at the end, marked like a TestCase's so that the services' durable
    transactions nest in it as they do in every other test.
    """
    from aidcase.celery import app

    eager, app.conf.task_always_eager = app.conf.task_always_eager, True
    fast_passwords = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast_passwords:
        outer = transaction.atomic()
        outer._from_testcase = True
        outer.__enter__()
        try:
            yield _measure_all()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            app.conf.task_always_eager = eager


def _measure_all() -> dict:
    world = World()
    clients, measured = {}, {}
    for role, user in world.users.items():
        _, key = api_key_create(user=user)
        clients["api", role] = APIClient(HTTP_AUTHORIZATION=f"Bearer {key}")
        clients["page", role] = Client()
        clients["page", role].force_login(user)
    targets = [(_case_id(c), clients[c.kind, c.role], c.url(world), c.rows) for c in LIST_CASES] + [
        (label, clients["page", "admin"], _admin_url(label), ADMIN_ROW) for label in sorted(ADMIN_CASES)
    ]
    world.grow(SMALL)
    for _, client, url, _ in targets:
        client.get(url)  # warm-up: first-use caches, the keys' last_used_at update
    for size in (SMALL, MORE):
        if size is MORE:
            world.grow(MORE)
        for name, client, url, rows in targets:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            result = measured.setdefault(name, Measured(url))
            result.status.append(response.status_code)
            result.rows.append(rows(response) if response.status_code == 200 else None)
            result.queries.append([q["sql"] for q in queries.captured_queries])
    return measured


def _assert_constant(result: Measured) -> None:
    assert result.status == [200, 200], (result.url, result.status)
    small, large = result.rows
    assert large > small > 0, f"{result.url}: the new rows are not shown ({small} -> {large})"
    assert len(result.queries[1]) == len(result.queries[0]), (
        f"{result.url}: {len(result.queries[0])} queries for {small} rows, {len(result.queries[1])} for {large}:\n"
        + "\n".join(sql[:300] for sql in result.queries[1])
    )


@pytest.mark.parametrize("case", LIST_CASES, ids=_case_id)
def test_list_queries_do_not_grow_with_rows(case, measured):
    _assert_constant(measured[_case_id(case)])


@pytest.mark.parametrize("label", sorted(ADMIN_CASES))
def test_admin_changelist_queries_do_not_grow_with_rows(label, measured):
    _assert_constant(measured[label])


def _named_routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the admin is checked model by model below
            yield from _named_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield pattern.name or prefix + str(pattern.pattern), pattern


def test_every_route_is_classified():
    """A new route must be measured (LIST_CASES) or said not to be a list (NOT_LISTS)."""
    routes = dict(_named_routes(get_resolver().url_patterns))
    measured = {case.url_name for case in LIST_CASES}
    unclassified = set(routes) - measured - set(NOT_LISTS)
    assert not unclassified, f"add these routes to LIST_CASES or NOT_LISTS: {sorted(unclassified)}"
    assert not (measured & set(NOT_LISTS)), "a route is both a list and not a list"
    assert not (measured | set(NOT_LISTS)) - set(routes), "LIST_CASES/NOT_LISTS name routes that are gone"
    # An API view that paginates is a list whatever NOT_LISTS says.
    paginated = {
        name
        for name, pattern in routes.items()
        if getattr(getattr(pattern.callback, "view_class", None), "pagination_ordering", None)
    }
    assert paginated <= measured, (
        f"paginated API views missing from LIST_CASES: {sorted(paginated - measured)}"
    )


def test_every_project_admin_is_measured():
    registered = {m._meta.label for m in admin.site._registry if m._meta.app_label in PROJECT_APPS}
    assert registered == set(ADMIN_CASES), (
        f"measure these changelists (ADMIN_CASES): {sorted(registered - set(ADMIN_CASES))}; "
        f"gone: {sorted(set(ADMIN_CASES) - registered)}"
    )
