"""Every role against every API endpoint (and anonymous): the expected status, nothing more."""

import pytest

from tests.conftest import registration_body

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "case_worker", "finance", "coordinator", "partner", "admin"]
REGISTRY = {"case_worker", "finance", "coordinator", "admin"}
REVIEWERS = {"case_worker", "admin"}
FINANCE = {"finance"}
REQUESTERS = {"case_worker", "finance"}


def _expected(role, allowed, ok):
    if role == "anonymous":
        return 401
    return ok if role in allowed else 403


# (method, url template, body, roles allowed, status when allowed)
ENDPOINTS = [
    ("get", "/api/v1/families/", None, REGISTRY, 200),
    ("post", "/api/v1/families/", "registration", REGISTRY, 201),
    ("get", "/api/v1/families/{family}/", None, REGISTRY, 200),
    ("get", "/api/v1/duplicates/", None, REVIEWERS, 200),
    ("post", "/api/v1/duplicates/{flag}/resolve/", {"decision": "distinct"}, REVIEWERS, 200),
    ("post", "/api/v1/families/{family}/disbursements/", {}, REQUESTERS, 201),
    ("get", "/api/v1/disbursements/", None, REGISTRY, 200),
    ("get", "/api/v1/disbursements/{disbursement}/", None, REGISTRY, 200),
    ("post", "/api/v1/disbursements/{disbursement}/approve/", None, FINANCE, 200),
    ("post", "/api/v1/disbursements/{disbursement}/reject/", {"reason": "no"}, FINANCE, 200),
    ("get", "/api/v1/batches/", None, {"finance", "admin"}, 200),
    ("post", "/api/v1/batches/", {"channel": "cash", "disbursements": ["{approved}"]}, FINANCE, 201),
    (
        "post",
        "/api/v1/families/{family}/referrals/",
        {"organization": "UNHCR", "service": "food"},
        {"case_worker", "admin"},
        201,
    ),
    ("get", "/api/v1/referrals/", None, {"case_worker", "coordinator", "admin", "partner"}, 200),
    ("get", "/api/v1/referrals/{referral}/", None, {"case_worker", "coordinator", "admin", "partner"}, 200),
    (
        "post",
        "/api/v1/referrals/{referral}/status/",
        {"status": "closed"},
        {"case_worker", "coordinator", "admin"},
        200,
    ),
    ("get", "/api/v1/webhooks/", None, {"partner", "admin"}, 200),
    ("post", "/api/v1/webhooks/", {"url": "https://partner.example.org/hook"}, {"partner"}, 201),
    ("get", "/api/v1/webhooks/deliveries/", None, {"partner", "admin"}, 200),
]


@pytest.fixture
def world(make_user, register_family):
    from disbursements.services import disbursement_approve, disbursement_request
    from families.models import DuplicateFlag

    requester = make_user("case_worker", "requester")
    first = register_family(given="Gul", father="Ahmad")
    second = register_family(given="Gol", father="Ahmed")
    third = register_family(given="Karim", father="Omar")
    fourth = register_family(given="Nasir", father="Wali")
    pending = disbursement_request(family=third, requested_by=requester)
    approved = disbursement_request(family=fourth, requested_by=requester)
    disbursement_approve(disbursement=approved, approved_by=make_user("finance", "approver"))
    from referrals.services import referral_create

    referral = referral_create(
        family=first, organization_code="UNHCR", service_code="shelter", created_by=requester
    )
    return {
        "referral": str(referral.pk),
        "family": str(first.pk),
        "flag": str(DuplicateFlag.objects.get(family=second).pk),
        "disbursement": str(pending.pk),
        "approved": str(approved.pk),
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "allowed", "ok"), ENDPOINTS, ids=[f"{m} {u}" for m, u, *_ in ENDPOINTS]
)
def test_permission_matrix(world, make_user, api_client, role, method, url, body, allowed, ok):
    client = api_client(None if role == "anonymous" else make_user(role))
    if body == "registration":
        body = registration_body()
    elif isinstance(body, dict):
        body = {k: [x.format(**world) for x in v] if isinstance(v, list) else v for k, v in body.items()}
    response = (
        getattr(client, method)(url.format(**world), body, format="json")
        if method == "post"
        else client.get(url.format(**world))
    )
    assert response.status_code == _expected(role, allowed, ok), response.content[:300]


@pytest.mark.parametrize("role", ROLES)
def test_schema_docs_and_health_are_public(api_client, make_user, role):
    client = api_client(None if role == "anonymous" else make_user(role))
    assert client.get("/api/schema/").status_code == 200
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/healthz").status_code == 200
