"""Benchmark: disbursement requests and approvals per second through the API, with N families loaded.

    python bench/disbursements.py [--families 300000] [--requests 1500] [--clients 16] [--runs 3]

Creates a throw-away database `aidcase_bench`, loads the families with one INSERT ... SELECT (a few seconds
for 300,000), runs gunicorn (4 workers) and drives it with concurrent HTTP clients on keep-alive
connections. Prints throughput and latency (p50/p99) as a median with min and max over the runs. The load
generator shares the machine with the server and PostgreSQL, so the figures are a floor.
"""

import argparse
import http.client
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import LOAD_FAMILIES, django_setup, fresh_database, gunicorn, percentile, psql, summary  # noqa: E402

DB = "aidcase_bench"


def timed_posts(base: str, jobs: list[tuple[str, str]], clients: int) -> tuple[float, list[float], dict]:
    """POST each (path, key) once from `clients` threads on keep-alive connections."""
    host = urlparse(base)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [jobs[i::clients] for i in range(clients)]

    def worker(chunk):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        mine = []
        for path, key in chunk:
            start = time.perf_counter()
            conn.request(
                "POST",
                path,
                body=b"{}",
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - start, response.status))
        conn.close()
        with lock:
            for elapsed, code in mine:
                latencies.append(elapsed)
                statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies, statuses


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--families", type=int, default=300_000)
    parser.add_argument(
        "--requests", type=int, default=1500, help="payments requested (and approved) per run"
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    env = fresh_database(DB)
    django_setup(env)
    from accounts.services import api_key_create, user_create

    loader = user_create(username="bench-loader", role="case_worker", check_password_strength=False)
    workers = [user_create(username=f"bench-cw{i}", role="case_worker") for i in range(args.clients)]
    officers = [user_create(username=f"bench-fin{i}", role="finance") for i in range(args.clients)]
    worker_keys = [api_key_create(user=u)[1] for u in workers]
    officer_keys = [api_key_create(user=u)[1] for u in officers]
    del loader

    start = time.perf_counter()
    psql(LOAD_FAMILIES.format(n=args.families), db=DB)
    print(f"loaded {args.families:,} families (with their heads) in {time.perf_counter() - start:.1f} s")

    from families.models import Family

    ids = list(Family.objects.order_by("?").values_list("id", flat=True)[: args.requests * args.runs])
    req_tps, req_p50, req_p99, app_tps, app_p50, app_p99 = [], [], [], [], [], []
    with gunicorn(env) as base:
        for run in range(args.runs):
            batch = ids[run * args.requests : (run + 1) * args.requests]
            jobs = [
                (f"/api/v1/families/{fid}/disbursements/", worker_keys[i % args.clients])
                for i, fid in enumerate(batch)
            ]
            seconds, lat, codes = timed_posts(base, jobs, args.clients)
            assert codes == {201: len(jobs)}, codes
            req_tps.append(len(jobs) / seconds)
            req_p50.append(percentile(lat, 50) * 1000)
            req_p99.append(percentile(lat, 99) * 1000)

            from disbursements.models import Disbursement

            pending = list(Disbursement.objects.filter(status="requested").values_list("id", flat=True))
            jobs = [
                (f"/api/v1/disbursements/{d}/approve/", officer_keys[i % args.clients])
                for i, d in enumerate(pending)
            ]
            seconds, lat, codes = timed_posts(base, jobs, args.clients)
            assert codes == {200: len(jobs)}, codes
            app_tps.append(len(jobs) / seconds)
            app_p50.append(percentile(lat, 50) * 1000)
            app_p99.append(percentile(lat, 99) * 1000)
            print(f"run {run + 1}: requests {req_tps[-1]:.0f}/s, approvals {app_tps[-1]:.0f}/s")

    print(f"\nDisbursements API, {args.families:,} families, {args.clients} clients, gunicorn 4 workers")
    print(summary("payment requests (POST .../disbursements/)", req_tps, "req/s"))
    print(summary("  latency p50", req_p50, "ms"))
    print(summary("  latency p99", req_p99, "ms"))
    print(summary("approvals (POST .../approve/)", app_tps, "req/s"))
    print(summary("  latency p50", app_p50, "ms"))
    print(summary("  latency p99", app_p99, "ms"))
    print(f"median of medians check: {statistics.median(req_tps):.0f} req/s")


if __name__ == "__main__":
    main()
