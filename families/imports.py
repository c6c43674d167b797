"""Bulk import of households from a CSV or XLSX list (one row per member, rows grouped by `household_id`).

Paper lists and form exports arrive after a busy day at the border. The import:

1. reads every row (aidcase.core.spreadsheets: the same reader as statements) and validates it with the rules
   of a single registration (`families.services`), reporting each problem with its row number;
2. groups the rows into households; a household with any bad row is left out whole (nothing half-imported);
3. skips households already imported (a fingerprint of the household's identifying data, unique in the
   database), so importing the same file twice registers nothing the second time;
4. registers the rest in chunks, set-based: case numbers allocated per chunk with one upsert, families,
   members and audit events written with COPY, duplicate candidates found for the whole chunk with one
   index-backed query (same Tazkira digits, same phone, same phonetic key of the head's name and father's
   name born within three years) and scored with the same rapidfuzz rules as a single registration.
   Candidates include the registry and the earlier households of the same file. Each household is all or
   nothing (a chunk commits as one transaction).

   The phonetic key already absorbs transliteration and vowel/doubling typos (Muhammad, Mohamad, محمد); the
   single registration form additionally looks for trigram-similar keys (a wrong consonant), which costs
   milliseconds per household: too slow for lists of 100,000 households. A case worker who suspects such a
   duplicate searches the registry by name.

A dry run does all of it in one transaction that is rolled back: the report says what would happen.
"""

import hashlib
import io
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import AuditEvent, User
from accounts.services import audit_record
from aidcase.core.outbox import enqueue
from aidcase.core.spreadsheets import csv_bytes, detect_format, read_rows
from families.duplicates import Applicant, is_reportable, score_candidate
from families.models import (
    CaseNumberCounter,
    CrossingPoint,
    DocumentationStatus,
    DuplicateFlag,
    Family,
    FamilyImport,
    Member,
    Province,
    Relationship,
    ReturnType,
    Sex,
    Vulnerability,
)
from families.names import clean_script, digits_key, head_key, person_key
from families.services import (
    ARRIVAL_IN_FUTURE,
    MemberInput,
    _birth_year,
    _family_vulnerabilities,
    _validate_members,
    applicant_from_input,
    normalize_phone,
)

HOUSEHOLD_COLUMNS = [
    "household_id",
    "crossing_point",
    "arrival_date",
    "destination_province",
    "destination_district",
    "phone",
    "consent_to_share",
    "origin_location",
    "documentation_status",
    "return_type",
]
MEMBER_COLUMNS = [
    "given_name",
    "father_name",
    "family_name",
    "sex",
    "relationship",
    "date_of_birth",
    "age_years",
    "tazkira_number",
    "vulnerabilities",
]
TEMPLATE_COLUMNS = HOUSEHOLD_COLUMNS + MEMBER_COLUMNS
REQUIRED_COLUMNS = [
    "household_id",
    "crossing_point",
    "arrival_date",
    "destination_province",
    "given_name",
    "father_name",
    "sex",
    "relationship",
]
TEMPLATE_EXAMPLE = [
    ["HH-1", "TORKHAM", "2026-11-20", "AF-NAN", "Jalalabad", "+93700123456", "yes", "Peshawar", "undocumented",
     "deported", "Gul", "Ahmad", "Khan", "F", "head", "1990-01-01", "", "1400-0101-12345", "female_headed"],
    ["HH-1", "", "", "", "", "", "", "", "", "", "Wali", "Gul", "Khan", "M", "child", "", "7", "", ""],
    ["HH-2", "SPIN_BOLDAK", "2026-11-21", "AF-KAN", "", "", "no", "", "", "", "محمد", "عبدالله", "", "M",
     "head", "", "45", "", "disability;chronic_illness"],
]  # fmt: skip
CHUNK = 2000
REPORT_HEADER = ["row", "household_id", "outcome", "case_number", "column", "message"]

MISSING_COLUMNS = "The first row must name the columns; missing: {columns}. Download the template."
EMPTY_FILE = "The file has no rows under its header."
REQUIRED = "Required."
UNKNOWN_CODE = "Unknown {what} '{value}'; use one of: {choices}."
BAD_DATE = "'{value}' is not a date; use YYYY-MM-DD."
BAD_AGE = "'{value}' is not an age in years (0-120)."
BAD_CONSENT = "'{value}' is not yes or no."
TOO_LONG = "At most {limit} characters."
DIFFERS = "Differs from row {row} of the same household ('{first}'): a household's columns must agree."
HOUSEHOLD_HAS_ERRORS = "Not imported: the household has errors in rows {rows}."
TOO_MANY_ROWS = "The file has more than {limit} rows; split it."
TOO_LARGE = "The file is larger than {limit} MB; split it."

YES = {"yes", "y", "true", "1", "بلی", "بله", "هو", "آری"}
NO = {"", "no", "n", "false", "0", "نه", "نخیر", "نی"}
SEX = {"f": Sex.FEMALE, "female": Sex.FEMALE, "m": Sex.MALE, "male": Sex.MALE}
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
# Choice lists computed once (an enum's .values builds a new list on every access).
RELATIONSHIPS = tuple(Relationship.values)
VULNERABILITIES = frozenset(Vulnerability.values)
DOCUMENTATION_STATUSES = tuple(DocumentationStatus.values)
RETURN_TYPES = tuple(ReturnType.values)


class Outcome:
    REGISTERED = "registered"
    WOULD_REGISTER = "would_register"
    ALREADY_IMPORTED = "already_imported"
    NOT_IMPORTED = "not_imported"
    ERROR = "error"


@dataclass
class RowError:
    row: int
    household_id: str
    column: str
    message: str


@dataclass
class Household:
    key: str
    rows: list[int]
    crossing_point: CrossingPoint | None = None
    arrival_date: date | None = None
    destination_province: Province | None = None
    destination_district: str = ""
    phone: str = ""
    consent_to_share: bool = False
    origin_location: str = ""
    documentation_status: str = ""
    return_type: str = ""
    members: list[MemberInput] = field(default_factory=list)
    fingerprint: str = ""
    # Filled when applied:
    outcome: str = ""
    case_number: str = ""
    family_id: uuid.UUID | None = None
    applicant: Applicant | None = None
    head_key: str = ""
    possible_duplicates: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    dry_run: bool
    rows: int = 0
    households: list[Household] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for h in self.households if h.outcome == outcome)

    @property
    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "households": len(self.households),
            "registered": self.count(Outcome.REGISTERED),
            "would_register": self.count(Outcome.WOULD_REGISTER),
            "already_imported": self.count(Outcome.ALREADY_IMPORTED),
            "not_imported": self.count(Outcome.NOT_IMPORTED),
            "possible_duplicates": sum(1 for h in self.households if h.possible_duplicates),
            "errors": len(self.errors),
            "dry_run": self.dry_run,
        }

    def report_rows(self) -> list[list]:
        """One line per household (at its first row) and one per error, in row order."""
        lines = []
        for h in self.households:
            note = (
                f"Possible duplicate of {', '.join(h.possible_duplicates)}" if h.possible_duplicates else ""
            )
            lines.append((h.rows[0], 0, [h.rows[0], h.key, h.outcome, h.case_number, "", note]))
        lines += [
            (e.row, 1, [e.row, e.household_id, Outcome.ERROR, "", e.column, e.message]) for e in self.errors
        ]
        return [line for _, _, line in sorted(lines, key=lambda item: (item[0], item[1]))]

    def report_csv(self) -> bytes:
        return csv_bytes([REPORT_HEADER, *self.report_rows()])


def template_csv() -> bytes:
    return csv_bytes([TEMPLATE_COLUMNS, *TEMPLATE_EXAMPLE])


# --- reading and validating -------------------------------------------------------------------------


class _Reference:
    """Codes the file may use, loaded once per import."""

    def __init__(self) -> None:
        self.crossing_points = {c.code: c for c in CrossingPoint.objects.filter(is_active=True)}
        self.provinces = {p.code: p for p in Province.objects.all()}


def _choice(value: str, choices, what: str, errors: list, column: str) -> str:
    if value and value not in choices:
        errors.append((column, UNKNOWN_CODE.format(what=what, value=value, choices=", ".join(choices))))
        return ""
    return value


def _parse_date(value: str, errors: list, column: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.translate(_DIGITS)[:10])
    except ValueError:
        errors.append((column, BAD_DATE.format(value=value)))
        return None


def _member_from_row(row: dict[str, str], errors: list) -> MemberInput:
    for column in ("given_name", "father_name", "sex", "relationship"):
        if not row[column]:
            errors.append((column, REQUIRED))
    for column in ("given_name", "father_name", "family_name"):
        if len(row[column]) > 100:
            errors.append((column, TOO_LONG.format(limit=100)))
    if len(row["tazkira_number"]) > 40:
        errors.append(("tazkira_number", TOO_LONG.format(limit=40)))
    sex = SEX.get(row["sex"].lower(), "")
    if row["sex"] and not sex:
        errors.append(("sex", UNKNOWN_CODE.format(what="sex", value=row["sex"], choices="F, M")))
    relationship = _choice(row["relationship"].lower(), RELATIONSHIPS, "relationship", errors, "relationship")
    age = None
    if row["age_years"]:
        text = row["age_years"].translate(_DIGITS)
        if text.isdigit() and int(text) <= 120:
            age = int(text)
        else:
            errors.append(("age_years", BAD_AGE.format(value=row["age_years"])))
    vulnerabilities = []
    if row["vulnerabilities"]:
        vulnerabilities = [
            v.strip().lower() for v in row["vulnerabilities"].replace(",", ";").split(";") if v.strip()
        ]
    for code in vulnerabilities:
        if code not in VULNERABILITIES:
            errors.append(
                (
                    "vulnerabilities",
                    UNKNOWN_CODE.format(what="vulnerability", value=code, choices="see template"),
                )
            )
    return MemberInput(
        given_name=row["given_name"],
        father_name=row["father_name"],
        family_name=row["family_name"],
        sex=sex,
        relationship=relationship,
        date_of_birth=_parse_date(row["date_of_birth"], errors, "date_of_birth"),
        age_years=age,
        tazkira_number=row["tazkira_number"],
        vulnerabilities=[v for v in vulnerabilities if v in VULNERABILITIES],
    )


def _household_fields(household: Household, row: dict[str, str], reference: _Reference, errors: list) -> None:
    for column in ("crossing_point", "arrival_date", "destination_province"):
        if not row[column]:
            errors.append((column, REQUIRED))
    code = row["crossing_point"].upper()
    if code and code not in reference.crossing_points:
        errors.append(
            ("crossing_point", UNKNOWN_CODE.format(what="crossing point", value=code,
                                                   choices=", ".join(sorted(reference.crossing_points))))
        )  # fmt: skip
    household.crossing_point = reference.crossing_points.get(code)
    code = row["destination_province"].upper()
    if code and code not in reference.provinces:
        errors.append(
            ("destination_province", f"Unknown province code '{code}' (ISO 3166-2:AF, e.g. AF-NAN).")
        )
    household.destination_province = reference.provinces.get(code)
    household.arrival_date = _parse_date(row["arrival_date"], errors, "arrival_date")
    if household.arrival_date and household.arrival_date > timezone.localdate():
        errors.append(("arrival_date", ARRIVAL_IN_FUTURE))
    try:
        household.phone = normalize_phone(row["phone"])
    except ValidationError as exc:
        errors.append(("phone", exc.message_dict["phone"][0]))
    consent = row["consent_to_share"].lower()
    if consent not in YES | NO:
        errors.append(("consent_to_share", BAD_CONSENT.format(value=row["consent_to_share"])))
    household.consent_to_share = consent in YES
    household.destination_district = row["destination_district"][:100]
    household.origin_location = row["origin_location"][:100]
    household.documentation_status = _choice(
        row["documentation_status"].lower(), DOCUMENTATION_STATUSES, "documentation status", errors,
        "documentation_status",
    )  # fmt: skip
    household.return_type = _choice(
        row["return_type"].lower(), ReturnType.values, "return type", errors, "return_type"
    )


def _fingerprint(household: Household) -> str:
    """What identifies a household in a list: where and when it arrived, and who is in it."""
    members = sorted(
        (person_key(m.given_name, m.father_name, m.family_name), m.sex, m.relationship,
         _birth_year(m, household.arrival_date) or 0, digits_key(m.tazkira_number))
        for m in household.members
    )  # fmt: skip
    data = [household.crossing_point.code, household.arrival_date.isoformat(), household.phone, members]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def parse(content: bytes, filename: str = "") -> ImportResult:
    """Read and validate a file; households with any error get outcome `not_imported`."""
    return parse_rows(read_rows(content, detect_format(content, filename)))


def parse_rows(rows: Iterator[list[str]]) -> ImportResult:
    """Validate rows in the template's shape (the header first; row numbers count it as row 1)."""
    result = ImportResult(dry_run=True)
    rows = iter(rows)
    header = [h.strip().lower().replace(" ", "_") for h in next(rows, [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ValidationError({"file": [MISSING_COLUMNS.format(columns=", ".join(missing))]})
    positions = {c: header.index(c) for c in TEMPLATE_COLUMNS if c in header}
    reference = _Reference()
    households: dict[str, Household] = {}
    # Per household and column: the first non-empty value and its row; rows may come in any order.
    values: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    bad_rows: dict[str, list[int]] = defaultdict(list)
    limit = settings.FAMILY_IMPORT_MAX_ROWS
    for number, cells in enumerate(rows, start=2):
        if not any(cells):
            continue
        result.rows += 1
        if result.rows > limit:
            raise ValidationError({"file": [TOO_MANY_ROWS.format(limit=limit)]})
        row = dict.fromkeys(TEMPLATE_COLUMNS, "")
        for column, i in positions.items():
            if i < len(cells) and cells[i]:
                row[column] = clean_script(cells[i])
        key = row["household_id"]
        if not key:
            result.errors.append(RowError(number, "", "household_id", REQUIRED))
            continue
        household = households.setdefault(key, Household(key=key, rows=[]))
        errors: list[tuple[str, str]] = []
        for column in HOUSEHOLD_COLUMNS[1:]:
            if row[column]:
                first_row, first = values[key].setdefault(column, (number, row[column]))
                if row[column] != first:
                    errors.append((column, DIFFERS.format(row=first_row, first=first)))
        household.rows.append(number)
        household.members.append(_member_from_row(row, errors))
        for column, message in errors:
            result.errors.append(RowError(number, key, column, message))
            bad_rows[key].append(number)
    for key, household in households.items():
        errors = []
        _household_fields(household, {c: values[key].get(c, (0, ""))[1] for c in HOUSEHOLD_COLUMNS[1:]}, reference,
                          errors)  # fmt: skip
        for column, message in errors:
            number = values[key].get(column, (household.rows[0],))[0]
            result.errors.append(RowError(number, key, column, message))
            bad_rows[key].append(number)
    if not households and not result.errors:
        raise ValidationError({"file": [EMPTY_FILE]})
    for household in households.values():
        if household.key not in bad_rows and household.arrival_date:
            try:
                _validate_members(household.members, household.arrival_date)
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    index, _, column = key.partition(".")
                    row = (
                        household.rows[int(index[8:-1])]
                        if index.startswith("members[")
                        else household.rows[0]
                    )
                    for message in messages:
                        result.errors.append(RowError(row, household.key, column or "members", message))
                        bad_rows[household.key].append(row)
        if household.key in bad_rows:
            household.outcome = Outcome.NOT_IMPORTED
            rows = ", ".join(str(r) for r in sorted(set(bad_rows[household.key])))
            result.errors.append(
                RowError(household.rows[0], household.key, "", HOUSEHOLD_HAS_ERRORS.format(rows=rows))
            )
        else:
            household.fingerprint = _fingerprint(household)
        result.households.append(household)
    return result


# --- applying ---------------------------------------------------------------------------------------


def _allocate_case_numbers(households: list[Household], dry_run: bool) -> None:
    groups: dict[tuple[str, int], list[Household]] = defaultdict(list)
    for h in households:
        groups[(h.crossing_point.case_prefix, h.arrival_date.year)].append(h)
    table = CaseNumberCounter._meta.db_table
    for (prefix, year), group in sorted(groups.items()):
        if dry_run:  # never touch the counter (it would hold its lock for the whole preview)
            for i, h in enumerate(group, start=1):
                h.case_number = f"{prefix}-{year}-N{i:06d}"  # never a real number: those are digits only
            continue
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (prefix, year, last) VALUES (%s, %s, %s) "  # noqa: S608 - our table
                f"ON CONFLICT (prefix, year) DO UPDATE SET last = {table}.last + EXCLUDED.last RETURNING last",
                [prefix, year, len(group)],
            )
            (last,) = cursor.fetchone()
        for i, h in enumerate(group, start=last - len(group) + 1):
            h.case_number = f"{prefix}-{year}-{i:06d}"


_JSON_COLUMNS = {"vulnerabilities", "data", "reasons"}


def _copy(model, columns: list[str], rows: Iterable[tuple]) -> None:
    """COPY rows into the model's table on PostgreSQL; the ORM's bulk insert elsewhere (SQLite quick-start)."""
    if connection.vendor != "postgresql":
        objects = [
            model(
                **{c: json.loads(v) if c in _JSON_COLUMNS else v for c, v in zip(columns, row, strict=True)}
            )
            for row in rows
        ]
        model.objects.bulk_create(objects, batch_size=500)
        return
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _write(households: list[Household], user: User, now) -> None:
    """Families, members and their audit events, written with COPY."""
    family_rows, member_rows = [], []
    for h in households:
        head = next(m for m in h.members if m.relationship == Relationship.HEAD)
        ordered = [head] + [m for m in h.members if m is not head]
        h.family_id = uuid.uuid4()
        family_rows.append((
            h.family_id, h.case_number, Family.Status.ACTIVE, h.crossing_point.pk, h.arrival_date,
            clean_script(h.origin_location), h.documentation_status, h.return_type, h.destination_province.pk,
            clean_script(h.destination_district), h.phone, h.consent_to_share, now, user.pk,
            json.dumps(_family_vulnerabilities([], h.members)), len(h.members),
            " ".join(p for p in (clean_script(head.given_name), clean_script(head.father_name)) if p),
            head_key(head.given_name, head.father_name), _birth_year(head, h.arrival_date), user.pk, now, now,
            h.fingerprint,
        ))  # fmt: skip
        for position, m in enumerate(ordered):
            member_rows.append((
                uuid.uuid4(), h.family_id, clean_script(m.given_name), clean_script(m.father_name),
                clean_script(m.family_name), m.sex, m.date_of_birth, m.age_years, _birth_year(m, h.arrival_date),
                m.relationship, clean_script(m.tazkira_number), digits_key(m.tazkira_number),
                json.dumps(sorted(set(m.vulnerabilities))), person_key(m.given_name, m.father_name, m.family_name),
                position,
            ))  # fmt: skip
    _copy(
        Family,
        ["id", "case_number", "status", "crossing_point_id", "arrival_date", "origin_location",
         "documentation_status", "return_type", "destination_province_id", "destination_district", "phone",
         "consent_to_share", "consent_recorded_at", "consent_recorded_by_id", "vulnerabilities", "household_size",
         "head_name", "head_name_key", "head_birth_year", "created_by_id", "created_at", "updated_at",
         "import_fingerprint"],
        family_rows,
    )  # fmt: skip
    _copy(
        Member,
        ["id", "family_id", "given_name", "father_name", "family_name", "sex", "date_of_birth", "age_years",
         "birth_year", "relationship", "tazkira_number", "tazkira_key", "vulnerabilities", "name_key", "position"],
        member_rows,
    )  # fmt: skip


def _audit(households: list[Household], user: User, now, import_id: str) -> None:
    _copy(
        AuditEvent,
        ["uuid", "created_at", "actor_id", "actor_username", "action", "target_type", "target_id", "data"],
        (
            (uuid.uuid4(), now, user.pk, user.username, "family.created", Family._meta.label_lower,
             str(h.family_id),
             json.dumps({"case_number": h.case_number, "crossing_point": h.crossing_point.code,
                         "household_size": len(h.members), "consent_to_share": h.consent_to_share,
                         "possible_duplicates": h.possible_duplicates, "import": import_id}))
            for h in households
        ),
    )  # fmt: skip


# Families sharing a head key with a head born within three years (or of unknown year): one index probe per
# distinct (key, year) of the chunk on family_head_key_idx (head_name_key, head_birth_year).
_SAME_HEAD_SQL = """
SELECT q.key, q.year, f.id FROM unnest(%s::text[], %s::int[]) AS q(key, year)
JOIN families_family f ON f.head_name_key = q.key
 AND (q.year IS NULL OR f.head_birth_year IS NULL OR f.head_birth_year BETWEEN q.year - 3 AND q.year + 3)
"""
YEAR_WINDOW = 3


def _matching(model, column: str, values: set, extra: str = "id") -> list[tuple]:
    """(value, id) of the rows whose `column` is one of `values` (an index probe per value)."""
    values = sorted(v for v in values if v)
    if not values:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {column}, {extra} FROM {model._meta.db_table} "  # noqa: S608 - our names
                f"WHERE {column} = ANY(%s) AND {column} <> ''",  # <> '': the partial indexes' condition
                [values],
            )
            return cursor.fetchall()
    rows = []
    for start in range(0, len(values), 500):
        batch = values[start : start + 500]
        rows += model.objects.filter(**{f"{column}__in": batch}).values_list(column, extra)
    return rows


def _same_head(households: list[Household]) -> list[tuple]:
    """(key, year, family id) of the families whose head matches a (head key, birth year) of the chunk."""
    wanted = sorted({(h.head_key, h.applicant.head_birth_year) for h in households if h.head_key},
                    key=lambda w: (w[0], w[1] or 0))  # fmt: skip
    if not wanted:
        return []
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_SAME_HEAD_SQL, [[k for k, _ in wanted], [y for _, y in wanted]])
            return cursor.fetchall()
    found = defaultdict(list)
    for key, year, family_id in Family.objects.filter(head_name_key__in={k for k, _ in wanted}).values_list(
        "head_name_key", "head_birth_year", "id"
    ):
        found[key].append((year, family_id))
    return [
        (key, year, family_id)
        for key, year in wanted
        for other_year, family_id in found[key]
        if year is None or other_year is None or abs(year - other_year) <= YEAR_WINDOW
    ]


def _find_duplicates(households: list[Household], order: dict[uuid.UUID, int]) -> list[DuplicateFlag]:
    """Possible duplicates of the chunk's households in the registry and among earlier rows of the file."""
    by_id = {h.family_id: h for h in households}
    pairs: set[tuple] = set()
    by_tazkira, by_phone, by_head = defaultdict(list), defaultdict(list), defaultdict(list)
    for h in households:
        for key in h.applicant.tazkira_keys:
            by_tazkira[key].append(h.family_id)
        if h.phone:
            by_phone[h.phone].append(h.family_id)
        by_head[(h.head_key, h.applicant.head_birth_year)].append(h.family_id)
    same_document = _matching(Member, "tazkira_key", set(by_tazkira), extra="family_id")
    for key, other in same_document:
        pairs.update((a, other) for a in by_tazkira[key])
    for phone, other in _matching(Family, "phone", set(by_phone)):
        pairs.update((a, other) for a in by_phone[phone])
    for key, year, other in _same_head(households):
        pairs.update((a, other) for a in by_head[(key, year)])
    pairs = {(a, b) for a, b in pairs if a != b}
    # Of two households of the same file, the later one is flagged against the earlier.
    pairs = {(a, b) for a, b in pairs if b not in order or order[b] < order[a]}
    if not pairs:
        return []
    heads = _candidate_heads({b for _, b in pairs})
    tazkira = defaultdict(set)  # the documents each candidate shares with the chunk
    for key, family_id in same_document:
        tazkira[family_id].add(key)
    flags = []
    threshold = settings.DUPLICATE_SCORE_THRESHOLD
    for a, b in sorted(pairs, key=lambda p: (order.get(p[0], 0), str(p[1]))):
        h, head = by_id[a], heads[b]
        hits = {b} if tazkira[b] & set(h.applicant.tazkira_keys) else set()
        match = score_candidate(h.applicant, head, head, hits)
        if match and is_reportable(match, threshold):
            h.possible_duplicates.append(head.case_number)
            flags.append(
                (uuid.uuid4(), a, b, match.score, json.dumps(match.reasons), DuplicateFlag.Status.OPEN, "")
            )
    return flags


@dataclass
class _Candidate:
    """What scoring needs of a registered family: the fields of `score_candidate`'s family and head."""

    id: uuid.UUID
    case_number: str
    phone: str
    head_birth_year: int | None
    given_name: str
    father_name: str


def _candidate_heads(ids: set) -> dict[uuid.UUID, _Candidate]:
    query = (
        Member.objects.filter(relationship=Relationship.HEAD)
        .order_by()
        .values_list(
            "family_id",
            "family__case_number",
            "family__phone",
            "family__head_birth_year",
            "given_name",
            "father_name",
        )
    )
    if connection.vendor == "postgresql":  # one array parameter instead of thousands of IN placeholders
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"{sql} AND {Member._meta.db_table}.family_id = ANY(%s)", [*params, list(ids)])
            rows = cursor.fetchall()
    else:
        rows = query.filter(family_id__in=ids)
    return {row[0]: _Candidate(*row) for row in rows}


def _apply_chunk(chunk: list[Household], user: User, order: dict, dry_run: bool, import_id: str) -> None:
    # One import writes at a time, so two uploads of the same list cannot both pass the fingerprint check.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(7316002)")
    known = dict(
        Family.objects.filter(import_fingerprint__in=[h.fingerprint for h in chunk]).values_list(
            "import_fingerprint", "case_number"
        )
    )
    fresh, repeats = [], []
    seen: dict[str, Household] = {}
    for h in chunk:
        if h.fingerprint in known:
            h.outcome, h.case_number = Outcome.ALREADY_IMPORTED, known[h.fingerprint]
        elif h.fingerprint in seen:  # the same household twice in one list
            repeats.append((h, seen[h.fingerprint]))
        else:
            seen[h.fingerprint] = h
            fresh.append(h)
    if not fresh:
        return
    now = timezone.now()
    _allocate_case_numbers(fresh, dry_run)
    for h, first in repeats:
        h.outcome, h.case_number = Outcome.ALREADY_IMPORTED, first.case_number
    _write(fresh, user, now)
    for h in fresh:
        order[h.family_id] = h.rows[0]
        h.applicant = applicant_from_input(members=h.members, arrival_date=h.arrival_date, phone=h.phone)
        h.head_key = h.applicant.key
        h.outcome = Outcome.WOULD_REGISTER if dry_run else Outcome.REGISTERED
    _copy(
        DuplicateFlag,
        ["id", "family_id", "candidate_id", "score", "reasons", "status", "note", "created_at"],
        (flag + (now,) for flag in _find_duplicates(fresh, order)),
    )
    _audit(fresh, user, now, import_id)


class _DryRunRollback(Exception):
    pass


def import_apply(
    result: ImportResult,
    *,
    imported_by: User,
    dry_run: bool = False,
    import_id: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Register the valid households of a parsed file (see the module docstring)."""
    result.dry_run = dry_run
    ready = [h for h in result.households if h.outcome != Outcome.NOT_IMPORTED]
    order: dict = {}
    total = len(ready)

    def run() -> None:
        for start in range(0, total, CHUNK):
            chunk = ready[start : start + CHUNK]
            with transaction.atomic():
                _apply_chunk(chunk, imported_by, order, dry_run, import_id)
            if progress:
                progress(min(start + CHUNK, total), total)

    if dry_run:
        try:
            with transaction.atomic():
                run()
                raise _DryRunRollback
        except _DryRunRollback:
            pass
        for h in ready:
            h.family_id = None
            if h.outcome == Outcome.WOULD_REGISTER:
                h.case_number = ""
    else:
        run()
    return result


def family_import(
    *,
    content: bytes,
    filename: str,
    imported_by: User,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Parse, validate and (unless a dry run) register a household list; audited either way."""
    digest = hashlib.sha256(content).hexdigest()
    result = parse(content, filename)
    import_apply(result, imported_by=imported_by, dry_run=dry_run, import_id=digest[:16], progress=progress)
    if not dry_run:
        audit_record(
            actor=imported_by,
            action="families.imported",
            target=imported_by,
            data={"file": filename[:200], "sha256": digest, **result.summary},
        )
    return result


def report_filename(filename: str) -> str:
    stem = (filename.rsplit(".", 1)[0] or "import")[:80]
    return f"{stem}-report.csv"


def as_bytes(uploaded) -> bytes:
    buffer = io.BytesIO()
    for chunk in uploaded.chunks():
        buffer.write(chunk)
    return buffer.getvalue()


# --- uploads followed in the UI (run inline when small, by a Celery task when large) -----------------


def family_import_submit(*, content: bytes, filename: str, submitted_by: User, dry_run: bool) -> FamilyImport:
    """Store an uploaded list and start its import: inline for a small file, else on a worker."""
    limit = settings.FAMILY_IMPORT_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise ValidationError({"file": [TOO_LARGE.format(limit=limit // 2**20)]})
    if not content.strip():
        raise ValidationError({"file": [EMPTY_FILE]})
    upload = FamilyImport.objects.create(
        filename=filename[:255],
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        dry_run=dry_run,
        created_by=submitted_by,
    )
    if len(content) <= settings.FAMILY_IMPORT_INLINE_BYTES:
        family_import_run(upload_id=upload.pk)
        upload.refresh_from_db()
    else:
        from families.tasks import family_import_task

        enqueue(family_import_task, str(upload.pk))
    return upload


def family_import_run(*, upload_id, resume: bool = False) -> FamilyImport:
    """Run a stored import once; a finished one is left alone.

    `resume` (the worker's redelivery after a crash) also takes an import left running: safe, because the
    chunks that committed are recognised by their fingerprints and not registered twice.
    """
    states = [FamilyImport.Status.QUEUED] + ([FamilyImport.Status.RUNNING] if resume else [])
    claimed = FamilyImport.objects.filter(pk=upload_id, status__in=states).update(
        status=FamilyImport.Status.RUNNING
    )
    upload = FamilyImport.objects.select_related("created_by").get(pk=upload_id)
    if not claimed:
        return upload

    def progress(done: int, total: int) -> None:
        FamilyImport.objects.filter(pk=upload_id).update(households_done=done, households_total=total)

    try:
        result = family_import(
            content=bytes(upload.content),
            filename=upload.filename,
            imported_by=upload.created_by,
            dry_run=upload.dry_run,
            progress=progress,
        )
    except ValidationError as exc:
        upload.status = FamilyImport.Status.FAILED
        upload.error = " ".join(m for messages in exc.message_dict.values() for m in messages)
    except Exception as exc:
        FamilyImport.objects.filter(pk=upload_id).update(
            status=FamilyImport.Status.FAILED,
            error=f"The import stopped on an unexpected error ({type(exc).__name__}); nothing more was saved. "
            "The administrators have the details.",
            finished_at=timezone.now(),
        )
        raise
    else:
        upload.status = FamilyImport.Status.DONE
        upload.summary = result.summary
        upload.report = result.report_csv()
        upload.households_total = upload.households_done = len(result.households)
    upload.finished_at = timezone.now()
    upload.save(
        update_fields=[
            "status",
            "error",
            "summary",
            "report",
            "households_total",
            "households_done",
            "finished_at",
        ]
    )
    return upload
