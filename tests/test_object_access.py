"""Object-level access (IDOR): every URL that takes an object id, tried by every role against objects it must
not reach (403/404; anonymous 401 or the login page), with a positive control that the rightful user gets in.

The URLconf is walked: a new URL with an id that is not in ACCESS fails `test_every_url_with_an_id_is_covered`,
so none can escape this matrix.
"""

import re
from datetime import date

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.services import api_key_create, user_create
from families.imports import TEMPLATE_COLUMNS, family_import_submit

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ROLES = ["cw1", "cw2", "fin1", "fin2", "coord", "unhcr", "iom", "admin"]


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue  # Django admin: staff only, tested in test_admin_is_for_administrators_only
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            if "<" in route or re.search(r"\(\?P<", route):
                yield p.name, route


# name -> (method, url template, body, refused [(role, object)], allowed (role, object, statuses))
# An object key in the template ({family}, {referral}, ...) is replaced by the world's object of that name;
# the refused/allowed entries may name another object for the same placeholder.
ACCESS = {
    # --- API
    "api-family-detail": ("get", "/api/v1/families/{family}/", None, ["unhcr", "iom"], ("fin1", 200)),
    "api-duplicate-resolve": (
        "post",
        "/api/v1/duplicates/{flag}/resolve/",
        {"decision": "distinct"},
        ["fin1", "coord", "unhcr"],
        ("cw2", 200),
    ),
    "api-family-disbursements": (
        "post",
        "/api/v1/families/{family}/disbursements/",
        {},
        ["coord", "unhcr", "iom", "admin"],
        ("cw2", 201),
    ),
    "api-disbursement-detail": (
        "get",
        "/api/v1/disbursements/{pending}/",
        None,
        ["unhcr", "iom"],
        ("coord", 200),
    ),
    "api-disbursement-approve": (
        "post",
        "/api/v1/disbursements/{pending}/approve/",
        None,
        # fin1 requested it: four-eyes; cw1 requested it too in `pending_cw`
        ["cw1", "cw2", "coord", "unhcr", "admin", ("fin1", "pending")],
        ("fin2", 200),
    ),
    "api-disbursement-reject": (
        "post",
        "/api/v1/disbursements/{pending}/reject/",
        {"reason": "no"},
        ["cw1", "cw2", "coord", "unhcr", "admin"],
        ("fin2", 200),
    ),
    "api-disbursement-cancel": (
        "post",
        "/api/v1/disbursements/{pending_cw}/cancel/",
        {"reason": "no"},
        ["cw2", "coord", "unhcr", "iom", "admin"],  # a case worker cancels only what they requested
        ("cw1", 200),
    ),
    "api-disbursement-reissue": (
        "post",
        "/api/v1/disbursements/{failed}/reissue/",
        None,
        ["coord", "unhcr", "admin"],
        ("cw2", 201),
    ),
    "api-disbursement-confirm-cash": (
        "post",
        "/api/v1/disbursements/{exported}/confirm-cash/",
        {"signature_reference": "S-1"},
        ["cw1", "coord", "unhcr", "admin"],
        ("fin2", 200),
    ),
    "api-reconciliation-detail": (
        "get",
        "/api/v1/reconciliations/{statement}/",
        None,
        ["cw1", "coord", "unhcr"],
        ("fin2", 200),
    ),
    "api-discrepancy-resolve": (
        "post",
        "/api/v1/discrepancies/{discrepancy}/resolve/",
        {"note": "checked"},
        ["cw1", "coord", "unhcr", "admin"],
        ("fin2", 200),
    ),
    "api-batch-detail": ("get", "/api/v1/batches/{batch}/", None, ["cw1", "coord", "unhcr"], ("fin2", 200)),
    "api-batch-export": (
        "post",
        "/api/v1/batches/{batch}/export/",
        None,
        ["cw1", "coord", "unhcr", "admin"],
        ("fin2", 200),
    ),
    "api-batch-export-xlsx": (
        "get",
        "/api/v1/batches/{exported_batch}/export.xlsx",
        None,
        ["cw1", "coord", "unhcr"],
        ("fin2", 200),
    ),
    "api-family-referrals": (
        "post",
        "/api/v1/families/{family}/referrals/",
        {"organization": "UNHCR", "service": "food"},
        ["fin1", "coord", "unhcr"],
        ("cw2", 201),
    ),
    "api-referral-detail": (
        "get",
        "/api/v1/referrals/{referral}/",
        None,
        ["iom", "fin1", ("unhcr", "iom_referral")],  # another organization's referral: 404
        ("unhcr", 200),
    ),
    "api-referral-status": (
        "post",
        "/api/v1/referrals/{referral}/status/",
        {"status": "accepted"},
        ["iom", "fin1", "cw1", ("unhcr", "iom_referral")],
        ("unhcr", 200),
    ),
    "api-webhook-detail": (
        "delete",
        "/api/v1/webhooks/{endpoint}/",
        None,
        ["iom", "cw1", "fin1", ("unhcr", "iom_endpoint")],
        ("unhcr", 204),
    ),
    "api-grievance-detail": (
        "get",
        "/api/v1/grievances/{grievance}/",
        None,
        ["unhcr", "iom"],
        ("coord", 200),
    ),
    "api-grievance-status": (
        "post",
        "/api/v1/grievances/{grievance}/status/",
        {"status": "in_progress"},
        ["unhcr", "fin2"],  # finance handles only what is assigned to them
        ("coord", 200),
    ),
    "api-pdv-round-detail": ("get", "/api/v1/pdv-rounds/{round}/", None, ["unhcr", "iom"], ("cw1", 200)),
    "api-pdv-samples": ("get", "/api/v1/pdv-rounds/{round}/samples/", None, ["unhcr"], ("fin2", 200)),
    "api-pdv-answer": (
        "post",
        "/api/v1/pdv-samples/{sample}/answer/",
        {"reached": False},
        ["unhcr", "fin1", "fin2"],  # the calls are made by staff who did not pay
        ("coord", 200),
    ),
    "api-family-consent-withdraw": (
        "post",
        "/api/v1/families/{plain_family}/consent/withdraw/",
        {},
        ["fin1", "coord", "unhcr", "iom"],
        ("cw2", 200),
    ),
    "api-family-export": (
        "get",
        "/api/v1/families/{family}/export/",
        None,
        ["fin1", "coord", "unhcr", "iom"],
        ("cw2", 200),
    ),
    "api-family-close": (
        "post",
        "/api/v1/families/{plain_family}/close/",
        {},
        ["fin1", "coord", "unhcr", "iom"],
        ("cw2", 200),
    ),
    # --- pages
    "family-detail": ("get", "/families/{family}/", None, ["unhcr", "iom"], ("coord", 200)),
    "family-edit": ("get", "/families/{family}/edit/", None, ["fin1", "coord", "unhcr"], ("cw2", 200)),
    "family-import-detail": (
        "get",
        "/families/import/{import}/",
        None,
        ["cw2", "fin1", "coord", "unhcr"],  # another case worker's list: 404
        ("cw1", 200),
    ),
    "family-import-report": (
        "get",
        "/families/import/{import}/report.csv",
        None,
        ["cw2", "fin1", "coord", "unhcr"],
        ("cw1", 200),
    ),
    "family-import-apply": (
        "post",
        "/families/import/{import}/apply/",
        {},
        ["cw2", "fin1", "coord", "unhcr"],
        ("cw1", 302),
    ),
    "duplicate-resolve": (
        "post",
        "/duplicates/{flag}/resolve/",
        {"decision": "distinct"},
        ["fin1", "coord", "unhcr"],
        ("cw2", 302),
    ),
    "payment-detail": ("get", "/payments/{pending}/", None, ["unhcr", "iom"], ("cw2", 200)),
    "payment-request": (
        "post",
        "/families/{family}/request-payment/",
        {},
        ["coord", "unhcr", "admin"],
        ("cw2", 302),
    ),
    "statement-detail": ("get", "/statements/{statement}/", None, ["cw1", "coord", "unhcr"], ("fin2", 200)),
    "batch-export": (
        "post",
        "/batches/{batch}/export/",
        {},
        ["cw1", "coord", "unhcr", "admin"],
        ("fin2", 200),
    ),
    "referral-create": (
        "post",
        "/families/{family}/refer/",
        {"organization": "UNHCR", "service": "food", "urgency": "high"},
        ["fin1", "coord", "unhcr"],
        ("cw2", 302),
    ),
    "referral-close": ("post", "/referrals/{referral}/close/", {}, ["fin1", "unhcr", "iom"], ("coord", 302)),
    "grievance-detail": ("get", "/grievances/{grievance}/", None, ["unhcr", "iom"], ("coord", 200)),
    "grievance-new": ("get", "/families/{family}/complaint/", None, ["unhcr", "iom"], ("cw2", 200)),
    "pdv-detail": ("get", "/verification/{round}/", None, ["unhcr"], ("fin2", 200)),
    "pdv-answer": ("get", "/verification/answer/{sample}/", None, ["unhcr", "fin1"], ("coord", 200)),
    "family-export": ("get", "/families/{family}/export.csv", None, ["fin1", "coord", "unhcr"], ("cw2", 200)),
    "family-consent-withdraw": (
        "get",
        "/families/{plain_family}/consent/withdraw/",
        None,
        ["fin1", "coord", "unhcr"],
        ("cw2", 200),
    ),
    "family-case-close": (
        "get",
        "/families/{plain_family}/close/",
        None,
        ["fin1", "coord", "unhcr"],
        ("cw2", 200),
    ),
    "report-download": ("get", "/reports/{report}.csv", None, ["cw1", "unhcr"], ("coord", 200)),
}


@pytest.fixture
def world(register_family):
    from disbursements.reconciliation import statement_process, statement_upload
    from disbursements.services import (
        batch_create,
        batch_export,
        disbursement_approve,
        disbursement_request,
        disbursement_settle,
    )
    from families.models import DuplicateFlag
    from referrals.services import referral_create, webhook_endpoint_create
    from reports.situation import situation_report_generate

    people = {
        name: user_create(
            username=f"idor-{name}",
            role=role,
            organization_code=org,
            password="pw-for-tests-1",
            check_password_strength=False,
        )
        for name, role, org in [
            ("cw1", "case_worker", None),
            ("cw2", "case_worker", None),
            ("fin1", "finance", None),
            ("fin2", "finance", None),
            ("coord", "coordinator", None),
            ("unhcr", "partner", "UNHCR"),
            ("iom", "partner", "IOM"),
            ("admin", "admin", None),
        ]
    }
    cw1, fin1 = people["cw1"], people["fin1"]
    family = register_family(given="Gul", father="Ahmad", created_by=cw1)
    register_family(given="Gol", father="Ahmed", created_by=cw1)  # a possible duplicate of `family`
    families = [register_family(given=g, father=f, created_by=cw1) for g, f in [
        ("Karim", "Omar"), ("Nasir", "Wali"), ("Zarmina", "Habib"), ("Sayed", "Rahim"), ("Hamid", "Latif"),
        ("Farid", "Aziz"),
    ]]  # fmt: skip

    pending = disbursement_request(family=families[0], requested_by=fin1)
    pending_cw = disbursement_request(family=families[1], requested_by=cw1)
    in_batch = disbursement_approve(
        disbursement=disbursement_request(family=families[2], requested_by=cw1), approved_by=fin1
    )
    batch = batch_create(channel="cash", disbursement_ids=[in_batch.pk], created_by=fin1)
    paid_out = []
    for f in families[3:]:
        d = disbursement_approve(
            disbursement=disbursement_request(family=f, requested_by=cw1), approved_by=fin1
        )
        paid_out.append(d)
    exported_batch = batch_create(channel="cash", disbursement_ids=[d.pk for d in paid_out], created_by=fin1)
    batch_export(batch=exported_batch, exported_by=fin1)
    from django.db import transaction

    with transaction.atomic():
        failed = disbursement_settle(
            disbursement=paid_out[1], paid=False, at=None, actor=fin1, reason="closed"
        )
        disbursement_settle(disbursement=paid_out[2], paid=True, at=None, actor=fin1)
    from django.utils import timezone

    from grievances.services import grievance_create, pdv_round_create

    pdv_round = pdv_round_create(
        paid_from=date(2020, 1, 1), paid_to=timezone.localdate(), created_by=people["fin2"], seed=1, name="r"
    )
    grievance = grievance_create(
        family=family, category="wrong_data", description="Name misspelt", created_by=cw1
    )
    statement, _ = statement_upload(
        content=b"reference,amount,status,paid_at\nNO-SUCH-REF,10000.00,paid,2026-11-21\n",
        filename="s.csv",
        uploaded_by=fin1,
    )
    statement_process(statement_id=statement.pk)

    csv_content = (
        ",".join(TEMPLATE_COLUMNS)
        + "\n"
        + ",".join(
            {
                "household_id": "A",
                "given_name": "Wahid",
                "father_name": "Jalil",
                "sex": "M",
                "relationship": "head",
                "age_years": "40",
                "crossing_point": "TORKHAM",
                "arrival_date": "2026-11-20",
                "destination_province": "AF-NAN",
            }.get(c, "")
            for c in TEMPLATE_COLUMNS
        )
        + "\n"
    ).encode()
    family_import = family_import_submit(
        content=csv_content, filename="list.csv", submitted_by=cw1, dry_run=True
    )

    objects = {
        "family": family.pk,
        "flag": DuplicateFlag.objects.get(family__members__given_name="Gol").pk,
        "pending": pending.pk,
        "pending_cw": pending_cw.pk,
        "failed": failed.pk,
        "exported": paid_out[0].pk,
        "batch": batch.pk,
        "exported_batch": exported_batch.pk,
        "statement": statement.pk,
        "discrepancy": statement.discrepancies.get().pk,
        "referral": referral_create(
            family=family, organization_code="UNHCR", service_code="shelter", created_by=cw1
        ).pk,
        "iom_referral": referral_create(
            family=family, organization_code="IOM", service_code="food", created_by=cw1
        ).pk,
        "endpoint": webhook_endpoint_create(actor=people["unhcr"], url="https://unhcr.example.org/hook").pk,
        "iom_endpoint": webhook_endpoint_create(actor=people["iom"], url="https://iom.example.org/hook").pk,
        "import": family_import.pk,
        "plain_family": register_family(given="Naim", father="Bashir", created_by=cw1).pk,
        "grievance": grievance.pk,
        "round": pdv_round.pk,
        "sample": pdv_round.samples.first().pk,
        "report": situation_report_generate(kind="weekly", today=date(2026, 11, 23)).pk,
    }
    return people, objects


def _send(user, method, url, body):
    """API calls with the user's Bearer key; pages with the user's session (anonymous: neither)."""
    if url.startswith("/api/"):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user)[1]}")
        return getattr(client, method)(url, body, format="json") if method != "get" else client.get(url)
    from django.test import Client

    client = Client()
    if user is not None:
        client.force_login(user)
    return getattr(client, method)(url, body or {}) if method != "get" else client.get(url)


def _url(template, objects, override=None):
    key = re.search(r"\{(\w+)\}", template).group(1)
    return template.replace("{" + key + "}", str(objects[override or key]))


def test_every_url_with_an_id_is_covered():
    routes = dict(_walk(get_resolver().url_patterns))
    missing = {name: route for name, route in routes.items() if name not in ACCESS}
    assert not missing, f"URLs that take an id and are not in the access matrix: {missing}"
    assert set(ACCESS) <= set(routes), set(ACCESS) - set(routes)


@pytest.mark.parametrize("name", sorted(ACCESS))
def test_object_access_matrix(world, name):
    people, objects = world
    method, template, body, refused, (rightful, ok) = ACCESS[name]
    api = template.startswith("/api/")

    response = _send(None, method, _url(template, objects), body)
    if api:
        assert response.status_code == 401, ("anonymous", response.status_code)
    else:
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")

    for entry in refused:
        role, obj = entry if isinstance(entry, tuple) else (entry, None)
        response = _send(people[role], method, _url(template, objects, obj), body)
        assert response.status_code in (403, 404), (role, obj, response.status_code, response.content[:200])

    response = _send(people[rightful], method, _url(template, objects), body)
    assert response.status_code == ok, (rightful, response.status_code, response.content[:300])
    if response.status_code == 302:
        assert not response["Location"].startswith("/accounts/login/")


def test_admin_is_for_administrators_only(world, client):
    people, objects = world
    url = f"/admin/families/family/{objects['family']}/change/"
    for role in ROLES:
        client.force_login(people[role])
        response = client.get(url)
        if role == "admin":
            assert response.status_code == 200
        else:
            assert response.status_code == 302 and "/admin/login/" in response["Location"], role
        client.logout()
