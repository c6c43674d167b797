"""The performance suite: one command, every figure beside its raw-PostgreSQL limit and its target.

    .venv/bin/python bench/run.py --scale 300000 --runs 3 [--reuse]

Generates the data (bench/generate.py; --reuse keeps an existing aidcase_bench database of the same scale),
then measures, each `--runs` times, and prints median (min-max), the raw limit measured in the same run (the
same work as hand-written SQL or COPY, without the application), the ratio and the target:

  import        families/s through families.imports (parse, validate, duplicates, COPY) vs COPY of the rows
  registration  POST /api/v1/families/ from 8 clients against gunicorn vs one INSERT statement per family
  payments      request + approval pairs per second (two finance users) vs an INSERT and an UPDATE
  partner pull  pages of 100 (first and a 90%-deep keyset page), 8 clients; pages/s of one worker process
  reconcile     a statement of --lines lines, exactly what the Celery task runs, vs COPY + one UPDATE ... FROM
  report        the weekly situation report vs its aggregates as one SQL statement

Writes made by the import, reconciliation and report runs are rolled back after each run, so every run
starts from the same data. gunicorn runs sync workers on the same machine as PostgreSQL and the clients.
"""

import argparse
import base64
import io
import json
import os
import statistics
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, django_setup, drive, gunicorn, percentile  # noqa: E402
from bench.generate import END, HouseholdMaker, family_rows, generate, uid  # noqa: E402

TARGETS = {
    "import": (">=", 5000),
    "registration p99": ("<=", 150),
    "partner first p99": ("<=", 30),
    "partner deep p99": ("<=", 30),
    "partner pages/s per worker": (">=", 150),
    "reconciliation": ("<=", 10),
    "weekly report": ("<=", 2),
}


class Rollback(Exception):
    pass


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def database_scale(env: dict) -> int | None:
    import psycopg

    try:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            return conn.execute("SELECT count(*) FROM families_family").fetchone()[0]
    except psycopg.Error:
        return None


def raw_conn(env: dict):
    import psycopg

    return psycopg.connect(env["DATABASE_URL"])


def threaded(jobs: list, clients: int, fn) -> tuple[float, list[float]]:
    """Run fn(conn_state, job) for each job from `clients` threads; per-job latencies."""
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(chunk):
        state = {}
        mine = []
        for job in chunk:
            start = time.perf_counter()
            fn(state, job)
            mine.append(time.perf_counter() - start)
        if "conn" in state:
            state["conn"].close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(jobs[i::clients],)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, latencies


# --- households as the import file, as API bodies and as raw rows ------------------------------------------


def households(seed: int, n: int, arrival: date):
    maker = HouseholdMaker(seed, end=arrival)
    from families.models import Province

    maker.set_provinces(sorted(Province.objects.values_list("code", flat=True)))
    return [maker.household(arrival - timedelta(days=maker.rng.randrange(0, 20))) for _ in range(n)]


def import_csv(items) -> bytes:
    import csv

    from families.imports import TEMPLATE_COLUMNS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TEMPLATE_COLUMNS)
    for n, h in enumerate(items):
        for i, p in enumerate(h.members):
            household = [h.crossing_point, h.arrival_date, h.province, h.district, h.phone,
                         "yes" if h.consent else "no", h.origin, h.documentation_status, h.return_type]  # fmt: skip
            writer.writerow(
                [f"HH-{n}", *(household if i == 0 else [""] * len(household)), p.given_name, p.father_name,
                 p.family_name, p.sex, p.relationship, p.date_of_birth or "",
                 "" if p.age_years is None else p.age_years, p.tazkira_number, ";".join(p.vulnerabilities)]
            )  # fmt: skip
    return out.getvalue().encode()


def api_body(h) -> bytes:
    return json.dumps(
        {
            "crossing_point": h.crossing_point,
            "arrival_date": h.arrival_date.isoformat(),
            "destination_province": h.province,
            "destination_district": h.district,
            "phone": h.phone,
            "consent_to_share": h.consent,
            "origin_location": h.origin,
            "documentation_status": h.documentation_status,
            "return_type": h.return_type,
            "members": [
                {
                    "given_name": p.given_name,
                    "father_name": p.father_name,
                    "family_name": p.family_name,
                    "sex": p.sex,
                    "relationship": p.relationship,
                    **(
                        {"date_of_birth": p.date_of_birth.isoformat()}
                        if p.date_of_birth
                        else {"age_years": p.age_years}
                    ),
                    "tazkira_number": p.tazkira_number,
                    "vulnerabilities": p.vulnerabilities,
                }
                for p in h.members
            ],
        }  # fmt: skip
    ).encode()


def reference_ids() -> dict:
    from families.models import CrossingPoint, Province

    return {
        "cp": dict(CrossingPoint.objects.values_list("code", "pk")),
        "prefix": dict(CrossingPoint.objects.values_list("code", "case_prefix")),
        "province": dict(Province.objects.values_list("code", "pk")),
    }


def raw_rows(items, tag: int, creator: int):
    """The families and members rows of `items` as the app would store them (case numbers RAW-...)."""
    from datetime import UTC, datetime

    refs = reference_ids()
    now = datetime.now(UTC)
    fam, mem, member_no = [], [], 1
    for i, h in enumerate(items, start=1):
        f, ms = family_rows(h, uid(tag, i), f"RAW{tag}-{i:07d}", refs, creator, now, member_no + tag * 10**7)
        member_no += len(ms)
        fam.append(f)
        mem.append(ms)
    return fam, mem


def copy_text(rows) -> bytes:
    return "".join("\t".join(r"\N" if v is None else str(v) for v in row) + "\n" for row in rows).encode()


# --- the measurements ---------------------------------------------------------------------------------------


def bench_import(args, run: int, users: dict, env: dict) -> tuple[float, float]:
    from django.db import transaction

    from bench.generate import FAMILY_COLUMNS, MEMBER_COLUMNS
    from families.imports import family_import

    items = households(1000 + run, args.import_households, END)
    content = import_csv(items)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        with transaction.atomic():
            result = family_import(content=content, filename="bench.csv", imported_by=users["cw"])
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            summary = result.summary
            raise Rollback
    except Rollback:
        pass
    assert summary["registered"] == len(items), summary
    fam, mem = raw_rows(items, 0x10 + run, users["cw"].pk)
    fam_text, mem_text = copy_text(fam), copy_text(m for ms in mem for m in ms)
    with raw_conn(env) as conn:
        start = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(f"COPY families_family ({', '.join(FAMILY_COLUMNS)}) FROM STDIN") as copy:
                copy.write(fam_text)
            with cur.copy(f"COPY families_member ({', '.join(MEMBER_COLUMNS)}) FROM STDIN") as copy:
                copy.write(mem_text)
        raw = time.perf_counter() - start
        conn.rollback()
    print(f"  import: {len(items):,} households, {summary['possible_duplicates']} possible duplicates, "
          f"{elapsed:.1f} s ({cpu:.1f} s CPU of this process: {len(items) / cpu:,.0f} families per CPU-second); "
          f"raw COPY {raw:.2f} s")  # fmt: skip
    return len(items) / elapsed, len(items) / raw


RAW_REGISTER = """
WITH f AS (
  INSERT INTO families_family (id, case_number, status, crossing_point_id, arrival_date, origin_location,
    documentation_status, return_type, destination_province_id, destination_district, phone, consent_to_share,
    consent_recorded_at, consent_recorded_by_id, vulnerabilities, household_size, head_name, head_name_key,
    head_birth_year, created_by_id, created_at, updated_at, import_fingerprint)
  VALUES (%s, %s, 'active', %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s, %s::jsonb, %s, %s, %s, %s, %s, now(),
    now(), '') RETURNING id)
INSERT INTO families_member (id, family_id, given_name, father_name, family_name, sex, date_of_birth, age_years,
  birth_year, relationship, tazkira_number, tazkira_key, vulnerabilities, name_key, position)
SELECT m.id, f.id, m.g, m.fa, m.fn, m.s, m.dob, m.age, m.by, m.rel, m.tz, m.tk, m.v::jsonb, m.nk, m.pos
FROM f, unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], %s::text[], %s::date[], %s::int[], %s::int[],
  %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::int[])
  AS m(id, g, fa, fn, s, dob, age, by, rel, tz, tk, v, nk, pos)
"""


def raw_register_params(f, ms) -> list:
    def n(v):
        return None if v == r"\N" else v

    cols = list(zip(*ms, strict=True))
    return [
        f[0], f[1], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12] == "t", f[14], f[15], f[16], f[17],
        f[18], f[19], f[20], list(cols[0]), *[list(c) for c in cols[2:6]], [n(v) for v in cols[6]],
        [n(v) for v in cols[7]], list(cols[8]), *[list(c) for c in cols[9:15]],
    ]  # fmt: skip


def bench_registration(args, run: int, users: dict, keys: dict, base: str, env: dict):
    from django.utils import timezone

    today = timezone.localdate()
    items = households(2000 + run, args.registrations, today)
    jobs = [
        ("POST", "/api/v1/families/", keys["cw"][i % len(keys["cw"])], api_body(h))
        for i, h in enumerate(items)
    ]
    seconds, lat, statuses = drive(base, jobs, args.clients)
    assert set(statuses) == {201}, statuses
    api = (len(jobs) / seconds, percentile(lat, 50) * 1000, percentile(lat, 99) * 1000)
    fam, mem = raw_rows(items, 0x20 + run, users["cw"].pk)
    params = [raw_register_params(f, ms) for f, ms in zip(fam, mem, strict=True)]

    def insert(state, p):
        if "conn" not in state:
            state["conn"] = raw_conn(env)
            state["conn"].autocommit = True
        state["conn"].execute(RAW_REGISTER, p)

    seconds, lat = threaded(params, args.clients, insert)
    raw = (len(params) / seconds, percentile(lat, 50) * 1000, percentile(lat, 99) * 1000)
    with raw_conn(env) as conn:
        conn.execute("DELETE FROM families_member m USING families_family f WHERE f.id = m.family_id "
                     "AND f.case_number LIKE 'RAW%%'")  # fmt: skip
        conn.execute("DELETE FROM families_family WHERE case_number LIKE 'RAW%%'")
    print(
        f"  registration: {api[0]:.0f}/s p50 {api[1]:.0f} ms p99 {api[2]:.0f} ms; raw {raw[0]:.0f}/s p99 {raw[2]:.1f} ms"
    )
    return api, raw


def bench_payments(args, run: int, users: dict, keys: dict, base: str, env: dict):
    from disbursements.models import Disbursement
    from families.models import Family

    families = list(
        Family.objects.filter(status="active")
        .exclude(disbursements__isnull=False)
        .exclude(case_number__startswith="RAW")
        .order_by("id")
        .values_list("id", flat=True)[: args.payments * 2]
    )
    mine, raw_families = families[: args.payments], families[args.payments :]
    jobs = [("POST", f"/api/v1/families/{f}/disbursements/", keys["fin1"], b"{}") for f in mine]
    t1, lat1, st = drive(base, jobs, args.clients)
    assert set(st) == {201}, st
    ids = Disbursement.objects.filter(family_id__in=mine, status="requested").values_list("id", flat=True)
    jobs = [("POST", f"/api/v1/disbursements/{d}/approve/", keys["fin2"], b"{}") for d in ids]
    t2, lat2, st = drive(base, jobs, args.clients)
    assert set(st) == {200}, st
    api = (len(mine) / (t1 + t2), percentile(lat1, 99) * 1000, percentile(lat2, 99) * 1000)

    fin1, fin2 = users["fin1"].pk, users["fin2"].pk

    def pay(state, family_id):
        if "conn" not in state:
            state["conn"] = raw_conn(env)
            state["conn"].autocommit = True
        conn = state["conn"]
        (pk,) = conn.execute(
            "INSERT INTO disbursements_disbursement (id, reference, family_id, amount, currency, status, legal_basis,"
            " requested_by_id, requested_at, decision_reason, recipient_confirmation, recipient_code_hash,"
            " failure_reason, updated_at) VALUES (gen_random_uuid(), 'RAW-' || %s, %s, 10000, 'AFN', 'requested',"
            " 'vital_interests', %s, now(), '', '', '', '', now()) RETURNING id",
            [str(family_id)[:24], family_id, fin1],
        ).fetchone()
        conn.execute(
            "UPDATE disbursements_disbursement SET status = 'approved', approved_by_id = %s, approved_at = now() "
            "WHERE id = %s AND status = 'requested'",
            [fin2, pk],
        )

    seconds, _lat = threaded(raw_families, args.clients, pay)
    raw = len(raw_families) / seconds
    with raw_conn(env) as conn:
        conn.execute("DELETE FROM disbursements_disbursement WHERE reference LIKE 'RAW-%%'")
    print(
        f"  payments: {api[0]:.0f} pairs/s (request p99 {api[1]:.0f} ms, approve p99 {api[2]:.0f} ms); raw {raw:.0f}/s"
    )
    return api, raw


RAW_PAGE = """
SELECT r.id, r.status, r.urgency, r.note, r.status_note, r.created_at, r.updated_at, o.code, s.code,
       f.case_number, f.head_name, f.household_size, f.phone, p.code, f.destination_district, f.vulnerabilities
FROM referrals_referral r JOIN families_family f ON f.id = r.family_id
JOIN accounts_organization o ON o.id = r.organization_id JOIN referrals_servicetype s ON s.id = r.service_id
JOIN families_province p ON p.id = f.destination_province_id
WHERE r.organization_id = %s AND (r.updated_at, r.id) > (%s, %s)
ORDER BY r.updated_at, r.id LIMIT 101
"""


def cursor_for(values: list[str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def bench_partner(args, run: int, users: dict, keys: dict, base: str, single: str, env: dict):
    from datetime import UTC, datetime

    from referrals.models import Referral

    partner = users["unhcr"]
    mine = Referral.objects.filter(organization=partner.organization).order_by("updated_at", "id")
    total = mine.count()
    deep = mine.values_list("updated_at", "id")[int(total * 0.9)]
    paths = {
        "first": "/api/v1/referrals/?limit=100",
        "deep": f"/api/v1/referrals/?limit=100&cursor={cursor_for([deep[0].isoformat(), str(deep[1])])}",
    }
    out = {}
    for name, path in paths.items():
        jobs = [("GET", path, keys["unhcr"], None)] * args.pages
        seconds, lat, st = drive(base, jobs, args.clients)
        assert set(st) == {200}, st
        out[name] = (args.pages / seconds, percentile(lat, 50) * 1000, percentile(lat, 99) * 1000)
    seconds, _lat, st = drive(single, [("GET", paths["deep"], keys["unhcr"], None)] * (args.pages // 2), 1)
    out["single"] = (args.pages // 2) / seconds
    raw = {}
    with raw_conn(env) as conn:
        for name, after in (("first", (datetime(1970, 1, 1, tzinfo=UTC), "00000000-0000-0000-0000-000000000000")),
                            ("deep", deep)):  # fmt: skip
            lat = []
            for _ in range(args.pages):
                start = time.perf_counter()
                rows = conn.execute(
                    RAW_PAGE, [partner.organization_id, after[0], after[1]], prepare=True
                ).fetchall()
                lat.append(time.perf_counter() - start)
            assert len(rows) == 101
            raw[name] = (len(lat) / sum(lat), percentile(lat, 50) * 1000, percentile(lat, 99) * 1000)
    print(f"  partner ({total:,} referrals for UNHCR): first {out['first'][0]:.0f} pages/s p99 "
          f"{out['first'][2]:.0f} ms, deep {out['deep'][0]:.0f} pages/s p99 {out['deep'][2]:.0f} ms, one worker "
          f"{out['single']:.0f} pages/s; raw deep p99 {raw['deep'][2]:.1f} ms")  # fmt: skip
    return out, raw


def statement_file(refs: list[str], lines: int) -> bytes:
    out = ["reference,amount,status,paid_at"]
    for g in range(lines):
        if g % 100 == 99 or g >= len(refs):
            out.append(f"UNKNOWN-{g},10000.00,paid,2026-11-21")
        elif g % 50 == 1:
            out.append(f"{refs[g]},10000.00,failed,")
        elif g % 100 == 7:
            out.append(f"{refs[g]},9000.00,paid,2026-11-21T10:00:00+04:30")
        else:
            out.append(f"{refs[g]},10000.00,paid,2026-11-21T10:00:00+04:30")
    return ("\n".join(out) + "\n").encode()


EXPORT_ALL = """
UPDATE disbursements_disbursement SET status = 'exported', approved_by_id = %s, approved_at = now(),
  batch_id = (SELECT id FROM disbursements_payoutbatch ORDER BY reference LIMIT 1), exported_at = now() - interval '1 day',
  paid_at = NULL
WHERE reference = ANY(%s)
"""

RAW_SETTLE = """
UPDATE disbursements_disbursement d SET status = CASE WHEN r.status = 'paid' THEN 'paid' ELSE 'failed' END,
       paid_at = NULLIF(r.paid_at, '')::timestamptz, updated_at = now()
FROM raw_statement r WHERE d.reference = r.reference AND d.status = 'exported'
  AND (r.status = 'failed' OR r.amount = d.amount)
"""


SAVE_PAYMENTS = """
DROP TABLE IF EXISTS bench_saved_payments;
CREATE TABLE bench_saved_payments AS SELECT id, status, approved_by_id, approved_at, batch_id, exported_at, paid_at
FROM disbursements_disbursement
"""
RESTORE_PAYMENTS = """
UPDATE disbursements_disbursement d SET status = s.status, approved_by_id = s.approved_by_id,
  approved_at = s.approved_at, batch_id = s.batch_id, exported_at = s.exported_at, paid_at = s.paid_at
FROM bench_saved_payments s WHERE s.id = d.id;
DROP TABLE bench_saved_payments
"""


def reconciliation_setup(args, users: dict, env: dict) -> tuple[list[str], bytes]:
    """Every payment the statement names is exported (committed and vacuumed, as after real batch exports);
    their earlier states are saved and restored by reconciliation_teardown."""
    from disbursements.models import Disbursement

    refs = list(
        Disbursement.objects.exclude(requested_by=users["fin1"])
        .order_by("reference")
        .values_list("reference", flat=True)[: args.lines]
    )
    with raw_conn(env) as conn:
        conn.autocommit = True
        conn.execute(SAVE_PAYMENTS)
        conn.execute(EXPORT_ALL, [users["fin2"].pk, refs])
        conn.execute("VACUUM ANALYZE disbursements_disbursement")
    return refs, statement_file(refs, args.lines)


def reconciliation_teardown(env: dict) -> None:
    with raw_conn(env) as conn:
        conn.autocommit = True
        conn.execute(RESTORE_PAYMENTS)
        conn.execute("VACUUM ANALYZE disbursements_disbursement")


def bench_reconciliation(args, run: int, users: dict, env: dict, content: bytes) -> tuple[float, float]:
    """statement_process, then the raw COPY + UPDATE; both rolled back, so each run settles the same payments."""
    import hashlib

    from django.db import transaction

    from disbursements.models import Statement
    from disbursements.reconciliation import statement_process

    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                sha256=hashlib.sha256(content).hexdigest(), filename="bench.csv", file_format="csv",
                content=content, uploaded_by=users["fin1"],
            )  # fmt: skip
            start, cpu = time.perf_counter(), time.process_time()
            statement = statement_process(statement_id=statement.pk)
            ours, cpu = time.perf_counter() - start, time.process_time() - cpu
            counts = (
                statement.matched,
                statement.failed,
                statement.amount_mismatch,
                statement.unknown_reference,
            )
            timings = getattr(statement, "timings", {})
            raise Rollback
    except Rollback:
        pass
    with raw_conn(env) as conn:
        start = time.perf_counter()
        conn.execute(
            "CREATE TEMP TABLE raw_statement (reference text, amount numeric, status text, paid_at text)"
        )
        with conn.cursor().copy("COPY raw_statement FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write(content)
        conn.execute(RAW_SETTLE)
        raw = time.perf_counter() - start
        conn.rollback()
    with raw_conn(env) as conn:
        conn.autocommit = True
        conn.execute("VACUUM disbursements_disbursement")  # the rolled-back versions, before the next run
    print(f"  reconciliation: {args.lines:,} lines {ours:.1f} s ({cpu:.1f} s CPU in Python) {timings} (matched, failed, mismatch, unknown = "
          f"{counts}); raw {raw:.1f} s")  # fmt: skip
    return ours, raw


RAW_REPORT = """
WITH fam AS (
  SELECT f.id, date_trunc('week', f.arrival_date)::date AS week, f.crossing_point_id AS cp,
         f.destination_province_id AS prov, f.household_size, f.vulnerabilities
  FROM families_family f WHERE f.arrival_date BETWEEN %s AND %s AND f.duplicate_of_id IS NULL),
a AS (SELECT week, cp, prov, count(*) families, sum(household_size) individuals,
        count(*) FILTER (WHERE vulnerabilities <> '[]'::jsonb) vulnerable,
        count(*) FILTER (WHERE vulnerabilities @> '["female_headed"]') female_headed FROM fam GROUP BY 1, 2, 3),
p AS (SELECT week, cp, prov, count(*) requested, count(*) FILTER (WHERE d.approved_at IS NOT NULL) approved,
        count(*) FILTER (WHERE d.status = 'paid') paid, count(*) FILTER (WHERE d.status = 'failed') failed,
        sum(d.amount) FILTER (WHERE d.status = 'paid') afn,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY d.paid_at::date - fam_d.arrival_date) days
      FROM fam JOIN disbursements_disbursement d ON d.family_id = fam.id
      JOIN families_family fam_d ON fam_d.id = fam.id GROUP BY 1, 2, 3),
r AS (SELECT week, cp, prov, count(*) n,
        count(*) FILTER (WHERE r.status IN ('accepted', 'in_progress', 'completed')) accepted,
        count(*) FILTER (WHERE r.status = 'completed') completed
      FROM fam JOIN referrals_referral r ON r.family_id = fam.id GROUP BY 1, 2, 3)
SELECT * FROM a LEFT JOIN p USING (week, cp, prov) LEFT JOIN r USING (week, cp, prov)
"""


def bench_report(args, run: int, env: dict) -> tuple[float, float]:
    from django.db import transaction

    from reports.situation import period_for, situation_report_generate

    today = END + timedelta(days=1)
    try:
        with transaction.atomic():
            start = time.perf_counter()
            report = situation_report_generate(kind="weekly", today=today)
            ours = time.perf_counter() - start
            families = report.totals["families"]
            raise Rollback
    except Rollback:
        pass
    date_from, date_to = period_for("weekly", today)
    with raw_conn(env) as conn:
        start = time.perf_counter()
        conn.execute(RAW_REPORT, [date_from, date_to]).fetchall()
        raw = time.perf_counter() - start
    print(f"  weekly report: {families:,} families in the week, {ours:.2f} s; raw {raw:.2f} s")
    return ours, raw


# --- printing ---------------------------------------------------------------------------------------------


def verdict(name: str, value: float) -> tuple[str, str]:
    if name not in TARGETS:
        return "", ""
    op, limit = TARGETS[name]
    met = value >= limit if op == ">=" else value <= limit
    return f"{op} {limit:g}", "MET" if met else "MISSED"


def row(
    label: str, name: str, unit: str, values: list[float], raws: list[float] | None, higher_is_better: bool
):
    med = statistics.median(values)
    spread = f"{min(values):.1f}-{max(values):.1f}"
    raw_text, ratio = "", ""
    if raws:
        raw_med = statistics.median(raws)
        raw_text = f"{raw_med:.1f}"
        ratio = f"{(raw_med / med if higher_is_better else med / raw_med):.1f}x"
    target, ok = verdict(name, med)
    print(f"| {label} | {unit} | {med:.1f} | {spread} | {raw_text} | {ratio} | {target} | {ok} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=300_000, help="families in the database")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", default="aidcase_bench")
    parser.add_argument(
        "--reuse", action="store_true", help="use (and keep) an existing database of this scale"
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (2 per core)")
    parser.add_argument("--import-households", type=int, default=20_000)
    parser.add_argument("--registrations", type=int, default=400)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--lines", type=int, default=300_000, help="lines of the reconciled statement")
    parser.add_argument("--only", default="import,registration,payments,partner,reconciliation,report")
    args = parser.parse_args()
    if not args.db.startswith("aidcase_bench"):
        parser.error("the database name must start with aidcase_bench (it is dropped and created)")
    only = set(args.only.split(","))
    start_load = load()
    print(f"start: {start_load}, {os.cpu_count()} CPUs")
    env = bench_env(args.db)
    scale = database_scale(env) if args.reuse else None
    if scale is not None and abs(scale - args.scale) <= args.scale * 0.02:
        print(f"reusing {args.db} ({scale:,} families)")
        django_setup(env)
    else:
        generate(args.scale, db=args.db)

    from accounts.models import User
    from accounts.services import api_key_create

    users = {
        "cw": User.objects.get(username="bench-cw00"),
        "fin1": User.objects.get(username="bench-fin1"),
        "fin2": User.objects.get(username="bench-fin2"),
        "unhcr": User.objects.get(username="bench-unhcr"),
    }
    keys = {
        "cw": [
            api_key_create(user=u)[1]
            for u in User.objects.filter(username__startswith="bench-cw")[: args.clients]
        ],
        "fin1": api_key_create(user=users["fin1"])[1],
        "fin2": api_key_create(user=users["fin2"])[1],
        "unhcr": api_key_create(user=users["unhcr"])[1],
    }
    res: dict[str, list] = {}

    def add(name, value):
        res.setdefault(name, []).append(value)

    for run in range(args.runs):
        print(f"run {run + 1} ({load()})")
        if "import" in only:
            ours, raw = bench_import(args, run, users, env)
            add("import", ours), add("import raw", raw)
        if only & {"registration", "payments", "partner"}:
            with gunicorn(env, workers=args.workers) as base, gunicorn(env, port=8766, workers=1) as single:
                if "registration" in only:
                    api, raw = bench_registration(args, run, users, keys, base, env)
                    add("reg", api), add("reg raw", raw)
                if "payments" in only:
                    api, raw = bench_payments(args, run, users, keys, base, env)
                    add("pay", api), add("pay raw", raw)
                if "partner" in only:
                    api, raw = bench_partner(args, run, users, keys, base, single, env)
                    add("partner", api), add("partner raw", raw)
        if "report" in only:
            ours, raw = bench_report(args, run, env)
            add("report", ours), add("report raw", raw)
    if "reconciliation" in only:  # last: every payment it names is exported meanwhile
        _refs, content = reconciliation_setup(args, users, env)
        try:
            for run in range(args.runs):
                print(f"reconciliation run {run + 1} ({load()})")
                ours, raw = bench_reconciliation(args, run, users, env, content)
                add("recon", ours), add("recon raw", raw)
        finally:
            reconciliation_teardown(env)

    end_load = load()
    print(f"\n{args.scale:,} families, {args.runs} runs, {args.clients} clients, gunicorn {args.workers} sync "
          f"workers; {os.cpu_count()} CPUs; start {start_load}; end {end_load}\n")  # fmt: skip
    print("| figure | unit | median | min-max | raw limit | ratio | target | |")
    print("|---|---|---|---|---|---|---|---|")
    if "import" in res:
        row("bulk import (families.imports)", "import", "families/s", res["import"], res["import raw"], True)
    if "reg" in res:
        reg, raw = res["reg"], res["reg raw"]
        row("registration API, 8 clients", "", "req/s", [r[0] for r in reg], [r[0] for r in raw], True)
        row("  p50", "", "ms", [r[1] for r in reg], [r[1] for r in raw], False)
        row("  p99", "registration p99", "ms", [r[2] for r in reg], [r[2] for r in raw], False)
    if "pay" in res:
        pay = res["pay"]
        row("payment request + approval", "", "pairs/s", [p[0] for p in pay], res["pay raw"], True)
        row("  request p99", "", "ms", [p[1] for p in pay], None, False)
        row("  approval p99", "", "ms", [p[2] for p in pay], None, False)
    if "partner" in res:
        pr, raw = res["partner"], res["partner raw"]
        for name in ("first", "deep"):
            row(f"partner pull, {name} page, 8 clients", "", "pages/s", [p[name][0] for p in pr],
                [r[name][0] for r in raw], True)  # fmt: skip
            row("  p50", "", "ms", [p[name][1] for p in pr], [r[name][1] for r in raw], False)
            row(
                "  p99",
                f"partner {name} p99",
                "ms",
                [p[name][2] for p in pr],
                [r[name][2] for r in raw],
                False,
            )
        row("partner pull, one worker process", "partner pages/s per worker", "pages/s",
            [p["single"] for p in pr], [r["deep"][0] for r in raw], True)  # fmt: skip
    if "recon" in res:
        row(
            f"reconciliation, {args.lines:,} lines",
            "reconciliation",
            "s",
            res["recon"],
            res["recon raw"],
            False,
        )
    if "report" in res:
        row("weekly situation report", "weekly report", "s", res["report"], res["report raw"], False)
    if not (args.keep or args.reuse):
        from django.db import connections

        connections.close_all()
        from bench.common import psql

        psql(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
