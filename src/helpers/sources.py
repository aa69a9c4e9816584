"""Loading the client's files: the data contract (see data/README.md).

Each source file is read as text, exactly as the client wrote it, into the warehouse
(``raw_<source>``). Typed parsing and row checks then run as SQL: every row is either
accepted into ``stage_<source>`` or set aside in ``rejected_rows`` with its reason and its
raw values, so ``rows in = accepted + rejected`` always holds.

Fatal problems (missing file, missing mapped column, no rows) stop the run with a
:class:`DataContractError` that names the file and the column.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import DATE_ROLES, NUMBER_ROLES, RunConfig, SourceConfig
from helpers.errors import DataContractError
from helpers.tables import table
from helpers.warehouse import scalar, write_table

__all__ = ["DataContractError", "read_raw", "stage_source", "build_load_counts"]

#: Row number of the first data row when the file has a header line (the header is row 1).
FIRST_ROW_WITH_HEADER = 2

#: Date layouts tried, in order, when a source gives no ``date_format`` (ISO first:
#: day/month order is ambiguous, so any other layout must be declared in the config).
DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                        "%Y%m%d")

REJECTED_ROWS_COLUMNS = ", ".join(f"{c.name} {c.type}" for c in table("rejected_rows").columns)


def read_raw(cfg: RunConfig, name: str, limit: int | None = None) -> pd.DataFrame:
    """Read one source file as text, with its row numbers.

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
    pandas.DataFrame
        Every column of the file as a string (empty string for empty cells, nothing coerced),
        plus ``_row``: the row number in the file (header = row 1; for Excel, the sheet row).

    Raises
    ------
    DataContractError
        The file is missing or unreadable, a mapped column is absent, or there are no rows.
    """
    source = cfg.sources[name]
    path = cfg.source_path(name)
    if not path.is_file():
        raise DataContractError(f"{path}: file not found (source '{name}')")
    try:
        frame = _read_file(source, path, limit)
    except Exception as exc:  # the reader's own message is the useful part
        raise DataContractError(f"{path}: cannot read as {source.file_format}: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [(role, col) for role, col in source.columns.items() if col not in frame.columns]
    if missing:
        named = ", ".join(f"'{col}' (role {role})" for role, col in missing)
        raise DataContractError(f"{path}: mapped column {named} not found; the file has "
                                f"columns {list(frame.columns)} (source '{name}')")
    if frame.empty:
        raise DataContractError(f"{path}: no data rows (source '{name}')")
    first_row = FIRST_ROW_WITH_HEADER if source.header else 1
    frame.insert(0, "_row", range(first_row, first_row + len(frame)))
    return frame


def _read_file(source: SourceConfig, path: Path, limit: int | None) -> pd.DataFrame:
    header = 0 if source.header else None
    if source.file_format == "csv":
        whitespace = source.delimiter in ("whitespace", " ")
        return pd.read_csv(
            path, sep=r"\s+" if whitespace else source.delimiter, dtype=str,
            keep_default_na=False, skip_blank_lines=False, encoding=source.encoding,
            header=header, names=source.column_names, nrows=limit,
        )
    if source.file_format == "xlsx":
        frame = pd.read_excel(path, sheet_name=source.sheet, dtype=str, header=header,
                              names=source.column_names, nrows=limit)
    elif source.file_format == "parquet":
        frame = pd.read_parquet(path).head(limit)
    else:
        raise DataContractError(f"{path}: unknown format '{source.file_format}'; "
                                f"use csv, xlsx or parquet")
    return frame.astype("string").fillna("").astype(str)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _text(source: SourceConfig, role: str) -> str:
    """SQL for the trimmed text of a role's column, NULL when empty or not mapped."""
    if role not in source.columns:
        return "CAST(NULL AS VARCHAR)"
    return f"NULLIF(trim({_quote(source.columns[role])}), '')"


def _number(source: SourceConfig, role: str) -> str:
    """SQL parsing a number in the source's decimal convention (NULL when unparseable)."""
    text = _text(source, role)
    if source.decimal == ",":
        # Italian style: '1.234,50' -> '1234.50'
        text = f"replace(replace({text}, '.', ''), ',', '.')"
    return f"TRY_CAST({text} AS DOUBLE)"


def _date(source: SourceConfig, role: str) -> str:
    """SQL parsing a date with the declared format, or the ISO layouts (NULL when unparseable)."""
    formats = [source.date_format] if source.date_format else list(DEFAULT_DATE_FORMATS)
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in formats)
    return f"CAST(try_strptime({_text(source, role)}, [{listed}]) AS DATE)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _checks(source: SourceConfig) -> list[tuple[str, str]]:
    """(condition, reason as SQL) pairs, first match wins, for the kind of source."""
    def col(role: str) -> str:
        return source.columns[role].replace("'", "''")

    checks = []
    key = "product_id" if source.kind == "products" else "customer_key"
    checks.append((f"{key} IS NULL", f"missing {key.replace('_', ' ')} (column '{col(key)}')"))
    for role in ("order_date", "contact_date"):
        if role in source.columns:
            checks.append((f"{role} IS NULL", f"unparseable date in column '{col(role)}'"))
            checks.append((f"{role} > $as_of", f"date after the as-of date (column '{col(role)}')"))
    if "amount" in source.columns:
        checks.append(("amount IS NULL", f"non-numeric amount (column '{col('amount')}')"))
        checks.append(("amount = 0", f"zero amount (column '{col('amount')}')"))
    for role in ("quantity", "unit_cost", "unit_price", "cost"):
        if role in source.columns:
            checks.append((f"{role} IS NULL AND {role}_text IS NOT NULL",
                           f"non-numeric {role.replace('_', ' ')} (column '{col(role)}')"))
    if source.kind == "products":
        checks.append(("unit_cost IS NULL", f"missing unit cost (column '{col('unit_cost')}')"))
        checks.append(("copy_of_key > 1", f"product id repeated (column '{col('product_id')}')"))
    checks = [(cond, _literal(text)) for cond, text in checks]
    if source.duplicate_lines == "reject":
        checks.append(("copy_no > 1", "'exact duplicate of row ' || first_copy_row"))
    return checks


def _typed_select(source: SourceConfig, raw_columns: list[str]) -> str:
    """SELECT that types every mapped role and flags exact duplicates."""
    typed = ["_row"]
    for role in source.columns:
        if role in DATE_ROLES:
            typed.append(f"{_date(source, role)} AS {role}")
        elif role in NUMBER_ROLES:
            typed.append(f"{_number(source, role)} AS {role}")
            typed.append(f"{_text(source, role)} AS {role}_text")
        else:
            typed.append(f"{_text(source, role)} AS {role}")
    all_columns = ", ".join(_quote(c) for c in raw_columns)
    typed.append(f"row_number() OVER (PARTITION BY {all_columns} ORDER BY _row) AS copy_no")
    typed.append(f"min(_row) OVER (PARTITION BY {all_columns}) AS first_copy_row")
    if source.kind == "products":
        typed.append(f"row_number() OVER (PARTITION BY {_text(source, 'product_id')} "
                     f"ORDER BY _row) AS copy_of_key")
    raw_json = ", ".join(f"{_literal(c)}, {_quote(c)}" for c in raw_columns)
    typed.append(f"json_object({raw_json}) AS raw")
    return f"SELECT {', '.join(typed)} FROM raw_data"


def stage_source(con: duckdb.DuckDBPyConnection, cfg: RunConfig, name: str,
                 limit: int | None = None) -> dict[str, int]:
    """Load one source: accepted rows to ``stage_<name>``, the rest to ``rejected_rows``.

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
        ``rows_in``, ``accepted``, ``rejected`` for this source.
    """
    source = cfg.sources[name]
    frame = read_raw(cfg, name, limit)
    raw_columns = [c for c in frame.columns if c != "_row"]
    checks = _checks(source)
    reason = "CASE " + " ".join(f"WHEN {cond} THEN {text}" for cond, text in checks) + " END"
    con.register("raw_data", frame)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE checked AS "
            f"SELECT *, {reason} AS reason FROM ({_typed_select(source, raw_columns)})",
            {"as_of": cfg.as_of} if "$as_of" in reason else None,
        )
    finally:
        con.unregister("raw_data")
    con.execute(f"CREATE TABLE IF NOT EXISTS rejected_rows ({REJECTED_ROWS_COLUMNS})")
    con.execute("DELETE FROM rejected_rows WHERE source = ?", [name])
    con.execute("INSERT INTO rejected_rows SELECT ?, ?, _row, reason, raw FROM checked "
                "WHERE reason IS NOT NULL ORDER BY _row", [name, str(cfg.source_path(name))])
    roles = ", ".join(["_row"] + list(source.columns))
    accepted = write_table(con, f"stage_{name}",
                           f"SELECT {roles} FROM checked WHERE reason IS NULL ORDER BY _row")
    rejected = scalar(con, "SELECT count(*) FROM checked WHERE reason IS NOT NULL")
    con.execute("DROP TABLE checked")
    return {"rows_in": len(frame), "accepted": accepted, "rejected": rejected}


def build_load_counts(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Load every source in the config; write ``load_counts``, one row per source.

    Writes ``stage_<source>`` for every source and ``rejected_rows`` on the way (see
    :func:`stage_source`). ``load_counts`` has columns source, kind, file, rows_in, accepted,
    rejected; :func:`helpers.identify.reconcile` completes it once notebook 01 has set
    aside the support tickets of unknown customers. Returns the number of sources.
    """
    rows = []
    for name, source in cfg.sources.items():
        counts = stage_source(con, cfg, name)
        rows.append({"source": name, "kind": source.kind, "file": str(cfg.source_path(name)),
                     **counts})
    return write_table(con, "load_counts", pd.DataFrame(rows))
