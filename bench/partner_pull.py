"""Benchmark: partner pulls with 1,000,000 referrals in the database.

    python bench/partner_pull.py [--families 300000] [--referrals 1000000] [--pages 300] [--clients 8] [--runs 3]

Loads the families and the referrals (spread over the 8 partner organizations) with INSERT ... SELECT, then
UNHCR's key pulls pages of 100 through gunicorn: the first page of a full sync, and pages deep into the sync
(cursor positioned after 90% of UNHCR's referrals). Prints pages per second and p50/p99 latency, each as a
median with min and max over the runs; beside it the same page read by one hand-written SQL statement.
"""

import argparse
import base64
import http.client
import json
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import LOAD_FAMILIES, django_setup, fresh_database, gunicorn, percentile, psql, summary  # noqa: E402

DB = "aidcase_bench_pull"

LOAD_REFERRALS = """
WITH o AS (SELECT array_agg(id ORDER BY code) ids FROM accounts_organization),
     s AS (SELECT array_agg(id ORDER BY code) ids FROM referrals_servicetype),
     u AS (SELECT id FROM accounts_user WHERE username = 'bench-loader')
INSERT INTO referrals_referral (id, family_id, organization_id, service_id, urgency, note, status, status_note,
    created_by_id, created_at, updated_at)
SELECT md5('r' || g)::uuid, md5('f' || (1 + g % {families}))::uuid, o.ids[1 + g % array_length(o.ids, 1)],
       s.ids[1 + g % array_length(s.ids, 1)], (ARRAY['low','medium','high','emergency'])[1 + g % 4], 'bench',
       (ARRAY['sent','accepted','in_progress','completed','declined','closed'])[1 + g % 6], '', u.id,
       timestamptz '2024-11-25' + g * interval '60 seconds', timestamptz '2024-11-25' + g * interval '60 seconds'
FROM generate_series(1, {n}) g, o, s, u;
ANALYZE;
"""

RAW_PAGE = """
EXPLAIN ANALYZE SELECT r.id, r.status, r.urgency, r.note, r.updated_at, f.case_number, f.head_name, f.phone
FROM referrals_referral r JOIN families_family f ON f.id = r.family_id
WHERE r.organization_id = {org} AND (r.updated_at, r.id) > ('{ts}', '{rid}')
ORDER BY r.updated_at, r.id LIMIT 101
"""


def cursor_for(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def pull(base: str, key: str, paths: list[str], clients: int) -> tuple[float, list[float]]:
    host = urlparse(base)
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(chunk):
        conn = http.client.HTTPConnection(host.hostname, host.port, timeout=60)
        mine = []
        for path in chunk:
            start = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, (response.status, body[:200])
            assert len(json.loads(body)["results"]) == 100
            mine.append(time.perf_counter() - start)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(paths[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--families", type=int, default=300_000)
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=300, help="pages pulled per measurement and run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    env = fresh_database(DB)
    django_setup(env)
    from accounts.services import api_key_create, user_create

    user_create(username="bench-loader", role="case_worker")
    partner = user_create(username="bench-unhcr", role="partner", organization_code="UNHCR")
    key = api_key_create(user=partner)[1]
    start = time.perf_counter()
    psql(LOAD_FAMILIES.format(n=args.families), db=DB)
    psql(LOAD_REFERRALS.format(n=args.referrals, families=args.families), db=DB)
    print(
        f"loaded {args.families:,} families and {args.referrals:,} referrals in {time.perf_counter() - start:.1f} s"
    )

    from referrals.models import Referral

    mine = Referral.objects.filter(organization=partner.organization).order_by("updated_at", "id")
    total = mine.count()
    deep = mine.values_list("updated_at", "id")[int(total * 0.9)]
    deep_cursor = cursor_for([deep[0].isoformat(), str(deep[1])])
    print(f"UNHCR has {total:,} referrals; the deep page starts after {int(total * 0.9):,} of them")

    first_path = "/api/v1/referrals/?limit=100"
    deep_path = f"/api/v1/referrals/?limit=100&cursor={deep_cursor}"
    results = {"first": ([], [], []), "deep": ([], [], [])}
    with gunicorn(env) as base:
        pull(base, key, [first_path] * 20, args.clients)  # warm-up
        for run in range(args.runs):
            for name, path in (("first", first_path), ("deep", deep_path)):
                seconds, lat = pull(base, key, [path] * args.pages, args.clients)
                rate, p50, p99 = results[name]
                rate.append(args.pages / seconds)
                p50.append(percentile(lat, 50) * 1000)
                p99.append(percentile(lat, 99) * 1000)
            print(
                f"run {run + 1}: first page {results['first'][0][-1]:.0f}/s, deep page {results['deep'][0][-1]:.0f}/s"
            )

    raw = []
    for _ in range(args.runs):
        t = time.perf_counter()
        psql(RAW_PAGE.format(org=partner.organization_id, ts=deep[0].isoformat(), rid=deep[1]), db=DB)
        raw.append((time.perf_counter() - t) * 1000)

    print(
        f"\nPartner pulls, {args.referrals:,} referrals ({total:,} for UNHCR), pages of 100, {args.clients} clients"
    )
    for name in ("first", "deep"):
        rate, p50, p99 = results[name]
        print(summary(f"{name} page: pages per second", rate, "pages/s"))
        print(summary("  latency p50", p50, "ms"))
        print(summary("  latency p99", p99, "ms"))
    print(summary("raw SQL for the deep page (psql, incl. connect)", raw, "ms"))


if __name__ == "__main__":
    main()
