import csv
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, Organization, User, UserAPIKey
from families.models import CrossingPoint, Province
from referrals.models import ServiceType

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_migrate_loads_reference_data():
    assert set(CrossingPoint.objects.values_list("code", flat=True)) >= {
        "TORKHAM",
        "SPIN_BOLDAK",
        "GHULAM_KHAN",
        "ANGOOR_ADDA",
        "BAHRAMCHA",
    }
    with (ROOT / "families" / "data" / "provinces.csv").open(encoding="utf-8") as fh:
        expected = {row["code"]: row["name"] for row in csv.DictReader(fh)}
    assert len(expected) == 34
    assert dict(Province.objects.values_list("code", "name")) == expected
    assert set(Organization.objects.values_list("code", flat=True)) >= {
        "UNHCR",
        "IOM",
        "WFP",
        "UNICEF",
        "NRC",
        "DRC",
        "IRC",
        "WHO",
    }
    assert set(ServiceType.objects.values_list("code", flat=True)) == {
        "shelter",
        "food",
        "health",
        "protection",
        "child_protection",
        "gbv",
        "legal",
        "wash",
        "education",
        "livelihoods",
        "cash",
        "transport",
    }


def test_createorganization_and_duplicate_code():
    assert "Created organization NGO1" in run("createorganization", "NGO1", "Afghan Relief")
    assert Organization.objects.get(code="NGO1").name == "Afghan Relief"
    with pytest.raises(CommandError, match="already exists"):
        run("createorganization", "NGO1", "Again")


@pytest.mark.parametrize("role", ["case_worker", "finance", "coordinator", "admin"])
def test_createuser_each_staff_role(role):
    run("createuser", f"u-{role}", "--role", role, "--password", "a-long-password-1")
    user = User.objects.get(username=f"u-{role}")
    assert user.role == role
    assert user.check_password("a-long-password-1")
    assert user.is_superuser is (role == "admin")


def test_createuser_partner_needs_known_org():
    run("createuser", "ngo", "--role", "partner", "--org", "UNHCR")
    assert User.objects.get(username="ngo").organization.code == "UNHCR"
    with pytest.raises(CommandError, match="needs an organization"):
        run("createuser", "ngo2", "--role", "partner")
    with pytest.raises(CommandError, match="Unknown organization 'NOPE'"):
        run("createuser", "ngo3", "--role", "partner", "--org", "NOPE")
    with pytest.raises(CommandError, match="Unknown role 'boss'"):
        run("createuser", "x", "--role", "boss")
    with pytest.raises(CommandError, match="already exists"):
        run("createuser", "ngo", "--role", "case_worker")
    assert not User.objects.filter(username__in=["ngo2", "ngo3", "x"]).exists()


def test_createapikey_prints_key_last_and_stores_only_a_hash(api_client):
    run("createuser", "ngo", "--role", "partner", "--org", "IOM")
    key = run("createapikey", "ngo").strip().splitlines()[-1]
    row = UserAPIKey.objects.get(user__username="ngo")
    secret = key.split(".", 1)[1]
    assert secret not in row.hashed_key and secret not in row.id
    assert row.hashed_key.startswith("sha512$$")
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/families/").status_code == 403  # authenticated (a partner), not allowed
    run("revokeapikey", "ngo")
    response = client.get("/api/v1/families/")
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_createapikey_unknown_user():
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        run("createapikey", "ghost")


def test_plain_key_is_stored_nowhere(make_user):
    worker = make_user("case_worker")
    key = run("createapikey", worker.username).strip().splitlines()[-1]
    secret = key.split(".", 1)[1]
    stored = [str(value) for value in UserAPIKey.objects.filter(user=worker).values().get().values()]
    stored += [str(e.data) for e in AuditEvent.objects.filter(action="api_key.created")]
    assert not [value for value in stored if key in value or secret in value]


def _url(db: dict) -> str:
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _manage_concurrently(*commands: list[str]) -> list[subprocess.CompletedProcess]:
    """Run manage.py commands against the test database as real processes (two at a time)."""
    from django.conf import settings

    env = {**os.environ, "DATABASE_URL": _url(settings.DATABASES["default"]), "DEBUG": "True"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(
            pool.map(
                lambda args: subprocess.run(
                    [sys.executable, "manage.py", *args],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=60,
                ),
                commands,
            )
        )


# Refused command lines (the successful ones are above, through call_command): each must exit non-zero
# with its message on stderr.
COMMAND_LINES = [
    (["createorganization", "UNHCR", "Again"], "An organization with code 'UNHCR' already exists."),
    (["createuser", "p2", "--role", "partner"], "A partner user needs an organization (--org CODE)."),
    (["createuser", "p3", "--role", "partner", "--org", "NOPE"], "Unknown organization 'NOPE'."),
    (["createuser", "p4", "--role", "boss"], "Unknown role 'boss'. Choose one of: case_worker,"),
    (["createuser", "taken", "--role", "finance"], "A user named 'taken' already exists."),
]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_commands_exit_status_and_messages_as_processes(make_user, api_client):
    make_user("finance", "taken")
    make_user("case_worker", "field-tool")
    *results, keyed = _manage_concurrently(
        *(args for args, *_ in COMMAND_LINES), ["createapikey", "field-tool"]
    )
    for (args, text), result in zip(COMMAND_LINES, results, strict=True):
        assert result.returncode != 0, (args, result.stdout)
        assert text in result.stderr, (args, result.stderr)
    assert Organization.objects.get(code="UNHCR").name != "Again"
    assert not User.objects.filter(username__in=["p2", "p3", "p4"]).exists()
    assert User.objects.get(username="taken").role == "finance"

    assert keyed.returncode == 0, keyed.stderr
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {keyed.stdout.strip().splitlines()[-1]}")
    assert client.get("/api/v1/families/").status_code == 200

    (revoked,) = _manage_concurrently(["revokeapikey", "field-tool"])
    assert revoked.returncode == 0 and "Revoked 1 API key(s) of field-tool." in revoked.stdout
    assert client.get("/api/v1/families/").status_code == 401
