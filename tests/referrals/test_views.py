import pytest
from django.urls import reverse

from referrals.models import Referral

pytestmark = pytest.mark.django_db


def test_refer_from_the_family_page_and_close(client, people, register_family):
    worker = people["worker"][0]
    family = register_family()
    client.force_login(worker)
    page = client.get(reverse("family-detail", args=[family.pk])).content.decode()
    assert f'action="/families/{family.pk}/refer/"' in page
    response = client.post(
        reverse("referral-create", args=[family.pk]),
        {"organization": "WFP", "service": "food", "urgency": "high"},
        follow=True,
    )
    assert "Referral sent to WFP." in response.content.decode()
    referral = Referral.objects.get(family=family)
    assert (referral.organization.code, referral.service.code, referral.status) == ("WFP", "food", "sent")
    client.post(reverse("referral-close", args=[referral.pk]))
    referral.refresh_from_db()
    assert referral.status == "closed"


def test_family_without_consent_cannot_be_referred_from_the_page(client, people, register_family):
    family = register_family(consent=False)
    client.force_login(people["worker"][0])
    assert "cannot be referred" in client.get(reverse("family-detail", args=[family.pk])).content.decode()
    response = client.post(
        reverse("referral-create", args=[family.pk]),
        {"organization": "WFP", "service": "food", "urgency": "low"},
        follow=True,
    )
    assert "has not agreed to share its data" in response.content.decode()
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("worker", 200), ("coordinator", 200), ("finance", 403), ("unhcr", 403)]
)
def test_overview_shows_open_referrals_with_age(client, people, make_referral, who, status):
    make_referral(org="IOM")
    client.force_login(people[who][0])
    response = client.get(reverse("referral-overview"))
    assert response.status_code == status
    if status == 200:
        assert "IOM" in response.content.decode()
