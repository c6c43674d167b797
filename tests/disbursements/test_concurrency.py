"""Real concurrent sessions on PostgreSQL: one payment per family, one approval per disbursement."""

import pytest
from django.db import connection

from aidcase.core.exceptions import Conflict, Forbidden
from disbursements.models import Disbursement, DisbursementTransition
from disbursements.services import disbursement_approve, disbursement_request
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_twenty_concurrent_requests_for_one_family_give_one_disbursement(register_family, make_user):
    family = register_family()
    workers = [make_user("case_worker") for _ in range(20)]
    results = run_concurrently(lambda i: disbursement_request(family=family, requested_by=workers[i]), 20)
    created = [r for r in results if isinstance(r, Disbursement)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(created) == 1 and len(conflicts) == 19, results
    assert Disbursement.objects.filter(family=family).count() == 1


def test_twenty_concurrent_api_requests_get_one_201_and_409s(register_family, make_user, api_client):
    family = register_family()
    clients = [api_client(make_user("case_worker")) for _ in range(20)]
    results = run_concurrently(
        lambda i: (
            clients[i].post(f"/api/v1/families/{family.pk}/disbursements/", {}, format="json").status_code
        ),
        20,
    )
    assert sorted(results) == [201] + [409] * 19
    assert Disbursement.objects.filter(family=family).count() == 1


def test_concurrent_approvals_approve_once(register_family, make_user):
    d = disbursement_request(family=register_family(), requested_by=make_user("case_worker"))
    officers = [make_user("finance") for _ in range(10)]
    results = run_concurrently(lambda i: disbursement_approve(disbursement=d, approved_by=officers[i]), 10)
    approved = [r for r in results if isinstance(r, Disbursement)]
    assert len(approved) == 1 and all(isinstance(r, Conflict) for r in results if r not in approved), results
    d.refresh_from_db()
    assert d.status == "approved" and d.approved_by == approved[0].approved_by
    assert DisbursementTransition.objects.filter(disbursement=d, to_status="approved").count() == 1


def test_requester_never_approves_even_racing_other_officers(register_family, make_user):
    requester = make_user("finance")
    d = disbursement_request(family=register_family(), requested_by=requester)
    others = [make_user("finance") for _ in range(5)]
    approvers = [requester] * 5 + others
    results = run_concurrently(lambda i: disbursement_approve(disbursement=d, approved_by=approvers[i]), 10)
    assert sum(isinstance(r, Forbidden) for r in results) == 5
    d.refresh_from_db()
    assert d.status == "approved" and d.approved_by != requester
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM disbursements_disbursement WHERE approved_by_id = requested_by_id"
        )
        assert cursor.fetchone()[0] == 0
