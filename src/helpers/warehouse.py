"""The run's warehouse: one DuckDB file per run, the only way notebooks pass data on.

Every notebook reads named tables and writes named tables. A consultant can open
``warehouse.duckdb`` with any DuckDB client to see exactly what the report was built from.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import RunConfig, load_config

WAREHOUSE_FILE = "warehouse.duckdb"
KIT_ROOT = Path(__file__).resolve().parents[2]
DEMO_CONFIG = KIT_ROOT / "configs" / "demo.yaml"

#: Which notebook writes each table, so a missing table can say what to run first.
TABLE_WRITERS = {
    "source_records": "01_identify",
    "record_keys": "01_identify",
    "rejected_rows": "01_identify",
    "load_counts": "01_identify",
    "customers": "01_identify",
    "customer_xref": "01_identify",
    "transactions": "01_identify",
    "support_contacts": "01_identify",
    "customer_value": "02_differentiate",
    "equity_metrics": "02_differentiate",
    "cohorts": "02_differentiate",
    "clv": "03_clv",
    "model_fit": "03_clv",
    "segments": "04_segment",
    "actions": "04_segment",
}


class MissingTableError(LookupError):
    """A table a notebook needs is not in the warehouse yet."""


class MissingColumnError(LookupError):
    """A table or frame lacks a column a helper needs."""


def connect(run_dir: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or create) the run's warehouse ``<run_dir>/warehouse.duckdb``.

    Parameters
    ----------
    run_dir
        The run folder; created if it does not exist (unless ``read_only``).
    read_only
        Open without write access, e.g. from the report notebook.
    """
    run_dir = Path(run_dir)
    if read_only and not (run_dir / WAREHOUSE_FILE).exists():
        raise MissingTableError(f"{run_dir / WAREHOUSE_FILE}: no warehouse here; "
                                f"run notebook 01_identify (or `cvkit run`) first")
    run_dir.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(run_dir / WAREHOUSE_FILE), read_only=read_only)


def open_run(config_path: str = "", run_dir: str = "", as_of: str = "",
             read_only: bool = False) -> tuple[RunConfig, Path, duckdb.DuckDBPyConnection]:
    """What every notebook does first: read the config and open the run's warehouse.

    Parameters
    ----------
    config_path
        The run's YAML config; empty means the demo config, ``configs/demo.yaml``.
    run_dir
        The run folder holding ``warehouse.duckdb``; empty means
        ``reports/<client>/interactive/`` in the kit's folder, where notebooks opened by
        hand in JupyterLab share their warehouse.
    as_of
        ISO date overriding the config's; empty keeps the config's.

    Returns
    -------
    (RunConfig, Path, duckdb connection)
    """
    cfg = load_config(config_path or DEMO_CONFIG, as_of or None)
    folder = Path(run_dir) if run_dir else KIT_ROOT / "reports" / cfg.client / "interactive"
    return cfg, folder.resolve(), connect(folder, read_only=read_only)


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None):
    """The single value a query returns (the result is read to the end: DuckDB 2 refuses
    new work on a connection while a result is only partly fetched)."""
    return con.execute(sql, params).fetchall()[0][0]


def table_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the tables in the warehouse, sorted."""
    rows = con.execute("SELECT table_name FROM information_schema.tables "
                       "WHERE table_schema = 'main' ORDER BY table_name").fetchall()
    return [row[0] for row in rows]


def require_tables(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Fail with a message naming each missing table and the notebook that writes it."""
    present = set(table_names(con))
    missing = [name for name in names if name not in present]
    if missing:
        needs = ", ".join(f"'{n}' (written by {TABLE_WRITERS.get(n, '?')})" for n in missing)
        raise MissingTableError(f"the warehouse has no table {needs}: run the earlier "
                                f"notebooks first, with the same run_dir")


def require_columns(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str]) -> None:
    """Fail with a message naming ``table`` and each of ``columns`` it lacks.

    Raises
    ------
    MissingTableError
        When the table itself is missing (naming the notebook that writes it).
    MissingColumnError
        Naming the table and the missing columns.
    """
    require_tables(con, table)
    present = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ?", [table]).fetchall()}
    missing = [c for c in columns if c not in present]
    if missing:
        raise MissingColumnError(f"table '{table}' has no column(s) {', '.join(missing)}; "
                                 f"it has {', '.join(sorted(present))}")


def require_frame_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Fail with a message naming the frame ``name`` and each of ``columns`` it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"{name} has no column(s) {', '.join(missing)}; "
                                 f"it has {', '.join(map(str, frame.columns))}")


def write_table(con: duckdb.DuckDBPyConnection, name: str,
                data: pd.DataFrame | duckdb.DuckDBPyRelation | str) -> int:
    """Create or replace table ``name`` and return its row count.

    Parameters
    ----------
    data
        A DataFrame, a DuckDB relation, or a SELECT statement run inside the warehouse
        (preferred for transaction-level work: the data never leaves DuckDB).
    """
    if isinstance(data, str):
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {data}")
    else:
        con.register("_incoming", data)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _incoming")
        finally:
            con.unregister("_incoming")
    return scalar(con, f"SELECT count(*) FROM {name}")


def read_table(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    """The whole table ``name`` as a DataFrame (fails naming the notebook that writes it)."""
    require_tables(con, name)
    return con.execute(f"SELECT * FROM {name}").df()


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table, for the manifest and the report."""
    return {name: scalar(con, f"SELECT count(*) FROM {name}") for name in table_names(con)}
