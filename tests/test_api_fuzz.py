"""API fuzzing from the OpenAPI schema (schemathesis), against the WSGI app, as every role.

Every operation of `/api/schema/` gets generated requests (valid and invalid bodies, parameters and headers)
as anonymous, a case worker (Bearer key, and the browser session), finance, a coordinator, a partner and an
administrator. Half the generated ids are swapped for ids of real objects, so requests reach the services
and not only the 404 path. Each response must not be a 5xx and must conform to the schema: documented status
code, content type and body. Bounded by API_FUZZ_EXAMPLES (examples per operation, each sent as every role).
"""

import os
import random

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_key_create
from referrals.apis import PartnerKeyThrottle

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ROLES = ["anonymous", "case_worker", "case_worker_session", "finance", "coordinator", "partner", "admin"]
EVERY_ROLE_FIRST = int(os.environ.get("API_FUZZ_EVERY_ROLE", "10"))
_SEEN: dict = {}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_in_test_transaction(monkeypatch):
    """Requests through the WSGI app share the test's transaction: do not let them close its connection
    (Django's test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    # Thousands of partner calls a minute here; the throttle has its own test.
    monkeypatch.setattr(PartnerKeyThrottle, "THROTTLE_RATES", {"partner": "1000000/min"})
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _load_schema():
    """The served schema, fetched through the WSGI app (no database needed to build it)."""
    from aidcase.wsgi import application

    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = _load_schema()


@pytest.fixture
def fuzz_world(make_user, register_family, client):
    """One user per role with a key (or a session), and real objects for the path parameters."""
    from disbursements.services import batch_create, disbursement_approve, disbursement_request
    from families.models import DuplicateFlag
    from referrals.services import referral_create, webhook_endpoint_create

    users = {role: make_user(role) for role in ("case_worker", "finance", "coordinator", "partner", "admin")}
    finance2 = make_user("finance")
    auth = {"anonymous": ({}, {})}
    for role, user in users.items():
        auth[role] = ({"Authorization": f"Bearer {api_key_create(user=user)[1]}"}, {})
    client.force_login(users["case_worker"])
    auth["case_worker_session"] = ({}, {"sessionid": client.cookies["sessionid"].value})

    first = register_family(given="Gul", father="Ahmad", phone="+93700111222", tazkira="1400-0101-55555")
    register_family(given="Gol", father="Ahmed", phone="+93700111222")
    pending = disbursement_request(
        family=register_family(given="Karim", father="Omar"), requested_by=finance2
    )
    approved = disbursement_request(
        family=register_family(given="Nasir", father="Wali"), requested_by=finance2
    )
    disbursement_approve(disbursement=approved, approved_by=users["finance"])
    batch = batch_create(channel="cash", disbursement_ids=[approved.pk], created_by=users["finance"])
    referral = referral_create(
        family=first, organization_code="UNHCR", service_code="shelter", created_by=users["case_worker"]
    )
    endpoint = webhook_endpoint_create(actor=users["partner"], url="https://partner.example.org/hook")
    ids = {
        "family_id": [str(first.pk)],
        "disbursement_id": [str(pending.pk), str(approved.pk)],
        "batch_id": [str(batch.pk)],
        "referral_id": [str(referral.pk)],
        "flag_id": [str(p) for p in DuplicateFlag.objects.values_list("pk", flat=True)],
        "endpoint_id": [str(endpoint.pk)],
    }
    return auth, ids


# Plain pytest parameters (one per operation), each running its own Hypothesis search: schemathesis's own
# lazy parametrization runs only one of its items under pytest-xdist, which the test command uses.
OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}
FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "8")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def test_every_operation_of_the_schema_is_fuzzed():
    assert len(OPERATIONS) >= 40 and "POST /api/v1/families/" in OPERATIONS


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_as_every_role(label, fuzz_world, wsgi_in_test_transaction):
    operation = OPERATIONS[label]
    # Valid requests, and invalid ones (wrong types, missing fields, ids that are not UUIDs, ...).
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @FUZZ_SETTINGS
    @given(case=cases)
    def run(case):
        _send_as_roles(case, fuzz_world)

    run()


def _send_as_roles(case, fuzz_world):
    """The first requests of an operation (API_FUZZ_EVERY_ROLE) are sent as every role; any that follow go
    to one role at a time among those that got past authentication and the role check, so they reach the
    validation they are aimed at."""
    auth, ids = fuzz_world
    for name in list(case.path_parameters or {}):
        if ids.get(name) and random.random() < 0.5:  # noqa: S311 - hypothesis seeds it
            case.path_parameters[name] = random.choice(ids[name])  # noqa: S311
    seen = _SEEN.setdefault(case.operation.label, {"count": 0, "reaching": set()})
    seen["count"] += 1
    if seen["count"] <= EVERY_ROLE_FIRST or not seen["reaching"]:
        roles = ROLES
    else:
        reaching = sorted(seen["reaching"])
        roles = [reaching[seen["count"] % len(reaching)]]
    for role in roles:
        headers, cookies = auth[role]
        response = case.call(headers=headers, cookies=cookies)
        if response.status_code not in (401, 403):
            seen["reaching"].add(role)
        case.validate_response(response, checks=CHECKS)
