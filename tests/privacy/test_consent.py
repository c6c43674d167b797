"""Consent withdrawal: partners stop receiving the family's data; assistance is untouched."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from disbursements.models import Disbursement
from disbursements.services import disbursement_approve, disbursement_request
from families.models import Family
from families.services import family_update
from privacy.services import family_consent_withdraw
from referrals.models import Referral, ReferralEvent, WebhookDelivery
from referrals.services import referral_create, referral_transition
from referrals.webhooks import NOT_SENT_CONSENT_WITHDRAWN, webhook_deliver, webhook_events_queue
from tests.referrals.test_webhooks import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def referred(register_family, staff):
    family = register_family(given="Malalai", father="Sher", phone="+93700444001", created_by=staff["worker"])
    family_update(family=family, changed_by=staff["worker"], destination_district="Behsud")
    referral = referral_create(
        family=family,
        organization_code="UNHCR",
        service_code="shelter",
        created_by=staff["worker"],
        note="Malalai's tent",
    )
    return Family.objects.get(pk=family.pk), referral


@pytest.fixture
def hook(settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = True
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_withdrawal_is_recorded_and_closes_open_referrals(referred, staff, api_client):
    family, referral = referred
    response = api_client(staff["worker"]).post(
        f"/api/v1/families/{family.pk}/consent/withdraw/", {"note": "asked at the desk"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["consent_to_share"] is False and body["consent_recorded_by"] == staff["worker"].username
    assert body["referrals_closed"] == 1
    family.refresh_from_db()
    assert family.consent_to_share is False and family.consent_recorded_by == staff["worker"]
    referral.refresh_from_db()
    assert referral.status == "closed"
    assert ReferralEvent.objects.filter(referral=referral, to_status="closed", actor=staff["worker"]).exists()
    event = AuditEvent.objects.get(action="family.consent_withdrawn", target_id=str(family.pk))
    assert event.actor == staff["worker"] and event.data["note"] == "asked at the desk"
    assert event.data["referrals_closed"] == 1 and event.data["recorded_at"]
    # Withdrawing twice: nothing to withdraw.
    again = api_client(staff["worker"]).post(f"/api/v1/families/{family.pk}/consent/withdraw/")
    assert again.status_code == 409


@pytest.mark.parametrize("role", ["finance", "coordinator", "partner"])
def test_only_case_workers_and_admins_record_withdrawal(referred, staff, api_client, role):
    family, _ = referred
    assert api_client(staff[role]).post(f"/api/v1/families/{family.pk}/consent/withdraw/").status_code == 403
    assert api_client().post(f"/api/v1/families/{family.pk}/consent/withdraw/").status_code == 401
    assert Family.objects.get(pk=family.pk).consent_to_share is True


def test_partner_pull_returns_the_referral_without_personal_data(referred, staff, api_client):
    family, referral = referred
    partner = api_client(staff["partner"])
    first = partner.get("/api/v1/referrals/").json()["results"][0]
    before = first["family"]
    assert first["family_data_withheld"] is False
    assert before["head_name"] == "Malalai Sher"
    assert before["phone"] == "+93700444001" and before["destination_district"] == "Behsud"

    family_consent_withdraw(family=family, recorded_by=staff["worker"])

    for body in (
        partner.get("/api/v1/referrals/").json()["results"][0],
        partner.get(f"/api/v1/referrals/{referral.pk}/").json(),
    ):
        assert body["id"] == str(referral.pk) and body["status"] == "closed"
        assert body["note"] == "" and body["status_note"] == "" and body["family_data_withheld"] is True
        assert body["family"] == {
            "case_number": family.case_number,
            "head_name": "",
            "household_size": 1,
            "phone": "",
            "destination_province": "AF-NAN",
            "destination_district": "",
            "vulnerabilities": [],
        }
    # Staff still see the family's data.
    staff_view = api_client(staff["worker"]).get(f"/api/v1/referrals/{referral.pk}/").json()
    assert staff_view["family"]["phone"] == "+93700444001" and staff_view["note"] == "Malalai's tent"


def test_no_webhook_after_withdrawal(referred, staff, api_client, hook, django_capture_on_commit_callbacks):
    family, referral = referred
    api_client(staff["partner"]).post("/api/v1/webhooks/", {"url": hook.url}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        referral_transition(referral=referral, target="accepted", actor=staff["partner"], note="seen")
    assert len(hook.received) == 1  # consent given: the partner is told
    pending = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=pending.pk).update(status="pending", delivered_at=None)  # a retry due

    with django_capture_on_commit_callbacks(execute=True):
        family_consent_withdraw(family=family, recorded_by=staff["worker"])

    assert len(hook.received) == 1 and WebhookDelivery.objects.count() == 1  # the closing is not pushed
    pending.refresh_from_db()
    assert pending.status == "failed" and pending.last_error == NOT_SENT_CONSENT_WITHDRAWN
    # Nothing queued for it any more, and a delivery that was already claimed is not sent.
    webhook_events_queue(referral=Referral.objects.get(pk=referral.pk), event="referral.status_changed")
    assert WebhookDelivery.objects.count() == 1
    WebhookDelivery.objects.filter(pk=pending.pk).update(status="pending", next_attempt_at=None)
    WebhookDelivery.objects.filter(pk=pending.pk).update(next_attempt_at=pending.created_at)
    assert webhook_deliver(delivery_id=pending.pk) == "failed"
    assert len(hook.received) == 1


def test_new_referral_needs_consent_again(referred, staff, api_client):
    family, _ = referred
    family_consent_withdraw(family=family, recorded_by=staff["worker"])
    client = api_client(staff["worker"])
    body = {"organization": "IOM", "service": "food", "urgency": "high", "note": ""}
    response = client.post(f"/api/v1/families/{family.pk}/referrals/", body, format="json")
    assert response.status_code == 409 and response.json()["code"] == "no_consent"
    family_update(family=family, changed_by=staff["worker"], consent_to_share=True)  # the family agrees again
    assert client.post(f"/api/v1/families/{family.pk}/referrals/", body, format="json").status_code == 201


def test_withdrawal_never_blocks_the_support_payment(referred, staff, api_client):
    family, _ = referred
    requested = disbursement_request(family=family, requested_by=staff["worker"])
    family_consent_withdraw(family=family, recorded_by=staff["worker"])
    approved = disbursement_approve(disbursement=requested, approved_by=staff["finance"])
    assert approved.status == "approved"
    # A family that withdrew before its payment was requested is paid all the same.
    other = Family.objects.get(pk=family.pk)
    Disbursement.objects.filter(pk=requested.pk).update(status="cancelled")
    response = api_client(staff["worker"]).post(f"/api/v1/families/{other.pk}/disbursements/")
    assert response.status_code == 201, response.json()
    assert Disbursement.objects.get(pk=response.json()["id"]).status == "requested"


def test_edit_form_does_not_withdraw_consent_silently(referred, staff, client):
    family, referral = referred
    client.force_login(staff["worker"])
    page = client.get(reverse("family-edit", args=[family.pk])).content.decode()
    assert (
        'name="consent_to_share"' not in page and reverse("family-consent-withdraw", args=[family.pk]) in page
    )
    response = client.post(
        reverse("family-edit", args=[family.pk]),
        {"phone": "0700 444 002", "destination_province": "AF-NAN", "destination_district": "Behsud"},
    )
    assert response.status_code == 302
    family.refresh_from_db()
    assert family.consent_to_share is True and family.phone == "+93700444002"


def test_withdraw_from_the_family_page(referred, staff, client):
    family, referral = referred
    client.force_login(staff["worker"])
    page = client.get(reverse("family-detail", args=[family.pk])).content.decode()
    assert reverse("family-consent-withdraw", args=[family.pk]) in page
    confirm = client.get(reverse("family-consent-withdraw", args=[family.pk])).content.decode()
    assert "The support payment is not affected" in confirm
    response = client.post(reverse("family-consent-withdraw", args=[family.pk]), {"note": "by phone"})
    assert response.status_code == 302
    family.refresh_from_db()
    assert family.consent_to_share is False and family.consent_recorded_by == staff["worker"]
    assert Referral.objects.get(pk=referral.pk).status == "closed"
    client.force_login(staff["finance"])
    assert client.post(reverse("family-consent-withdraw", args=[family.pk])).status_code == 403
