"""Shared pieces of the benchmarks: a throw-away PostgreSQL database, gunicorn, an HTTP load driver, timing."""

import http.client
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SECRET = secrets.token_urlsafe(60)


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
    os.environ.update(env)
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


def drive(base: str, jobs: list[tuple], clients: int) -> tuple[float, list[float], dict[int, int]]:
    """Send each (method, path, key, body) once from `clients` threads on keep-alive connections.

    Returns the wall-clock seconds, each request's latency and the count per status code."""
    host = urlparse(base)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker(chunk):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=120)
        mine = []
        for method, path, key, body in chunk:
            headers = {"Authorization": f"Bearer {key}"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            start = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            mine.append((time.perf_counter() - start, response.status))
            if response.status >= 400 and len(mine) < 3:
                print(f"    {method} {path}: {response.status} {content[:300]!r}", file=sys.stderr)
        conn.close()
        with lock:
            for elapsed, code in mine:
                latencies.append(elapsed)
                statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=worker, args=(jobs[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, statuses
