import pytest
from django.urls import reverse
from django.utils import timezone

from grievances.models import Grievance, PdvRound
from grievances.services import grievance_transition, pdv_round_create

pytestmark = pytest.mark.django_db

ROLES = ["case_worker", "finance", "coordinator", "partner", "admin"]


@pytest.fixture
def round_(paid_families, people):
    paid_families(3)
    today = timezone.localdate()
    return pdv_round_create(paid_from=today, paid_to=today, created_by=people["finance"])


@pytest.mark.parametrize("role", ROLES)
def test_pages_by_role(client, make_user, complaint, round_, role):
    g = complaint()
    sample = round_.samples.first()
    client.force_login(make_user(role))
    staff = role != "partner"
    answerer = role in ("case_worker", "coordinator", "admin")
    expected = {
        reverse("grievance-index"): 200 if staff else 403,
        reverse("grievance-detail", args=[g.pk]): 200 if staff else 403,
        reverse("grievance-new", args=[g.family_id]): 200 if staff else 403,
        reverse("pdv-index"): 200 if staff else 403,
        reverse("pdv-detail", args=[round_.pk]): 200 if staff else 403,
        reverse("pdv-answer", args=[sample.pk]): 200 if answerer else 403,
    }
    assert {url: client.get(url).status_code for url in expected} == expected


def test_anonymous_goes_to_the_login_page(client, complaint):
    response = client.get(reverse("grievance-detail", args=[complaint().pk]))
    assert response.status_code == 302 and "/login" in response["Location"]


def test_case_worker_records_a_complaint_from_the_family_page(client, paid_families, people):
    paid = paid_families(1)[0]
    client.force_login(people["worker"])
    family_page = client.get(reverse("family-detail", args=[paid.family_id])).content.decode()
    assert reverse("grievance-new", args=[paid.family_id]) in family_page
    form = client.get(reverse("grievance-new", args=[paid.family_id])).content.decode()
    assert paid.reference in form  # the family's payment can be chosen
    bad = client.post(
        reverse("grievance-new", args=[paid.family_id]), {"category": "other", "description": ""}
    )
    assert bad.status_code == 400 and not Grievance.objects.exists()
    response = client.post(
        reverse("grievance-new", args=[paid.family_id]),
        {
            "category": "payment_not_received",
            "channel": "hotline",
            "priority": "",
            "description": "The agent says the money is not there.",
            "disbursement": str(paid.pk),
        },
        follow=True,
    )
    g = Grievance.objects.get()
    assert (g.category, g.channel, g.priority, g.disbursement_id) == (
        "payment_not_received",
        "hotline",
        "high",
        paid.pk,
    )
    page = response.content.decode()
    assert "The agent says the money is not there." in page
    assert paid.reference in page and "Cash hand-over recorded" in page
    family_page = client.get(reverse("family-detail", args=[paid.family_id])).content.decode()
    assert g.short_id in family_page
    client.force_login(people["finance"])
    payment_page = client.get(reverse("payment-detail", args=[paid.pk])).content.decode()
    assert "Complaints about this payment" in payment_page and g.short_id in payment_page


def test_triage_and_status_forms(client, complaint, people):
    g = complaint()
    client.force_login(people["coordinator"])
    url = reverse("grievance-detail", args=[g.pk])
    response = client.post(
        url, {"action": "triage", "priority": "urgent", "assigned_to": "worker2", "note": "Call back today."}
    )
    assert response.status_code == 302
    g.refresh_from_db()
    assert (g.priority, g.assigned_to.username) == ("urgent", "worker2")
    refused = client.post(url, {"action": "status", "status": "resolved", "resolution": ""})
    assert refused.status_code == 400 and "Say how the complaint was resolved." in refused.content.decode()
    client.post(url, {"action": "status", "status": "resolved", "resolution": "Paid again."})
    client.post(url, {"action": "status", "status": "closed"})
    g.refresh_from_db()
    assert g.status == "closed" and g.resolution == "Paid again."
    page = client.get(url).content.decode()
    assert "Call back today." in page and "resolved → closed" in page
    assert "priority medium → urgent" in page and "assigned_to — → worker2" in page


@pytest.mark.parametrize("designated", [False, True])
def test_sensitive_complaint_pages(client, complaint, people, designated):
    g = complaint(sensitive=True, category="protection_concern", description="Threats from a relative.")
    grievance_transition(grievance=g, actor=people["protection"], target="in_progress")
    client.force_login(people["protection"] if designated else people["worker"])
    detail = client.get(reverse("grievance-detail", args=[g.pk])).content.decode()
    listing = client.get(reverse("grievance-index")).content.decode()
    family = client.get(reverse("family-detail", args=[g.family_id])).content.decode()
    for page in (detail, listing, family):
        assert g.short_id in page and "Protection concern" in page
    assert "In progress" in detail and timezone.localtime(g.due_at).strftime("%Y-%m-%d") in detail
    if designated:
        assert "Threats from a relative." in detail
        assert 'name="action" value="status"' in detail
    else:
        assert "relative" not in detail + listing + family
        assert "only designated staff can read its details" in detail
        assert 'name="action" value="status"' not in detail
        response = client.post(
            reverse("grievance-detail", args=[g.pk]),
            {"action": "status", "status": "resolved", "resolution": "x"},
        )
        assert response.status_code == 400
        g.refresh_from_db()
        assert g.status == "in_progress"


def test_admin_hides_sensitive_text_from_undesignated_administrators(client, complaint, people):
    g = complaint(sensitive=True, description="Threats from a relative.")
    client.force_login(people["admin"])
    page = client.get(reverse("admin:grievances_grievance_change", args=[g.pk])).content.decode()
    assert page and "relative" not in page
    from tests.grievances.conftest import designate

    designate(people["admin"])
    page = client.get(reverse("admin:grievances_grievance_change", args=[g.pk])).content.decode()
    assert "Threats from a relative." in page


def test_verification_pages(client, round_, paid_families, people):
    client.force_login(people["coordinator"])
    today = timezone.localdate().isoformat()
    response = client.post(
        reverse("pdv-index"),
        {"name": "Week 48", "paid_from": today, "paid_to": today, "confidence": "0.95", "margin": "0.05"},
    )
    new = PdvRound.objects.get(name="Week 48")
    assert response.status_code == 302 and new.sample_size == 3
    client.force_login(people["worker"])
    refused = client.post(reverse("pdv-index"), {"paid_from": today, "paid_to": today})
    assert refused.status_code == 403
    samples = list(new.samples.all())
    url = reverse("pdv-answer", args=[samples[0].pk])
    bad = client.post(url, {"reached": "yes", "confirmed_full_amount": "no"})
    assert bad.status_code == 400 and "Record the amount" in bad.content.decode()
    answer = {"reached": "yes", "confirmed_full_amount": "no", "amount_reported": "7000"}
    first = client.post(url, answer, follow=True).content.decode()
    assert "A complaint was opened for the payment." in first
    client.post(url, answer)  # submitted twice
    client.post(
        reverse("pdv-answer", args=[samples[1].pk]), {"reached": "yes", "confirmed_full_amount": "yes"}
    )
    client.post(reverse("pdv-answer", args=[samples[2].pk]), {"reached": "no", "notes": "Phone off"})
    g = Grievance.objects.get()
    assert (g.category, g.channel, g.pdv_sample_id) == ("wrong_amount", "pdv", samples[0].pk)
    report = client.get(reverse("pdv-detail", args=[new.pk]) + "?show=all").content.decode()
    assert (
        "1/2 = 50.0 % (confidence interval 9.5 – 90.5 %)" in report
        and "1 complaint opened" in report
        and g.short_id in report
    )
    complaint_page = client.get(reverse("grievance-detail", args=[g.pk])).content.decode()
    assert reverse("pdv-detail", args=[new.pk]) in complaint_page
    mismatches = client.get(reverse("pdv-detail", args=[new.pk]) + "?show=mismatch").content.decode()
    assert samples[0].family.case_number in mismatches and samples[1].family.case_number not in mismatches
