"""The kit's transaction-level SQL on Spark: ``engine: spark`` in the run config.

The static queries of ``src/helpers/sql/`` are written for DuckDB. :func:`spark_sql` turns
one into Spark SQL with sqlglot (as splink does for its own backends): the kit's macros
(``sql/macros.sql``, and table macros such as ``sql/purchase_occasions.sql``) are expanded
inline, since Spark has none; each ``$param`` becomes a literal; where a Spark function of
the same name gives another result (``/`` and ``AVG`` of DECIMALs, ``ROUND``, ``printf``,
``regexp_full_match``), the query is written so that it gives DuckDB's; DuckDB functions
Spark lacks (``strip_accents``, the kit's ``phone_e164``) are registered with the session.
A construct sqlglot cannot write for Spark, or Spark cannot analyse, fails naming the file.

Tables move between the run's DuckDB warehouse and Spark as Parquet files in a folder of the
run (:func:`to_spark`, :func:`to_duckdb`): no table passes through pandas, so this scales to
what a cluster holds, provided the cluster's executors see that folder (a shared file
system). :func:`build_in_warehouse` is what a builder's ``build_table`` does on Spark: send
the query's input tables, build, bring the table back into the warehouse.

PySpark is optional: it is imported only when a session starts.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import numbers
import os
import re
import sys
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from helpers.config import RunConfig
from helpers.standardise import PHONE_FUNCTION, phone_e164
from helpers.tables import TABLES
from helpers.warehouse import sql_identifier, sql_literal, sql_text

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = ["SparkTranspileError", "transpile", "spark_sql", "query_inputs", "strip_accents",
           "session", "to_spark", "to_duckdb", "build_table", "build_in_warehouse"]

#: The files of src/helpers/sql/ that define macros (scalar and table) rather than a table.
MACRO_FILES = ("macros", "purchase_occasions")

#: Spark settings the kit sets unless the config's ``spark.conf`` does: the session speaks
#: the run's time zone; a local session shuffles into few partitions (the default 200 is for
#: a cluster, and costs seconds per query on a laptop); no web UI for a batch run.
LOCAL_DEFAULTS = {"spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false",
                  "spark.ui.showConsoleProgress": "false"}

#: Distinct Parquet paths per export: Spark caches a file's listing, so one is never rewritten.
_exports = itertools.count()


class SparkTranspileError(ValueError):
    """A query of src/helpers/sql/ holds a construct that cannot run on Spark."""


@functools.cache
def _macros() -> dict[str, tuple[tuple[str, ...], exp.Expression]]:
    """The kit's macros, name -> (argument names, body), from :data:`MACRO_FILES`."""
    macros = {}
    for file in MACRO_FILES:
        for statement in sqlglot.parse(sql_text(file), read="duckdb"):
            if isinstance(statement, exp.Create) and statement.kind == "MACRO":
                signature = statement.this
                arguments = tuple(a.name.lower() for a in signature.expressions)
                macros[signature.this.name.lower()] = (arguments, statement.expression)
    return macros


def _call(node: exp.Expression) -> tuple[str, list[exp.Expression]] | None:
    """(macro name, arguments) when ``node`` calls one of the kit's macros, else None."""
    if isinstance(node, exp.Anonymous) and node.name.lower() in _macros():
        return node.name.lower(), list(node.expressions)
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous):
        return _call(node.this)
    return None


def _expand(tree: exp.Expression, depth: int = 0) -> exp.Expression:
    """``tree`` with every call of a macro replaced by the macro's body, recursively."""
    if depth > 20:
        raise SparkTranspileError("the kit's macros call each other in a loop")

    def expand_one(node: exp.Expression) -> exp.Expression:
        call = _call(node)
        if call is None:
            return node
        name, arguments = call
        parameters, body = _macros()[name]
        if len(arguments) != len(parameters):
            raise SparkTranspileError(f"macro {name} takes {len(parameters)} arguments, "
                                      f"called with {len(arguments)}")
        values = dict(zip(parameters, arguments, strict=True))
        # one pass over the body: an argument is put in, never searched for parameters again
        inlined = body.copy().transform(
            lambda n: exp.paren(values[n.name.lower()].copy(), copy=False)
            if isinstance(n, exp.Column) and not n.table and n.name.lower() in values else n)
        inlined = _expand(inlined, depth + 1)
        if isinstance(node, exp.Table):  # a table macro: FROM purchase_occasions($as_of)
            return exp.Subquery(this=inlined, alias=node.args.get("alias")
                                or exp.TableAlias(this=exp.to_identifier(name)))
        return inlined

    return tree.transform(expand_one)


def _literal(value: object) -> exp.Expression:
    """A parameter's value as the SQL literal DuckDB would bind it as."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, dt.datetime):
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, numbers.Integral):
        return exp.Literal.number(int(value))
    if isinstance(value, numbers.Real):
        # DuckDB binds a float as DOUBLE; Spark reads 0.35 as a DECIMAL
        return exp.cast(exp.Literal.number(repr(float(value))), exp.DataType.Type.DOUBLE)
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[_literal(v) for v in value])
    raise TypeError(f"no SQL literal for a parameter of type {type(value).__name__}")


def _bind(tree: exp.Expression, origin: str, params: Mapping[str, object]) -> exp.Expression:
    """``tree`` with each ``$param`` replaced by its literal; every one needs a value."""
    used = {p.name for p in tree.find_all(exp.Placeholder)}
    missing, unused = sorted(used - set(params)), sorted(set(params) - used)
    if missing or unused:
        raise SparkTranspileError(f"{origin}: parameters without a value: {missing}; "
                                  f"values of no parameter: {unused}")
    return tree.transform(lambda n: _literal(params[n.name])
                          if isinstance(n, exp.Placeholder) else n)


def _as_double(node: exp.Expression) -> exp.Expression:
    """``CAST(node AS DOUBLE)``."""
    return exp.cast(node, exp.DataType.Type.DOUBLE)


def _duckdb_semantics(node: exp.Expression) -> exp.Expression:
    """Where Spark's function of the same name gives another result, DuckDB's result.

    - ``a / b`` is a DOUBLE division in DuckDB, of DECIMALs too (Spark's keeps a DECIMAL,
      rounded to 6 places); so is ``AVG`` (Spark's average of ``1.0``/``0.0`` has 5 places).
    - ``regexp_full_match`` (Spark has none) is ``RLIKE`` of the whole text.
    - ``ROUND(x, n)`` rounds ``x * 10^n`` in DuckDB (81.195 is 81.19499…, so 81.19); Spark
      rounds the shortest decimal that prints ``x`` (81.20).
    - ``printf('%g', x)`` drops trailing zeros in DuckDB ('2'); Java's keeps them ('2.00000').
    - ``printf('%.1f', x)`` rounds an exact tie half to even in DuckDB (1.25: '1.2'), Java
      half up ('1.3'); a tie only in decimal (0.15 is 0.1499…) DuckDB rounds by the binary
      value ('0.1') and Java still up ('0.2'): that case is left as Java prints it.
    """
    if isinstance(node, exp.Div) and not isinstance(node.this, exp.Cast):
        node.set("this", _as_double(node.this))
    elif isinstance(node, exp.RegexpFullMatch):
        whole = exp.DPipe(this=exp.DPipe(this=exp.Literal.string("^(?:"),
                                         expression=exp.paren(node.expression.copy())),
                          expression=exp.Literal.string(")\\z"))
        node = exp.RegexpLike(this=node.this.copy(), expression=exp.paren(whole))
    elif isinstance(node, exp.Avg):
        node.set("this", _as_double(node.this))
    elif isinstance(node, exp.Round) and node.args.get("decimals") is not None:
        places = node.args["decimals"]
        if not (places.is_int and int(places.name) >= 0):
            raise SparkTranspileError(f"ROUND to {places.sql()} places: only a constant "
                                      f"number of places 0 or more runs on Spark")
        scale = exp.Literal.number(10 ** int(places.name))
        node = exp.Div(this=exp.Round(this=exp.Mul(this=exp.paren(node.this), expression=scale)),
                       expression=scale.copy())
        node.set("this", _as_double(node.this))
    elif isinstance(node, exp.Anonymous) and node.name.lower() == "printf" \
            and len(node.expressions) == 2 and re.fullmatch(r"%\.\d+f", node.expressions[0].name):
        # an exact tie (1.25 to '%.1f'): DuckDB rounds it half to even, Java half up; DuckDB
        # prints a DECIMAL as a DOUBLE, Java's %f and %g take no Spark DECIMAL
        form, value = node.expressions[0], _as_double(node.expressions[1].copy())
        places = int(form.name[2:-1])
        halves = exp.Mul(this=exp.paren(value.copy()),
                         expression=exp.Literal.number(2 ** (places + 1)))
        tie_even = exp.If(this=exp.EQ(this=halves, expression=exp.Floor(this=halves.copy())),
                          true=exp.Anonymous(this="bround", expressions=[
                              value.copy(), exp.Literal.number(places)]),
                          false=value.copy())
        node = exp.Anonymous(this="printf", expressions=[form.copy(), tie_even])
    elif (isinstance(node, exp.Anonymous) and node.name.lower() == "printf"
          and node.expressions and node.expressions[0].name == "%g"):
        general = exp.Anonymous(this="printf", expressions=[
            node.expressions[0].copy(), *(_as_double(e.copy()) for e in node.expressions[1:])])
        zeros = exp.Anonymous(this="regexp_replace", expressions=[
            general, exp.Literal.string(r"(\.[0-9]*?)0+($|e)"), exp.Literal.string("$1$2")])
        node = exp.Anonymous(this="regexp_replace", expressions=[
            zeros, exp.Literal.string(r"\.($|e)"), exp.Literal.string("$1")])
    return node


def _parse(query: str, origin: str) -> exp.Expression:
    """``query`` (one DuckDB statement, from ``origin``) parsed, its macros expanded."""
    statements = [s for s in sqlglot.parse(query, read="duckdb") if s is not None]
    if len(statements) != 1:
        raise SparkTranspileError(f"{origin} holds {len(statements)} statements, not 1")
    return _expand(statements[0])


def _query_file(name: str) -> str:
    if name in MACRO_FILES:
        raise SparkTranspileError(f"sql/{name}.sql defines macros, not a table")
    return sql_text(name)


def transpile(query: str, params: Mapping[str, object] | None = None,
              origin: str = "the query") -> str:
    """A DuckDB query of the kit as Spark SQL: macros expanded, ``params`` as literals, and
    DuckDB's results where Spark's functions differ (see :func:`spark_sql`).

    Raises
    ------
    SparkTranspileError
        Naming ``origin``, when sqlglot cannot parse the query or write a construct of it
        for Spark (``unsupported_level=RAISE``), or a parameter lacks a value.
    """
    try:
        tree = _bind(_parse(query, origin), origin, dict(params or {}))
        return tree.transform(_duckdb_semantics).sql(
            dialect="spark", unsupported_level=ErrorLevel.RAISE, pretty=True)
    except SqlglotError as error:
        raise SparkTranspileError(f"{origin} cannot run on Spark: {error}") from error


def spark_sql(name: str, params: Mapping[str, object] | None = None) -> str:
    """The static query ``sql/<name>.sql`` as Spark SQL, with ``params`` as literals.

    Parameters
    ----------
    name
        The query file's name without ``.sql``.
    params
        A value for every ``$name`` the query uses, and no other (as for
        :func:`helpers.warehouse.build_table`): dates become DATE literals, floats DOUBLEs,
        lists arrays.

    Raises
    ------
    SparkTranspileError
        Naming the file, when the query holds what sqlglot cannot write for Spark, or a
        parameter lacks a value. (A function Spark does not know fails when Spark analyses
        the query: :func:`build_table`.)
    """
    return transpile(_query_file(name), params, f"sql/{name}.sql")


def query_inputs(name: str) -> list[str]:
    """The tables and views ``sql/<name>.sql`` reads (its macros' included), sorted."""
    tree = _parse(_query_file(name), f"sql/{name}.sql")
    defined = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return sorted({t.name for t in tree.find_all(exp.Table)
                   if t.name and not t.db and t.name.lower() not in defined})


def strip_accents(text: str | None) -> str | None:
    """DuckDB's ``strip_accents``: every mark (Unicode category M) of the decomposed text
    dropped, the rest composed again ('Crème Brûlée' -> 'Creme Brulee', 'Łódź' -> 'Łodz';
    Hangul stays whole). Equal to DuckDB's on every code point of Python's Unicode tables."""
    if text is None:
        return None
    kept = "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.category(c).startswith("M"))
    return unicodedata.normalize("NFC", kept)


def session(cfg: RunConfig) -> SparkSession:
    """A SparkSession for the run: the config's ``spark.master`` and ``spark.conf``.

    The session time zone is ``cfg.timezone``; a ``local[...]`` master also gets
    :data:`LOCAL_DEFAULTS` where ``spark.conf`` does not set them. The session has the SQL
    functions ``phone_e164`` (:func:`helpers.standardise.phone_e164`) and ``strip_accents``
    (:func:`strip_accents`), Python functions: on a cluster, the executors need the kit
    installed.
    """
    from pyspark.sql import SparkSession  # only runs on Spark need PySpark

    local = cfg.spark.master.startswith("local")
    if local:  # its Python workers run this Python, which has the kit (PySpark reads only
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the variable for that)
    settings = dict(LOCAL_DEFAULTS) if local else {}
    settings["spark.sql.session.timeZone"] = cfg.timezone
    settings.update(cfg.spark.conf)
    builder = SparkSession.builder.master(cfg.spark.master).appName(f"cvkit {cfg.client}")
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # sql/identity_rows.sql calls the phonenumbers function DuckDB gets from phone_function,
    # and the macros' fold_text DuckDB's strip_accents, which Spark lacks
    spark.udf.register(PHONE_FUNCTION, phone_e164, "string")
    spark.udf.register("strip_accents", strip_accents, "string")
    return spark


def to_spark(con: duckdb.DuckDBPyConnection, spark: SparkSession, name: str,
             folder: str | Path) -> None:
    """Make DuckDB table (or view) ``name`` the Spark temp view ``name``.

    DuckDB writes it as a Parquet file in ``folder`` (which the Spark executors must see);
    Spark reads that file in parallel, by row groups.
    """
    path = Path(folder).resolve() / f"{name}-{next(_exports)}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY (SELECT * FROM {sql_identifier(name)}) TO {sql_literal(str(path))} "
                f"(FORMAT parquet)")
    spark.read.parquet(str(path)).createOrReplaceTempView(name)


def to_duckdb(con: duckdb.DuckDBPyConnection, spark: SparkSession, name: str,
              folder: str | Path, temporary: bool = False) -> int:
    """Create or replace DuckDB table ``name`` from Spark table ``name``; return its rows.

    Spark writes it as Parquet files in ``folder``, in its row order, which DuckDB keeps. A
    registered table's columns are cast to the registry's types (:mod:`helpers.tables`), as
    :func:`helpers.warehouse.write_table` does: Spark's own types (an INT count, a
    DECIMAL(28, 4) sum) never reach the warehouse.
    """
    path = Path(folder).resolve() / f"{name}-{next(_exports)}"
    spark.table(name).write.mode("overwrite").parquet(str(path))
    types = ({c.name: c.type for c in TABLES[name].columns}
             if name in TABLES and not temporary else {})
    columns = spark.table(name).columns
    select = ", ".join(f"CAST({sql_identifier(c)} AS {types[c]}) AS {sql_identifier(c)}"
                       if c in types else sql_identifier(c) for c in columns)
    kind = "TEMP TABLE" if temporary else "TABLE"
    con.execute(f"CREATE OR REPLACE {kind} {name} AS SELECT {select} "
                f"FROM read_parquet({sql_literal(str(path / '*.parquet'))})")
    return con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]


def build_table(spark: SparkSession, name: str,
                params: Mapping[str, object] | None = None) -> int:
    """Create or replace Spark temp view ``name`` from ``sql/<name>.sql``; return its rows.

    The view is cached (computed once, here), so the tables built on it do not compute it
    again; the one it replaces is released.
    """
    from pyspark.errors import AnalysisException

    try:
        table = spark.sql(spark_sql(name, params)).cache()
    except AnalysisException as error:  # e.g. a function Spark does not have
        raise SparkTranspileError(f"sql/{name}.sql does not run on Spark: "
                                  f"{str(error).splitlines()[0]}") from error
    count = table.count()
    if spark.catalog.tableExists(name):
        spark.catalog.uncacheTable(name)
    table.createOrReplaceTempView(name)
    return count


def build_in_warehouse(con: duckdb.DuckDBPyConnection, spark: SparkSession, name: str,
                       params: Mapping[str, object] | None, folder: str | Path,
                       temporary: bool = False) -> int:
    """:func:`helpers.warehouse.build_table` on Spark: the query's input tables are sent to
    Spark, the table is built there and comes back into the warehouse as table ``name``.

    Parameters
    ----------
    folder
        Where the Parquet files pass through, e.g. ``<run_dir>/spark``; the Spark executors
        must see it.
    """
    folder = Path(folder)
    for source in query_inputs(name):
        to_spark(con, spark, source, folder / "to_spark")
    build_table(spark, name, params)
    return to_duckdb(con, spark, name, folder / "to_duckdb", temporary)

