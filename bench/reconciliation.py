"""Benchmark: reconciliation of a large statement, and the weekly situation report over many families.

    python bench/reconciliation.py [--lines 300000] [--report-families 1000000] [--runs 3]

1. Loads N families and N exported disbursements (INSERT ... SELECT), writes an N-line statement (2% failed,
   1% wrong amount, 1% unknown references), and times `statement_process` (exactly what the Celery task
   runs: parse, classify, apply, discrepancies) on a fresh copy of the data for each run. Beside it, the raw
   PostgreSQL limit: COPY the same file into a temporary table and settle with one UPDATE ... FROM.
2. Loads M families (two years of arrivals) and times the weekly situation report.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import LOAD_FAMILIES, django_setup, fresh_database, psql, psql_file, summary  # noqa: E402

DB = "aidcase_bench_recon"

LOAD_DISBURSEMENTS = """
TRUNCATE disbursements_statementline, disbursements_discrepancy, disbursements_statement,
         disbursements_disbursementtransition, disbursements_disbursement, accounts_auditevent CASCADE;
WITH b AS (SELECT id FROM disbursements_payoutbatch LIMIT 1),
     req AS (SELECT id FROM accounts_user WHERE username = 'bench-loader'),
     fin AS (SELECT id FROM accounts_user WHERE username = 'bench-fin')
INSERT INTO disbursements_disbursement (id, reference, family_id, amount, currency, status, legal_basis,
    requested_by_id, requested_at, approved_by_id, approved_at, decision_reason, batch_id, exported_at,
    recipient_confirmation, recipient_code_hash, failure_reason, updated_at)
SELECT md5('d' || g)::uuid, 'BEN-' || g || '-P1', md5('f' || g)::uuid, 10000, 'AFN', 'exported', 'vital_interests',
       req.id, now(), fin.id, now(), '', b.id, now(), '', '', '', now()
FROM generate_series(1, {n}) g, b, req, fin;
ANALYZE;
"""


def write_statement(path: Path, n: int) -> None:
    with path.open("w") as fh:
        fh.write("reference,amount,status,paid_at\n")
        for g in range(1, n + 1):
            if g % 100 == 0:
                fh.write(f"UNKNOWN-{g},10000.00,paid,2026-11-21\n")
            elif g % 50 == 1:
                fh.write(f"BEN-{g}-P1,10000.00,failed,\n")
            elif g % 100 == 7:
                fh.write(f"BEN-{g}-P1,9000.00,paid,2026-11-21T10:00:00+04:30\n")
            else:
                fh.write(f"BEN-{g}-P1,10000.00,paid,2026-11-21T10:00:00+04:30\n")


RAW = """
CREATE TEMP TABLE raw_statement (reference text, amount numeric, status text, paid_at text);
\\copy raw_statement FROM '{path}' WITH (FORMAT csv, HEADER true)
UPDATE disbursements_disbursement d SET status = CASE WHEN r.status = 'paid' THEN 'paid' ELSE 'failed' END,
       paid_at = NULLIF(r.paid_at, '')::timestamptz
FROM raw_statement r WHERE d.reference = r.reference AND d.status = 'exported'
  AND (r.status = 'failed' OR r.amount = d.amount);
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--report-families", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    env = fresh_database(DB)
    django_setup(env)
    import logging

    logging.getLogger("disbursements.reconciliation").setLevel(logging.INFO)
    from accounts.services import user_create
    from disbursements.models import PayoutBatch, Statement
    from disbursements.reconciliation import statement_process

    loader = user_create(username="bench-loader", role="case_worker")
    fin = user_create(username="bench-fin", role="finance")
    PayoutBatch.objects.create(
        reference="B-BENCH",
        channel="hawala",
        created_by=fin,
        status="exported",
        export_csv=b"x",
        export_sha256="x",
    )
    psql(LOAD_FAMILIES.format(n=args.lines), db=DB)
    path = Path(tempfile.gettempdir()) / "aidcase-bench-statement.csv"
    write_statement(path, args.lines)

    ours, raw = [], []
    for run in range(args.runs):
        psql(LOAD_DISBURSEMENTS.format(n=args.lines), db=DB)
        statement = Statement.objects.create(
            sha256=f"bench-{run}-{time.time()}",
            filename=path.name,
            file_format="csv",
            content=path.read_bytes(),
            uploaded_by=fin,
        )
        start = time.perf_counter()
        statement = statement_process(statement_id=statement.pk)
        ours.append(time.perf_counter() - start)
        print(
            f"run {run + 1}: {ours[-1]:.1f} s; matched {statement.matched:,}, failed {statement.failed:,}, "
            f"mismatch {statement.amount_mismatch:,}, unknown {statement.unknown_reference:,}, errors {len(statement.errors)}"
        )
        print(f"       seconds per phase: {getattr(statement, 'timings', {})}")
        psql(LOAD_DISBURSEMENTS.format(n=args.lines), db=DB)
        start = time.perf_counter()
        script = Path(tempfile.gettempdir()) / "aidcase-bench-raw.sql"
        script.write_text(RAW.format(path=path))
        psql_file(script, db=DB)
        raw.append(time.perf_counter() - start)
    del loader

    print(f"\nloading {args.report_families:,} families for the report ...")
    psql(
        "DELETE FROM disbursements_disbursement; DELETE FROM families_member; DELETE FROM families_family;",
        db=DB,
    )
    psql(LOAD_FAMILIES.format(n=args.report_families), db=DB)
    from datetime import date

    from reports.models import SituationReport
    from reports.situation import situation_report_generate

    report_times = []
    for _ in range(args.runs):
        SituationReport.objects.all().delete()
        start = time.perf_counter()
        report = situation_report_generate(kind="weekly", today=date(2026, 11, 25))
        report_times.append(time.perf_counter() - start)
    print(
        f"weekly report: {report.totals['families']:,} families in the week, {len(bytes(report.csv).splitlines()) - 2:,} rows"
    )

    print(f"\nReconciliation, {args.lines:,}-line statement against {args.lines:,} exported disbursements")
    print(summary("aidcase statement_process (parse+classify+apply)", ours, "s"))
    print(summary("  lines per second", [args.lines / t for t in ours], "lines/s"))
    print(summary("raw PostgreSQL: COPY + one UPDATE ... FROM", raw, "s"))
    print(f"  ratio aidcase / raw: {statistics.median(ours) / statistics.median(raw):.1f}x")
    print(f"\nWeekly situation report over {args.report_families:,} families")
    print(summary("situation_report_generate(weekly)", report_times, "s"))


if __name__ == "__main__":
    main()
