"""Loading the client's files: the data contract (see data/README.md).

Each source file is read as the client wrote it (:func:`read_raw`), straight into the
warehouse: every row keeps its line in the file, and a row with too many or too few fields is
caught instead of shifting its columns. A CSV file is first scanned a block of lines at a time
(its encoding checked, its lines counted; a file in another encoding than UTF-8 is copied as
UTF-8), then read by DuckDB's CSV reader, whose rejected lines come back with their line
numbers. A file where a quoted field holds a line break is read by the kit's own splitter
instead (:func:`_split`, vectorised over the file's bytes, in memory), as DuckDB numbers the
lines of such a file by record. Excel and Parquet cells keep their types: a date cell is a date
and a number a number, whatever the text conventions of the source.

Typed parsing and row checks then run as SQL in the warehouse. Every row is

* **accepted** into ``stage_<source>``;
* **excluded**: dated after the run's as-of date but not after the day the run happens, so
  outside this analysis but not bad data (a back-dated run is legitimate); counted only;
* or **rejected** into ``rejected_rows`` with its reason and its raw values;

so ``rows in = accepted + excluded + rejected`` always holds. :func:`check_quality` then
stops a run whose sources have too many rejected rows to publish a report on.

Fatal problems (missing file, wrong encoding, missing mapped column, no rows) stop the run
with a :class:`DataContractError` that names the file, and the column and line where there
is one.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from helpers.config import (
    DATE_ROLES,
    EXPOSURE_GROUPS,
    RATING_PREFIX,
    RunConfig,
    SourceConfig,
    is_number_role,
)
from helpers.errors import DataContractError, DataQualityError
from helpers.identify import rejection_reasons
from helpers.tables import table
from helpers.warehouse import (
    on_all_cores,
    require_columns,
    scalar,
    sql_identifier,
    sql_literal,
    write_table,
)

__all__ = ["DataContractError", "RawFile", "run_day", "read_raw", "stage_source",
           "build_load_counts", "check_quality"]

#: Money roles, and the size from which a value is refused: a DOUBLE holds every cent exactly
#: only below about 9e13, and the BTYD summaries add amounts as DECIMAL(18, 4).
MONEY_ROLES = ("amount", "unit_cost", "unit_price", "cost")
MONEY_LIMIT = 1e13

#: Row number of the first data row when the file has a header line (the header is row 1).
FIRST_ROW_WITH_HEADER = 2

#: Date layouts tried, in order, when a source gives no ``date_format`` (ISO first:
#: day/month order is ambiguous, so any other layout must be declared in the config).
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                        "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M",
                        "%Y%m%d")

#: The roles that date a row: rows dated after the as-of date are excluded from the run.
EVENT_DATE_ROLES = ("order_date", "contact_date", "period", "response_date", "exposure_date")

#: A ``period`` may also be a month, which stands for its first day.
MONTH_FORMAT = "%Y-%m"

#: A number as text, per decimal mark: thousands groups of three digits with the other mark
#: (``1.234,50`` / ``1,234.50``), so ``32.70`` in a file whose mark is ``,`` is no number
#: (it would otherwise become 3270). NaN, inf and the like are not numbers either.
NUMBER_PATTERNS = {
    ".": r"^[+-]?((\d{1,3}(,\d{3})+|\d+)(\.\d*)?|\.\d+)([eE][+-]?\d+)?$",
    ",": r"^[+-]?((\d{1,3}(\.\d{3})+|\d+)(,\d*)?|,\d+)$",
}

#: Bytes the preflight check reads of a CSV file for its sample of rows.
SAMPLE_BYTES = 1 << 20

#: Companion columns holding a typed cell's value (Excel, Parquet) are named with this prefix.
TYPED_PREFIX = "_cvkit_typed_"

REJECTED_ROWS_COLUMNS = ", ".join(f"{c.name} {c.type}" for c in table("rejected_rows").columns)

_NEWLINE, _CR, _QUOTE = ord("\n"), ord("\r"), ord('"')
#: Per byte value: is it a blank (space, tab, CR, LF)?
_BLANK = np.isin(np.arange(256), [ord(" "), ord("\t"), _CR, _NEWLINE])


class _FileProblem(ValueError):
    """Why a file cannot be read; :func:`read_raw` adds the file and the source, then the hint
    (what to do about it)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class RawFile:
    """One source file as read, before any parsing of its values.

    The rows are in the warehouse as ``raw_data`` (a temporary table, or a view of Arrow
    data; :func:`_drop_raw_data` removes it), one row per data row of the file (blank lines
    and empty sheet rows are not rows): ``_row`` (the row's line in the file, header = 1; the
    sheet row for Excel), ``_fields`` (how many fields the row has), ``_ragged`` (the row's
    fields, when they are not as many as the columns or the row is malformed; else null),
    ``_problem`` (why the reader could not read the row as a row of fields, e.g. text after a
    closing quote; else null), then one text column per column of the file (the cell as the
    file has it; null on ragged rows) and the typed companions listed in ``typed``.

    Attributes
    ----------
    columns
        The file's column names, in order.
    typed
        For a column with typed cells (Excel, Parquet): its companion column in ``raw_data``
        and the companion's kind: ``timestamptz`` (a point in time), ``timestamp`` (a
        wall-clock date and time), or ``number``. The companion is null where the cell is text.
    rows_in
        How many rows ``raw_data`` has.
    """

    columns: list[str]
    typed: dict[str, tuple[str, str]]
    rows_in: int


def run_day(cfg: RunConfig) -> date:
    """The day the run happens, in the run's time zone: later dates are in the future."""
    return datetime.now(ZoneInfo(cfg.timezone)).date()


# ---------------------------------------------------------------------------------- reading


def read_raw(con: duckdb.DuckDBPyConnection, cfg: RunConfig, name: str,
             limit: int | None = None) -> RawFile:
    """Read one source file as it is into ``raw_data``, with every row's number in the file.

    Parameters
    ----------
    con
        The run's warehouse; ``raw_data`` is left in it (see :class:`RawFile`) for the caller,
        who removes it with :func:`_drop_raw_data`.
    cfg
        The run configuration; ``cfg.sources[name]`` says where the file is and how to read it.
    name
        The source's name in the config.
    limit
        Read only the first ``limit`` data rows (a sample, for the preflight check).

    Returns
    -------
    RawFile
        The columns and typed companions of ``raw_data``, nothing coerced.

    Raises
    ------
    DataContractError
        The file is missing, in another encoding, unreadable, lacks a mapped column, or has
        no rows; the message names the file, and the column and line where there is one.
    """
    source = cfg.sources[name]
    path = cfg.source_path(name)
    where = f"(source '{name}')"
    readers = {"csv": _read_csv, "xlsx": _read_xlsx, "parquet": _read_parquet}
    if not path.is_file():
        raise DataContractError(f"{path}: file not found {where}")
    if source.file_format not in readers:
        raise DataContractError(f"{path}: cannot tell the file's format from its name {where}; "
                                f"add format: csv, xlsx or parquet")
    try:
        raw = readers[source.file_format](con, source, path, limit)
    except _FileProblem as exc:
        _drop_raw_data(con)
        raise DataContractError(f"{path}: {exc} {where}{exc.hint}") from None
    except Exception as exc:  # the reader's own message is the useful part
        _drop_raw_data(con)
        raise DataContractError(f"{path}: cannot read as {source.file_format}: {exc} "
                                f"{where}") from exc
    missing = [(role, col) for role, col in source.roles.items() if col not in raw.columns]
    problem = None
    if missing:
        named = ", ".join(f"'{col}' (role {role})" for role, col in missing)
        problem = (f"{path}: mapped column {named} not found; the file has columns "
                   f"{raw.columns}{_delimiter_hint(source, raw.columns)} {where}")
    elif raw.rows_in == 0:
        problem = f"{path}: no data rows {where}"
    if problem:
        _drop_raw_data(con)
        raise DataContractError(problem)
    return raw


def _drop_raw_data(con: duckdb.DuckDBPyConnection) -> None:
    """Remove ``raw_data`` (a view of Arrow data or of the readers' temporary tables) and
    those tables, if any."""
    con.unregister("raw_data")
    con.execute("DROP VIEW IF EXISTS temp.raw_data")
    for name in _READER_TABLES:
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _arrow_raw_data(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> int:
    """Make Arrow rows ``raw_data`` (a view: nothing is copied); return their count."""
    con.register("raw_data", rows)
    return rows.num_rows


def _delimiter_hint(source: SourceConfig, columns: list[str]) -> str:
    """A hint when the header is one column holding another usual delimiter."""
    if source.file_format != "csv" or len(columns) != 1:
        return ""
    found = next((d for d in (";", ",", "\t", "|") if d in columns[0]), None)
    return f"; the header holds {found!r}: set delimiter: {found!r}" if found else ""


def _column_names(header: list[str], source: SourceConfig) -> list[str]:
    """Header cells as column names: trimmed, empty ones named by position, repeats numbered.

    A repeated name that the config maps is fatal: the kit cannot tell which column is meant.
    """
    names = [str(h).strip() or f"column_{i}" for i, h in enumerate(header, start=1)]
    mapped = set(source.roles.values())
    seen: dict[str, int] = {}
    for i, col in enumerate(names):
        seen[col] = seen.get(col, 0) + 1
        if seen[col] > 1:
            if col in mapped:
                where = [j for j, other in enumerate(names, start=1) if other == col]
                raise _FileProblem(f"column '{col}' appears {len(where)} times in the header "
                                   f"(columns {where}); rename all but one")
            names[i] = f"{col}.{seen[col]}"
    return names


def _read_csv(con: duckdb.DuckDBPyConnection, source: SourceConfig, path: Path,
              limit: int | None) -> RawFile:
    if limit is None and source.delimiter != "whitespace":
        raw = _read_csv_in_duckdb(con, source, path)
        if raw is not None:
            return raw
    rows, names = _split_csv(source, path, limit)
    return RawFile(names, {}, _arrow_raw_data(con, rows))


def _split_csv(source: SourceConfig, path: Path, limit: int | None) -> tuple[pa.Table, list[str]]:
    """The rows of a CSV file (see :class:`RawFile`) and its column names, split by
    :func:`_split` in memory; with ``limit``, of the file's first :data:`SAMPLE_BYTES` only."""
    with path.open("rb") as handle:
        data = handle.read(SAMPLE_BYTES if limit else -1)
        truncated = bool(limit) and handle.read(1) != b""
    text = _decode(data, source, truncated).encode("utf-8")
    lines, counts, first, fields, malformed = _split(text, source.delimiter, truncated)
    if source.header:
        if not len(lines):
            raise _FileProblem("the file is empty: no header line")
        header = fields.slice(first[0], counts[0]).to_pylist()
        lines, counts, first = lines[1:], counts[1:], first[1:]
    else:
        header = list(source.column_names)
    if truncated and len(lines) < limit:  # the sample's bytes hold too few rows: read all
        return _split_csv(source, path, None)
    lines, counts, first = lines[:limit], counts[:limit], first[:limit]
    names = _column_names(header, source)
    # a field opened by a quote that holds text after its closing quote: which column
    bad_field = np.flatnonzero(malformed)
    record = np.searchsorted(first, bad_field, side="right") - 1
    keep = (record >= 0) & (bad_field < (first + counts)[np.maximum(record, 0)])
    record, bad_field = record[keep], bad_field[keep]
    record, at = np.unique(record, return_index=True)
    position = bad_field[at] - first[record]
    problem = np.full(len(lines), None, dtype=object)
    problem[record] = [_quote_problem(names, j) for j in position]
    # empty fields after the last column are a trailing delimiter, not data (DuckDB's reader
    # reads them so too): the row fits
    filled = np.r_[0, np.cumsum(pc.binary_length(fields).to_numpy(zero_copy_only=False) > 0)]
    extra_filled = filled[first + counts] - filled[first + np.minimum(counts, len(names))]
    fits = (counts >= len(names)) & (extra_filled == 0) & pd.isna(problem)
    ends = np.r_[first, first[-1] + counts[-1]] if len(first) else np.zeros(1, np.int64)
    ragged = pa.LargeListArray.from_arrays(pa.array(ends, pa.int64()), fields,
                                           mask=pa.array(fits))
    columns = {col: fields.take(pa.array(first + j, mask=~fits))
               for j, col in enumerate(names)}
    rows = pa.table({"_row": pa.array(lines, pa.int64()), "_fields": pa.array(counts, pa.int64()),
                     "_ragged": ragged, "_problem": pa.array(problem, pa.large_string()),
                     **columns})
    return rows, names


def _quote_problem(names: list[str], position: int) -> str:
    """Why a row whose field ``position`` (0-based) has text after its closing quote is not
    read."""
    column = f"column '{names[position]}'" if position < len(names) else f"field {position + 1}"
    return f"text after the closing quote of a quoted field ({column})"


#: The temporary tables of :func:`_read_csv_in_duckdb` and :func:`_read_parquet`.
_READER_TABLES = ("parquet_rows", "csv_rows", "csv_reader_errors", "csv_reader_scans",
                  "csv_rejects", "csv_rejected_rows", "csv_gaps")

#: DuckDB's kinds of rejected CSV lines that mean the line has too many or too few fields,
#: and the kind that means a quoted field is followed by more text.
_FIELD_COUNT_ERRORS = ("TOO MANY COLUMNS", "MISSING COLUMNS")
_QUOTE_ERROR = "UNQUOTED VALUE"

#: Bytes of a CSV file scanned at a time (:func:`_scan_lines`); a block holds whole lines.
SCAN_BYTES = 1 << 24


@dataclass(frozen=True)
class _Lines:
    """What :func:`_scan_lines` found in a CSV file.

    Attributes
    ----------
    solid
        How many lines hold more than blanks (spaces, tabs, CR).
    blank
        The line numbers (1-based) of the lines holding only blanks.
    """

    solid: int
    blank: np.ndarray


def _read_csv_in_duckdb(con: duckdb.DuckDBPyConnection, source: SourceConfig,
                        path: Path) -> RawFile | None:
    """Read a whole CSV file with DuckDB's reader, as the view ``raw_data``; None when the
    file has a record over more than one line (a quoted line break), whose line numbers DuckDB
    cannot give: :func:`_split_csv` reads such a file.

    The column names come from a sample (:func:`_split_csv`); the file is scanned for its
    encoding and blank lines (:func:`_scan_lines`), then read as text, every line DuckDB
    rejects (too many or too few fields, text after a closing quote) kept with its line.
    When every record is one line, the lines of the file are the header, the blank lines,
    the rejected lines and the rows read, in order, so a row's line is its place among the
    rows plus the blank and rejected lines before it.
    """
    sample, names = _split_csv(source, path, 1)
    if sample.num_rows == 0:
        return None  # no data row: the splitter says why
    with tempfile.TemporaryDirectory(prefix="cvkit-csv-", dir=_scratch_folder(con)) as scratch:
        utf8_path = Path(scratch) / "utf8.csv"
        lines = _scan_lines(source, path, utf8_path)
        if source.header and 1 in lines.blank[:1]:
            return None  # DuckDB would take the blank first line for the header
        text_path = utf8_path if utf8_path.exists() else path
        typed = ", ".join(f"{sql_literal(f'c{j}')}: 'VARCHAR'" for j in range(len(names)))
        with on_all_cores(con):  # text only, in the file's order: the same on every run
            con.execute(f"CREATE OR REPLACE TEMP TABLE csv_rows AS SELECT * FROM read_csv("
                        f"{sql_literal(str(text_path))}, columns = {{{typed}}}, "
                        f"header = {str(source.header).lower()}, "
                        f"delim = {sql_literal(source.delimiter)}, quote = '\"', escape = '\"', "
                        f"auto_detect = false, strict_mode = true, allow_quoted_nulls = false, "
                        f"store_rejects = true, rejects_table = 'csv_reader_errors', "
                        f"rejects_scan = 'csv_reader_scans')")
    kinds = scalar(con, "SELECT coalesce(list(DISTINCT error_type), []) FROM csv_reader_errors")
    if set(kinds) - {*_FIELD_COUNT_ERRORS, _QUOTE_ERROR}:
        _drop_raw_data(con)
        return None  # e.g. a line longer than DuckDB reads: the splitter
    con.execute("CREATE OR REPLACE TEMP TABLE csv_rejects AS "
                "SELECT line, bool_or(error_type = $quote) AS malformed, "
                "min(column_idx) FILTER (error_type = $quote) AS column_idx, "
                "any_value(trim(csv_line, chr(10) || chr(13))) AS csv_line "
                "FROM csv_reader_errors GROUP BY line "
                "HAVING trim(any_value(csv_line), ' ' || chr(9) || chr(10) || chr(13)) <> ''",
                {"quote": _QUOTE_ERROR})
    read = scalar(con, "SELECT count(*) FROM csv_rows")
    rejected = scalar(con, "SELECT count(*) FROM csv_rejects")
    if lines.solid != int(source.header) + read + rejected:
        _drop_raw_data(con)
        return None
    try:
        _split_rejected_lines(con, source, names)
    except _FileProblem:  # an unclosed quote on the last line: the splitter says where
        _drop_raw_data(con)
        return None
    first_line = 2 if source.header else 1
    con.register("csv_blank_lines", pa.table({"line": pa.array(lines.blank, pa.int64())}))
    # per gap (a blank or rejected line), how many rows were read before it: a row's line is
    # first_line + its place + the gaps at or before it
    con.execute("CREATE OR REPLACE TEMP TABLE csv_gaps AS SELECT accepted_before, "
                "max(gaps) AS gaps FROM (SELECT line - $first - row_number() OVER (ORDER BY line)"
                " + 1 AS accepted_before, row_number() OVER (ORDER BY line) AS gaps FROM ("
                "SELECT line FROM csv_blank_lines WHERE line >= $first UNION ALL "
                "SELECT line FROM csv_rejects)) GROUP BY accepted_before",
                {"first": first_line})
    con.unregister("csv_blank_lines")
    text_columns = ", ".join(f"coalesce(c{j}, '') AS {sql_identifier(col)}"
                             for j, col in enumerate(names))
    gaps = ("coalesce(csv_gaps.gaps, 0)", "ASOF LEFT JOIN csv_gaps "
            "ON csv_rows.rowid >= csv_gaps.accepted_before")
    if not scalar(con, "SELECT count(*) FROM csv_gaps"):
        gaps = ("0", "")
    con.execute(f"CREATE OR REPLACE TEMP VIEW raw_data AS SELECT "
                f"{first_line} + csv_rows.rowid + {gaps[0]} AS _row, "
                f"CAST({len(names)} AS BIGINT) AS _fields, CAST(NULL AS VARCHAR[]) AS _ragged, "
                f"CAST(NULL AS VARCHAR) AS _problem, {text_columns} FROM csv_rows {gaps[1]} "
                f"UNION ALL BY NAME SELECT * FROM csv_rejected_rows")
    return RawFile(names, {}, read + rejected)


def _split_rejected_lines(con: duckdb.DuckDBPyConnection, source: SourceConfig,
                          names: list[str]) -> None:
    """Write ``csv_rejected_rows``: the lines DuckDB's reader rejected (``csv_rejects``) as
    ragged or malformed rows, their fields split by :func:`_split`, a batch at a time."""
    con.execute("CREATE OR REPLACE TEMP TABLE csv_rejected_rows (_row BIGINT, _fields BIGINT, "
                "_ragged VARCHAR[], _problem VARCHAR)")
    rejected = scalar(con, "SELECT count(*) FROM csv_rejects")
    for start in range(0, rejected, SCAN_BATCH_LINES):
        batch = con.sql("SELECT line, malformed, column_idx, csv_line FROM csv_rejects "
                        "ORDER BY line LIMIT $n OFFSET $start",
                        params={"n": SCAN_BATCH_LINES, "start": start}).to_arrow_table()
        text = "\n".join(batch.column("csv_line").to_pylist()).encode("utf-8")
        _, counts, first, fields, _ = _split(text, source.delimiter, False)
        ends = np.r_[first, first[-1] + counts[-1]]
        problem = [_quote_problem(names, int(j) - 1) if bad else None
                   for bad, j in zip(batch.column("malformed").to_pylist(),
                                     batch.column("column_idx").to_pylist(), strict=True)]
        rows = pa.table({"_row": batch.column("line"), "_fields": pa.array(counts, pa.int64()),
                         "_ragged": pa.LargeListArray.from_arrays(pa.array(ends, pa.int64()),
                                                                  fields),
                         "_problem": pa.array(problem, pa.large_string())})
        con.register("csv_rejected_batch", rows)
        con.execute("INSERT INTO csv_rejected_rows SELECT * FROM csv_rejected_batch")
        con.unregister("csv_rejected_batch")


#: Rejected lines split at a time by :func:`_add_rejected_lines`.
SCAN_BATCH_LINES = 100_000


def _scratch_folder(con: duckdb.DuckDBPyConnection) -> str | None:
    """The warehouse's folder, for files made while loading (None: the system's temp folder)."""
    path = scalar(con, "SELECT path FROM duckdb_databases() "
                       "WHERE database_name = current_database()")
    return str(Path(path).parent) if path else None


def _scan_lines(source: SourceConfig, path: Path, utf8_path: Path) -> _Lines:
    """Check a CSV file's encoding and find its blank lines, a block at a time.

    A file in another encoding than UTF-8 is written to ``utf8_path`` as UTF-8, for DuckDB.

    Raises
    ------
    _FileProblem
        A byte that is not the source's encoding: its place (byte, line, column).
    """
    try:
        codec = codecs.lookup(source.encoding)
    except LookupError:
        raise _FileProblem(f"unknown encoding '{source.encoding}'") from None
    utf8 = codec.name in ("utf-8", "utf-8-sig")
    # in UTF-8 and the one-byte encodings a line break is the byte 0x0A, never part of a
    # character: blocks of whole lines decode on their own and errors get a line and column
    line_bytes = utf8 or "\n".encode(codec.name) == b"\n"  # utf-8-sig encodes a BOM first
    decoder = codec.incrementaldecoder()
    lines, solid, offset, rest, header = 0, 0, 0, b"", b""
    blank: list[np.ndarray] = []
    with path.open("rb") as handle, \
            (nullcontext() if utf8 else utf8_path.open("wb")) as copy:
        while True:
            data = handle.read(SCAN_BYTES)
            final = not data
            if line_bytes:
                block = rest + data
            else:  # UTF-16 and the like: decoded as a stream, lines found in the UTF-8 copy
                try:
                    block = rest + decoder.decode(data, final).encode("utf-8")
                except UnicodeDecodeError as exc:
                    raise _FileProblem(f"not valid {source.encoding}: byte {offset + exc.start}",
                                       _encoding_hint(data, source.encoding)) from None
            cut = len(block) if final else block.rfind(b"\n") + 1
            whole, rest = block[:cut], block[cut:]
            header = header or whole[:max(whole.find(b"\n"), 0)]
            if line_bytes:
                try:
                    text = whole.decode(codec.name)
                except UnicodeDecodeError as exc:
                    raise _encoding_problem(whole, exc, source, offset, lines + 1,
                                            header) from None
                if not utf8:
                    copy.write(text.encode("utf-8"))
                offset += len(whole)
            else:
                copy.write(whole)
                offset += len(data)
            found = _blank_lines(whole)
            blank.append(found + lines)
            count = whole.count(b"\n") + (bool(whole) and not whole.endswith(b"\n"))
            solid += count - len(found)
            lines += count
            if final:
                break
    return _Lines(solid, np.concatenate(blank))


def _blank_lines(block: bytes) -> np.ndarray:
    """1-based numbers of the lines of ``block`` (whole lines) holding only blanks."""
    starts = [m.start() for m in _BLANK_LINE.finditer(b"\n" + block) if m.start() < len(block)]
    if not starts:
        return np.zeros(0, np.int64)
    newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == _NEWLINE)
    return np.searchsorted(newlines, np.array(starts), side="left").astype(np.int64) + 1


#: A line holding only blanks, found after the line break before it.
_BLANK_LINE = re.compile(rb"\n[ \t\r]*(?=\n|\Z)")


def _decode(data: bytes, source: SourceConfig, truncated: bool) -> str:
    """The file's text; a message naming the line and column where it is not the encoding."""
    try:
        decoder = codecs.getincrementaldecoder(source.encoding)()
    except LookupError:
        raise _FileProblem(f"unknown encoding '{source.encoding}'") from None
    try:
        text = decoder.decode(data, final=not truncated)
    except UnicodeDecodeError as exc:
        header = data[:max(data.find(b"\n"), 0)]
        raise _encoding_problem(data, exc, source, 0, 1, header) from None
    return text.removeprefix("\ufeff")


def _encoding_problem(block: bytes, exc: UnicodeDecodeError, source: SourceConfig,
                      offset: int, first_line: int, header: bytes) -> _FileProblem:
    """The problem of a byte that is not the source's encoding, in ``block`` (whole lines,
    from byte ``offset`` and line ``first_line`` of the file; ``header`` is the file's first
    line): its byte, line and column."""
    line_start = block.rfind(b"\n", 0, exc.start) + 1
    before = block[line_start:exc.start].decode(source.encoding, errors="replace")
    split = (str.split if source.delimiter == "whitespace"
             else lambda s: s.split(source.delimiter))
    position = len(split(before + "x"))  # the field the bad byte is in, 1-based
    names = [h.strip(' \r"') for h in split(header.decode(source.encoding, errors="replace"))]
    line = first_line + block.count(b"\n", 0, exc.start)
    if line == 1 and source.header:
        column = "the header"
    else:
        column = (f"column '{names[position - 1]}'" if position <= len(names)
                  else f"field {position}")
    return _FileProblem(f"not valid {source.encoding}: byte {offset + exc.start}, line {line}, "
                        f"{column}", _encoding_hint(block, source.encoding))


def _encoding_hint(data: bytes, declared: str) -> str:
    utf16 = data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    for candidate in (["utf-16"] if utf16 else []) + ["utf-8", "cp1252", "latin-1"]:
        if codecs.lookup(candidate).name == codecs.lookup(declared).name:
            continue
        try:
            codecs.getincrementaldecoder(candidate)().decode(data, final=False)
        except UnicodeDecodeError:
            continue
        return f"; it reads as {candidate}: set encoding: {candidate}"
    return ""


def _split(data: bytes, delimiter: str, truncated: bool) -> tuple:
    """Split CSV text (UTF-8 bytes) into records and fields, vectorised over the bytes.

    Quotes follow RFC 4180 as pandas and DuckDB read it: a quote opens a quoted field only
    at the field's start, ``""`` inside one is a quote, and delimiters and line breaks inside
    are text. Lines holding only blanks are not records. With ``truncated`` (a sample of the
    file's first bytes) the last, possibly partial, record is dropped.

    Returns
    -------
    (lines, counts, first, fields, malformed)
        Per record: the line it starts on (1-based), its number of fields, the index of its
        first field in ``fields``; ``fields``, every field's text, unquoted; and per field,
        whether it opens with a quote but holds text after the closing one (``"ab"cd``).
    """
    padded = np.frombuffer(data + b"\n", dtype=np.uint8)  # so that buf[-1] is never a CR
    buf = padded[:-1]
    size = len(buf)
    newlines = np.flatnonzero(buf == _NEWLINE)
    whitespace = delimiter == "whitespace"
    quoted = None if whitespace else _quoted_state(buf, ord(delimiter))
    ends = newlines if quoted is None else newlines[~quoted(newlines)]
    if quoted is not None and not truncated and quoted(np.array([size]))[0]:
        opened = np.searchsorted(newlines, ends[-1] + 1 if len(ends) else 0) + 1
        raise _FileProblem(f"a quoted field is never closed: check the quotes of the row that "
                           f"starts on line {opened}")
    starts, ends = np.r_[0, ends + 1], np.r_[ends, size]
    if truncated:
        starts, ends = starts[:-1], ends[:-1]
    ends = ends - ((ends > starts) & (padded[ends - 1] == _CR))
    solid = ~_BLANK[buf]
    filled = np.r_[0, np.cumsum(solid)]
    keep = filled[ends] > filled[starts]
    starts, ends = starts[keep], ends[keep]
    if whitespace:  # fields are the runs of non-blank bytes
        field_starts = np.flatnonzero(solid & ~np.r_[False, solid[:-1]])
        field_ends = np.flatnonzero(solid & ~np.r_[solid[1:], False]) + 1
        kept = _in_records(field_starts, starts, ends)
        field_starts, field_ends = field_starts[kept], field_ends[kept]
    else:
        seps = np.flatnonzero(buf == ord(delimiter))
        seps = seps[~quoted(seps) & _in_records(seps, starts, ends)]
        field_starts, field_ends = np.sort(np.r_[starts, seps + 1]), np.sort(np.r_[seps, ends])
    record = np.searchsorted(starts, field_starts, side="right") - 1
    counts = np.bincount(record, minlength=len(starts))
    first = np.r_[0, np.cumsum(counts)][:-1]
    lengths = field_ends - field_starts
    edges = np.zeros(size + 1, dtype=np.int8)  # +1 where a field starts, -1 where it ends
    edges[field_starts] += 1
    edges[field_ends] -= 1
    values = buf[np.cumsum(edges[:size], dtype=np.int8) > 0]
    offsets = np.r_[0, np.cumsum(lengths)].astype(np.int64)
    fields = pa.LargeStringArray.from_buffers(len(lengths), pa.py_buffer(offsets),
                                              pa.py_buffer(values))
    malformed = np.zeros(len(lengths), dtype=bool)
    if not whitespace:
        enclosed = pc.and_(pc.and_(pc.starts_with(fields, '"'), pc.ends_with(fields, '"')),
                           pc.greater_equal(pc.binary_length(fields), 2))
        malformed = pc.and_(pc.starts_with(fields, '"'), pc.invert(enclosed)).to_numpy(
            zero_copy_only=False)
        inner = pc.replace_substring(pc.utf8_slice_codeunits(fields, 1, -1), '""', '"')
        fields = pc.if_else(enclosed, inner, fields)
    lines = np.searchsorted(newlines, starts) + 1
    return lines, counts, first, fields, malformed


def _in_records(positions: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each byte position lies in one of the records [starts, ends) (not in a blank
    line or a dropped tail)."""
    record = np.searchsorted(starts, positions, side="right") - 1
    return (record >= 0) & (positions < ends[np.maximum(record, 0)])


def _quoted_state(buf: np.ndarray, delimiter: int):
    """A function telling, for byte positions that are not quotes, whether each lies inside a
    quoted field.

    Consecutive quotes form runs. A run of odd length at a field's start (after a delimiter,
    a line break or at the file's start) opens or closes a quoted field; an odd run elsewhere
    either closes one or, outside, is a literal quote (``5" screen``), so it always ends
    outside; even runs are escaped quotes or empty fields and change nothing.
    """
    quotes = np.flatnonzero(buf == _QUOTE)
    if not len(quotes):
        return lambda positions: np.zeros(len(positions), dtype=bool)
    new_run = np.r_[True, np.diff(quotes) > 1]
    run_start = quotes[new_run]
    run_end = run_start + np.diff(np.r_[np.flatnonzero(new_run), len(quotes)])
    before = buf[np.maximum(run_start - 1, 0)]
    at_field_start = (run_start == 0) | (before == delimiter) | (before == _NEWLINE)
    odd = (run_end - run_start) % 2 == 1
    toggles = np.cumsum(at_field_start & odd)
    resets = ~at_field_start & odd
    last_reset = np.maximum.accumulate(np.where(resets, np.arange(len(resets)), -1))
    base = np.where(last_reset >= 0, toggles[np.maximum(last_reset, 0)], 0)
    open_after = (toggles - base) % 2 == 1

    def inside(positions: np.ndarray) -> np.ndarray:
        run = np.searchsorted(run_end, positions, side="right") - 1
        return (run >= 0) & open_after[np.maximum(run, 0)]

    return inside


def _read_xlsx(con: duckdb.DuckDBPyConnection, source: SourceConfig, path: Path,
               limit: int | None) -> RawFile:
    book = openpyxl.load_workbook(path, read_only=True)
    sheets = book.sheetnames
    book.close()
    sheet = source.sheet
    if (sheet not in sheets) if isinstance(sheet, str) else not 0 <= sheet < len(sheets):
        raise _FileProblem(f"no sheet {sheet!r}", f"; the sheets are {sheets}")
    cells = pd.read_excel(path, sheet_name=sheet, header=None, dtype=object,
                          nrows=None if limit is None else limit + 1)
    cells = cells[cells.notna().any(axis=1)]  # empty sheet rows are not rows
    if source.header:
        if cells.empty:
            raise _FileProblem(f"sheet {sheet!r} is empty: no header row")
        header = ["" if pd.isna(v) else str(v) for v in cells.iloc[0]]
        cells = cells.iloc[1:]
    else:
        header = list(source.column_names)
    cells = cells.iloc[:limit]
    names = _column_names(header, source)
    if cells.shape[1] > len(names):  # cells right of the header's last column
        names += [f"column_{i}" for i in range(len(names) + 1, cells.shape[1] + 1)]
    columns: dict[str, pa.Array] = {}
    typed: dict[str, tuple[str, str]] = {}
    roles = _roles_by_column(source)
    for j, col in enumerate(names):
        values = cells[j] if j < cells.shape[1] else pd.Series(None, index=cells.index)
        columns[col] = pa.array(values.where(values.notna(), "").astype(str), pa.large_string())
        kinds = values.map(type) if col in roles else None
        if roles.get(col) == "date":
            is_date = kinds.isin((datetime, date, pd.Timestamp))
            if is_date.any():
                typed[col] = (f"{TYPED_PREFIX}{j}", "timestamp")
                columns[typed[col][0]] = pa.array(pd.to_datetime(values.where(is_date)))
        elif roles.get(col) == "number":
            is_number = kinds.isin((int, float)) & values.notna()
            if is_number.any():
                typed[col] = (f"{TYPED_PREFIX}{j}", "number")
                columns[typed[col][0]] = pa.array(
                    pd.to_numeric(values.where(is_number)).astype(float))
    rows = _typed_rows(cells.index.to_numpy() + 1, len(names), columns)
    return RawFile(names, typed, _arrow_raw_data(con, rows))


def _read_parquet(con: duckdb.DuckDBPyConnection, source: SourceConfig, path: Path,
                  limit: int | None) -> RawFile:
    """Read a Parquet file a batch of :data:`PARQUET_BATCH_ROWS` rows at a time into the
    temporary table ``parquet_rows`` (viewed as ``raw_data``): memory holds one batch."""
    parquet = pq.ParquetFile(path)
    names = _column_names(parquet.schema_arrow.names, source)
    first_row = FIRST_ROW_WITH_HEADER if source.header else 1
    typed: dict[str, tuple[str, str]] = {}
    rows_in = 0
    for batch in parquet.iter_batches(batch_size=min(limit or PARQUET_BATCH_ROWS,
                                                     PARQUET_BATCH_ROWS)):
        batch = batch.slice(0, limit - rows_in) if limit else batch
        columns, typed = _parquet_columns(pa.Table.from_batches([batch]), names, source)
        rows = _typed_rows(np.arange(batch.num_rows) + first_row + rows_in, len(names), columns)
        con.register("parquet_batch", rows)
        if rows_in:
            con.execute("INSERT INTO parquet_rows SELECT * FROM parquet_batch")
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE parquet_rows AS SELECT * FROM parquet_batch")
        con.unregister("parquet_batch")
        rows_in += batch.num_rows
        if limit and rows_in >= limit:
            break
    if not rows_in:
        columns, typed = _parquet_columns(parquet.schema_arrow.empty_table(), names, source)
        return RawFile(names, typed, _arrow_raw_data(con, _typed_rows(np.zeros(0), len(names),
                                                                      columns)))
    con.execute("CREATE OR REPLACE TEMP VIEW raw_data AS SELECT * FROM parquet_rows")
    return RawFile(names, typed, rows_in)


#: Rows of a Parquet file read at a time.
PARQUET_BATCH_ROWS = 1_000_000


def _parquet_columns(data: pa.Table, names: list[str], source: SourceConfig
                     ) -> tuple[dict[str, pa.Array], dict[str, tuple[str, str]]]:
    """The text of every column of ``data`` (Parquet rows), and the typed companions of the
    date and number roles' columns (see :class:`RawFile`)."""
    roles = _roles_by_column(source)
    columns: dict[str, pa.Array] = {}
    typed: dict[str, tuple[str, str]] = {}
    for j, col in enumerate(names):
        values = data.column(j)
        kind = values.type
        try:
            text = pc.cast(values, pa.large_string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested types: their repr
            text = pa.array(values.to_pandas().astype(str), pa.large_string())
        columns[col] = pc.fill_null(text, "")
        if roles.get(col) == "date" and (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
            zoned = pa.types.is_timestamp(kind) and kind.tz is not None
            typed[col] = (f"{TYPED_PREFIX}{j}", "timestamptz" if zoned else "timestamp")
            columns[typed[col][0]] = values
        elif roles.get(col) == "number" and (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                             or pa.types.is_decimal(kind)):
            typed[col] = (f"{TYPED_PREFIX}{j}", "number")
            columns[typed[col][0]] = pc.cast(values, pa.float64())
    return columns, typed


def _roles_by_column(source: SourceConfig) -> dict[str, str]:
    """'date' or 'number' for each column a date or number role is mapped to."""
    return {col: "date" if role in DATE_ROLES else "number"
            for role, col in source.roles.items() if role in DATE_ROLES or is_number_role(role)}


def _typed_rows(row_numbers: np.ndarray, n_columns: int, columns: dict) -> pa.Table:
    n = len(row_numbers)
    return pa.table({"_row": pa.array(row_numbers, pa.int64()),
                     "_fields": pa.array(np.full(n, n_columns), pa.int64()),
                     "_ragged": pa.nulls(n, pa.large_list(pa.large_string())),
                     "_problem": pa.nulls(n, pa.large_string()), **columns})


# ---------------------------------------------------------------------------------- checking


def _text(source: SourceConfig, role: str) -> str:
    """SQL for the trimmed text of a role's column, NULL when empty or not mapped."""
    if role not in source.roles:
        return "CAST(NULL AS VARCHAR)"
    return f"NULLIF(trim({sql_identifier(source.roles[role])}), '')"


def _number(raw: RawFile, source: SourceConfig, role: str) -> str:
    """SQL for a role's number: the typed cell, else the text in the source's decimal
    convention (NULL when it is not a number written that way)."""
    text = _text(source, role)
    plain = (f"replace({text}, ',', '')" if source.decimal == "."
             else f"replace(replace({text}, '.', ''), ',', '.')")
    parsed = (f"CASE WHEN regexp_full_match({text}, {sql_literal(NUMBER_PATTERNS[source.decimal])})"
              f" THEN TRY_CAST({plain} AS DOUBLE) END")
    typed = raw.typed.get(source.roles[role])
    return f"coalesce({sql_identifier(typed[0])}, {parsed})" if typed else parsed


def _other_mark(raw: RawFile, source: SourceConfig, role: str) -> str:
    """SQL: true when a role's text is a number only in the other decimal convention."""
    text = _text(source, role)
    other = "," if source.decimal == "." else "."
    condition = (f"NOT regexp_full_match({text}, {sql_literal(NUMBER_PATTERNS[source.decimal])}) "
                 f"AND regexp_full_match({text}, {sql_literal(NUMBER_PATTERNS[other])})")
    typed = raw.typed.get(source.roles[role])
    return f"({sql_identifier(typed[0])} IS NULL AND {condition})" if typed else condition


def _date(raw: RawFile, source: SourceConfig, role: str) -> str:
    """SQL for a role's date: the typed cell (a point in time in the run's zone), else the text
    in the declared format or the ISO layouts, or for a period also a month (NULL when
    unparseable)."""
    formats = [source.date_format] if source.date_format else list(DEFAULT_DATE_FORMATS)
    if role == "period":
        formats.append(MONTH_FORMAT)
    listed = ", ".join(sql_literal(f) for f in formats)
    parsed = f"CAST(try_strptime({_text(source, role)}, [{listed}]) AS DATE)"
    typed = raw.typed.get(source.roles[role])
    if not typed:
        return parsed
    column, kind = typed
    value = sql_identifier(column)
    if kind == "timestamptz":
        value = f"timezone($timezone, {value})"
    return f"coalesce(CAST({value} AS DATE), {parsed})"


def _checks(source: SourceConfig, n_columns: int, today: date) -> list[tuple[str, str]]:
    """(condition, reason as SQL) pairs, first match wins, for the kind of source."""
    def col(role: str) -> str:
        return source.roles[role]

    counted = "the header has" if source.header else "column_names has"
    checks = [("_problem IS NOT NULL", "_problem"),
              ("_ragged IS NOT NULL", f"'row has ' || _fields || ' fields, {counted} {n_columns}'")]
    reasons = []
    key = {"products": "product_id", "marketing": "channel"}.get(source.kind, "customer_key")
    for role in (key, "campaign_id"):
        if role in source.columns:
            reasons.append((f"{role} IS NULL",
                            f"missing {role.replace('_', ' ')} (column '{col(role)}')"))
    for role in EVENT_DATE_ROLES:
        if role in source.columns:
            unparseable = (f"unparseable period in column '{col(role)}': write a month as "
                           f"YYYY-MM, or a date" if role == "period"
                           else f"unparseable date in column '{col(role)}'")
            reasons.append((f"{role} IS NULL", unparseable))
            reasons.append((f"{role} > $today",
                            f"date in the future, after {today} (column '{col(role)}')"))
    numbers = [role for role in ("amount", "quantity", "unit_cost", "unit_price", "cost", "nps")
               if role in source.columns] + [RATING_PREFIX + d for d in source.drivers]
    for role in numbers:
        label = (f"rating of driver '{role.removeprefix(RATING_PREFIX)}'"
                 if role.startswith(RATING_PREFIX) else role.replace("_", " "))
        reasons.append((f"{role}_mark", f"{label} does not use the decimal mark "
                                        f"'{source.decimal}' (column '{col(role)}')"))
        if role == "amount":  # required: an empty amount is as bad as a word
            reasons.append(("amount IS NULL", f"non-numeric amount (column '{col(role)}')"))
            if source.kind == "marketing":  # no spend in a month is a figure, not a mistake
                reasons.append(("amount < 0", f"negative spend (column '{col(role)}'): spend "
                                              f"is 0 or more"))
            elif source.zero_amount_lines == "reject":
                reasons.append(("amount = 0", f"zero amount (column '{col(role)}')"))
        elif role == "nps":
            reasons.append(("nps_text IS NULL", f"missing NPS score (column '{col(role)}')"))
            reasons.append(("nps IS NULL OR nps <> floor(nps) OR nps NOT BETWEEN 0 AND 10",
                            f"NPS score is not a whole number from 0 to 10 (column "
                            f"'{col(role)}')"))
        else:
            reasons.append((f"{role} IS NULL AND {role}_text IS NOT NULL",
                            f"non-numeric {label} (column '{col(role)}')"))
        if role in MONEY_ROLES:
            reasons.append((f"abs({role}) >= {MONEY_LIMIT:.0e}",
                            f"{label} of {MONEY_LIMIT:,.0f} or more (column '{col(role)}'): "
                            f"too large for a sum to be exact to the cent"))
    if "amount" in source.columns and "quantity" in source.columns:
        reasons.append(("sign(quantity) * sign(amount) < 0",
                        f"quantity and amount have opposite signs (columns "
                        f"'{col('quantity')}', '{col('amount')}')"))
    if "exposure_group" in source.columns:
        words = " or ".join(f"{names[0]} (or {', '.join(names[1:])})"
                            for names in EXPOSURE_GROUPS.values())
        reasons.append(("exposure_group IS NULL", f"exposure group is neither treated nor "
                                                  f"control (column '{col('exposure_group')}'): "
                                                  f"write {words}"))
    if source.kind == "products":
        reasons.append(("unit_cost IS NULL", f"missing unit cost (column '{col('unit_cost')}')"))
        reasons.append(("copy_of_key > 1", f"product id repeated (column '{col('product_id')}')"))
    checks += [(cond, sql_literal(text)) for cond, text in reasons]
    if source.duplicate_lines == "reject":
        checks.append(("copy_no > 1", "'exact duplicate of row ' || first_copy_row"))
    return checks


def _typed_select(raw: RawFile, source: SourceConfig) -> str:
    """SELECT that types every mapped role, keeps the raw values as JSON and flags exact
    duplicates; non-finite numbers (NaN, inf, overflow) become NULL, and an exposure group
    becomes 'treated' or 'control' (NULL when it is neither)."""
    parsed = ["_row", "_fields", "_ragged", "_problem"]
    finite = []
    for role in source.roles:
        if role in DATE_ROLES:
            parsed.append(f"{_date(raw, source, role)} AS {role}")
        elif role == "exposure_group":
            cases = " ".join(f"WHEN lower({_text(source, role)}) IN "
                             f"({', '.join(sql_literal(w) for w in words)}) "
                             f"THEN {sql_literal(group)}"
                             for group, words in EXPOSURE_GROUPS.items())
            parsed.append(f"CASE {cases} END AS {role}")
        elif is_number_role(role):
            parsed.append(f"{_number(raw, source, role)} AS {role}_value")
            parsed.append(f"{_text(source, role)} AS {role}_text")
            parsed.append(f"coalesce({_other_mark(raw, source, role)}, false) AS {role}_mark")
            finite.append(f"CASE WHEN isfinite({role}_value) THEN {role}_value END AS {role}")
        else:
            parsed.append(f"{_text(source, role)} AS {role}")
    all_columns = ", ".join(["_ragged"] + [sql_identifier(c) for c in raw.columns])
    parsed.append(f"row_number() OVER (PARTITION BY {all_columns} ORDER BY _row) AS copy_no")
    parsed.append(f"min(_row) OVER (PARTITION BY {all_columns}) AS first_copy_row")
    if source.kind == "products":
        parsed.append(f"row_number() OVER (PARTITION BY {_text(source, 'product_id')} "
                      f"ORDER BY _row) AS copy_of_key")
    return f"SELECT {', '.join(['*', *finite])} FROM (SELECT {', '.join(parsed)} FROM raw_data)"


def stage_source(con: duckdb.DuckDBPyConnection, cfg: RunConfig, name: str,
                 limit: int | None = None) -> dict[str, int]:
    """Load one source: accepted rows to ``stage_<name>``, bad ones to ``rejected_rows``.

    Rows dated (a role of :data:`EVENT_DATE_ROLES`) after ``cfg.as_of`` but not after the day
    of the run are excluded: neither staged nor rejected, only counted.

    Parameters
    ----------
    con
        The run's warehouse; ``rejected_rows`` is created if absent.
    cfg, name
        The run configuration and the source's name in it.
    limit
        Load only the first ``limit`` data rows (a sample, for the preflight check).

    Returns
    -------
    dict
        ``rows_in``, ``accepted``, ``excluded``, ``rejected`` for this source.
    """
    today = run_day(cfg)
    raw = read_raw(con, cfg, name, limit)
    try:
        counts = _check_rows(con, cfg, name, raw, today)
    finally:
        _drop_raw_data(con)
    return {"rows_in": raw.rows_in, **counts}


def _check_rows(con: duckdb.DuckDBPyConnection, cfg: RunConfig, name: str, raw: RawFile,
                today: date) -> dict[str, int]:
    """Check and type the rows of ``raw_data``: see :func:`stage_source`."""
    source = cfg.sources[name]
    checks = _checks(source, len(raw.columns), today)
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {text}" for cond, text in checks) + " END"
    dated = [role for role in EVENT_DATE_ROLES if role in source.columns]
    after = " OR ".join(f"{role} > $as_of" for role in dated) or "false"
    sql = (f"CREATE OR REPLACE TEMP TABLE checked AS SELECT *, "
           f"coalesce(reason IS NULL AND ({after}), false) AS excluded FROM ("
           f"SELECT *, {reason} AS reason FROM ({_typed_select(raw, source)}))")
    values = {"as_of": cfg.as_of, "today": today, "timezone": cfg.timezone}
    # row by row, no sum: on every core, the result is the same on every run
    with on_all_cores(con):
        con.execute(sql, {key: value for key, value in values.items() if f"${key}" in sql})
        con.execute(f"CREATE TABLE IF NOT EXISTS rejected_rows ({REJECTED_ROWS_COLUMNS})")
        con.execute("DELETE FROM rejected_rows WHERE source = ?", [name])
        # the raw values as the file has them, for the rejected rows only
        raw_json = ", ".join(f"{sql_literal(c)}, raw_data.{sql_identifier(c)}" for c in raw.columns)
        con.execute(f"INSERT INTO rejected_rows SELECT ?, ?, _row, checked.reason, "
                    f"CAST(CASE WHEN raw_data._ragged IS NULL THEN json_object({raw_json}) "
                    f"ELSE to_json(raw_data._ragged) END AS VARCHAR) "
                    f"FROM checked JOIN raw_data USING (_row) WHERE checked.reason IS NOT NULL "
                    f"ORDER BY _row", [name, str(cfg.source_path(name))])
        roles = ", ".join(["_row"] + list(source.roles))
        accepted = write_table(con, f"stage_{name}", f"SELECT {roles} FROM checked "
                                                     f"WHERE reason IS NULL AND NOT excluded "
                                                     f"ORDER BY _row")
    excluded, rejected = con.execute("SELECT count(*) FILTER (excluded), "
                                     "count(*) FILTER (reason IS NOT NULL) "
                                     "FROM checked").fetchall()[0]
    con.execute("DROP TABLE checked")
    return {"accepted": accepted, "excluded": excluded, "rejected": rejected}


def build_load_counts(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Load every source in the config; write ``load_counts``, one row per source.

    Writes ``stage_<source>`` for every source and ``rejected_rows`` on the way (see
    :func:`stage_source`). ``load_counts`` has columns source, kind, file, rows_in, accepted,
    excluded, rejected; :func:`helpers.identify.reconcile` completes it once notebook 01 has
    set aside the rows of linked sources (support, survey, campaign, transactions with
    ``linked_to``) whose customer key is unknown. Returns the number of sources.
    """
    rows = []
    for name, source in cfg.sources.items():
        counts = stage_source(con, cfg, name)
        rows.append({"source": name, "kind": source.kind, "file": str(cfg.source_path(name)),
                     **counts})
    return write_table(con, "load_counts", pd.DataFrame(rows))


# ---------------------------------------------------------------------------------- gates


def check_quality(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Stop the run when too many rows are rejected to publish a report on them.

    A source fails when its rejected rows exceed its ``max_rejected_share`` (else
    ``quality.max_rejected_share``) of its rows in, not counting the rows excluded as dated
    after the as-of date; the run fails when all sources together exceed
    ``quality.max_rejected_share``.

    Reads ``load_counts`` (source, file, rows_in, excluded, rejected) and ``rejected_rows``
    (source, row_number, reason).

    Raises
    ------
    DataQualityError
        Naming each failing source, its count and share, and its top three reasons with an
        example row number (reasons name columns, never values: no personal data).
    """
    require_columns(con, "load_counts", ["source", "file", "rows_in", "excluded", "rejected"])
    counts = con.execute("SELECT source, file, rows_in - excluded AS judged, rejected "
                         "FROM load_counts ORDER BY source").df()
    reasons = rejection_reasons(con)
    problems = []
    for source, file, judged, rejected in counts.itertuples(index=False):
        own = cfg.sources[source].max_rejected_share if source in cfg.sources else None
        limit = cfg.quality.max_rejected_share if own is None else own
        key = ("quality.max_rejected_share" if own is None
               else f"sources.{source}.max_rejected_share")
        if judged and rejected / judged > limit:
            top = reasons[reasons["source"] == source].head(3)
            listed = "; ".join(f"{r.reason} ({r.rows:,} rows, e.g. row {r.first_row})"
                               for r in top.itertuples(index=False))
            problems.append(f"source '{source}' ({file}): {_share(rejected, judged)}, more "
                            f"than the {limit:.1%} allowed ({key}); top reasons: {listed}")
    judged, rejected = int(counts["judged"].sum()), int(counts["rejected"].sum())
    if judged and rejected / judged > cfg.quality.max_rejected_share:
        problems.append(f"all sources: {_share(rejected, judged)}, more than the "
                        f"{cfg.quality.max_rejected_share:.1%} allowed "
                        f"(quality.max_rejected_share)")
    if problems:
        raise DataQualityError("too many rejected rows to publish a report; fix the files or "
                               "the config (date_format, decimal, delimiter, encoding…), or "
                               "raise the limit:\n  - " + "\n  - ".join(problems))


def _share(rejected: int, judged: int) -> str:
    return f"{rejected:,} of {judged:,} rows rejected ({rejected / judged:.1%})"
