"""Reconciliation of a payment provider's statement against exported disbursements.

Upload (`statement_upload`) checks the header at once and stores the bytes (same bytes = same statement).
The task (`statement_process`) parses every line into `StatementLine` rows, then classifies and applies them
with a handful of set-based statements inside one transaction, under a lock that serialises statements:

  error             unreadable line, or a disbursement that was never exported
  duplicate_line    a reference already on an earlier readable line, or a disbursement already settled
  unknown_reference no disbursement has that reference
  failed            exported, reported failed: the disbursement becomes failed (and can be re-issued)
  matched           exported, reported paid with the same amount: the disbursement becomes paid
  amount_mismatch   exported, reported paid with another amount: stays exported for finance to resolve

Running it twice changes nothing more: a done statement is skipped, and a crashed run rolls back whole.
"""

import hashlib
import logging
import time as time_module
from datetime import datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from accounts.models import Role, User
from accounts.services import audit_record
from aidcase.core.exceptions import Conflict, DomainError, Forbidden
from aidcase.core.faults import checkpoint
from aidcase.core.outbox import enqueue
from aidcase.core.spreadsheets import detect_format, read_rows
from disbursements.models import Disbursement, Discrepancy, Statement, StatementLine

logger = logging.getLogger(__name__)
Outcome = StatementLine.Outcome
HEADER = ["reference", "amount", "status", "paid_at"]
NOT_A_STATEMENT = "Upload a CSV or XLSX statement whose first row is: reference,amount,status,paid_at."
TOO_LARGE = "The statement is larger than {limit} MB."
NEVER_EXPORTED = "Disbursement {reference} was never exported (status: {status})."
STATEMENT_LOCK = 7_316_001  # pg_advisory_xact_lock key: one statement is applied at a time
BATCH = 5000


class PayloadTooLarge(DomainError):
    status_code = 413
    default_code = "too_large"


# --- reading files ----------------------------------------------------------------------------------


def _check_header(content: bytes, file_format: str) -> None:
    try:
        header = next(read_rows(content, file_format), None)
    except ValidationError as exc:
        if any(e.code == "too_large" for e in exc.error_dict.get("file", [])):
            raise
        header = None  # any other unreadable file is simply "not a statement" for the uploader
    if header is None or [h.strip().lower() for h in header[: len(HEADER)]] != HEADER:
        raise ValidationError({"file": [NOT_A_STATEMENT]})


# --- upload -------------------------------------------------------------------------------------------


def statement_upload(*, content: bytes, filename: str, uploaded_by: User) -> tuple[Statement, bool]:
    """Store a statement and queue its processing. Returns (statement, created); the same bytes are not
    stored twice: the first upload's statement is returned with created=False."""
    if not uploaded_by.has_role(Role.FINANCE):
        raise Forbidden("Only finance staff upload statements.")
    limit = settings.RECONCILIATION_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise PayloadTooLarge(TOO_LARGE.format(limit=limit // (1024 * 1024)))
    digest = hashlib.sha256(content).hexdigest()
    existing = Statement.objects.filter(sha256=digest).first()
    if existing:
        return existing, False
    file_format = detect_format(content, filename)
    _check_header(content, file_format)
    with transaction.atomic():
        statement, created = Statement.objects.get_or_create(
            sha256=digest,
            defaults={
                "filename": filename[:255],
                "file_format": file_format,
                "content": content,
                "uploaded_by": uploaded_by,
            },
        )
        if created:
            audit_record(
                actor=uploaded_by, action="statement.uploaded", target=statement, data={"sha256": digest}
            )
            from disbursements.tasks import statement_process_task

            # with the broker down the upload still succeeds: the outbox sends the task when it is back
            enqueue(statement_process_task, str(statement.pk))
    return statement, created


def _enqueue(statement_id: str) -> None:
    from disbursements.tasks import statement_process_task

    try:
        statement_process_task.delay(statement_id)
    except Exception:  # broker unreachable: the next requeue run tries again
        logger.warning("statement %s not enqueued; it will be re-queued", statement_id, exc_info=True)


def statements_requeue(*, older_than_seconds: int = 120) -> int:
    """Queue again statements still `queued` after a while (the broker was down when they were uploaded)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = list(
        Statement.objects.filter(status=Statement.Status.QUEUED, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for pk in ids:
        _enqueue(str(pk))
    return len(ids)


# --- parsing ----------------------------------------------------------------------------------------


def _parse_line(line_no: int, row: list[str]) -> StatementLine:
    line = StatementLine(line_no=line_no)
    cells = [c.strip() for c in row]
    if len(cells) < len(HEADER):
        line.reference = cells[0][:64] if cells else ""
        line.outcome, line.message = Outcome.ERROR, f"Expected {len(HEADER)} columns, found {len(cells)}."
        return line
    reference, amount, status, paid_at = cells[:4]
    line.reference = reference[:64]
    problems = []
    if not reference:
        problems.append("reference is empty")
    try:
        line.amount = Decimal(amount)
        if (
            line.amount <= 0
            or line.amount != line.amount.quantize(Decimal("0.01"))
            or line.amount >= Decimal("1e10")
        ):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        line.amount = None
        problems.append(f"amount '{amount}' is not a positive amount with at most 2 decimals")
    if status.lower() not in ("paid", "failed"):
        problems.append(f"status '{status}' is not paid or failed")
    else:
        line.paid = status.lower() == "paid"
    if paid_at:
        line.paid_at = _parse_when(paid_at)
        if line.paid_at is None:
            problems.append(f"paid_at '{paid_at}' is not a date or date-time (ISO 8601)")
    elif line.paid:
        problems.append("paid_at is required on a paid line")
    if problems:
        line.outcome, line.message = Outcome.ERROR, "; ".join(problems)[:300]
        line.paid = None
    return line


def _parse_when(text: str) -> datetime | None:
    """ISO 8601 date-time, or a date alone (taken as noon in TIME_ZONE, so it stays that day everywhere)."""
    try:
        day = parse_date(text) if len(text) == 10 else None
        moment = datetime.combine(day, time(12, 0)) if day else parse_datetime(text)
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _load_lines(statement: Statement) -> int:
    rows = read_rows(bytes(statement.content), statement.file_format)
    next(rows)  # header, checked at upload
    batch, total = [], 0
    for index, row in enumerate(rows, start=2):  # line 1 is the header
        if not any(cell.strip() for cell in row):
            continue  # blank line: not a data line
        line = _parse_line(index, row)
        line.statement = statement
        batch.append(line)
        total += 1
        if len(batch) >= BATCH:
            _insert_lines(batch)
            batch = []
    _insert_lines(batch)
    return total


COPY_COLUMNS = ("statement_id", "line_no", "reference", "amount", "paid", "paid_at", "outcome", "message")


def _insert_lines(lines: list[StatementLine]) -> None:
    """COPY on PostgreSQL (several times faster than INSERT for 300,000 lines), bulk_create elsewhere."""
    if not lines:
        return
    if connection.vendor != "postgresql":
        StatementLine.objects.bulk_create(lines)
        return
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(
            f"COPY {StatementLine._meta.db_table} ({', '.join(COPY_COLUMNS)}) FROM STDIN"
        ) as copy:
            for line in lines:
                copy.write_row(
                    (
                        line.statement_id,
                        line.line_no,
                        line.reference,
                        line.amount,
                        line.paid,
                        line.paid_at,
                        line.outcome,
                        line.message,
                    )
                )


# --- applying ---------------------------------------------------------------------------------------


def _serialise_statements() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [STATEMENT_LOCK])


def _classify(statement: Statement) -> None:
    lines = StatementLine.objects.filter(statement=statement)
    pending = lines.filter(outcome="")
    by_reference = Disbursement.objects.filter(reference=OuterRef("reference"))
    # 1. link each readable line to its disbursement
    pending.update(disbursement=Subquery(by_reference.values("pk")[:1]))
    # 2. a reference already on an earlier readable line of this file (one window-function pass)
    table = StatementLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET outcome = %s, message = %s FROM ("  # noqa: S608 - our own table name
            f"  SELECT id, row_number() OVER (PARTITION BY reference ORDER BY line_no) AS n"
            f"  FROM {table} WHERE statement_id = %s AND outcome <> %s"
            f") AS ranked WHERE {table}.id = ranked.id AND ranked.n > 1 AND {table}.outcome = ''",
            [Outcome.DUPLICATE_LINE, "Reference already on an earlier line.", _pk(statement), Outcome.ERROR],
        )
    # 3. no such disbursement
    pending.filter(disbursement__isnull=True).update(
        outcome=Outcome.UNKNOWN_REFERENCE, message="No disbursement has this reference."
    )
    # 4. settled already (by an earlier statement or a confirmed cash hand-over)
    pending.filter(disbursement__status__in=[Disbursement.Status.PAID, Disbursement.Status.FAILED]).update(
        outcome=Outcome.DUPLICATE_LINE, message="Already settled."
    )
    # 5. never exported: an error in the provider's file or ours
    for line in pending.exclude(disbursement__status=Disbursement.Status.EXPORTED).select_related(
        "disbursement"
    ):
        line.outcome = Outcome.ERROR
        line.message = NEVER_EXPORTED.format(reference=line.reference, status=line.disbursement.status)[:300]
        line.save(update_fields=["outcome", "message"])
    # 6. exported: failed, matched, or an amount that differs
    pending.filter(paid=False).update(outcome=Outcome.FAILED)
    pending.filter(paid=True, disbursement__amount=F("amount")).update(outcome=Outcome.MATCHED)
    pending.filter(paid=True).update(
        outcome=Outcome.AMOUNT_MISMATCH, message="Amount differs from the disbursement."
    )


def _apply(statement: Statement) -> None:
    """Settle the disbursements of matched and failed lines, with their ledger and audit rows, set-based."""
    now = timezone.now()
    actor = statement.uploaded_by
    for outcome, status, reason in (
        (Outcome.MATCHED, Disbursement.Status.PAID, "Paid according to the provider's statement."),
        (Outcome.FAILED, Disbursement.Status.FAILED, "Failed according to the provider's statement."),
    ):
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO disbursements_disbursementtransition "
                "(disbursement_id, from_status, to_status, actor_id, reason, data, created_at) "
                "SELECT l.disbursement_id, %s, %s, %s, %s, %s, %s FROM disbursements_statementline l "
                "WHERE l.statement_id = %s AND l.outcome = %s",
                [
                    "exported",
                    status,
                    actor.pk,
                    reason,
                    f'{{"statement": "{statement.pk}"}}',
                    now,
                    _pk(statement),
                    outcome,
                ],
            )
            cursor.execute(
                "INSERT INTO accounts_auditevent "  # noqa: S608 - only our own SQL fragments are interpolated
                "(uuid, created_at, actor_id, actor_username, action, target_type, target_id, data) "
                f"SELECT {_uuid_sql()}, %s, %s, %s, %s, 'disbursements.disbursement', "
                f"{_uuid_text_sql('l.disbursement_id')}, %s FROM disbursements_statementline l "
                "WHERE l.statement_id = %s AND l.outcome = %s",
                [
                    now,
                    actor.pk,
                    actor.username,
                    f"disbursement.{status}",
                    f'{{"statement": "{statement.pk}", "from": "exported", "to": "{status}"}}',
                    _pk(statement),
                    outcome,
                ],
            )
        # One UPDATE ... FROM joining the lines (a correlated subquery per row was the slow part).
        paid_at = "l.paid_at" if status == Disbursement.Status.PAID else "d.paid_at"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE disbursements_disbursement AS d SET status = %s, updated_at = %s, paid_at = {paid_at}, "  # noqa: S608
                "failure_reason = %s FROM disbursements_statementline AS l "
                "WHERE l.statement_id = %s AND l.outcome = %s AND d.id = l.disbursement_id AND d.status = %s",
                [
                    status,
                    now,
                    "" if status == Disbursement.Status.PAID else reason,
                    _pk(statement),
                    outcome,
                    Disbursement.Status.EXPORTED,
                ],
            )


def _pk(statement: Statement):
    """The statement's id as the database driver expects it in raw SQL (SQLite stores UUIDs as hex)."""
    return statement.pk.hex if connection.vendor == "sqlite" else statement.pk


def _uuid_sql() -> str:
    return "gen_random_uuid()" if connection.vendor == "postgresql" else "lower(hex(randomblob(16)))"


def _uuid_text_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"{column}::text"
    # SQLite keeps UUIDs as 32 hex digits; the audit trail stores them in the usual dashed form.
    parts = [f"substr({column}, {a}, {n})" for a, n in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    return " || '-' || ".join(parts)


def _record_discrepancies(statement: Statement) -> None:
    kinds = {
        Outcome.AMOUNT_MISMATCH: Discrepancy.Kind.AMOUNT_MISMATCH,
        Outcome.UNKNOWN_REFERENCE: Discrepancy.Kind.UNKNOWN_REFERENCE,
        Outcome.DUPLICATE_LINE: Discrepancy.Kind.DUPLICATE_LINE,
        Outcome.ERROR: Discrepancy.Kind.ERROR,
    }
    lines = StatementLine.objects.filter(statement=statement, outcome__in=list(kinds)).only(
        "pk", "outcome", "disbursement_id", "line_no", "reference", "message"
    )
    Discrepancy.objects.bulk_create(
        [
            Discrepancy(
                kind=kinds[line.outcome],
                statement=statement,
                line=line,
                disbursement_id=line.disbursement_id,
                details=f"line {line.line_no}: {line.reference} {line.message}"[:300],
            )
            for line in lines.iterator(chunk_size=BATCH)
        ],
        batch_size=BATCH,
    )


def missing_disbursements():
    """Exported longer than the grace period ago and on no statement line at all."""
    cutoff = timezone.now() - timedelta(days=settings.RECONCILIATION_GRACE_DAYS)
    on_a_statement = StatementLine.objects.filter(disbursement_id=OuterRef("pk"))
    return Disbursement.objects.filter(status=Disbursement.Status.EXPORTED, exported_at__lt=cutoff).exclude(
        Exists(on_a_statement)
    )


def missing_flag() -> int:
    """Record a 'missing' discrepancy once per missing disbursement (daily beat task and after each statement)."""
    rows = [
        Discrepancy(
            kind=Discrepancy.Kind.MISSING,
            disbursement_id=pk,
            details=f"{ref}: exported, not on any statement",
        )
        for pk, ref in missing_disbursements().values_list("pk", "reference")
    ]
    Discrepancy.objects.bulk_create(rows, ignore_conflicts=True, batch_size=BATCH)
    return len(rows)


def _count(statement: Statement) -> None:
    counts = {o: 0 for o in Outcome.values}
    for row in StatementLine.objects.filter(statement=statement).values("outcome").annotate(n=Count("id")):
        counts[row["outcome"]] = row["n"]
    statement.matched = counts[Outcome.MATCHED]
    statement.amount_mismatch = counts[Outcome.AMOUNT_MISMATCH]
    statement.unknown_reference = counts[Outcome.UNKNOWN_REFERENCE]
    statement.duplicate_line = counts[Outcome.DUPLICATE_LINE]
    statement.failed = counts[Outcome.FAILED]
    statement.errors = [
        {"line": n, "message": m}
        for n, m in StatementLine.objects.filter(statement=statement, outcome=Outcome.ERROR)
        .order_by("line_no")
        .values_list("line_no", "message")
    ]
    statement.missing = missing_disbursements().count()


def statement_process(*, statement_id) -> Statement:
    """Parse, classify and apply a statement once. Safe to run again: a statement is only ever applied once."""
    claimed = Statement.objects.filter(
        pk=statement_id, status__in=[Statement.Status.QUEUED, Statement.Status.RUNNING]
    ).update(status=Statement.Status.RUNNING, started_at=timezone.now())
    statement = Statement.objects.select_related("uploaded_by").get(pk=statement_id)
    if not claimed:
        return statement  # done or failed already: nothing more to do
    with transaction.atomic():
        _serialise_statements()
        statement = Statement.objects.select_for_update().select_related("uploaded_by").get(pk=statement_id)
        if statement.status != Statement.Status.RUNNING:
            return statement  # another worker finished it while we waited for the lock
        # Lines of an earlier attempt cannot exist (it rolled back whole); cleared anyway for certainty.
        StatementLine.objects.filter(statement=statement).delete()
        timings: dict[str, float] = {}
        started = time_module.perf_counter()
        statement.lines_total = _load_lines(statement)
        timings["parse_and_load"] = time_module.perf_counter() - started
        if connection.vendor == "postgresql" and statement.lines_total > 10_000:
            with connection.cursor() as cursor:  # fresh statistics, or the planner guesses on an empty table
                cursor.execute(f"ANALYZE {StatementLine._meta.db_table}")
        for name, step in (
            ("classify", _classify),
            ("apply", _apply),
            ("discrepancies", _record_discrepancies),
        ):
            began = time_module.perf_counter()
            step(statement)
            timings[name] = time_module.perf_counter() - began
            checkpoint(f"reconciliation.{name}")  # fault tests kill the worker here; a no-op otherwise
        missing_flag()
        _count(statement)
        statement.timings = {k: round(v, 2) for k, v in timings.items()}
        logger.info(
            "statement %s: %s lines, seconds per phase %s",
            statement.pk,
            statement.lines_total,
            statement.timings,
        )
        statement.status = Statement.Status.DONE
        statement.finished_at = timezone.now()
        statement.save()
        audit_record(
            actor=statement.uploaded_by,
            action="statement.processed",
            target=statement,
            data={"matched": statement.matched, "failed": statement.failed, "errors": len(statement.errors)},
        )
    return statement


def statement_fail(*, statement_id, reason: str) -> None:
    """Record that processing gave up (after retries): finance sees why; nothing of it was applied."""
    Statement.objects.filter(pk=statement_id).exclude(status=Statement.Status.DONE).update(
        status=Statement.Status.FAILED, failure_reason=reason[:2000], finished_at=timezone.now()
    )


@transaction.atomic(durable=True)
def discrepancy_resolve(*, discrepancy: Discrepancy, resolved_by: User, note: str) -> Discrepancy:
    if not resolved_by.has_role(Role.FINANCE):
        raise Forbidden("Only finance staff resolve discrepancies.")
    if not (note or "").strip():
        raise ValidationError({"note": ["Say how it was resolved."]})
    discrepancy = Discrepancy.objects.select_for_update().get(pk=discrepancy.pk)
    if discrepancy.resolved_at:
        raise Conflict("This discrepancy is already resolved.")
    discrepancy.resolved_by = resolved_by
    discrepancy.resolved_at = timezone.now()
    discrepancy.resolution_note = note.strip()
    discrepancy.save(update_fields=["resolved_by", "resolved_at", "resolution_note"])
    audit_record(
        actor=resolved_by,
        action="discrepancy.resolved",
        target=discrepancy,
        data={"kind": discrepancy.kind, "details": discrepancy.details, "note": discrepancy.resolution_note},
    )
    return discrepancy
