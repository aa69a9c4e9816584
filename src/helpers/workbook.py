"""Formatted Excel workbooks whose bytes depend on their content only (notebooks 04-05).

A million rows in seconds and little memory: xlsxwriter writes the workbook (styles, each
sheet's header row, widths, frozen pane and filters), and each sheet's rows come from DuckDB
a batch at a time, as Arrow columns that :mod:`pyarrow.compute` turns into the sheet's XML a
column at a time (the ``<row>`` and ``<c>`` elements xlsxwriter writes a cell at a time),
deflated into the sheet's file inside the workbook while the next batch is made.
Every sheet has a bold header row, frozen, with filters; column widths from the longest text
or number a column shows (on one line: a text's line breaks show only in a wrapped cell), at
most :data:`MAX_WIDTH` characters; and a number format per column, from its DuckDB type and
its name (:func:`number_kind`).

Text is written as text with Excel's quote prefix (what a leading apostrophe typed by a user
does): a cell holding ``=HYPERLINK(...)`` shows exactly that and is never run as a formula,
not even after it is edited (formula injection; the CSV exports use ``spreadsheet_safe`` of
``sql/macros.sql`` instead, as a CSV cannot say "this is text"). As xlsxwriter writes them,
text longer than a cell holds (:data:`MAX_TEXT_UNITS`) is cut, and the control characters
XML cannot hold are Excel's ``_xHHHH_`` escapes. Numbers are written to the last digit, so
Excel reads back the warehouse's double; NaN shows as ``#NUM!`` and an infinity as
``#DIV/0!`` (xlsxwriter's ``nan_inf_to_errors``). NULL is an empty cell. Dates and
timestamps (WITH TIME ZONE: at the connection's time zone) are Excel dates.

A sheet holds at most Excel's 1,048,576 rows. A longer one shows its first
:data:`MAX_DATA_ROWS` rows, in its order, and a 'Read me' sheet, first in the workbook, says
so and names the CSV with every row.

The same sheets write the same bytes: every file inside the workbook is dated 1980-01-31, as
xlsxwriter dates them, and the document's created and modified dates are the run's as-of
date.
"""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from helpers.warehouse import sql_identifier

__all__ = ["MAX_DATA_ROWS", "MAX_WIDTH", "MAX_TEXT_UNITS", "READ_ME", "NUMBER_FORMATS", "Sheet",
           "number_kind", "write_workbook"]

#: Data rows a sheet holds: Excel's 1,048,576 rows less the header.
MAX_DATA_ROWS = 1_048_575
#: Widest column, in characters (longer text is cut off on screen, not in the cell).
MAX_WIDTH = 60
#: Text a cell holds, in UTF-16 code units (a character above U+FFFF takes two): a longer
#: text is cut before the first character that does not fit, as xlsxwriter cuts it.
MAX_TEXT_UNITS = 32_767
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
#: Integers that reach Arrow as integers; the others (and DECIMAL) as doubles, as Excel
#: holds every number.
_EXACT_INTEGER_TYPES = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT",
                                  "USMALLINT", "UINTEGER"})
_FRACTION_TYPES = frozenset({"FLOAT", "REAL", "DOUBLE"})
#: Rows fetched from DuckDB and written at a time.
_BATCH_ROWS = 50_000
#: Room for the header's filter button, in characters.
_FILTER_BUTTON = 3
#: Deflate level of the workbook's files: a million rows' XML deflates three times faster
#: than at zlib's default level (6, xlsxwriter's), into a file a fifth larger.
_DEFLATE_LEVEL = 2

#: Characters xlsxwriter writes as Excel's ``_xHHHH_`` escape: the controls XML 1.0 forbids
#: (tab, line feed and carriage return it allows) and two non-characters.
_ESCAPED = [chr(code) for code in (*range(0x09), *range(0x0B, 0x20), 0xFFFE, 0xFFFF)]
#: What makes xlsxwriter keep a text's leading or trailing space (xml:space="preserve"):
#: Python's whitespace (none above U+3000), the controls among it being escapes by then.
_SPACES = [char for char in map(chr, range(0x3001)) if char.isspace() and char not in _ESCAPED]


def _regex_class(chars: Sequence[str]) -> str:
    """The RE2 character class of ``chars``, each as ``\\x{...}``."""
    return "[" + "".join(f"\\x{{{ord(char):X}}}" for char in chars) + "]"


_SPACE = _regex_class(_SPACES)
_ASTRAL = r"[\x{10000}-\x{10FFFF}]"
_NOT_ASTRAL = r"[^\x{10000}-\x{10FFFF}]"
#: Text that reads like Excel's escape: xlsxwriter escapes its underscore, so it stays text.
_ESCAPE_LOOKALIKE = "_x[0-9A-Fa-f]{4}_"
#: Text that xlsxwriter writes otherwise than as it is: a space to keep at an end, XML's
#: special characters, controls or an escape lookalike (too long a text is found by length).
_SPECIAL_TEXT = f"^{_SPACE}|{_SPACE}$|[&<>]|{_regex_class(_ESCAPED)}|{_ESCAPE_LOOKALIKE}"


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
    shown = [(sheet, rows.limit(MAX_DATA_ROWS))
             for sheet, rows in zip(sheets, relations, strict=True)]
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
        shown.insert(0, (Sheet(READ_ME, read_me), _relation(read_me)))
    with tempfile.TemporaryDirectory(prefix="workbook-") as scratch:
        parts = Path(scratch) / "parts.xlsx"
        book = xlsxwriter.Workbook(str(parts), {"constant_memory": True})
        book.set_properties({"created": datetime.combine(as_of, datetime.min.time())})
        formats = _Formats(book, currency)
        # xlsxwriter names the sheets' files in the order they are added
        bodies = {f"xl/worksheets/sheet{number}.xml":
                  _write_sheet(book.add_worksheet(spec.name), rows, spec, formats)
                  for number, (spec, rows) in enumerate(shown, start=1)}
        book.close()
        _pack(parts, Path(path), bodies)


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

    @staticmethod
    def style(cell_format: Format) -> str:
        """The format's number among the workbook's styles (a cell's ``s`` attribute).

        xlsxwriter numbers a format when a cell it writes first uses it; the data cells are
        written outside it, so they ask it the same way.
        """
        return str(cell_format._get_xf_index())


@dataclass(frozen=True)
class _Column:
    """How a column's cells are written: ``value``, the DuckDB expression fetched;
    ``cell``, the kind of cell (text, number, date, timestamp or boolean); ``letter`` and
    ``style``, its cells' column and format number (none for a boolean)."""

    value: str
    cell: str
    letter: str
    style: str


@dataclass(frozen=True)
class _Body:
    """A sheet's data rows: what :func:`_pack` writes after its header row."""

    rows: duckdb.DuckDBPyRelation
    columns: list[_Column]
    count: int
    row_styles: pa.Array | None


def _write_sheet(sheet: Worksheet, rows: duckdb.DuckDBPyRelation, spec: Sheet,
                 formats: _Formats) -> _Body:
    """Header, widths, frozen header and filters (xlsxwriter), and the rows to write."""
    columns = [_column(col, name, str(duckdb_type), spec, formats)
               for col, (name, duckdb_type) in enumerate(zip(rows.columns, rows.types,
                                                             strict=True))]
    for col, name in enumerate(rows.columns):
        sheet.write_string(0, col, name, formats.header)
    count, widths = _widths(rows, columns)
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width, len(rows.columns[col]) + _FILTER_BUTTON) + 1,
                                       MAX_WIDTH))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, count, len(columns) - 1)
    row_styles = None
    if spec.row_kinds:
        row_styles = pa.array([formats.style(formats.number(kind)) for kind in spec.row_kinds],
                              pa.large_string())
    return _Body(rows, columns, count, row_styles)


def _column(col: int, name: str, duckdb_type: str, spec: Sheet, formats: _Formats) -> _Column:
    """A column's kind of cell and format, from its type and name (:func:`number_kind`).

    Numbers are fetched as integers or doubles (Excel holds doubles: a DECIMAL shows as its
    nearest double, as xlsxwriter shows it), dates and timestamps as Excel's serial dates,
    and what has no cell type of its own (lists, JSON, UUIDs) as DuckDB's text of it.
    """
    value = sql_identifier(name)
    kind = spec.kinds.get(name) or number_kind(name, duckdb_type)
    base_type = duckdb_type.split("(")[0]
    letter = xl_col_to_name(col)
    if duckdb_type == "BOOLEAN":
        return _Column(value, "boolean", letter, "")
    if kind in ("date", "timestamp"):
        cell = "date" if base_type == "DATE" else "timestamp"
        serial = _date_serial(value) if cell == "date" else _timestamp_serial(value)
        return _Column(serial, cell, letter, formats.style(formats.number(kind)))
    if kind is not None:
        number = value if base_type in _EXACT_INTEGER_TYPES else f"CAST({value} AS DOUBLE)"
        return _Column(number, "number", letter, formats.style(formats.number(kind)))
    return _Column(f"CAST({value} AS VARCHAR)", "text", letter, formats.style(formats.text))


def _date_serial(value: str) -> str:
    """Excel's serial number of a DATE, as xlsxwriter computes it: days since 1899-12-31,
    and a day more after Excel's 29 February 1900."""
    days = f"date_diff('day', DATE '1899-12-31', {value})"
    return f"{days} + CASE WHEN {days} > 59 THEN 1 ELSE 0 END"


def _timestamp_serial(value: str) -> str:
    """Excel's serial date and time of a TIMESTAMP (WITH TIME ZONE: its local time), in
    xlsxwriter's arithmetic, so that it is the same double: whole days since 1899-12-31 plus
    (seconds + microseconds / 1e6) / 86400; a day less on 1900-01-01, a day more after
    Excel's 29 February 1900."""
    local = f"CAST({value} AS TIMESTAMP)"
    micros = f"date_diff('microsecond', TIMESTAMP '1899-12-31', {local})"
    day = "86400000000"
    in_day = f"((({micros}) % {day} + {day}) % {day})"
    serial = (f"(CAST((({micros}) - {in_day}) // {day} AS DOUBLE) + (CAST({in_day} // 1000000 "
              f"AS DOUBLE) + CAST({in_day} % 1000000 AS DOUBLE) / 1e6) / 86400)")
    return (f"CASE WHEN CAST({local} AS DATE) = DATE '1900-01-01' THEN {serial} - 1 "
            f"WHEN {serial} > 59 THEN {serial} + 1 ELSE {serial} END")


def _widths(rows: duckdb.DuckDBPyRelation, columns: Sequence[_Column]) -> tuple[int, list[int]]:
    """The rows' count, and the characters each column's widest value shows: a text its
    length, a number its digits with thousands separators and two decimals and room for a
    currency code or '%' (NaN or an infinity: 6), a date 10, a timestamp 19, a boolean 5;
    0 when all are NULL. One pass of DuckDB over the rows."""
    aggregates = ["count(*)"]
    for column in columns:
        if column.cell == "text":
            aggregates.append(f"max(length({column.value}))")
        elif column.cell == "number":
            finite = f"FILTER (WHERE isfinite({column.value}))"
            aggregates += [f"min({column.value}) {finite}", f"max({column.value}) {finite}"]
        aggregates.append(f"count({column.value})")
    found = iter(rows.aggregate(", ".join(aggregates)).fetchall()[0])
    count = next(found)
    widths = []
    for column in columns:
        longest = next(found) if column.cell == "text" else None
        extremes = (next(found), next(found)) if column.cell == "number" else ()
        if next(found) == 0:
            widths.append(0)
        elif column.cell == "number":
            widths.append(max((len(f"{value:,.2f}") + 4 for value in extremes
                               if value is not None), default=6))
        else:
            widths.append({"text": longest, "date": 10, "timestamp": 19,
                           "boolean": 5}[column.cell])
    return count, widths


def _pack(parts: Path, path: Path, bodies: Mapping[str, _Body]) -> None:
    """The workbook ``path``: xlsxwriter's ``parts``, each sheet's rows (``bodies``) after its
    header row, every file dated as xlsxwriter dates it.

    A sheet's rows are made a batch at a time (:func:`_batches`) while another thread
    deflates the one before: two cores each do half the work.
    """
    with zipfile.ZipFile(parts) as built, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        for part in built.infolist():
            info = zipfile.ZipInfo(part.filename, part.date_time)
            info.external_attr, info.compress_type = part.external_attr, zipfile.ZIP_DEFLATED
            xml = built.read(part)
            body = bodies.get(part.filename)
            if body is None or body.count == 0:
                book.writestr(info, xml, compresslevel=_DEFLATE_LEVEL)
                continue
            head, end, tail = xml.partition(b"</sheetData>")
            # the level of a file written a piece at a time (compress_level from Python 3.13)
            info._compresslevel = _DEFLATE_LEVEL
            with book.open(info, "w") as sheet, ThreadPoolExecutor(1) as deflater:
                sheet.write(_dimension(head, body.count))
                written = deflater.submit(sheet.write, b"")
                for rows in _batches(body):
                    written.result()
                    written = deflater.submit(sheet.write, rows)
                written.result()
                sheet.write(end + tail)


def _dimension(head: bytes, rows: int) -> bytes:
    """The sheet's ``<dimension>`` (xlsxwriter's covers the header) down to its last row."""
    start = head.index(b'<dimension ref="') + len(b'<dimension ref="')
    stop = head.index(b'"', start)
    first, _, last = head[start:stop].partition(b":")
    last_column = (last or first).rstrip(b"0123456789")
    return head[:start] + first + b":" + last_column + str(rows + 1).encode() + head[stop:]


def _batches(body: _Body) -> Iterator[pa.Buffer]:
    """The sheet's ``<row>`` elements, a batch of rows at a time, in order."""
    fetched = body.rows.project(", ".join(f"{column.value} AS c{col}"
                                          for col, column in enumerate(body.columns)))
    first = 0
    for batch in fetched.to_arrow_reader(_BATCH_ROWS):
        if batch.num_rows == 0:
            continue
        styles = None
        if body.row_styles is not None:
            styles = body.row_styles.slice(first, batch.num_rows)
        xml = _rows_xml(batch, body.columns, first + 2, styles)
        first += batch.num_rows
        # the rows' XML one after the other, as Arrow lays out text: no copy
        _, offsets, data = xml.buffers()
        start, stop = np.frombuffer(offsets, np.int64)[[xml.offset, xml.offset + len(xml)]]
        yield data[int(start):int(stop)]


def _text(text: str) -> pa.Scalar:
    return pa.scalar(text, pa.large_string())


def _join(*parts: pa.Array | str, skip_nulls: bool = False) -> pa.Array:
    """The parts joined row by row (the text pieces next to each other first joined once);
    NULL where one of them is, unless ``skip_nulls``."""
    merged: list[pa.Array | str] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    return pc.binary_join_element_wise(
        *(_text(part) if isinstance(part, str) else part for part in merged), _text(""),
        null_handling="skip" if skip_nulls else "emit_null")


def _rows_xml(batch: pa.RecordBatch, columns: Sequence[_Column], first_row: int,
              row_styles: pa.Array | None) -> pa.LargeStringArray:
    """One ``<row>`` element per row of ``batch``, numbered from ``first_row``; the numbers
    take ``row_styles`` (one a row) when given.

    A column without NULLs in the batch is joined into the rows piece by piece; one with
    NULLs is first made into cells, NULL where the value is (no cell), then joined.
    """
    refs = pc.cast(pa.array(np.arange(first_row, first_row + batch.num_rows)),
                   pa.large_string())
    parts: list[pa.Array | str] = ['<row r="', refs, '">']
    for column, values in zip(columns, batch.columns, strict=True):
        style = column.style
        if row_styles is not None and column.cell == "number":
            style = row_styles
        cell = _cell(column, values, refs, style)
        parts += [_join(*cell)] if values.null_count else cell
    return _join(*parts, "</row>", skip_nulls=True)


def _cell(column: _Column, values: pa.Array, refs: pa.Array,
          style: pa.Array | str) -> list[pa.Array | str]:
    """The pieces of a column's cells, as xlsxwriter writes them: text with Excel's quote
    prefix (:func:`_text_tags`), booleans, and numbers (dates too), each the shortest text
    that reads back as the same double; NaN and the infinities as the error cells
    xlsxwriter writes (#NUM!, #DIV/0!)."""
    start = f'<c r="{column.letter}'
    if column.cell == "text":
        opening, texts = _text_tags(pc.cast(values, pa.large_string()))
        return [start, refs, f'" s="{column.style}" t="inlineStr"><is><t', opening, texts,
                "</t></is></c>"]
    if column.cell == "boolean":
        ones = pc.cast(pc.cast(values, pa.int8()), pa.large_string())
        return [start, refs, '" t="b"><v>', ones, "</v></c>"]
    cells = [start, refs, '" s="', style, '"><v>', pc.cast(values, pa.large_string()),
             "</v></c>"]
    if not pa.types.is_floating(values.type):
        return cells
    if pc.all(pc.is_finite(values)).as_py() is not False:
        return cells
    errors = pc.if_else(pc.is_nan(values), _text("<f>#NUM!</f><v>#NUM!</v>"),
                        pc.if_else(pc.greater(values, 0), _text("<f>1/0</f><v>#DIV/0!</v>"),
                                   _text("<f>-1/0</f><v>#DIV/0!</v>")))
    return [pc.if_else(pc.is_finite(values), _join(*cells),
                       _join(start, refs, '" s="', style, '" t="e">', errors, "</c>"))]


def _text_tags(texts: pa.Array) -> tuple[pa.Array | str, pa.Array]:
    """The end of each text's ``<t`` tag, and its text, as xlsxwriter writes them.

    Most texts are written as they are; the few that are not (:data:`_SPECIAL_TEXT`, or
    longer than a cell holds) are cut to :data:`MAX_TEXT_UNITS`, their controls and escape
    lookalikes escaped (``_xHHHH_``), then XML's special characters, and an end that is a
    space kept (xml:space="preserve").
    """
    special = pc.fill_null(pc.or_(pc.match_substring_regex(texts, _SPECIAL_TEXT),
                                  pc.greater(pc.binary_length(texts), MAX_TEXT_UNITS)), False)
    if not pc.any(special).as_py():
        return ">", texts
    odd = _escape_controls(_cut(pc.filter(texts, special)))
    preserve = pc.match_substring_regex(odd, f"^{_SPACE}|{_SPACE}$")
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        odd = pc.replace_substring(odd, char, entity)
    opening = pc.replace_with_mask(pa.repeat(_text(">"), len(texts)), special, pc.if_else(
        preserve, _text(' xml:space="preserve">'), _text(">")))
    return opening, pc.replace_with_mask(texts, special, odd)


def _cut(texts: pa.Array) -> pa.Array:
    """Texts cut to :data:`MAX_TEXT_UNITS` UTF-16 units, never inside a character above
    U+FFFF (two units): with each such character doubled, a character is a unit; the cut
    drops a half pair left at the end, and the pairs become one again."""
    doubled = pc.replace_substring_regex(texts, f"({_ASTRAL})", r"\1\1")
    cut = pc.utf8_slice_codeunits(doubled, 0, MAX_TEXT_UNITS)
    whole = pc.replace_substring_regex(cut, f"^((?:{_NOT_ASTRAL}|{_ASTRAL}{_ASTRAL})*){_ASTRAL}$",
                                       r"\1")
    return pc.replace_substring_regex(whole, f"({_ASTRAL}){_ASTRAL}", r"\1")


def _escape_controls(texts: pa.Array) -> pa.Array:
    """Controls as Excel's ``_xHHHH_`` escapes, once the underscore of a text that already
    reads like one is escaped, as xlsxwriter does."""
    texts = pc.replace_substring_regex(texts, f"({_ESCAPE_LOOKALIKE})", r"_x005F\1")
    if pc.any(pc.match_substring_regex(texts, _regex_class(_ESCAPED))).as_py():
        for char in _ESCAPED:
            texts = pc.replace_substring(texts, char, f"_x{ord(char):04X}_")
    return texts
