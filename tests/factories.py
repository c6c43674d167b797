"""factory_boy factories that go through the services, so a factory-made row is one the app could have made.

`.build()` gives unsaved objects (no database); `.create()` / calling the factory runs the service.
"""

import csv
from datetime import date
from pathlib import Path

import factory

from accounts.models import User
from accounts.services import user_create
from families.models import CrossingPoint, Family, Province
from families.services import MemberInput, family_register

_NAMES = [
    row["latin"]
    for row in csv.DictReader(
        (Path(__file__).resolve().parents[1] / "families/data/names.csv").open(encoding="utf-8")
    )
]


def _given(n: int) -> str:
    return _NAMES[n % len(_NAMES)]


def _father(n: int) -> str:
    # A different walk through the list: consecutive families differ in both names, so the
    # factory does not make possible duplicates unless a test asks for them.
    return _NAMES[(7 * n + 3) % len(_NAMES)]


class UserFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user-{n}")
    role = "case_worker"
    organization_code = factory.Maybe(
        factory.LazyAttribute(lambda o: o.role == "partner"), yes_declaration="UNHCR", no_declaration=None
    )
    password = "pw-for-tests-1"

    @classmethod
    def _build(cls, model_class, *, organization_code=None, password=None, **kwargs):
        return model_class(**kwargs)

    @classmethod
    def _create(cls, model_class, **kwargs):
        return user_create(check_password_strength=False, **kwargs)


class MemberInputFactory(factory.Factory):
    """A household member as the API or the form hands it to `family_register` (no database)."""

    class Meta:
        model = MemberInput

    given_name = factory.Sequence(_given)
    father_name = factory.Sequence(_father)
    sex = "M"
    relationship = "head"
    date_of_birth = date(1985, 3, 21)


class FamilyFactory(factory.Factory):
    """A family registered through `family_register`; its members default to a single head."""

    class Meta:
        model = Family

    created_by = factory.SubFactory(UserFactory)
    crossing_point = "TORKHAM"
    arrival_date = date(2026, 11, 20)
    destination_province = "AF-NAN"
    destination_district = "Jalalabad"
    phone = ""
    consent_to_share = True
    members = factory.LazyFunction(lambda: [MemberInputFactory()])

    @classmethod
    def _build(cls, model_class, *, members, crossing_point, destination_province, created_by, **kwargs):
        return model_class(
            crossing_point=CrossingPoint(code=crossing_point),
            destination_province=Province(code=destination_province),
            created_by=created_by,
            household_size=len(members),
            **kwargs,
        )

    @classmethod
    def _create(cls, model_class, *, crossing_point, destination_province, **kwargs):
        return family_register(
            crossing_point=CrossingPoint.objects.get(code=crossing_point),
            destination_province=Province.objects.get(code=destination_province),
            **kwargs,
        )
