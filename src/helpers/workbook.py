"""Formatted Excel workbooks whose bytes depend on their content only (notebooks 04-05).

xlsxwriter writes them in constant memory: a row goes to disk once written, so a sheet of a
million rows takes no more memory than one of ten. Every sheet has a bold header row, frozen,
with filters; column widths from what the cells show (at most :data:`MAX_WIDTH` characters);
and a number format per column, from its DuckDB type and its name (:func:`number_kind`).

Text is written as text with Excel's quote prefix (what a leading apostrophe typed by a user
does): a cell holding ``=HYPERLINK(...)`` shows exactly that and is never run as a formula,
not even after it is edited (formula injection; the CSV exports use ``spreadsheet_safe`` of
``sql/macros.sql`` instead, as a CSV cannot say "this is text").

A sheet holds at most Excel's 1,048,576 rows. A longer one shows its first
:data:`MAX_DATA_ROWS` rows, in its order, and a 'Read me' sheet, first in the workbook, says
so and names the CSV with every row.

The same sheets write the same bytes: xlsxwriter dates every file inside the workbook
1980-01-31, and the document's created and modified dates are the run's as-of date.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

__all__ = ["MAX_DATA_ROWS", "MAX_WIDTH", "READ_ME", "NUMBER_FORMATS", "Sheet", "number_kind",
           "write_workbook"]

#: Data rows a sheet holds: Excel's 1,048,576 rows less the header.
MAX_DATA_ROWS = 1_048_575
#: Widest column, in characters (longer text is cut off on screen, not in the cell).
MAX_WIDTH = 60
#: The sheet naming capped sheets and the CSVs with all their rows.
READ_ME = "Read me"

#: Excel number format of each kind of number; ``{currency}`` is the run's currency code.
NUMBER_FORMATS = {
    "count": "#,##0",
    "decimal": "#,##0.00",
    "percent": "0.0%",
    "money": '#,##0.00 "{currency}"',
    "date": "yyyy-mm-dd",
    "timestamp": "yyyy-mm-dd hh:mm:ss",
}

#: Words of a column name (split on '_') that make a fractional column a share, shown as a
#: percent: share_active, at_risk_share, margin_rate, uptake_rate, match_probability.
PERCENT_WORDS = frozenset({"share", "rate", "probability"})
#: Fractional columns shown as a percent whatever their words (p_alive_mean too).
PERCENT_NAMES = ("p_alive", "confidence")
#: Words that make a fractional column an amount of money (after the percent rules, so
#: margin_rate and budget_share are percents): net_revenue, gross_margin, cost_to_serve,
#: profit_12m, clv_low, future_value, value_at_stake, budget, monetary_value, unit_margin_gain.
MONEY_WORDS = frozenset({"revenue", "returns", "margin", "cost", "profit", "value", "clv",
                         "budget", "spend", "monetary", "equity", "amount", "price", "gain"})

_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                            "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"})
_FRACTION_TYPES = frozenset({"FLOAT", "REAL", "DOUBLE"})
#: Rows fetched from DuckDB at a time.
_BATCH_ROWS = 10_000
#: Room for the header's filter button, in characters.
_FILTER_BUTTON = 3


@dataclass(frozen=True)
class Sheet:
    """One sheet of a workbook.

    Attributes
    ----------
    name
        The sheet's name (31 characters at most).
    rows
        Its rows, in the order shown: a DuckDB relation (read a batch at a time) or a small
        DataFrame.
    full_list
        The export file holding every row, e.g. ``actions.csv``: named in the 'Read me'
        sheet when the rows exceed :data:`MAX_DATA_ROWS`. A sheet that may be that long
        must name one.
    kinds
        Column → kind of number (a key of :data:`NUMBER_FORMATS`), overriding
        :func:`number_kind` for a column whose name says nothing (a recovery severity).
    row_kinds
        A kind per row, for the numbers of a table of one measure a row (the Summary);
        overrides the columns' kinds.
    """

    name: str
    rows: duckdb.DuckDBPyRelation | pd.DataFrame
    full_list: str = ""
    kinds: Mapping[str, str] = field(default_factory=dict)
    row_kinds: Sequence[str] = ()


def number_kind(column: str, duckdb_type: str) -> str | None:
    """How a column's numbers are shown: a key of :data:`NUMBER_FORMATS`, or None (text,
    booleans).

    DATE → date, TIMESTAMP → timestamp, integers → count. A fractional number (DOUBLE,
    DECIMAL) is a percent when its name is or starts with one of :data:`PERCENT_NAMES` or
    has a word of :data:`PERCENT_WORDS`; else money when a word is in :data:`MONEY_WORDS`;
    else decimal (scores, lifts, expected purchases). The registry's descriptions are free
    text, so the rule reads names, and the kit's names follow it; a column whose name does
    not is given its kind by the caller (:attr:`Sheet.kinds`).
    """
    base_type = duckdb_type.split("(")[0]
    if base_type == "DATE":
        return "date"
    if base_type.startswith("TIMESTAMP"):
        return "timestamp"
    if base_type in _INTEGER_TYPES:
        return "count"
    if base_type not in _FRACTION_TYPES and base_type != "DECIMAL":
        return None
    words = set(column.lower().split("_"))
    if column.lower().startswith(PERCENT_NAMES) or words & PERCENT_WORDS:
        return "percent"
    return "money" if words & MONEY_WORDS else "decimal"


def write_workbook(path: str | Path, sheets: Sequence[Sheet], as_of: date,
                   currency: str) -> None:
    """Write ``sheets`` (in order) to the xlsx ``path``, stamped ``as_of``.

    Parameters
    ----------
    path
        The workbook to write (replaced).
    sheets
        The sheets; each sheet's rows are counted first, so that a 'Read me' sheet can come
        first when one of them is longer than :data:`MAX_DATA_ROWS`.
    as_of
        The document's created and modified date (the run's as-of date, not the time of
        writing: a rerun writes the same bytes).
    currency
        The run's currency code, shown with every amount of money.

    Raises
    ------
    ValueError
        A sheet longer than :data:`MAX_DATA_ROWS` names no ``full_list``, or has not one
        row kind per row.
    """
    relations = [_relation(sheet.rows) for sheet in sheets]
    totals = [rows.aggregate("count(*)").fetchall()[0][0] for rows in relations]
    capped = [(sheet, total) for sheet, total in zip(sheets, totals, strict=True)
              if total > MAX_DATA_ROWS]
    for sheet, total in zip(sheets, totals, strict=True):
        if total > MAX_DATA_ROWS and not sheet.full_list:
            raise ValueError(f"sheet '{sheet.name}' has {total:,} rows, more than Excel holds "
                             f"({MAX_DATA_ROWS:,}), and names no export with all of them")
        if sheet.row_kinds and len(sheet.row_kinds) != total:
            raise ValueError(f"sheet '{sheet.name}' has {total} rows but "
                             f"{len(sheet.row_kinds)} row kinds")
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "nan_inf_to_errors": True,
                                           "remove_timezone": True})
    book.set_properties({"created": datetime.combine(as_of, datetime.min.time())})
    formats = _Formats(book, currency)
    if capped:
        read_me = pd.DataFrame({
            "sheet": [sheet.name for sheet, _ in capped],
            "rows_shown": [MAX_DATA_ROWS] * len(capped),
            "rows": [total for _, total in capped],
            "full_list": [sheet.full_list for sheet, _ in capped],
            "note": [f"Excel holds {MAX_DATA_ROWS + 1:,} rows a sheet, header included: "
                     f"'{sheet.name}' shows its first {MAX_DATA_ROWS:,}; {sheet.full_list} "
                     f"has all {total:,}"
                     for sheet, total in capped]})
        _write_sheet(book.add_worksheet(READ_ME), _relation(read_me), Sheet(READ_ME, read_me),
                     formats)
    for sheet, rows in zip(sheets, relations, strict=True):
        _write_sheet(book.add_worksheet(sheet.name), rows.limit(MAX_DATA_ROWS), sheet, formats)
    book.close()


def _relation(rows: duckdb.DuckDBPyRelation | pd.DataFrame) -> duckdb.DuckDBPyRelation:
    return duckdb.from_df(rows) if isinstance(rows, pd.DataFrame) else rows


class _Formats:
    """The workbook's cell formats, each added once (xlsxwriter keeps every one it is given)."""

    def __init__(self, book: xlsxwriter.Workbook, currency: str) -> None:
        self.book = book
        self.currency = currency.replace('"', "")
        self.header = book.add_format({"bold": True})
        self.text = book.add_format({"quote_prefix": True})
        self._numbers: dict[str, Format] = {}

    def number(self, kind: str) -> Format:
        if kind not in self._numbers:
            self._numbers[kind] = self.book.add_format(
                {"num_format": NUMBER_FORMATS[kind].format(currency=self.currency)})
        return self._numbers[kind]


#: Writes one cell; returns about how many characters it shows.
_CellWriter = Callable[[Worksheet, int, int, object, Format], int]


def _write_text(sheet: Worksheet, row: int, col: int, value: object, fmt: Format) -> int:
    text = value if isinstance(value, str) else str(value)
    sheet.write_string(row, col, text, fmt)
    return max(map(len, text.splitlines() or [""]))


def _write_number(sheet: Worksheet, row: int, col: int, value: object, fmt: Format) -> int:
    number = float(value) if isinstance(value, Decimal) else value
    sheet.write_number(row, col, number, fmt)
    # digits, thousands separators and two decimals, and room for a currency code or '%'
    return len(f"{number:,.2f}") + 4 if math.isfinite(number) else 6


def _write_date(sheet: Worksheet, row: int, col: int, value: object, fmt: Format) -> int:
    sheet.write_datetime(row, col, value, fmt)
    return 19 if isinstance(value, datetime) else 10


def _write_boolean(sheet: Worksheet, row: int, col: int, value: object, fmt: Format) -> int:
    sheet.write_boolean(row, col, value)
    return 5


def _write_sheet(sheet: Worksheet, rows: duckdb.DuckDBPyRelation, spec: Sheet,
                 formats: _Formats) -> None:
    """Header, rows (a batch at a time, in order), widths, frozen header and filters."""
    columns = rows.columns
    writers: list[_CellWriter] = []
    column_formats: list[Format] = []
    for name, duckdb_type in zip(columns, map(str, rows.types), strict=True):
        kind = spec.kinds.get(name) or number_kind(name, duckdb_type)
        if duckdb_type == "BOOLEAN":
            writers.append(_write_boolean)
            column_formats.append(formats.text)
        elif kind in ("date", "timestamp"):
            writers.append(_write_date)
            column_formats.append(formats.number(kind))
        elif kind is not None:
            writers.append(_write_number)
            column_formats.append(formats.number(kind))
        else:  # text, and what has no cell type of its own (lists, JSON, UUIDs)
            writers.append(_write_text)
            column_formats.append(formats.text)
    widths = [len(name) + _FILTER_BUTTON for name in columns]
    for col, name in enumerate(columns):
        sheet.write_string(0, col, name, formats.header)
    row = 0
    for row, values in enumerate(rows.iter_rows(_BATCH_ROWS), start=1):
        row_formats = column_formats
        if spec.row_kinds:
            row_format = formats.number(spec.row_kinds[row - 1])
            row_formats = [row_format if writer is _write_number else fmt
                           for writer, fmt in zip(writers, column_formats, strict=True)]
        for col, value in enumerate(values):
            if value is not None:
                shown = writers[col](sheet, row, col, value, row_formats[col])
                widths[col] = max(widths[col], shown)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(width + 1, MAX_WIDTH))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, row, len(columns) - 1)
