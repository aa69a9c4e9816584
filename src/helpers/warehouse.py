"""The run's warehouse: one DuckDB file per run, the only way notebooks pass data on.

Every notebook reads named tables and writes named tables (the contract is
:mod:`helpers.tables`). A consultant can open ``warehouse.duckdb`` with any DuckDB client to
see exactly what the report was built from. Static queries live in ``src/helpers/sql/``, one
file per table, and run through :func:`query` and :func:`build_table`.
"""

from __future__ import annotations

import importlib.resources
import os
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import DEMO_CONFIG, KIT_ROOT, RunConfig, load_config
from helpers.tables import TABLES, stage_of, table

__all__ = ["WAREHOUSE_FILE", "MANIFEST_FILE", "MissingTableError", "MissingColumnError",
           "PublishedRunError", "connect", "on_all_cores", "open_run", "sql_literal",
           "sql_identifier", "sql_text", "query", "build_table",
           "scalar", "table_names", "require_tables", "require_columns",
           "require_frame_columns", "write_table", "read_table", "row_counts"]

WAREHOUSE_FILE = "warehouse.duckdb"
#: Folder of a run where tables travel to and from Spark, as Parquet (``engine: spark``).
SPARK_FOLDER = "spark"
#: Warehouses whose static queries run on Spark (``engine: spark``): connection -> (Spark
#: session, exchange folder). Weak: a closed and forgotten connection leaves nothing behind.
_ON_SPARK: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: Written by ``cvkit run`` when it publishes a run folder, and only then.
MANIFEST_FILE = "manifest.json"


class PublishedRunError(PermissionError):
    """A notebook was pointed at a published run, which is an immutable record."""


class MissingTableError(LookupError):
    """A table a notebook needs is not in the warehouse yet."""


class MissingColumnError(LookupError):
    """A table or frame lacks a column a helper needs."""


def connect(run_dir: str | Path, read_only: bool = False,
            memory_limit: str = "") -> duckdb.DuckDBPyConnection:
    """Open (or create) the run's warehouse ``<run_dir>/warehouse.duckdb``.

    The connection runs on one thread, so that a run is reproducible to the byte: DuckDB's
    threads add up a sum of DOUBLE in an order that changes from run to run, and so do the
    last bits of e.g. ``customer_value``. Measured on 2 cores: notebooks 01-02's SQL on
    590,000 order lines takes a quarter longer; a demo run is unchanged.

    Parameters
    ----------
    run_dir
        The run folder; created if it does not exist (unless ``read_only``).
    read_only
        Open without write access, e.g. from the report notebook.
    memory_limit
        Most memory DuckDB holds (e.g. ``3GB``, the config's ``memory_limit``); beyond it,
        it spills to ``warehouse.duckdb.tmp/``. Empty keeps DuckDB's default (80% of RAM).
    """
    run_dir = Path(run_dir)
    if read_only and not (run_dir / WAREHOUSE_FILE).exists():
        raise MissingTableError(f"{run_dir / WAREHOUSE_FILE}: no warehouse here; "
                                f"run notebook 01_identify (or `cvkit run`) first")
    run_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(run_dir / WAREHOUSE_FILE), read_only=read_only)
    con.execute("SET threads = 1")
    if memory_limit:
        con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
    return con


@contextmanager
def on_all_cores(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the queries inside the ``with`` block on every core, then go back to one thread.

    Only for queries whose every sum is exact (integers, DECIMAL): their result cannot depend
    on the order the threads add up in, so the run stays reproducible to the byte (see
    :func:`connect`).
    """
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    try:
        yield
    finally:
        con.execute(f"SET threads = {int(threads)}")


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
        hand in JupyterLab share their warehouse. Never a published run (one with a
        ``manifest.json``): ``cvkit run`` works in a folder of its own until it publishes.
    as_of
        ISO date overriding the config's; empty keeps the config's.

    Returns
    -------
    (RunConfig, Path, duckdb connection)

    Raises
    ------
    PublishedRunError
        ``run_dir`` holds a published run.
    """
    cfg = load_config(config_path or DEMO_CONFIG, as_of or None)
    folder = Path(run_dir) if run_dir else KIT_ROOT / "reports" / cfg.client / "interactive"
    if (folder / MANIFEST_FILE).exists():
        raise PublishedRunError(
            f"{folder.resolve()} is a published run (it has {MANIFEST_FILE}), and notebooks "
            f"never change one: leave run_dir empty (the default, reports/{cfg.client}/"
            f"interactive/) or name a new folder")
    con = connect(folder, read_only=read_only, memory_limit=cfg.memory_limit)
    if cfg.engine == "spark" and not read_only:
        from helpers import spark  # PySpark is needed by Spark runs only
        _ON_SPARK[con] = (spark.session(cfg), folder.resolve() / SPARK_FOLDER)
    return cfg, folder.resolve(), con


def sql_literal(text: str) -> str:
    """``text`` as a SQL string literal (quotes doubled), for SQL generated per source."""
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """``name`` as a quoted SQL identifier (a client's column name may hold anything)."""
    return '"' + name.replace('"', '""') + '"'


def sql_text(name: str) -> str:
    """The static query in ``src/helpers/sql/<name>.sql`` (one file per table it builds)."""
    resource = importlib.resources.files("helpers").joinpath("sql", f"{name}.sql")
    if not resource.is_file():
        raise FileNotFoundError(f"no query file sql/{name}.sql in the helpers package")
    return resource.read_text(encoding="utf-8")


def query(con: duckdb.DuckDBPyConnection, name: str,
          params: dict | None = None) -> duckdb.DuckDBPyRelation:
    """Run ``sql/<name>.sql`` with its ``$param`` values; the kit's macros are defined first.

    With ``engine: spark`` (:func:`open_run`) the query runs on Spark and its result is the
    temporary table ``spark_query_<name>`` in the warehouse (:mod:`helpers.spark`).

    Parameters
    ----------
    con
        The warehouse.
    name
        The query file's name without ``.sql``.
    params
        A value for every ``$name`` the query uses, and no other.
    """
    if (run := _ON_SPARK.get(con)) is not None:  # built on Spark, read here
        from helpers.spark import build_in_warehouse
        build_in_warehouse(con, run[0], name, params or {}, run[1], temporary=True)
        # renamed: a temporary table would hide a table of the same name the caller writes
        result = f"spark_query_{name}"
        con.execute(f"DROP TABLE IF EXISTS temp.{result}")
        con.execute(f"ALTER TABLE temp.{name} RENAME TO {result}")
        return con.table(f"temp.{result}")
    con.execute(sql_text("macros"))
    return con.sql(sql_text(name), params=params)


def build_table(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None,
                temporary: bool = False) -> int:
    """Create or replace table ``name`` from ``sql/<name>.sql``; return its row count.

    With ``engine: spark`` (:func:`open_run`) the table is built on Spark from the
    warehouse's tables and brought back (:func:`helpers.spark.build_in_warehouse`).

    ``temporary`` makes a TEMP table: a step inside a builder, gone with the connection.
    """
    if (run := _ON_SPARK.get(con)) is not None:  # built on Spark, brought back here
        from helpers.spark import build_in_warehouse
        return build_in_warehouse(con, run[0], name, params or {}, run[1], temporary)
    con.execute(sql_text("macros"))
    kind = "TEMP TABLE" if temporary else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {name} AS\n{sql_text(name)}", params)
    return scalar(con, f"SELECT count(*) FROM {name}")


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
        needs = ", ".join(f"'{n}' (written by {stage_of(n)})" for n in missing)
        raise MissingTableError(f"the warehouse has no table {needs}: run the earlier "
                                f"notebooks first, with the same run_dir")


def require_columns(con: duckdb.DuckDBPyConnection, name: str,
                    columns: Sequence[str] | None = None) -> None:
    """Fail with a message naming table ``name`` and each of ``columns`` it lacks.

    Parameters
    ----------
    name
        A table registered in :mod:`helpers.tables`.
    columns
        The columns the caller reads, each a registered column of the table; None means
        all the registered columns.

    Raises
    ------
    KeyError
        When ``name`` or one of ``columns`` is not in the registry (a bug in the caller).
    MissingTableError
        When the table itself is missing (naming the notebook that writes it).
    MissingColumnError
        Naming the table and the missing columns.
    """
    registered = table(name).column_names
    columns = registered if columns is None else tuple(columns)
    unregistered = [c for c in columns if c not in registered]
    if unregistered:
        raise KeyError(f"{unregistered} are not columns of '{name}' in helpers/tables.py")
    require_tables(con, name)
    present = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = ?", [name]).fetchall()}
    missing = [c for c in columns if c not in present]
    if missing:
        raise MissingColumnError(f"table '{name}' has no column(s) {', '.join(missing)}; "
                                 f"it has {', '.join(sorted(present))}")


def require_frame_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Fail with a message naming the frame ``name`` and each of ``columns`` it lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"{name} has no column(s) {', '.join(missing)}; "
                                 f"it has {', '.join(map(str, frame.columns))}")


def write_table(con: duckdb.DuckDBPyConnection, name: str,
                data: pd.DataFrame | duckdb.DuckDBPyRelation | str,
                temporary: bool = False) -> int:
    """Create or replace table ``name`` and return its row count.

    Parameters
    ----------
    data
        A DataFrame, a DuckDB relation, or a SELECT statement run inside the warehouse
        (preferred for transaction-level work: the data never leaves DuckDB).
    temporary
        Make a TEMP table: a step inside a builder, gone with the connection.

    A DataFrame written to a registered table (:mod:`helpers.tables`) has its registered
    columns cast to the registry's types: pandas' own types (a float count, a timestamp for a
    date) never reach the warehouse. (Which columns a table has is checked against the
    registry by the end-to-end test.)
    """
    kind = "TEMP TABLE" if temporary else "TABLE"
    if isinstance(data, str):
        con.execute(f"CREATE OR REPLACE {kind} {name} AS {data}")
        return scalar(con, f"SELECT count(*) FROM {name}")
    select = "*"
    if isinstance(data, pd.DataFrame) and not temporary and name in TABLES:
        types = {c.name: c.type for c in TABLES[name].columns}
        select = ", ".join(f"CAST({sql_identifier(c)} AS {types[c]}) AS {sql_identifier(c)}"
                           if c in types else sql_identifier(c) for c in data.columns)
    con.register("_incoming", data)
    try:
        con.execute(f"CREATE OR REPLACE {kind} {name} AS SELECT {select} FROM _incoming")
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
