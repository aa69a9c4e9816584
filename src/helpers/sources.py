"""Loading the client's files: the data contract (see data/README.md).

Each source file is read as the client wrote it (:func:`read_raw`). A CSV file is split into
rows and fields here, vectorised over its bytes, so that every row keeps its line in the file
and a row with too many or too few fields is caught instead of shifting its columns. Excel and
Parquet cells keep their types: a date cell is a date and a number a number, whatever the
text conventions of the source.

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
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
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
from helpers.warehouse import require_columns, sql_identifier, sql_literal, write_table

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

    Attributes
    ----------
    rows
        One row per data row of the file (blank lines and empty sheet rows are not rows):
        ``_row`` (the row's line in the file, header = 1; the sheet row for Excel), ``_fields``
        (how many fields the row has), ``_ragged`` (the row's fields, when they are not as many
        as the columns; else null), then one text column per column of the file (the cell as
        the file has it; null on ragged rows) and the typed companions listed in ``typed``.
    columns
        The file's column names, in order.
    typed
        For a column with typed cells (Excel, Parquet): its companion column in ``rows`` and
        the companion's kind: ``timestamptz`` (a point in time), ``timestamp`` (a wall-clock
        date and time), or ``number``. The companion is null where the cell is text.
    """

    rows: pa.Table
    columns: list[str]
    typed: dict[str, tuple[str, str]]


def run_day(cfg: RunConfig) -> date:
    """The day the run happens, in the run's time zone: later dates are in the future."""
    return datetime.now(ZoneInfo(cfg.timezone)).date()


# ---------------------------------------------------------------------------------- reading


def read_raw(cfg: RunConfig, name: str, limit: int | None = None) -> RawFile:
    """Read one source file as it is, with every row's number in the file.

    Parameters
    ----------
    cfg
        The run configuration; ``cfg.sources[name]`` says where the file is and how to read it.
    name
        The source's name in the config.
    limit
        Read only the first ``limit`` data rows (a sample, for the preflight check).

    Returns
    -------
    RawFile
        The rows (see :class:`RawFile`), nothing coerced.

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
        raw = readers[source.file_format](source, path, limit)
    except _FileProblem as exc:
        raise DataContractError(f"{path}: {exc} {where}{exc.hint}") from None
    except Exception as exc:  # the reader's own message is the useful part
        raise DataContractError(f"{path}: cannot read as {source.file_format}: {exc} "
                                f"{where}") from exc
    missing = [(role, col) for role, col in source.roles.items() if col not in raw.columns]
    if missing:
        named = ", ".join(f"'{col}' (role {role})" for role, col in missing)
        raise DataContractError(f"{path}: mapped column {named} not found; the file has "
                                f"columns {raw.columns}{_delimiter_hint(source, raw.columns)} "
                                f"{where}")
    if raw.rows.num_rows == 0:
        raise DataContractError(f"{path}: no data rows {where}")
    return raw


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


def _read_csv(source: SourceConfig, path: Path, limit: int | None) -> RawFile:
    with path.open("rb") as handle:
        data = handle.read(SAMPLE_BYTES if limit else -1)
        truncated = bool(limit) and handle.read(1) != b""
    text = _decode(data, source, truncated).encode("utf-8")
    lines, counts, first, fields = _split(text, source.delimiter, truncated)
    if source.header:
        if not len(lines):
            raise _FileProblem("the file is empty: no header line")
        header = fields.slice(first[0], counts[0]).to_pylist()
        lines, counts, first = lines[1:], counts[1:], first[1:]
    else:
        header = list(source.column_names)
    if truncated and len(lines) < limit:  # the sample's bytes hold too few rows: read all
        return _read_csv(source, path, None)
    lines, counts, first = lines[:limit], counts[:limit], first[:limit]
    names = _column_names(header, source)
    fits = counts == len(names)
    ends = np.r_[first, first[-1] + counts[-1]] if len(first) else np.zeros(1, np.int64)
    ragged = pa.LargeListArray.from_arrays(pa.array(ends, pa.int64()), fields,
                                           mask=pa.array(fits))
    columns = {col: fields.take(pa.array(first + j, mask=~fits))
               for j, col in enumerate(names)}
    rows = pa.table({"_row": pa.array(lines, pa.int64()), "_fields": pa.array(counts, pa.int64()),
                     "_ragged": ragged, **columns})
    return RawFile(rows, names, {})


def _decode(data: bytes, source: SourceConfig, truncated: bool) -> str:
    """The file's text; a message naming the line and column where it is not the encoding."""
    try:
        decoder = codecs.getincrementaldecoder(source.encoding)()
    except LookupError:
        raise _FileProblem(f"unknown encoding '{source.encoding}'") from None
    try:
        text = decoder.decode(data, final=not truncated)
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        before = data[line_start:exc.start].decode(source.encoding, errors="replace")
        header = data[:max(data.find(b"\n"), 0)].decode(source.encoding, errors="replace")
        split = (str.split if source.delimiter == "whitespace"
                 else lambda s: s.split(source.delimiter))
        position = len(split(before + "x"))  # the field the bad byte is in, 1-based
        names = [h.strip(' \r"') for h in split(header)]
        line = data.count(b"\n", 0, exc.start) + 1
        if line == 1 and source.header:
            column = "the header"
        else:
            column = (f"column '{names[position - 1]}'" if position <= len(names)
                      else f"field {position}")
        raise _FileProblem(f"not valid {source.encoding}: byte {exc.start}, line {line}, "
                           f"{column}", _encoding_hint(data, source.encoding)) from None
    return text.removeprefix("\ufeff")


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
    (lines, counts, first, fields)
        Per record: the line it starts on (1-based), its number of fields, the index of its
        first field in ``fields``; and ``fields``, every field's text, unquoted.
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
    if not whitespace:
        enclosed = pc.and_(pc.and_(pc.starts_with(fields, '"'), pc.ends_with(fields, '"')),
                           pc.greater_equal(pc.binary_length(fields), 2))
        inner = pc.replace_substring(pc.utf8_slice_codeunits(fields, 1, -1), '""', '"')
        fields = pc.if_else(enclosed, inner, fields)
    lines = np.searchsorted(newlines, starts) + 1
    return lines, counts, first, fields


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


def _read_xlsx(source: SourceConfig, path: Path, limit: int | None) -> RawFile:
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
    return RawFile(_typed_rows(cells.index.to_numpy() + 1, len(names), columns), names, typed)


def _read_parquet(source: SourceConfig, path: Path, limit: int | None) -> RawFile:
    parquet = pq.ParquetFile(path)
    if limit is None:
        data = parquet.read()
    else:  # the first rows only, without reading the whole file
        data = pa.Table.from_batches(list(islice(parquet.iter_batches(batch_size=limit), 1)),
                                     schema=parquet.schema_arrow)
    names = _column_names(data.column_names, source)
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
    first_row = FIRST_ROW_WITH_HEADER if source.header else 1
    return RawFile(_typed_rows(np.arange(data.num_rows) + first_row, len(names), columns),
                   names, typed)


def _roles_by_column(source: SourceConfig) -> dict[str, str]:
    """'date' or 'number' for each column a date or number role is mapped to."""
    return {col: "date" if role in DATE_ROLES else "number"
            for role, col in source.roles.items() if role in DATE_ROLES or is_number_role(role)}


def _typed_rows(row_numbers: np.ndarray, n_columns: int, columns: dict) -> pa.Table:
    n = len(row_numbers)
    return pa.table({"_row": pa.array(row_numbers, pa.int64()),
                     "_fields": pa.array(np.full(n, n_columns), pa.int64()),
                     "_ragged": pa.nulls(n, pa.large_list(pa.large_string())), **columns})


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
    checks = [("_ragged IS NOT NULL",
               f"'row has ' || _fields || ' fields, {counted} {n_columns}'")]
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
    parsed = ["_row", "_fields", "_ragged"]
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
    raw_json = ", ".join(f"{sql_literal(c)}, {sql_identifier(c)}" for c in raw.columns)
    parsed.append(f"CAST(CASE WHEN _ragged IS NULL THEN json_object({raw_json}) "
                  f"ELSE to_json(_ragged) END AS VARCHAR) AS raw")
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
    source = cfg.sources[name]
    raw = read_raw(cfg, name, limit)
    today = run_day(cfg)
    checks = _checks(source, len(raw.columns), today)
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {text}" for cond, text in checks) + " END"
    dated = [role for role in EVENT_DATE_ROLES if role in source.columns]
    after = " OR ".join(f"{role} > $as_of" for role in dated) or "false"
    sql = (f"CREATE OR REPLACE TEMP TABLE checked AS SELECT *, "
           f"coalesce(reason IS NULL AND ({after}), false) AS excluded FROM ("
           f"SELECT *, {reason} AS reason FROM ({_typed_select(raw, source)}))")
    values = {"as_of": cfg.as_of, "today": today, "timezone": cfg.timezone}
    con.register("raw_data", raw.rows)
    try:
        con.execute(sql, {key: value for key, value in values.items() if f"${key}" in sql})
    finally:
        con.unregister("raw_data")
    con.execute(f"CREATE TABLE IF NOT EXISTS rejected_rows ({REJECTED_ROWS_COLUMNS})")
    con.execute("DELETE FROM rejected_rows WHERE source = ?", [name])
    con.execute("INSERT INTO rejected_rows SELECT ?, ?, _row, reason, raw FROM checked "
                "WHERE reason IS NOT NULL ORDER BY _row", [name, str(cfg.source_path(name))])
    roles = ", ".join(["_row"] + list(source.roles))
    accepted = write_table(con, f"stage_{name}", f"SELECT {roles} FROM checked "
                                                 f"WHERE reason IS NULL AND NOT excluded "
                                                 f"ORDER BY _row")
    excluded, rejected = con.execute("SELECT count(*) FILTER (excluded), "
                                     "count(*) FILTER (reason IS NOT NULL) "
                                     "FROM checked").fetchall()[0]
    con.execute("DROP TABLE checked")
    return {"rows_in": raw.rows.num_rows, "accepted": accepted, "excluded": excluded,
            "rejected": rejected}


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
