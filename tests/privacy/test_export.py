"""Subject access: a family's data exported by authorised staff, and the export audited."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from tests.privacy.conftest import CHILD, HEAD, NEW_PHONE, TAZKIRA

pytestmark = pytest.mark.django_db


def test_export_holds_everything_about_the_family(full_case, staff, api_client):
    family = full_case()
    client = api_client(staff["worker"])
    client.get(f"/api/v1/families/{family.pk}/")  # a read, which the export must list

    response = client.get(f"/api/v1/families/{family.pk}/export/")

    assert response.status_code == 200
    data = response.json()
    assert data["family"]["case_number"] == family.case_number and data["family"]["phone"] == NEW_PHONE
    assert [m["given_name"] for m in data["members"]] == [HEAD, CHILD, "Ahmad"]
    assert data["members"][0]["date_of_birth"] == "1988-06-15"
    assert data["documents"] == [{"member": data["members"][0]["id"], "type": "tazkira", "number": TAZKIRA}]
    assert [p["status"] for p in data["payments"]] == ["rejected", "paid"]
    assert [t["to"] for t in data["payments"][1]["transitions"]] == [
        "requested",
        "approved",
        "exported",
        "paid",
    ]
    (referral,) = data["referrals"]
    assert referral["organization"] == "UNHCR" and referral["status"] == "completed"
    assert [e["to"] for e in referral["events"]] == ["sent", "accepted", "completed"]
    actions = [e["action"] for e in data["audit_trail"]]
    for action in ("family.created", "member.created", "family.changed", "family.viewed", "referral.created"):
        assert action in actions
    assert "disbursement.paid" in actions and "family.read_by_partner" not in actions  # no partner read it
    # The export is itself in the audit trail (and lists itself).
    event = AuditEvent.objects.get(action="family.exported", target_id=str(family.pk))
    assert event.actor == staff["worker"] and event.data == {"format": "json", "purpose": "subject access"}
    assert actions[-1] == "family.exported"


@pytest.mark.parametrize("role", ["finance", "coordinator", "partner"])
def test_only_case_workers_and_admins_export(full_case, staff, api_client, role):
    family = full_case()
    assert api_client(staff[role]).get(f"/api/v1/families/{family.pk}/export/").status_code == 403
    assert api_client().get(f"/api/v1/families/{family.pk}/export/").status_code == 401
    assert not AuditEvent.objects.filter(action="family.exported").exists()


def test_admin_exports_too(full_case, staff, api_client):
    family = full_case()
    assert api_client(staff["admin"]).get(f"/api/v1/families/{family.pk}/export/").status_code == 200


def test_export_from_the_family_page(full_case, staff, client):
    family = full_case()
    client.force_login(staff["worker"])
    page = client.get(reverse("family-detail", args=[family.pk])).content.decode()
    for fmt in ("html", "json", "csv"):
        assert reverse("family-export", args=[family.pk, fmt]) in page

    html = client.get(reverse("family-export", args=[family.pk, "html"]))
    assert html.status_code == 200 and TAZKIRA in html.content.decode()
    response = client.get(reverse("family-export", args=[family.pk, "csv"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="{family.case_number}-data.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["section", "item", "field", "value"]
    assert ["members", "1", "given_name", HEAD] in rows
    assert ["payments.transitions", "2.4", "to", "paid"] in rows
    response = client.get(reverse("family-export", args=[family.pk, "json"]))
    assert response["Content-Disposition"].endswith('.json"')
    formats = sorted(e.data["format"] for e in AuditEvent.objects.filter(action="family.exported"))
    assert formats == ["csv", "html", "json"]
    assert client.get(f"/families/{family.pk}/export.xml").status_code == 404

    client.force_login(staff["coordinator"])
    assert client.get(reverse("family-export", args=[family.pk, "json"])).status_code == 403


def test_export_reads_a_fixed_number_of_queries(full_case, staff):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from privacy.selectors import family_subject_access_data
    from referrals.services import referral_create

    small, big = full_case(), full_case(index=1)
    for service in ("food", "health", "legal"):
        referral_create(family=big, organization_code="IOM", service_code=service, created_by=staff["worker"])
    counts = []
    for family in (small, big):
        with CaptureQueriesContext(connection) as queries:
            family_subject_access_data(family=family)
        counts.append(len(queries))
    assert counts[0] == counts[1]
