import pytest

from referrals.services import referral_create


@pytest.fixture
def people(make_user, api_client):
    users = {
        "worker": make_user("case_worker", "refer-worker"),
        "unhcr": make_user("partner", "unhcr-api", org="UNHCR"),
        "iom": make_user("partner", "iom-api", org="IOM"),
        "finance": make_user("finance", "refer-fin"),
        "coordinator": make_user("coordinator", "refer-coord"),
    }
    return {name: (user, api_client(user)) for name, user in users.items()}


@pytest.fixture
def make_referral(register_family, people):
    def make(org="UNHCR", service="shelter", **family):
        family = register_family(**family)
        return referral_create(
            family=family,
            organization_code=org,
            service_code=service,
            urgency="high",
            note="needs a tent",
            created_by=people["worker"][0],
        )

    return make
