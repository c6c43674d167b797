"""bench/generate.py at tiny scale: the generated database passes every constraint and the app reads it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="the generator loads PostgreSQL"
)

READ_AS_PARTNER = """
import json, sys
sys.path.insert(0, ".")
from bench.common import bench_env, django_setup
django_setup(bench_env(sys.argv[1]))
from django.test import Client
from accounts.models import User
from accounts.services import api_key_create
from referrals.models import Referral
user = User.objects.get(username="bench-unhcr")
key = api_key_create(user=user)[1]
client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="127.0.0.1")
response = client.get("/api/v1/referrals/?limit=500", secure=True)
from families.models import Family
worker = Client(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=User.objects.get(username='bench-cw00'))[1]}",
                HTTP_HOST="127.0.0.1")
head = Family.objects.order_by("case_number").first().head_name
family = worker.get("/api/v1/families/", {"search": head}, secure=True)
print(json.dumps({"status": response.status_code, "listed": len(response.json()["results"]),
                  "search": family.status_code, "found": len(family.json()["results"]),
                  "expected": Referral.objects.filter(organization=user.organization).count()}))
"""


def test_generated_database_is_schema_valid_and_served_by_the_api():
    db = f"aidcase_bench_smoke_{os.getpid()}"
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {**os.environ, "BENCH_ADMIN_URL": f"{admin_url}/postgres"}
    try:
        subprocess.run(
            [sys.executable, "bench/generate.py", "--scale", "50", "--db", db],
            cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
        with psycopg.connect(f"{admin_url}/{db}") as conn:
            count = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
            assert count("SELECT count(*) FROM families_family") == 50
            assert count("SELECT sum(household_size) FROM families_family") == count(
                "SELECT count(*) FROM families_member"
            )
            assert count("SELECT count(*) FROM families_member WHERE relationship = 'head'") == 50
            # Every constraint dropped for the load is back and validated.
            assert count("SELECT count(*) FROM pg_constraint WHERE NOT convalidated") == 0
            assert count("SELECT count(*) FROM pg_indexes WHERE indexname = 'family_head_key_trgm'") == 1
            # Payments have their ledger: one transition per step, the last one the payment's status.
            assert count(
                "SELECT count(*) FROM disbursements_disbursement d WHERE status <> (SELECT to_status FROM "
                "disbursements_disbursementtransition t WHERE t.disbursement_id = d.id ORDER BY t.id DESC LIMIT 1)"
            ) == 0  # fmt: skip
            assert count("SELECT count(DISTINCT status) FROM referrals_referral") >= 3
            # New registrations get the next case numbers, not the generated ones.
            assert count(
                "SELECT count(*) FROM families_casenumbercounter c WHERE c.last < (SELECT count(*) FROM "
                "families_family f WHERE f.case_number LIKE c.prefix || '-' || c.year || '-%')"
            ) == 0  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-c", READ_AS_PARTNER, db],
            cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["status"] == result["search"] == 200
        assert result["listed"] == result["expected"] > 0
        assert result["found"] >= 1  # the name search finds the family by its head's name
    finally:
        with psycopg.connect(f"{admin_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
