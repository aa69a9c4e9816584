"""The client's exports: every table a client may load, as CSV and Parquet (notebooks 04-05).

:data:`EXPORTS` lists them: for each, the rows (a warehouse table, or a query of
``src/helpers/sql/``), their order, and the columns holding personal data.
:func:`write_exports` writes ``exports/<name>.csv`` and ``exports/<name>.parquet`` of each,
with DuckDB's ``COPY``: the rows never pass through Python, so ten million of them take
seconds and no memory. The formatted workbooks are :func:`helpers.report.export_tables`'s
``customer_value.xlsx`` and :func:`helpers.segment.export_actions`'s ``actions.xlsx``
(written by :mod:`helpers.workbook`); they hold summaries and capped lists, never a whole
per-customer table.

* **Safe in a spreadsheet.** Every text column of a CSV goes through ``spreadsheet_safe``
  (``sql/macros.sql``): text starting with =, +, -, @, a tab or a carriage return, say a
  customer named ``=HYPERLINK(...)``, gets a leading apostrophe, so a spreadsheet opening the
  file reads it as text, not as a formula to run. Numbers are never text, so a negative
  amount stays a number. The Parquet files keep the text as it is: programs read them (a
  CRM's loader, pandas, a warehouse), spreadsheets do not.
* **Personal data** follows the config's ``pii.exports`` (keep, mask or hash; see
  :mod:`helpers.privacy`), in the CSV and the Parquet alike.
* **No folders of the machine that ran the kit**: a rejected row names its input by the
  file's name, as the client knows it.
* **The same bytes for the same inputs and config**: every export is fully ordered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.matching import REVIEW_PII
from helpers.privacy import pii_expression, raw_json_expression
from helpers.tables import table
from helpers.warehouse import (
    on_all_cores,
    require_columns,
    scalar,
    sql_identifier,
    sql_literal,
    sql_text,
    table_names,
)

__all__ = ["RAW_ROW", "Export", "EXPORTS", "export", "export_rows", "write_export",
           "write_exports", "export_files"]

#: The privacy "role" of ``rejected_rows.raw``: the JSON of an input row, whose personal
#: fields are the columns each source maps to a personal role (privacy.raw_json_expression).
RAW_ROW = "raw row"

#: Columns naming an input file: exported as the file's name, without its folders.
FILE_COLUMNS = ("file",)


@dataclass(frozen=True)
class Export:
    """One exported table: ``exports/<name>.csv`` and ``exports/<name>.parquet``.

    Attributes
    ----------
    name
        The file name, and the warehouse table exported (its registered columns, in order).
    order_by
        The table's full order, so that every run writes the same rows in the same order.
    personal
        Column → privacy role (a key of :data:`helpers.privacy.PII_MACROS`, or
        :data:`RAW_ROW`): the columns shown under ``pii.exports``.
    query
        A query file of ``sql/`` selecting the rows instead of the table: it orders them
        and applies the privacy mode ``$pii`` for the client ``$client`` itself; ``personal``
        then names its personal columns.
    optional
        Written only when the warehouse has the table.
    row
        What one row is, when not the registry's (:mod:`helpers.tables`) for the table.
    """

    name: str
    order_by: str = "customer_id"
    personal: Mapping[str, str] = field(default_factory=dict)
    query: str = ""
    optional: bool = False
    row: str = ""


#: Every table a client may load, in the order the report lists them.
EXPORTS: tuple[Export, ...] = (
    Export("customers", query="customer_export",
           personal={"name": "name", "email": "email", "phone": "phone"},
           row="one customer: who (under pii.exports), value today and tomorrow, tier and "
               "action (sql/customer_export.sql)"),
    Export("customer_value"),
    Export("clv"),
    Export("segments"),
    Export("actions", order_by="priority, value_at_stake DESC, customer_id"),
    Export("clusters"),
    Export("cross_sell"),
    Export("up_sell"),
    Export("early_value"),
    Export("equity_metrics", order_by="period_end, segment <> 'All', segment"),
    Export("cohorts", order_by="cohort_end, period_end"),
    Export("rejected_rows", order_by="source, file, row_number, reason, raw",
           personal={"raw": RAW_ROW}),
    Export("identity_review", personal=REVIEW_PII, optional=True,
           order_by="match_probability DESC, source_record_id_l, source_record_id_r"),
)


def export(name: str) -> Export:
    """The export ``name`` of :data:`EXPORTS`."""
    found = [e for e in EXPORTS if e.name == name]
    if not found:
        raise KeyError(f"'{name}' is not an export; the exports are "
                       f"{', '.join(e.name for e in EXPORTS)}")
    return found[0]


def _select(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
            item: Export) -> tuple[str, dict | None]:
    """The ordered SELECT of an export, personal columns under ``pii.exports``, and its
    parameters."""
    mode = cfg.pii.exports
    con.execute(sql_text("macros"))
    if item.query:
        return sql_text(item.query), {"pii": mode, "client": cfg.client}
    require_columns(con, item.name)
    columns = []
    for column in table(item.name).column_names:
        role = item.personal.get(column)
        if role == RAW_ROW:
            expression = raw_json_expression(cfg, mode)
        elif role is not None:
            expression = pii_expression(role, sql_identifier(column), mode, cfg.client)
        elif column in FILE_COLUMNS:
            expression = f"parse_filename({sql_identifier(column)})"
        else:
            expression = sql_identifier(column)
        columns.append(f"{expression} AS {sql_identifier(column)}")
    return (f"SELECT {', '.join(columns)}\nFROM {item.name}\nORDER BY {item.order_by}", None)


def export_rows(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                name: str) -> duckdb.DuckDBPyRelation:
    """The rows of export ``name`` as they are exported (ordered, personal data under
    ``pii.exports``, file names without folders), text not neutralised: for a workbook's
    sheet (:mod:`helpers.workbook` writes text as text).

    Reads the export's table (every registered column), or what its query reads.
    """
    select, params = _select(con, cfg, export(name))
    return con.sql(select, params=params)


def write_export(con: duckdb.DuckDBPyConnection, cfg: RunConfig, folder: str | Path,
                 item: Export) -> dict[str, Path]:
    """Write ``<folder>/<name>.parquet`` and ``<folder>/<name>.csv`` of one export.

    The CSV has a header, ',' between fields, '"' around a field that needs it, an empty
    field for NULL, ISO dates, and every text column through ``spreadsheet_safe``; the
    Parquet has the same rows in the same order, text as it is.

    Returns
    -------
    dict
        File name → path, for the two files.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    select, params = _select(con, cfg, item)
    described = con.sql(select, params=params)
    safe = ", ".join(f"spreadsheet_safe({sql_identifier(c)}) AS {sql_identifier(c)}"
                     if str(t) == "VARCHAR" else sql_identifier(c)
                     for c, t in zip(described.columns, described.types, strict=True))
    csv, parquet = folder / f"{item.name}.csv", folder / f"{item.name}.parquet"
    # rows read and written in a total order, nothing added up: the same bytes on any number
    # of threads (a million customers' Parquet file is written in a third of the time)
    with on_all_cores(con):
        con.execute(f"COPY ({select}) TO {sql_literal(str(parquet))} (FORMAT parquet)", params)
        # A projection keeps the order of the rows under it.
        con.execute(f"COPY (SELECT {safe} FROM ({select})) TO {sql_literal(str(csv))} "
                    f"(FORMAT csv, HEADER)", params)
    return {csv.name: csv, parquet.name: parquet}


def write_exports(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                  run_dir: str | Path) -> dict[str, Path]:
    """Write every export of :data:`EXPORTS` to ``<run_dir>/exports/``, as CSV and Parquet.

    Reads the tables of :data:`EXPORTS` (every registered column; ``identity_review`` when
    present) and what ``sql/customer_export.sql`` reads (customers, customer_value, clv,
    segments, actions). Uses ``pii.exports`` and ``client`` (part of every hash token).

    Returns
    -------
    dict
        File name (``customers.csv``, ``customers.parquet`` …) → path.
    """
    folder = Path(run_dir) / "exports"
    present = set(table_names(con))
    paths: dict[str, Path] = {}
    for item in EXPORTS:
        if not item.optional or item.name in present:
            paths |= write_export(con, cfg, folder, item)
    return paths


def export_files(con: duckdb.DuckDBPyConnection, paths: Mapping[str, Path]) -> pd.DataFrame:
    """The exports written (``paths``, as :func:`write_exports` returns them), for a reader.

    Returns
    -------
    DataFrame
        One row per export, in :data:`EXPORTS` order: file (the CSV), parquet, rows, and
        one_row_is (what one row is).
    """
    rows = []
    for item in EXPORTS:
        parquet = paths.get(f"{item.name}.parquet")
        if parquet is not None:
            rows.append({"file": f"{item.name}.csv", "parquet": parquet.name,
                         "rows": scalar(con, "SELECT count(*) FROM read_parquet(?)",
                                        [str(parquet)]),
                         "one_row_is": item.row or table(item.name).row})
    return pd.DataFrame(rows, columns=["file", "parquet", "rows", "one_row_is"])
