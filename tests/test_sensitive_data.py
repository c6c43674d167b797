"""Phone and document numbers: never in logs or error pages; in partner responses only where the contract
lists them (a referral carries the family's phone, never a document number); access is audited without them.

Families are registered with recognisable numbers; the API and pages are then used as every role, error paths
included (400, 403, 404, 409 and a 500 with DEBUG off), while everything logged at DEBUG goes through the
configured handlers into a buffer. Both buffers and every response body are then scanned.
"""

import io
import logging
import re

import pytest
from django.test import Client

from accounts.models import AuditEvent
from tests.conftest import registration_body
from tests.crash_urls import SECRET_PHONE, SECRET_TAZKIRA

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

TAZKIRAS = [SECRET_TAZKIRA, "1399-4242-90210"]
PHONE_LOCAL = "0799 313 370"
ROLES = ["case_worker", "finance", "coordinator", "partner", "admin"]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _contains(text: str, secret: str) -> bool:
    """The number in any spacing: 1400-7777-31337, 1400 7777 31337, 14007777 31337 ..."""
    return _digits(secret) in _digits(text) or secret in text


@pytest.fixture
def log_output(caplog):
    """What the configured handlers (LOGGING in settings) write, with every logger at DEBUG."""
    caplog.set_level(logging.DEBUG)
    buffer = io.StringIO()
    handlers = [h for h in logging.getLogger().handlers if h.name == "console"]
    assert handlers, "the console handler of settings.LOGGING is not installed"
    previous = [h.setStream(buffer) for h in handlers]
    for name in ("django", "django.request", "django.db.backends", "aidcase", "families", "referrals"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)
    for name in ("django", "django.request", "django.db.backends", "aidcase", "families", "referrals"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    logging.getLogger("django.db.backends").setLevel(logging.WARNING)


def _exercise(make_user, api_client, settings):
    """Every role through the API and pages, happy and error paths; returns [(who, what, response)]."""
    from referrals.services import referral_create

    seen = []
    users = {role: make_user(role) for role in ROLES}
    iom = make_user("partner", org="IOM")
    worker = api_client(users["case_worker"])
    bodies = []
    for n, tazkira in enumerate(TAZKIRAS):
        body = registration_body(phone=SECRET_PHONE if n == 0 else "+93700555001")
        body["members"][0].update(tazkira_number=tazkira, given_name=["Gul", "Karim"][n])
        bodies.append(body)
        response = worker.post("/api/v1/families/", body, format="json")
        assert response.status_code == 201, response.content
        seen.append(("case_worker", "register", response))
    family_id = seen[0][2].json()["id"]
    from families.models import Family

    referral = referral_create(
        family=Family.objects.get(pk=family_id),
        organization_code="UNHCR",
        service_code="shelter",
        created_by=users["case_worker"],
    )
    # the same person again: possible duplicate, with reasons
    seen.append(
        ("case_worker", "register duplicate", worker.post("/api/v1/families/", bodies[0], format="json"))
    )
    # bad bodies: a bad phone and a bad tazkira field, an unknown crossing point
    bad = registration_body(phone="+93 7993 13370 999 bad")
    bad["members"][0]["tazkira_number"] = SECRET_TAZKIRA + "x" * 80
    seen.append(("case_worker", "400", worker.post("/api/v1/families/", bad, format="json")))
    for role, user in [*users.items(), ("iom", iom)]:
        client = api_client(user)
        calls = [
            ("get", f"/api/v1/families/?search={SECRET_TAZKIRA}"),
            ("get", f"/api/v1/families/?search={SECRET_PHONE}"),
            ("get", f"/api/v1/families/{family_id}/"),
            ("get", "/api/v1/families/00000000-0000-0000-0000-000000000000/"),
            ("get", "/api/v1/referrals/"),
            ("get", f"/api/v1/referrals/{referral.pk}/"),
            ("post", f"/api/v1/referrals/{referral.pk}/status/", {"status": "declined"}),
            ("post", f"/api/v1/families/{family_id}/disbursements/", {}),
            ("post", f"/api/v1/families/{family_id}/disbursements/", {}),  # 409 the second time
            ("get", "/api/v1/families/not-a-uuid/"),
        ]
        for method, url, *body in calls:
            response = getattr(client, method)(url, *(body or []), format="json")
            seen.append((role, f"{method} {url}", response))
        page = Client()
        page.force_login(user)
        for url in [f"/families/?q={SECRET_TAZKIRA}", f"/families/{family_id}/", "/payments/", "/referrals/"]:
            seen.append((role, f"page {url}", page.get(url)))
    crash = Client(raise_request_exception=False)
    crash.force_login(users["case_worker"])
    settings.ROOT_URLCONF = "tests.crash_urls"
    for url in ("/api/v1/test-crash/", "/test-crash/"):
        response = crash.get(url)
        assert response.status_code == 500
        seen.append(("case_worker", f"500 {url}", response))
    settings.ROOT_URLCONF = "aidcase.urls"
    return seen, family_id


def test_numbers_never_reach_logs_error_pages_or_partners(make_user, api_client, settings, log_output):
    seen, family_id = _exercise(make_user, api_client, settings)

    logged = log_output.getvalue()
    assert "Internal Server Error: /api/v1/test-crash/" in logged and "ValueError" in logged  # it was logged
    for secret in [*TAZKIRAS, SECRET_PHONE]:
        assert not _contains(logged, secret), f"{secret} in the logs:\n" + "\n".join(
            line for line in logged.splitlines() if _contains(line, secret)
        )

    for role, what, response in seen:
        body = response.content.decode(errors="replace")
        if response.status_code >= 400:  # error pages and API errors: no numbers from the registry
            for secret in [*TAZKIRAS, SECRET_PHONE]:
                if _contains(what, secret):
                    continue  # the caller's own URL (e.g. the language switch's `next`) is theirs already
                assert not _contains(body, secret), (role, what, response.status_code, body[:500])
        if role in ("partner", "iom"):
            for secret in TAZKIRAS:
                if _contains(what, secret):
                    continue
                assert not _contains(body, secret), (role, what, body[:500])
            assert "date_of_birth" not in body and "tazkira" not in body.lower(), (role, what)
            if _contains(body, SECRET_PHONE):  # only inside a referral's family, as the contract says
                data = response.json()
                referrals = data.get("results", [data])
                assert all(r["family"]["phone"] == SECRET_PHONE for r in referrals if "family" in r)
                assert what.startswith("get /api/v1/referrals/"), what

    partner_reads = [r for r, w, resp in seen if r == "partner" and w.startswith("get /api/v1/referrals/")]
    assert partner_reads and all(
        resp.status_code == 200 for r, w, resp in seen if r == "partner" and w.startswith("get /api/v1/ref")
    )


def test_access_is_audited_without_the_numbers(make_user, api_client, settings, log_output):
    _, family_id = _exercise(make_user, api_client, settings)
    reads = AuditEvent.objects.filter(action__in=["family.viewed", "family.read_by_partner"])
    assert reads.filter(action="family.read_by_partner", target_id=family_id).exists()
    assert reads.exclude(action="family.read_by_partner").filter(target_id=family_id).exists()  # staff reads
    for event in reads:
        text = str(event.data)
        for secret in [*TAZKIRAS, SECRET_PHONE]:
            assert not _contains(text, secret), (event.action, event.data)


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("tazkira 1400-0101-12345 refused", "1400-0101-12345"),
        ("Key (tazkira_key)=(140001011234) already exists.", "140001011234"),
        ("call +93 700 123 456 or 0700 123 456", "700 123 456"),
        ("phone +93700123456", "+93700123456"),
    ],
)
def test_redaction_patterns(text, hidden):
    from aidcase.core.logging import redact

    assert hidden not in redact(text) and "[redacted]" in redact(text)


def test_redaction_leaves_ids_dates_and_amounts_alone():
    from aidcase.core.logging import redact

    text = "statement 6f1c2a7e-3b4d-4e5f-9a8b-7c6d5e4f3a2b on 2026-11-20: 10000.00 AFN, TKM-2026-000123"
    assert redact(text) == text
