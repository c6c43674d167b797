"""Shared pieces of the benchmarks: a throw-away PostgreSQL database, bulk loading in SQL, gunicorn, timing."""

import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SECRET = secrets.token_urlsafe(60)


# Families with their heads, in one statement each (needs a user named bench-loader).
LOAD_FAMILIES = """
WITH cp AS (SELECT array_agg(id ORDER BY id) ids FROM families_crossingpoint),
     pr AS (SELECT array_agg(id ORDER BY id) ids FROM families_province),
     u AS (SELECT id FROM accounts_user WHERE username = 'bench-loader')
INSERT INTO families_family (id, case_number, status, crossing_point_id, arrival_date, origin_location,
    documentation_status, return_type, destination_province_id, destination_district, phone, consent_to_share,
    vulnerabilities, household_size, head_name, head_name_key, head_birth_year, created_by_id, created_at,
    updated_at)
SELECT md5('f' || g)::uuid, 'BEN-2026-' || lpad(g::text, 7, '0'), 'active',
       cp.ids[1 + g % array_length(cp.ids, 1)], date '2024-11-25' + (g % 730), '', 'undocumented', 'deported',
       pr.ids[1 + g % 34], '', '+9370' || lpad((g % 10000000)::text, 7, '0'), g % 7 <> 0, '[]'::jsonb,
       1 + g % 9, 'Name' || g || ' Father' || (g % 997), 'nm' || g || ' fthr' || (g % 997), 1950 + g % 55,
       u.id, now(), now()
FROM generate_series(1, {n}) g, cp, pr, u;
INSERT INTO families_member (id, family_id, given_name, father_name, family_name, sex, age_years, birth_year,
    relationship, tazkira_number, tazkira_key, vulnerabilities, name_key, position)
SELECT md5('m' || g)::uuid, md5('f' || g)::uuid, 'Name' || g, 'Father' || (g % 997), '', 'M', 30, 1950 + g % 55,
       'head', '', '', '[]'::jsonb, 'nm' || g || ' fthr' || (g % 997), 0
FROM generate_series(1, {n}) g;
ANALYZE;
"""


def bench_env(db_name: str) -> dict:
    base = ADMIN_URL.rsplit("/", 1)[0]
    return {
        **os.environ,
        "DATABASE_URL": f"{base}/{db_name}",
        "DEBUG": "False",
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False",
        "PARTNER_THROTTLE_RATE": "1000000/min",
        "LOG_LEVEL": "WARNING",
        "AXES_ENABLED": "False",
        "PYTHONWARNINGS": "ignore::UserWarning",
    }


def psql(sql: str, db: str = "postgres") -> None:
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)


def psql_file(path, db: str) -> None:
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(path)], check=True)


def fresh_database(db_name: str) -> dict:
    psql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{db_name}"')
    env = bench_env(db_name)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    return env


def django_setup(env: dict) -> None:
    os.environ.update(
        {k: v for k, v in env.items() if k in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidcase.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


@contextmanager
def gunicorn(env: dict, port: int = 8765, workers: int = 4):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "aidcase.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)  # noqa: S310 - local
                break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(label: str, runs: list[float], unit: str) -> str:
    return f"{label:<44} median {statistics.median(runs):>9.1f} {unit}  (min {min(runs):.1f}, max {max(runs):.1f}, {len(runs)} runs)"
