"""Registrations collected with KoBoToolbox or ODK forms.

Two ways in, one path: an XLSX export (the household in the first sheet, the members of the repeat group in
another sheet, linked by `_index` / `_parent_index`, as KoBo exports them) or the KoBo API
(`/api/v2/assets/{uid}/data/`, pulled on a schedule). Each submission is turned into rows of the household
import template through the form's stored mapping, and registered by the household import
(`families.imports`): the same validation, duplicate detection and once-only fingerprints. On top of that,
each submission uuid is taken once per form (`KoboSubmission`), however often it is pulled; a submission
with errors is taken again on the next pull, in case it was corrected in KoBo.
"""

import io
import json
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record
from aidcase.core.spreadsheets import read_rows
from families.imports import (
    HOUSEHOLD_COLUMNS,
    MEMBER_COLUMNS,
    TEMPLATE_COLUMNS,
    ImportResult,
    Outcome,
    import_apply,
    parse_rows,
)
from families.models import Family, KoboForm, KoboSubmission

APPROVED = {"validation_status_approved", "approved"}
PAGE_SIZE = 1000
TIMEOUT_SECONDS = 30
NOT_A_KOBO_EXPORT = (
    "This is not a KoBo/ODK XLSX export: the first sheet needs a _uuid column, and the members sheet "
    "'{group}' the _parent_index column."
)


def _field(record: dict, name: str):
    """A form field by its name or full group path (KoBo keys are paths such as 'household/phone')."""
    if not name:
        return ""
    if name in record:
        return record[name]
    for key, value in record.items():
        if key.rsplit("/", 1)[-1] == name:
            return value
    return ""


def _approved(record: dict) -> bool:
    status = record.get("_validation_status") or ""
    if isinstance(status, dict):
        status = status.get("uid") or status.get("label") or ""
    return str(status).strip().lower() in APPROVED


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def submission_rows(form: KoboForm, record: dict, members: list[dict]) -> list[list[str]]:
    """The template rows of one submission: household columns on the first, one row per member."""
    maps = form.value_maps or {}

    def value(column: str, source: dict, mapping: dict) -> str:
        raw = _text(_field(source, mapping.get(column, "")))
        translated = (maps.get(column) or {}).get(raw, (maps.get(column) or {}).get(raw.lower(), raw))
        if column == "vulnerabilities":  # KoBo select_multiple: space-separated choices
            translated = ";".join(
                (maps.get(column) or {}).get(v, v) for v in raw.replace(";", " ").split() if v
            )
        return _text(translated)

    household = {c: value(c, record, form.household_fields) for c in HOUSEHOLD_COLUMNS[1:]}
    household["household_id"] = _text(record.get("_uuid"))
    rows = []
    for i, member in enumerate(members or [{}]):
        row = dict.fromkeys(TEMPLATE_COLUMNS, "")
        row["household_id"] = household["household_id"]
        if i == 0:
            row.update(household)
        row.update({c: value(c, member, form.member_fields) for c in MEMBER_COLUMNS})
        rows.append([row[c] for c in TEMPLATE_COLUMNS])
    return rows


def _members_of(record: dict, group: str) -> list[dict]:
    """The repeat group's entries of an API record (a list of dicts under the group's path)."""
    members = _field(record, group)
    return members if isinstance(members, list) else []


# --- taking submissions -----------------------------------------------------------------------------


def submissions_take(*, form: KoboForm, records: Iterable[tuple[dict, list[dict]]]) -> dict[str, int]:
    """Register the new (and previously rejected) submissions; the rest are skipped. Returns counts."""
    counts = defaultdict(int)
    with transaction.atomic():
        form = KoboForm.objects.select_for_update().select_related("import_as").get(pk=form.pk)
        done = set(
            form.submissions.exclude(status=KoboSubmission.Status.REJECTED).values_list("uuid", flat=True)
        )
        fresh: dict[str, tuple[dict, list[dict]]] = {}
        for record, members in records:
            uuid = _text(record.get("_uuid"))
            if not uuid:
                counts["without_uuid"] += 1
            elif form.approved_only and not _approved(record):
                counts["not_approved"] += 1
            elif uuid in done or uuid in fresh:
                counts["taken_before"] += 1
            else:
                fresh[uuid] = (record, members)
        if not fresh:
            return dict(counts)
        rows = [TEMPLATE_COLUMNS]
        for record, members in fresh.values():
            rows += submission_rows(form, record, members)
        result: ImportResult = parse_rows(iter(rows))
        import_apply(result, imported_by=form.import_as, import_id=f"kobo:{form.asset_uid}")
        families = dict(
            Family.objects.filter(
                case_number__in=[h.case_number for h in result.households if h.case_number]
            ).values_list("case_number", "id")
        )
        errors = defaultdict(list)
        for error in result.errors:
            errors[error.household_id].append(
                f"{error.column}: {error.message}" if error.column else error.message
            )
        for household in result.households:
            status = {
                Outcome.REGISTERED: KoboSubmission.Status.REGISTERED,
                Outcome.ALREADY_IMPORTED: KoboSubmission.Status.ALREADY_IMPORTED,
            }.get(household.outcome, KoboSubmission.Status.REJECTED)
            counts[status] += 1
            record = fresh[household.key][0]
            KoboSubmission.objects.update_or_create(
                form=form,
                uuid=household.key,
                defaults={
                    "status": status,
                    "family_id": families.get(household.case_number),
                    "errors": errors.get(household.key, []),
                    "submitted_at": _text(record.get("_submission_time"))[:40],
                },
            )
        form.last_pulled_at = timezone.now()
        form.last_pull_error = ""
        form.save(update_fields=["last_pulled_at", "last_pull_error"])
        audit_record(
            actor=form.import_as,
            action="kobo.submissions_taken",
            target=form,
            data={"form": form.asset_uid, **counts},
        )
    return dict(counts)


def export_records(form: KoboForm, content: bytes) -> list[tuple[dict, list[dict]]]:
    """Submissions of a KoBo XLSX export: the first sheet's rows with their members from the group's sheet."""
    from openpyxl import load_workbook

    next(read_rows(content, "xlsx"), None)  # the shared reader's checks (zip bomb, damaged file) first
    book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    try:
        sheets = {sheet.title: sheet for sheet in book.worksheets}
        main = book.worksheets[0]
        group = form.members_group.rsplit("/", 1)[-1]
        member_sheet = sheets.get(group[:31]) or next(
            (s for title, s in sheets.items() if title.lower() == group[:31].lower()), None
        )

        def dict_rows(sheet) -> list[dict]:
            rows = sheet.iter_rows(values_only=True)
            header = [_text(h) for h in next(rows, ())]
            return [dict(zip(header, row, strict=False)) for row in rows if any(v is not None for v in row)]

        households = dict_rows(main)
        members = dict_rows(member_sheet) if member_sheet is not None else []
    finally:
        book.close()
    if households and "_uuid" not in households[0] or members and "_parent_index" not in members[0]:
        raise ValidationError({"file": [NOT_A_KOBO_EXPORT.format(group=group)]})
    by_parent = defaultdict(list)
    for member in members:
        by_parent[_text(member.get("_parent_index"))].append(member)
    return [(h, by_parent.get(_text(h.get("_index")), [])) for h in households]


def export_take(*, form: KoboForm, content: bytes) -> dict[str, int]:
    return submissions_take(form=form, records=export_records(form, content))


# --- the KoBo API -----------------------------------------------------------------------------------


class KoboUnavailable(Exception):
    pass


def _get(url: str, token: str) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the configured server's URL
        url, headers={"Authorization": f"Token {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise KoboUnavailable(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise KoboUnavailable(f"{url}: {exc}") from None


def api_records(form: KoboForm) -> list[tuple[dict, list[dict]]]:
    """Every submission of the form, following the API's `next` pages."""
    query = urllib.parse.urlencode({"format": "json", "limit": PAGE_SIZE})
    url = f"{form.server_url.rstrip('/')}/api/v2/assets/{form.asset_uid}/data/?{query}"
    records = []
    pages = 0
    while url:
        page = _get(url, form.api_token)
        records += [(r, _members_of(r, form.members_group)) for r in page.get("results", [])]
        url = page.get("next")
        pages += 1
        if pages > 10_000:
            raise KoboUnavailable("more than 10,000 pages: stopping")
    return records


def form_pull(*, form: KoboForm) -> dict[str, int]:
    """Pull a form's submissions from the KoBo API and take the new ones. A failure is recorded, not hidden."""
    try:
        records = api_records(form)
    except KoboUnavailable as exc:
        KoboForm.objects.filter(pk=form.pk).update(last_pull_error=str(exc)[:2000])
        raise
    return submissions_take(form=form, records=records)
