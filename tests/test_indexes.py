"""Every filter, search and sort that the API, the pages and the admin offer has an index that leads with it.

OFFERED says, for each list and each thing it lets the caller filter, search or sort by, which index must
exist: its leading columns (a composite where filter and sort go together), an expression or operator class
(case-insensitive match, trigram), or a partial index's condition. The test reads the indexes from the database
(`connection.introspection.get_constraints`, and `pg_index` for partial conditions), so an index dropped by a
migration fails it. Guards: every query parameter the OpenAPI schema documents for a list endpoint, every list
page, and every admin list filter, date hierarchy and default order must be covered here (or waived with a
reason), so a new filter cannot escape.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from referrals.models import Referral
from tests.test_list_queries import ADMIN_CASES, LIST_CASES, PROJECT_APPS

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@dataclass(frozen=True)
class Need:
    model: str
    columns: tuple[str, ...] = ()  # the index's leading columns, in order
    expression: str = ""  # a fragment of pg_get_indexdef (expression or operator class indexes)
    where: str = ""  # a fragment of the partial index's condition

    def __str__(self) -> str:
        return f"{self.model}({', '.join(self.columns) or self.expression}){' WHERE ' + self.where if self.where else ''}"


FAMILY_SEARCH = (
    Need("families.Family", expression="upper((case_number)::text)"),  # case_number__iexact
    Need("families.Family", expression="gin (phone gin_trgm_ops)"),  # phone__endswith (last nine digits)
    Need("families.Member", ("tazkira_key",), where="tazkira_key"),
    Need("families.Member", expression="gin (name_key gin_trgm_ops)"),  # name_key__contains, per word
    Need("families.Member", ("family_id",)),  # id IN (members' family_id)
)
FAMILY_NEWEST = Need("families.Family", ("created_at", "id"))
REFERRAL_SYNC = (
    Need("referrals.Referral", ("organization_id", "updated_at", "id")),  # a partner's pull
    Need("referrals.Referral", ("updated_at", "id")),  # staff
)
DISCREPANCY_OLDEST = Need("disbursements.Discrepancy", ("created_at", "id"))
OPEN_REFERRAL = "NOT ((status)::text = ANY"
GRIEVANCE_QUEUE = Need("grievances.Grievance", ("done", "due_at", "id"))  # active first, then due date
GRIEVANCE_CATEGORY = Need("grievances.Grievance", ("category", "done", "due_at"))
GRIEVANCE_ASSIGNEE = Need("grievances.Grievance", ("assigned_to_id", "done", "due_at"))
PDV_ROUND_NEWEST = Need("grievances.PdvRound", ("created_at", "id"))
PDV_SAMPLE_ORDER = Need(
    "grievances.PdvSample", ("round_id", "position")
)  # the partial condition; its values are checked below

# (list, what it offers) -> the index(es) it needs. A list's keyset order is "ordering".
OFFERED: dict[tuple[str, str], tuple[Need, ...]] = {
    ("api-families", "ordering"): (FAMILY_NEWEST,),
    ("api-families", "search"): FAMILY_SEARCH,
    ("api-duplicates", "status"): (Need("families.DuplicateFlag", ("status", "created_at", "id")),),
    ("api-duplicates", "ordering"): (Need("families.DuplicateFlag", ("status", "created_at", "id")),),
    ("api-disbursements", "status"): (Need("disbursements.Disbursement", ("status", "requested_at")),),
    ("api-disbursements", "ordering"): (Need("disbursements.Disbursement", ("requested_at", "id")),),
    ("api-batches", "ordering"): (Need("disbursements.PayoutBatch", ("created_at", "id")),),
    ("api-discrepancies", "resolved"): (
        Need("disbursements.Discrepancy", ("created_at", "id"), where="resolved_at IS NULL"),
        DISCREPANCY_OLDEST,
    ),
    ("api-discrepancies", "kind"): (Need("disbursements.Discrepancy", ("kind", "created_at", "id")),),
    ("api-discrepancies", "ordering"): (DISCREPANCY_OLDEST,),
    ("api-referrals", "ordering"): REFERRAL_SYNC,
    ("api-referrals", "updated_since"): REFERRAL_SYNC,
    ("api-referrals", "status"): (
        Need("referrals.Referral", ("organization_id", "status", "updated_at", "id")),
        Need("referrals.Referral", ("status", "updated_at", "id")),
    ),
    ("api-referrals", "service"): (Need("referrals.Referral", ("service_id",)),),
    ("api-webhooks", "ordering"): (
        Need("referrals.WebhookEndpoint", ("organization_id", "created_at", "id")),
        Need("referrals.WebhookEndpoint", ("created_at", "id")),
    ),
    ("api-webhook-deliveries", "ordering"): (
        Need("referrals.WebhookDelivery", ("endpoint_id", "created_at", "id")),
        Need("referrals.WebhookDelivery", ("created_at", "id")),
    ),
    ("api-report-summary", "from"): (
        Need("families.Family", ("arrival_date",)),
        Need("disbursements.Disbursement", ("requested_at",)),
        Need("referrals.Referral", ("created_at",)),
    ),
    ("api-report-summary", "to"): (
        Need("families.Family", ("arrival_date",)),
        Need("disbursements.Disbursement", ("requested_at",)),
        Need("referrals.Referral", ("created_at",)),
    ),
    ("api-grievances", "ordering"): (GRIEVANCE_QUEUE,),
    ("api-grievances", "active"): (GRIEVANCE_QUEUE,),
    ("api-grievances", "overdue"): (GRIEVANCE_QUEUE,),
    ("api-grievances", "status"): (Need("grievances.Grievance", ("status", "due_at")),),
    ("api-grievances", "category"): (GRIEVANCE_CATEGORY,),
    ("api-grievances", "family"): (Need("grievances.Grievance", ("family_id",)),),
    ("api-grievances", "assigned_to_me"): (GRIEVANCE_ASSIGNEE,),
    ("api-pdv-rounds", "ordering"): (PDV_ROUND_NEWEST,),
    ("api-pdv-samples", "ordering"): (PDV_SAMPLE_ORDER,),
    # Pages
    ("home", "recent families"): (FAMILY_NEWEST,),
    ("home", "arrivals today"): (Need("families.Family", ("arrival_date",)),),
    ("home", "registered today"): (FAMILY_NEWEST,),
    ("home", "open duplicates"): (Need("families.DuplicateFlag", ("status",)),),
    ("family-search", "q"): FAMILY_SEARCH,
    ("family-search", "ordering"): (FAMILY_NEWEST,),
    ("family-detail", "members, duplicates, payments, referrals"): (
        Need("families.Member", ("family_id",)),
        Need("families.DuplicateFlag", ("family_id",)),
        Need("disbursements.Disbursement", ("family_id",)),
        Need("referrals.Referral", ("family_id",)),
    ),
    ("family-detail", "history"): (Need("accounts.AuditEvent", ("target_type", "target_id", "created_at")),),
    ("duplicate-queue", "ordering"): (Need("families.DuplicateFlag", ("status", "score")),),
    ("payment-queue", "status"): (Need("disbursements.Disbursement", ("status", "requested_at")),),
    ("payment-queue", "crossing_point"): (Need("families.Family", ("crossing_point_id",)),),
    ("payment-queue", "requested_from, requested_to"): (
        Need("disbursements.Disbursement", ("requested_at",)),
    ),
    ("payment-queue", "ordering"): (Need("disbursements.Disbursement", ("requested_at", "id")),),
    ("batch-index", "ordering"): (Need("disbursements.PayoutBatch", ("created_at",)),),
    ("statement-index", "ordering"): (Need("disbursements.Statement", ("created_at",)),),
    ("discrepancy-index", "show=open"): (
        Need("disbursements.Discrepancy", ("created_at", "id"), where="resolved_at IS NULL"),
    ),
    ("discrepancy-index", "show=resolved"): (DISCREPANCY_OLDEST,),
    ("referral-overview", "open, oldest first"): (
        Need("referrals.Referral", ("created_at",), where=OPEN_REFERRAL),
    ),
    ("referral-overview", "counts by organization and status"): (
        Need("referrals.Referral", ("organization_id", "status")),
    ),
    ("family-import", "recent"): (Need("families.FamilyImport", ("created_by_id", "created_at")),),
    ("report-dashboard", "reports"): (Need("reports.SituationReport", ("period_end", "kind")),),
    ("grievance-index", "show=active|overdue|done|all, ordering"): (GRIEVANCE_QUEUE,),
    ("grievance-index", "show=mine"): (GRIEVANCE_ASSIGNEE,),
    ("grievance-index", "category"): (GRIEVANCE_CATEGORY,),
    ("family-detail", "complaints"): (Need("grievances.Grievance", ("family_id",)),),
    ("pdv-index", "ordering"): (PDV_ROUND_NEWEST,),
    ("pdv-index", "answered per round"): (PDV_SAMPLE_ORDER,),
    ("pdv-detail", "show=pending|mismatch|all, ordering"): (PDV_SAMPLE_ORDER,),
}

# Admin changelists of small tables (reference data, staff accounts, keys, form settings): a sequential
# scan of a few hundred rows is the right plan there.
ADMIN_SMALL_TABLES = {
    "accounts.Organization",
    "accounts.User",
    "accounts.UserAPIKey",
    "families.CrossingPoint",
    "families.Province",
    "families.KoboForm",
    "referrals.ServiceType",
}
# The admin's own text search is a substring match (icontains) over several columns: no btree serves it,
# and it is an occasional administrator's tool. The registry search that staff use (API and pages) is indexed.
ADMIN_SEARCH_NOT_INDEXED = {"accounts.AuditEvent", "families.Family"}
# Admin filters on a status where only the rare value is worth an index (the common one reads most rows anyway).
ADMIN_FILTER_PARTIAL = {("families.Family", "status"): "'merged'"}


def _indexes() -> dict[str, list[dict]]:
    """Per table: each index with its columns, definition and partial condition."""
    result = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid), pg_get_expr(i.indpred, i.indrelid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        )
        details = {name: (definition, where or "") for name, definition, where in cursor.fetchall()}
        for model in apps.get_models():
            table = model._meta.db_table
            constraints = connection.introspection.get_constraints(cursor, table)
            result[table] = [
                {
                    "name": name,
                    "columns": tuple(c["columns"]),
                    "definition": details.get(name, ("", ""))[0],
                    "where": details.get(name, ("", ""))[1],
                }
                for name, c in constraints.items()
                if c["index"] or c["unique"] or c["primary_key"]
            ]
    return result


def _covering(need: Need, indexes: dict) -> list[str]:
    found = []
    for index in indexes[apps.get_model(need.model)._meta.db_table]:
        if need.columns and index["columns"][: len(need.columns)] != need.columns:
            continue
        if need.expression and need.expression not in index["definition"]:
            continue
        if need.where and need.where not in index["where"]:
            continue
        if not need.where and index["where"] and not need.expression:
            continue  # a partial index serves only queries with its condition
        found.append(index["name"])
    return found


@pytest.fixture(scope="module")
def indexes(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        return _indexes()


@pytest.mark.parametrize("offered", list(OFFERED), ids=lambda k: f"{k[0]}:{k[1]}")
def test_offered_filter_and_sort_have_an_index(offered, indexes):
    missing = [str(need) for need in OFFERED[offered] if not _covering(need, indexes)]
    assert not missing, f"{offered}: no index leads with {missing}"


def test_open_referral_index_matches_what_the_overview_calls_open(indexes):
    (index,) = [i for i in indexes["referrals_referral"] if i["name"] == "referral_open_idx"]
    assert sorted(v for v in Referral.Status.values if f"'{v}'" in index["where"]) == sorted(Referral.FINAL)


def _schema_parameters() -> dict[str, set[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: {p["name"] for p in ops["get"].get("parameters", []) if p["in"] == "query"}
        - {"cursor", "limit"}
        for path, ops in schema["paths"].items()
        if "get" in ops
    }


def _schema_path(case) -> str:
    """The list's path as the OpenAPI schema writes it: `/api/v1/pdv-rounds/{round_id}/samples/`."""
    placeholder = "00000000-0000-4000-8000-000000000000"
    path = reverse(case.url_name, kwargs=dict.fromkeys(case.kwargs, placeholder))
    for name in case.kwargs:
        path = path.replace(placeholder, "{" + name + "}", 1)
    return path


def test_every_documented_list_parameter_is_covered():
    """A query parameter added to a list endpoint (and so to the OpenAPI schema) must be in OFFERED."""
    parameters = _schema_parameters()
    missing = []
    for case in {c.url_name: c for c in LIST_CASES if c.kind == "api"}.values():
        offered = {what for where, what in OFFERED if where == case.url_name}
        missing += [f"{case.url_name}:{name}" for name in parameters[_schema_path(case)] - offered]
        if "ordering" not in offered and case.url_name != "api-report-summary":
            missing.append(f"{case.url_name}:ordering")
    assert not missing, f"add to OFFERED: {missing}"


def test_every_list_page_is_covered():
    pages = {c.url_name for c in LIST_CASES if c.kind == "page"}
    assert pages <= {where for where, _ in OFFERED}, (
        f"add to OFFERED: {sorted(pages - {w for w, _ in OFFERED})}"
    )


def _admin_needs() -> dict[str, list[tuple[str, Need | None]]]:
    """What each project admin changelist filters and sorts by, read from the ModelAdmin."""
    needs = {}
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        if model._meta.app_label not in PROJECT_APPS or label in ADMIN_SMALL_TABLES:
            continue
        items = []
        for entry in model_admin.list_filter:
            assert isinstance(entry, str), f"{label}: describe the index of list filter {entry!r} here"
            column = model._meta.get_field(entry).column
            where = ADMIN_FILTER_PARTIAL.get((label, entry), "")
            items.append((f"list_filter {entry}", Need(label, (column,), where=where)))
        if model_admin.date_hierarchy:
            column = model._meta.get_field(model_admin.date_hierarchy).column
            items.append((f"date_hierarchy {model_admin.date_hierarchy}", Need(label, (column,))))
        ordering = model_admin.ordering or model._meta.ordering or ["-pk"]
        first = ordering[0].lstrip("-")
        column = model._meta.pk.column if first == "pk" else model._meta.get_field(first).column
        items.append((f"ordering {ordering[0]}", Need(label, (column,))))
        if model_admin.search_fields and label not in ADMIN_SEARCH_NOT_INDEXED:
            items.append((f"search {model_admin.search_fields}", None))
        needs[label] = items
    return needs


def test_admin_filters_and_orderings_have_an_index(indexes):
    assert set(_admin_needs()) | ADMIN_SMALL_TABLES == ADMIN_CASES
    missing = [
        f"{label}: {what}"
        for label, items in _admin_needs().items()
        for what, need in items
        if need is None or not _covering(need, indexes)
    ]
    assert not missing, f"no index for: {missing}"


# --- plans on a modest dataset ------------------------------------------------------------------------------
# A few key queries are EXPLAINed after ANALYZE on a few thousand rows: enough for PostgreSQL to prefer the
# index on its own (no planner settings changed).

PLAN_ROWS = 20000


def _clone(model, template, overrides: dict[str, str]) -> None:
    """PLAN_ROWS copies of `template` in one INSERT ... SELECT (generate_series `g`), some columns varied."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields]
    values = [overrides.get(c, f't."{c}"') for c in columns]
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f"INSERT INTO {table} ({names}) SELECT {', '.join(values)} FROM {table} t, generate_series(1, %s) g"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql + " WHERE t.id = %s", [PLAN_ROWS, template.pk])  # our own names, not input
        cursor.execute(f"ANALYZE {table}")


@pytest.fixture
def modest_dataset(make_user, register_family):
    from referrals.services import referral_create

    worker, partner = make_user("case_worker"), make_user("partner", org="UNHCR")
    family = register_family(created_by=worker)
    referral = referral_create(
        family=family, organization_code="UNHCR", service_code="shelter", created_by=worker
    )
    family_model = type(family)
    _clone(family_model, family, {
        "id": "gen_random_uuid()", "case_number": "'TKM-2025-' || lpad(g::text, 6, '0')",
        "phone": "'+9371' || lpad(g::text, 7, '0')", "client_reference": "NULL",
    })  # fmt: skip
    organizations = list(apps.get_model("accounts.Organization").objects.values_list("pk", flat=True))
    _clone(Referral, referral, {
        "id": "gen_random_uuid()",
        "organization_id": f"(ARRAY{organizations})[1 + g %% {len(organizations)}]",
        "updated_at": "t.updated_at - g * interval '1 minute'",
    })  # fmt: skip
    return partner


def test_plans_use_the_indexes(modest_dataset):
    from families.models import Family
    from referrals.selectors import referral_list

    by_case_number = Family.objects.filter(case_number__iexact="tkm-2025-000123").explain()
    assert "family_case_number_upper_idx" in by_case_number, by_case_number
    by_phone = Family.objects.filter(phone__endswith="710000123").explain()
    assert "family_phone_trgm" in by_phone, by_phone
    partner_page = referral_list(actor=modest_dataset).order_by("updated_at", "id")[:101].explain()
    assert "Index Scan using referral_partner_sync_idx" in partner_page, partner_page
    assert "Seq Scan on referrals_referral" not in partner_page, partner_page
