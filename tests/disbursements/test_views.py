from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from disbursements.models import Disbursement
from disbursements.services import disbursement_approve, disbursement_request

pytestmark = pytest.mark.django_db

PAGES = [
    ("payment-queue", {"case_worker", "finance", "coordinator", "admin"}),
    ("batch-index", {"finance", "admin"}),
]


@pytest.mark.parametrize("role", ["case_worker", "finance", "coordinator", "partner", "admin"])
@pytest.mark.parametrize(("name", "allowed"), PAGES)
def test_finance_pages_permissions(client, make_user, role, name, allowed):
    client.force_login(make_user(role))
    assert client.get(reverse(name)).status_code == (200 if role in allowed else 403)


def test_case_worker_requests_payment_from_the_family_page(client, register_family, staff):
    family = register_family(consent=False)  # consent is never a condition of assistance
    client.force_login(staff["worker"])
    page = client.post(reverse("payment-request", args=[family.pk]), follow=True).content.decode()
    d = Disbursement.objects.get(family=family)
    assert "one-time code" in page and d.reference in page
    again = client.post(reverse("payment-request", args=[family.pk]), follow=True).content.decode()
    assert "already has a support payment" in again
    assert Disbursement.objects.filter(family=family).count() == 1


def test_queue_filters_by_status_and_crossing_point(client, register_family, staff):
    a = disbursement_request(family=register_family(crossing_point="TORKHAM"), requested_by=staff["worker"])
    b = disbursement_request(
        family=register_family(given="K", crossing_point="SPIN_BOLDAK"), requested_by=staff["worker"]
    )
    client.force_login(staff["finance"])
    body = client.get(
        reverse("payment-queue"), {"status": "requested", "crossing_point": "SPIN_BOLDAK"}
    ).content.decode()
    assert b.reference in body and a.reference not in body


def test_queue_filters_by_local_calendar_day(client, register_family, staff):
    """Requested 23:30 and 00:30 in Kabul: two local days, though both fall on 20 November in UTC."""
    kabul = ZoneInfo("Asia/Kabul")
    late = disbursement_request(family=register_family(), requested_by=staff["worker"])
    early = disbursement_request(family=register_family(given="K"), requested_by=staff["worker"])
    Disbursement.objects.filter(pk=late.pk).update(requested_at=datetime(2026, 11, 20, 23, 30, tzinfo=kabul))
    Disbursement.objects.filter(pk=early.pk).update(requested_at=datetime(2026, 11, 21, 0, 30, tzinfo=kabul))
    client.force_login(staff["finance"])

    def shown(**dates):
        body = client.get(reverse("payment-queue"), {"status": "", **dates}).content.decode()
        return {d.reference for d in (late, early) if d.reference in body}

    assert shown(requested_to="2026-11-20") == {late.reference}
    assert shown(requested_from="2026-11-21") == {early.reference}
    assert shown(requested_from="2026-11-20", requested_to="2026-11-21") == {late.reference, early.reference}
    assert shown(requested_from="2026-11-22") == set()


def test_batch_export_and_cash_confirmation_pages(client, register_family, staff):
    d = disbursement_request(family=register_family(), requested_by=staff["worker"])
    code = d.recipient_code
    disbursement_approve(disbursement=d, approved_by=staff["finance"])
    client.force_login(staff["finance2"])
    created = client.post(reverse("batch-index"), {"channel": "cash", "ids": [d.pk]}, follow=True)
    assert "created" in created.content.decode()
    batch = d.__class__.objects.get(pk=d.pk).batch
    export = client.post(reverse("batch-export", args=[batch.pk]), {"format": "csv"})
    assert export.status_code == 200 and d.reference in export.content.decode()
    wrong = client.post(
        reverse("payment-detail", args=[d.pk]), {"recipient_code": "x"}, follow=True
    ).content.decode()
    assert "does not match" in wrong
    client.post(reverse("payment-detail", args=[d.pk]), {"recipient_code": code})
    d.refresh_from_db()
    assert d.status == "paid" and d.paid_by == staff["finance2"]


def test_finance_home_shows_queue_sizes(client, register_family, staff):
    disbursement_request(family=register_family(), requested_by=staff["worker"])
    client.force_login(staff["finance"])
    body = client.get(reverse("home")).content.decode()
    assert "payments waiting for approval" in body
    assert "10,000.00 AFN" in body or "10000.00 AFN" in body
