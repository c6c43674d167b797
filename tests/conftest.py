import copy
import itertools
from datetime import date

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models.signals import post_migrate
from rest_framework.test import APIClient

from accounts.services import api_key_create, user_create
from families.apis import REGISTRATION_EXAMPLE
from families.models import CrossingPoint, Province
from families.services import MemberInput, family_register

_counter = itertools.count(1)


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); scripts/test.sh does")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


REFERENCE_DATA = [
    ("accounts.migrations.0002_reference_organizations_and_audit_guard", "load_organizations"),
    ("families.migrations.0002_reference_data_and_trigram_indexes", "load_reference_data"),
    ("referrals.migrations.0002_service_types", "load_service_types"),
    ("disbursements.migrations.0002_support_amount_and_ledger_guard", "default_amount"),
]


def load_reference_data(**kwargs):
    from importlib import import_module

    from django.apps import apps

    for module, function in REFERENCE_DATA:
        getattr(import_module(module), function)(apps, None)


# A transactional test ends with a flush of every table, data migrations included; flush then sends
# post_migrate, and the reference data comes back, so the tests that run after it (in any order, in any
# process) find it. The receiver is connected once, for one app, so the data is loaded once per flush.
post_migrate.connect(
    load_reference_data,
    sender=django_apps.get_app_config("disbursements"),
    dispatch_uid="tests-reference-data",
)


@pytest.fixture(autouse=True)
def _reference_data_in_transactional_tests(request):
    """A transactional test may be the first after a database made without the data: load it first."""
    marker = request.node.get_closest_marker("django_db")
    if not marker or not (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return
    request.getfixturevalue("transactional_db")
    load_reference_data()


@pytest.fixture(autouse=True)
def _eager_celery():
    """Unit tests run tasks in-process; the integration tests start a real worker instead."""
    from aidcase.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def make_user(db):
    def make(
        role: str, username: str | None = None, org: str | None = None, password: str = "pw-for-tests-1"
    ):
        if role == "partner" and org is None:
            org = "UNHCR"
        return user_create(
            username=username or f"{role}-{next(_counter)}",
            role=role,
            organization_code=org,
            password=password,
            check_password_strength=False,
        )

    return make


@pytest.fixture
def api_client():
    """An API client authenticated with a real Bearer key of the given user (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            _, key = api_key_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


def registration_body(**overrides) -> dict:
    """The API documentation's example body (so the documented example is what the tests send)."""
    return {**copy.deepcopy(REGISTRATION_EXAMPLE), **overrides}


@pytest.fixture
def register_family(db, make_user):
    """Register a family through the service; keyword arguments change the head or the household."""

    def register(
        given="Gul",
        father="Ahmad",
        birth=date(1990, 1, 1),
        phone="",
        tazkira="",
        crossing_point="TORKHAM",
        consent=True,
        created_by=None,
        members=None,
        arrival=date(2026, 11, 20),
    ):
        head = MemberInput(
            given_name=given,
            father_name=father,
            sex="M",
            relationship="head",
            date_of_birth=birth,
            tazkira_number=tazkira,
        )
        return family_register(
            created_by=created_by or make_user("case_worker"),
            crossing_point=CrossingPoint.objects.get(code=crossing_point),
            arrival_date=arrival,
            destination_province=Province.objects.get(code="AF-NAN"),
            phone=phone,
            consent_to_share=consent,
            members=members or [head],
        )

    return register


def is_postgres() -> bool:
    return connection.vendor == "postgresql"
