"""Reading uploaded CSV/XLSX files and writing exports, safely.

Uploads: the format is told by content (an XLSX is a zip), an XLSX whose sheets would inflate past a limit is
refused from its zip directory before anything is parsed (a "zip bomb" costs nothing), and cells come back as
stripped strings. Exports: a cell that a spreadsheet would run as a formula is neutralised.
"""

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator

from django.conf import settings
from django.core.exceptions import ValidationError

NOT_READABLE = "The file could not be read as {format}: {problem}"
TOO_BIG_INFLATED = (
    "The spreadsheet would take {size} MB once unpacked (at most {limit} MB): save it as CSV or split it."
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def detect_format(content: bytes, filename: str = "") -> str:
    """'xlsx' for a zip container (whatever the name says), else 'csv'."""
    if content[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


def _check_inflated_size(content: bytes) -> None:
    limit = settings.SPREADSHEET_MAX_INFLATED_BYTES
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ValidationError({"file": [NOT_READABLE.format(format="XLSX", problem=exc)]}) from None
    if size > limit:
        message = TOO_BIG_INFLATED.format(size=size // 2**20, limit=limit // 2**20)
        raise ValidationError({"file": ValidationError(message, code="too_large")})


def _cell_text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "hour"):  # a datetime: spreadsheets store dates as such
        return (
            value.date().isoformat()
            if not (value.hour or value.minute or value.second)
            else value.isoformat()
        )
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone or Tazkira number typed into a number cell
    return str(value).strip()


def read_rows(content: bytes, file_format: str) -> Iterator[list[str]]:
    """Yield each row (the header first) as a list of stripped strings; the first sheet of an XLSX.

    Raises ValidationError({"file": [...]}) for a file that cannot be read; a bad row later in a CSV is
    reported by the caller with its row number.
    """
    if file_format == "xlsx":
        from openpyxl import load_workbook

        _check_inflated_size(content)
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged workbook
            raise ValidationError({"file": [NOT_READABLE.format(format="XLSX", problem=exc)]}) from None
        try:
            for row in book.worksheets[0].iter_rows(values_only=True):
                yield [_cell_text(v) for v in row]
        finally:
            book.close()
        return
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            {"file": [NOT_READABLE.format(format="UTF-8 CSV", problem=f"byte {exc.start} is not UTF-8")]}
        ) from None
    for row in csv.reader(io.StringIO(text, newline="")):
        yield [c.strip() for c in row]


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ (or tab/CR) gets a leading quote.

    Plain signed numbers ("-5", "+93700123456") stay as they are: they cannot run anything.
    """
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_PREFIXES:
        rest = text[1:]
        if text[0] in "+-" and rest.replace(".", "", 1).isdigit():
            return text
        return "'" + text
    return text


def csv_bytes(rows: Iterable[Iterable]) -> bytes:
    """UTF-8 CSV (CRLF, as spreadsheets expect) with every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(sheets: Iterable[tuple[str, Iterable[Iterable]]]) -> bytes:
    """A workbook with one sheet per (title, rows); text cells neutralised, numbers kept as numbers."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = book.create_sheet(title=title[:31])
        for row in rows:
            sheet.append([c if isinstance(c, int | float) else safe_cell(c) for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
