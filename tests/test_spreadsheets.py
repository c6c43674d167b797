"""The shared upload reader and export writer: formats, bad files, zip bombs, formula neutralisation."""

import csv
import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from openpyxl import Workbook, load_workbook

from aidcase.core.spreadsheets import csv_bytes, detect_format, read_rows, safe_cell, xlsx_bytes


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_format_is_told_by_content_not_name():
    assert detect_format(_xlsx([["a"]]), "list.csv") == "xlsx"
    assert detect_format(b"a,b\r\n", "list.csv") == "csv"
    assert detect_format(b"a,b\r\n", "list.XLSX") == "xlsx"


def test_csv_rows_are_stripped_and_bom_removed():
    content = "\ufeffname , phone\r\n گل احمد ,+93700123456\r\n".encode()
    assert list(read_rows(content, "csv")) == [["name", "phone"], ["گل احمد", "+93700123456"]]


def test_xlsx_cells_become_text_numbers_without_decimals_dates_iso():
    from datetime import date, datetime

    content = _xlsx([["n", "d", "dt"], [93700123456.0, date(2026, 11, 20), datetime(2026, 11, 20, 0, 0)]])  # noqa: DTZ001 - a sheet cell has no zone
    assert list(read_rows(content, "xlsx")) == [["n", "d", "dt"], ["93700123456", "2026-11-20", "2026-11-20"]]


def test_csv_that_is_not_utf8_is_refused_with_the_byte_position():
    with pytest.raises(ValidationError) as error:
        list(read_rows("name\r\nGul\xe9\r\n".encode("latin-1"), "csv"))
    assert "not UTF-8" in error.value.message_dict["file"][0]


def test_damaged_xlsx_is_refused_not_crashed():
    with pytest.raises(ValidationError) as error:
        list(read_rows(b"PK\x03\x04 this is no workbook", "xlsx"))
    assert "could not be read as XLSX" in error.value.message_dict["file"][0]


def test_zip_bomb_is_refused_from_the_directory_before_parsing(settings):
    settings.SPREADSHEET_MAX_INFLATED_BYTES = 10 * 2**20
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * (50 * 2**20))  # 50 MB of nothing
    content = buffer.getvalue()
    assert len(content) < 200_000
    with pytest.raises(ValidationError) as error:
        list(read_rows(content, "xlsx"))
    assert error.value.error_dict["file"][0].code == "too_large"
    assert "50 MB once unpacked (at most 10 MB)" in error.value.message_dict["file"][0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("+1+cmd|x", "'+1+cmd|x"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("+93700123456", "+93700123456"),
        ("-5.50", "-5.50"),
        ("Gul = Ahmad", "Gul = Ahmad"),
        (None, ""),
        (10000, "10000"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_csv_and_xlsx_exports_neutralise_formulas_and_keep_numbers():
    rows = [["name", "amount"], ['=HYPERLINK("http://x")', 10000]]
    assert list(csv.reader(io.StringIO(csv_bytes(rows).decode()))) == [
        ["name", "amount"],
        ['\'=HYPERLINK("http://x")', "10000"],
    ]
    sheet = load_workbook(io.BytesIO(xlsx_bytes([("list", rows)]))).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["name", "amount"],
        ['\'=HYPERLINK("http://x")', 10000],
    ]
    assert sheet.title == "list"
