"""The kit's transaction-level SQL on Spark (helpers.spark) gives DuckDB's tables.

The kit's own builders of notebooks 01-04 run on a copy of the small client's warehouse (the
session's ``small_report``), with ``build_table`` and ``query`` of every helper module
wrapped: each table or query a builder runs in DuckDB also runs on Spark (local[2]), from the
same input tables (sent at that moment) and with the same parameters, and the two results
must be equal: same columns, same rows (sorted by every column), numbers within 1e-9
relative, dates and NULLs equal; one test per SQL file reports it. Hand-made tables then
check the comparison itself, the transpiler's rewrites and the moves between the engines.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from helpers import spark as engine
from helpers import warehouse
from helpers.config import KIT_ROOT, SparkConfig, load_config
from helpers.tables import TABLES

pytestmark = pytest.mark.spark

if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17), and this machine has no `java`", allow_module_level=True)

#: The SQL files that run on Spark, each compared with DuckDB below.
ON_SPARK = (
    "identity_rows", "source_records", "record_keys", "source_profile", "match_input",
    "match_blocking", "match_weight_bins", "match_pairs", "identity_edges", "match_labels",
    "customer_id_claims",
    "customer_xref", "identity_review", "match_evaluation", "customers", "transactions",
    "support_contacts", "marketing_spend", "survey_answers", "survey_ratings",
    "campaign_exposure", "load_counts",
    "acquisition_costs", "customer_value", "equity_metrics", "cohorts", "campaign_customers",
    "campaign_days", "campaign_tracking", "campaign_outcomes", "survey_latest",
    "survey_latest_ratings",
    "rfm_summary", "calibration_summary", "purchase_tracking", "first_purchase_days",
    "purchase_history",
    "segments", "customer_categories", "cluster_features", "category_mix",
    "category_affinity", "price_bands", "cross_sell", "up_sell", "first_baskets", "prospects",
    "actions", "headline",
)


def _sort_key(column: pd.Series) -> pd.Series:
    """A column as rows are sorted by: floats to 9 significant digits, so that the last bits
    two engines add up differently in never reorder rows."""
    if pd.api.types.is_float_dtype(column):
        return column.map(lambda v: float(f"{v:.9g}"))
    return column.astype("string") if column.dtype == object else column


def _same_value(expected, actual) -> bool:
    """One value of a text, boolean or list column: equal, lists element by element."""
    if isinstance(expected, list | np.ndarray) or isinstance(actual, list | np.ndarray):
        return list(expected) == list(actual)
    return bool(expected == actual)


def table_differences(expected: pd.DataFrame, actual: pd.DataFrame,
                      rtol: float = 1e-9) -> list[str]:
    """How ``actual`` differs from ``expected``: columns, row count, then each column's values
    once both are sorted by all columns; numbers within ``rtol`` relative; empty when equal."""
    if list(actual.columns) != list(expected.columns):
        return [f"columns {list(actual.columns)} instead of {list(expected.columns)}"]
    if len(actual) != len(expected):
        return [f"{len(actual)} rows instead of {len(expected)}"]
    columns = list(expected.columns)
    expected, actual = (frame.sort_values(columns, key=_sort_key, na_position="last")
                        .reset_index(drop=True) for frame in (expected, actual))
    problems = []
    for column in columns:
        left, right = expected[column], actual[column]
        nulls = left.isna().to_numpy()
        if not (nulls == right.isna().to_numpy()).all():
            problems.append(f"{column}: NULL in different rows")
            continue
        left, right = left[~nulls], right[~nulls]
        if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right) \
                and not pd.api.types.is_bool_dtype(left):
            # relative to the column's size: a sum of 0 may come out as 1e-15 either way
            scale = max(float(np.abs(left.to_numpy(float)).max(initial=0)), 1.0)
            same = np.isclose(right.to_numpy(float), left.to_numpy(float), rtol=rtol,
                              atol=rtol * scale)
        elif pd.api.types.is_datetime64_any_dtype(left):
            same = (pd.to_datetime(right) == left).to_numpy()
        else:  # text, booleans, lists
            same = np.array([_same_value(a, b) for a, b in zip(left, right, strict=True)],
                            dtype=bool)
        if not same.all():
            row = int(np.flatnonzero(~same)[0])
            problems.append(f"{column}: {(~same).sum()} values differ, e.g. {right.iloc[row]!r} "
                            f"instead of {left.iloc[row]!r}")
    return problems


class SparkMirror:
    """Runs on Spark each table and query a builder runs in DuckDB, and compares.

    ``differences[name]`` lists how Spark's result of ``sql/<name>.sql`` differs from
    DuckDB's (an error message when Spark failed); an empty list means equal. A file run
    again (the rounds of match_labels and customer_id_claims) is compared the first time; an
    input table is sent again only when its rows changed.
    """

    def __init__(self, spark, folder: Path):
        self.spark, self.folder = spark, folder
        self.results = duckdb.connect()  # Spark's results, read back from Parquet
        self.differences: dict[str, list[str]] = {}
        self.sent: dict[str, tuple] = {}  # input table -> fingerprint of the rows sent

    def send(self, con: duckdb.DuckDBPyConnection, name: str) -> None:
        """Send DuckDB table ``name`` to Spark unless the same rows are there already."""
        fingerprint = con.execute(f"SELECT count(*), sum(hash(t)::HUGEINT) "
                                  f"FROM {name} AS t").fetchall()[0]
        if self.sent.get(name) != fingerprint:
            engine.to_spark(con, self.spark, name, self.folder / "to_spark")
            self.sent[name] = fingerprint

    def compare(self, con: duckdb.DuckDBPyConnection, name: str, params: dict | None,
                expected: pd.DataFrame) -> None:
        if name in self.differences:
            return
        try:
            for source in engine.query_inputs(name):
                self.send(con, source)
            engine.build_table(self.spark, name, params)
            engine.to_duckdb(self.results, self.spark, name, self.folder / "to_duckdb",
                             temporary=True)
            found = table_differences(expected, self.results.table(name).df())
        except Exception as error:  # noqa: BLE001 — shown per table by the tests
            found = [f"{type(error).__name__}: {str(error)[:2000]}"]
        self.differences[name] = found
        self.sent[name] = ()  # Spark's own table of that name now: send DuckDB's if read

    def build_table(self, con, name, params=None, temporary=False):
        count = warehouse.build_table(con, name, params, temporary)
        self.compare(con, name, params, con.table(name).df())
        return count

    def query(self, con, name, params=None):
        self.compare(con, name, params, warehouse.query(con, name, params).df())
        return warehouse.query(con, name, params)


#: Spark settings for the tests' tiny tables, where compiling a query costs more than running
#: it: one shuffle partition, no adaptive re-planning, no generated code, the JIT's quick tier.
TINY_DATA = {"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false",
             "spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN",
             "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


@pytest.fixture(scope="module")
def spark():
    """One local Spark session (local[2]) for the module, as `engine: spark` starts it."""
    cfg = load_config(KIT_ROOT / "configs" / "demo.yaml")
    session = engine.session(cfg.model_copy(update={"spark": SparkConfig(conf=TINY_DATA)}))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def run_builders(con: duckdb.DuckDBPyConnection, cfg, mirror: SparkMirror) -> None:
    """Notebooks 01-04's SQL builders, in the notebooks' order, on the warehouse ``con``, with
    every helper module's ``build_table`` and ``query`` going through ``mirror``."""
    from helpers import clv, identify, matching, report, segment
    from helpers import differentiate as diff
    from helpers.segment import clusters, early_value

    with pytest.MonkeyPatch.context() as patch:
        for module in list(sys.modules.values()):
            if getattr(module, "__name__", "").startswith("helpers.") \
                    and module is not warehouse:
                for function in ("build_table", "query"):
                    if getattr(module, function, None) is getattr(warehouse, function):
                        patch.setattr(module, function, getattr(mirror, function))
        for step in (identify.build_source_records, matching.build_match_pairs,
                     identify.build_customer_xref, matching.build_identity_review,
                     matching.evaluate, identify.build_customers, identify.build_transactions,
                     identify.build_support_contacts, identify.build_marketing_spend,
                     identify.build_survey_answers, identify.build_campaign_exposure,
                     identify.reconcile,
                     diff.build_acquisition_costs, diff.build_customer_value,
                     diff.build_equity_metrics, diff.build_cohorts, diff.build_campaign_effects,
                     diff.build_satisfaction,
                     clv.rfm_summary, clv.calibration_holdout_summary, clv.purchase_tracking,
                     clv.first_purchase_days,
                     segment.build_segments, segment.build_customer_categories,
                     segment.build_affinity, segment.build_actions, report.headline):
            step(con, cfg)
        identify.profile_sources(con)
        clusters.cluster_features(con)
        early_value.build_first_baskets(con, cfg.as_of)
        mirror.query(con, "prospects", {"as_of": cfg.as_of})
        some = [row[0] for row in con.execute("SELECT customer_id FROM customer_value "
                                              "ORDER BY customer_id LIMIT 5").fetchall()]
        mirror.query(con, "purchase_history", {"as_of": cfg.as_of, "customer_ids": some,
                                               "days_per_unit": cfg.days_per_unit})


@pytest.fixture(scope="module")
def mirrored(small_client, small_report, spark, tmp_path_factory) -> dict[str, list[str]]:
    """Notebooks 01-04's SQL builders re-run on a copy of the small client's warehouse, each
    table and query also built on Spark (:class:`SparkMirror`)."""
    root, _ = small_client
    folder = tmp_path_factory.mktemp("spark")
    shutil.copy(small_report / warehouse.WAREHOUSE_FILE, folder / warehouse.WAREHOUSE_FILE)
    con = warehouse.connect(folder)
    mirror = SparkMirror(spark, folder / "parquet")
    try:
        run_builders(con, load_config(root / "small.yaml"), mirror)
    finally:
        con.close()
    return mirror.differences


@pytest.mark.parametrize("name", ON_SPARK)
def test_the_table_on_spark_equals_duckdb(mirrored, name):
    assert name in mirrored, f"no builder ran sql/{name}.sql"
    assert mirrored[name] == []


# --- the comparison, the transpiler and the moves, on hand-made tables -----------------------

def test_the_comparison_sees_every_kind_of_difference():
    expected = pd.DataFrame({"id": ["a", "b", "c"], "value": [1.0, 2.0, None],
                             "day": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"])})
    assert table_differences(expected, expected.iloc[::-1]) == []  # row order does not count
    assert table_differences(expected, expected.assign(value=[1.0, 2.0 * (1 + 1e-12), None])) \
        == []
    assert "value: 1 values differ" in table_differences(
        expected, expected.assign(value=[1.0, 2.0 * (1 + 1e-6), None]))[0]
    assert table_differences(expected, expected.assign(value=[1.0, None, None])) == [
        "value: NULL in different rows"]
    assert "day: 1 values differ" in table_differences(
        expected, expected.assign(day=pd.to_datetime(["2025-01-01", "2025-01-02",
                                                      "2025-01-04"])))[0]
    assert table_differences(expected, expected.iloc[:2]) == ["2 rows instead of 3"]
    assert table_differences(expected, expected[["value", "id", "day"]])[0].startswith("columns")


def test_a_query_is_transpiled_with_macros_expanded_and_parameters_as_literals():
    sql = engine.spark_sql("rfm_summary", {"as_of": date(2025, 12, 31), "days_per_unit": 7.0})
    assert "purchase_occasions(" not in sql  # the table macro is inlined
    assert "FROM transactions" in sql and "CAST('2025-12-31' AS DATE)" in sql
    assert "/ CAST(7.0 AS DOUBLE)" in sql and "$days_per_unit AS" not in sql
    assert "attribute_or_unknown" not in engine.spark_sql("first_baskets", {
        "as_of": date(2025, 12, 31), "year_days": 365})
    assert engine.query_inputs("up_sell") == ["customer_categories", "customer_value",
                                              "price_bands", "transactions"]
    with pytest.raises(engine.SparkTranspileError, match=r"sql/rfm_summary.sql: parameters "
                                                         r"without a value: \['days_per_unit'\]"):
        engine.spark_sql("rfm_summary", {"as_of": date(2025, 12, 31)})
    with pytest.raises(engine.SparkTranspileError, match="sql/macros.sql defines macros"):
        engine.spark_sql("macros")
    with pytest.raises(engine.SparkTranspileError, match="sql/broken.sql cannot run on Spark"):
        engine.transpile("SELECT FROM WHERE (", origin="sql/broken.sql")


def test_where_the_engines_differ_spark_gives_duckdbs_result(spark):
    query = """
        SELECT ROUND(CAST(81.195 AS DOUBLE), 2) AS rounded, ROUND(81.195, 2) AS exact,
               printf('%g', 2.0) AS general, printf('%g', 3.5) AS general_half,
               printf('%.1f', 1.25) AS tie, printf('%.1f', 1.35) AS no_tie,
               AVG(x) AS mean, SUM(x) / COUNT(*) AS ratio,
               regexp_full_match('ab', 'a') AS part, regexp_full_match('ab', 'a.') AS whole,
               fold_text('Crème Brûlée Łódź') AS folded, quarter_label(DATE '2025-05-01') AS q
        FROM (SELECT CAST(x AS DOUBLE) / 3 AS x
              FROM (VALUES (1), (0), (0), (1), (1), (1), (0)) AS t (x))"""
    expected = duckdb.connect()
    expected.execute(warehouse.sql_text("macros"))
    duck = expected.sql(query).df()
    assert table_differences(duck, spark.sql(engine.transpile(query)).toPandas()) == []
    assert duck.loc[0, "rounded"] == 81.19 and duck.loc[0, "exact"] == 81.2
    assert duck.loc[0, "tie"] == "1.2" and duck.loc[0, "general"] == "2"
    assert duck.loc[0, "folded"] == "creme brulee lodz"


def test_a_function_spark_lacks_fails_naming_the_file(spark, monkeypatch):
    monkeypatch.setattr(engine, "sql_text", lambda name: "SELECT list_reduce([1, 2], "
                                                         "lambda x, y: x + y) AS total")
    with pytest.raises(engine.SparkTranspileError,
                       match=r"sql/broken.sql does not run on Spark: .*LIST_REDUCE"):
        engine.build_table(spark, "broken")


def test_a_different_query_on_spark_is_caught(spark, tmp_path):
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions AS SELECT 'c' || (i % 7) AS customer_id, "
                "DATE '2025-01-01' + CAST(i % 40 AS INTEGER) AS order_date, "
                "CAST(i % 9 AS DOUBLE) - 1 AS amount FROM range(200) AS r (i)")
    params = {"as_of": date(2025, 12, 31), "days_per_unit": 7.0}
    con.execute(warehouse.sql_text("purchase_occasions"))
    duck = con.sql(warehouse.sql_text("rfm_summary"), params=params).df()
    engine.to_spark(con, spark, "transactions", tmp_path)
    engine.build_table(spark, "rfm_summary", params)
    assert table_differences(duck, spark.table("rfm_summary").toPandas()) == []
    # the same query with one repeat purchase more per customer
    wrong = engine.spark_sql("rfm_summary", params).replace("COUNT(*) - 1 AS frequency",
                                                            "COUNT(*) AS frequency")
    assert table_differences(duck, spark.sql(wrong).toPandas()) == [
        f"frequency: {len(duck)} values differ, e.g. np.int64(25) instead of np.int64(24)"]


def test_a_table_built_on_spark_lands_in_the_warehouse_with_the_registrys_types(
        spark, small_client, small_report, tmp_path):
    root, _ = small_client
    cfg = load_config(root / "small.yaml")
    shutil.copy(small_report / warehouse.WAREHOUSE_FILE, tmp_path / warehouse.WAREHOUSE_FILE)
    con = warehouse.connect(tmp_path)
    params = {"as_of": cfg.as_of, "gross_margin_rate": cfg.costs.gross_margin_rate}
    warehouse.build_table(con, "customer_categories", params)
    duck = warehouse.read_table(con, "customer_categories")
    rows = engine.build_in_warehouse(con, spark, "customer_categories", params,
                                     tmp_path / "spark")
    assert rows == len(duck)
    assert table_differences(duck, warehouse.read_table(con, "customer_categories")) == []
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'customer_categories'").fetchall())
    assert types == {c.name: c.type for c in TABLES["customer_categories"].columns}
