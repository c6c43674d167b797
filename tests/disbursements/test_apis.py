import csv
import hashlib
import io

import pytest
from openpyxl import load_workbook

from aidcase.core.models import IdempotencyRecord
from disbursements.models import Disbursement

pytestmark = pytest.mark.django_db


@pytest.fixture
def clients(staff, api_client):
    return {name: api_client(user) for name, user in staff.items()}


def request_payment(client, family, **headers):
    return client.post(f"/api/v1/families/{family.pk}/disbursements/", {}, format="json", **headers)


def test_request_returns_the_contract_shape(clients, register_family):
    family = register_family()
    response = request_payment(clients["worker"], family)
    assert response.status_code == 201
    body = response.json()
    assert body["family"] == str(family.pk)
    assert (body["amount"], body["currency"], body["status"], body["requested_by"]) == (
        "10000.00",
        "AFN",
        "requested",
        "worker",
    )
    assert body["reference"] == f"{family.case_number}-P1"
    again = request_payment(clients["finance"], family)
    assert again.status_code == 409
    assert again.json()["code"] == "already_paid"


def test_idempotency_key_replays_the_first_response(clients, register_family):
    family = register_family()
    first = request_payment(clients["worker"], family, HTTP_IDEMPOTENCY_KEY="abc-1")
    replay = request_payment(clients["worker"], family, HTTP_IDEMPOTENCY_KEY="abc-1")
    assert (replay.status_code, replay.json()) == (first.status_code, first.json())
    assert replay["Idempotent-Replayed"] == "true"
    assert Disbursement.objects.count() == 1
    different = clients["worker"].post(
        f"/api/v1/families/{family.pk}/disbursements/",
        {"amount": "10000.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="abc-1",
    )
    assert different.status_code == 422
    assert different.json()["code"] == "idempotency_key_reused"


def test_idempotency_replays_errors_too_and_is_per_user(clients, register_family):
    family = register_family()
    request_payment(clients["worker"], family)
    conflict = request_payment(clients["finance"], family, HTTP_IDEMPOTENCY_KEY="k")
    assert conflict.status_code == 409
    assert request_payment(clients["finance"], family, HTTP_IDEMPOTENCY_KEY="k").json() == conflict.json()
    # another user with the same key is another request
    other = request_payment(clients["finance2"], family, HTTP_IDEMPOTENCY_KEY="k")
    assert other.status_code == 409 and "Idempotent-Replayed" not in other


def test_idempotency_key_in_flight_is_409(clients, register_family, staff):
    family = register_family()
    IdempotencyRecord.objects.create(
        user=staff["worker"],
        key="busy",
        method="POST",
        path=f"/api/v1/families/{family.pk}/disbursements/",
        request_hash=hashlib.sha256(b"{}").hexdigest(),
    )
    response = request_payment(clients["worker"], family, HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert Disbursement.objects.count() == 0


def test_approve_reject_through_the_api(clients, register_family):
    d = request_payment(clients["finance"], register_family()).json()
    own = clients["finance"].post(f"/api/v1/disbursements/{d['id']}/approve/")
    assert own.status_code == 403
    assert own.json()["detail"] == "The person who requested a disbursement cannot approve it."
    assert clients["worker"].post(f"/api/v1/disbursements/{d['id']}/approve/").status_code == 403
    ok = clients["finance2"].post(f"/api/v1/disbursements/{d['id']}/approve/")
    assert ok.status_code == 200
    assert (ok.json()["status"], ok.json()["approved_by"]) == ("approved", "fin-b")
    assert clients["finance2"].post(f"/api/v1/disbursements/{d['id']}/approve/").status_code == 409
    assert (
        clients["finance2"]
        .post(f"/api/v1/disbursements/{d['id']}/reject/", {"reason": "x"}, format="json")
        .status_code
        == 409
    )


def test_reject_needs_reason(clients, register_family):
    d = request_payment(clients["worker"], register_family()).json()
    missing = clients["finance"].post(f"/api/v1/disbursements/{d['id']}/reject/", {}, format="json")
    assert missing.status_code == 400 and "reason" in missing.json()
    ok = clients["finance"].post(
        f"/api/v1/disbursements/{d['id']}/reject/", {"reason": "left the country"}, format="json"
    )
    assert ok.json()["status"] == "rejected"


def test_list_filter_and_bad_status(clients, register_family):
    request_payment(clients["worker"], register_family(given="A"))
    request_payment(clients["worker"], register_family(given="B"))
    assert len(clients["finance"].get("/api/v1/disbursements/?status=requested").json()["results"]) == 2
    assert clients["finance"].get("/api/v1/disbursements/?status=approved").json()["results"] == []
    assert clients["finance"].get("/api/v1/disbursements/?status=nope").status_code == 400


def test_batch_export_csv_checksum_and_lock(clients, register_family):
    ids = []
    for name in ("Gul", "Karim"):
        d = request_payment(
            clients["worker"], register_family(given=name, father="Omar", phone="+93700000111")
        ).json()
        clients["finance"].post(f"/api/v1/disbursements/{d['id']}/approve/")
        ids.append(d["id"])
    response = clients["finance"].post(
        "/api/v1/batches/", {"channel": "mobile_money", "disbursements": ids}, format="json"
    )
    assert response.status_code == 201
    batch = response.json()
    assert (batch["status"], batch["count"], batch["total"]) == ("open", 2, "20000.00")
    export = clients["finance"].post(f"/api/v1/batches/{batch['id']}/export/")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    assert export["X-Checksum-SHA256"] == hashlib.sha256(export.content).hexdigest()
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert {r["name"].split()[0] for r in rows} == {"Gul", "Karim"}
    assert all(
        r["amount"] == "10000.00" and r["currency"] == "AFN" and r["father_name"] == "Omar" for r in rows
    )
    assert clients["finance"].post(f"/api/v1/batches/{batch['id']}/export/").content == export.content
    assert Disbursement.objects.filter(status="exported").count() == 2
    xlsx = clients["finance"].get(f"/api/v1/batches/{batch['id']}/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in sheet[1]][:7] == [
        "reference",
        "case_number",
        "name",
        "father_name",
        "phone",
        "amount",
        "currency",
    ]
    assert sheet.max_row == 3


def test_batch_with_unapproved_or_batched_items_is_409(clients, register_family):
    d = request_payment(clients["worker"], register_family()).json()
    response = clients["finance"].post(
        "/api/v1/batches/", {"channel": "cash", "disbursements": [d["id"]]}, format="json"
    )
    assert response.status_code == 409
    assert "not approved" in response.json()["detail"]
    empty = clients["finance"].post(
        "/api/v1/batches/", {"channel": "cash", "disbursements": []}, format="json"
    )
    assert empty.status_code == 400 and "disbursements" in empty.json()


def test_bulk_approval_page_keeps_four_eyes(client, register_family, staff):
    own = request_payment_service(register_family(given="A"), staff["finance"])
    other = request_payment_service(register_family(given="B"), staff["worker"])
    client.force_login(staff["finance"])
    response = client.post("/payments/bulk/", {"action": "approve", "ids": [own.pk, other.pk]}, follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "cannot approve" in body and "1 payment(s) updated." in body
    own.refresh_from_db()
    other.refresh_from_db()
    assert (own.status, other.status) == ("requested", "approved")


def request_payment_service(family, user):
    from disbursements.services import disbursement_request

    return disbursement_request(family=family, requested_by=user)
