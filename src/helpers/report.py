"""Report: the figures a client reads first, the row-count reconciliation, and the exports
(notebook 05). Everything here reads the warehouse; nothing is recomputed from files.

The exports are the same bytes for the same inputs and config: rows are fully ordered and the
workbook carries the as-of date instead of the time it was written.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.identify import reconciliation, rejection_reasons
from helpers.matching import review_queue
from helpers.privacy import raw_json_expression
from helpers.segment import tier_summary
from helpers.warehouse import query, require_columns, require_tables, table_names
from helpers.workbook import write_workbook

__all__ = ["headline", "export_tables", "data_quality_note"]

#: The rejected rows as exported; ``{raw}`` is the raw JSON under the exports' privacy mode.
REJECTED_EXPORT_SQL = """
SELECT source, file, row_number, reason, {raw} AS raw
FROM rejected_rows
ORDER BY source, row_number, reason
"""


def headline(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """The first table of the report: the customer base in a dozen figures.

    Reads ``source_records``, ``customers``, ``transactions``, ``customer_value``, ``clv``.
    """
    require_tables(con, "source_records", "customers", "transactions", "customer_value", "clv")
    row = query(con, "headline").df().iloc[0]
    money = f" ({cfg.currency})"
    labels = {
        "source_records": "source records (all systems)",
        "customers": "customers after matching",
        "buying_customers": "customers who bought",
        "orders": "orders",
        "net_revenue": "net revenue" + money,
        "gross_margin": "gross margin" + money,
        "profit": "profit after cost to serve" + money,
        "profit_last_12_months": "profit, last 12 months" + money,
        "clv_next_horizon": f"discounted CLV, next {cfg.clv.horizon_months} months" + money,
        "mean_p_alive": "mean probability alive (%)",
    }
    return pd.DataFrame({"measure": [labels[k] for k in labels],
                         "value": [row[k] for k in labels]})


def export_tables(con: duckdb.DuckDBPyConnection, run_dir: str | Path,
                  cfg: RunConfig) -> dict[str, Path]:
    """Write the client's exports to ``<run_dir>/exports/``.

    * ``customers.csv`` — one row per customer (see ``sql/customer_export.sql``);
    * ``rejected_rows.csv`` — every input row set aside, with the file's name, row, reason
      and raw values;
    * ``customer_value.xlsx`` — sheets Summary, Customers, Tiers, Equity, Row counts,
      Rejected rows;
    * ``identity_review.csv`` — when the warehouse has ``identity_review``: the pairs of
      source records a person should decide, side by side; filled in (decision: match or
      no_match) and named in ``identity.review_decisions``, it is applied on the next run.

    Personal fields (the customers' name, email and phone; the raw values of the columns a
    source maps to a personal role; the names, emails, phones, addresses and postcodes under
    review) follow the config's ``pii.exports`` mode. Reads
    ``customers``, ``customer_value``, ``clv``, ``segments``, ``actions``, ``equity_metrics``,
    ``load_counts`` and ``rejected_rows`` (source, file, row_number, reason, raw).

    Returns
    -------
    dict
        Export name → path.
    """
    require_tables(con, "customers", "customer_value", "clv", "segments", "actions",
                   "equity_metrics", "load_counts")
    require_columns(con, "rejected_rows", ("source", "file", "row_number", "reason", "raw"))
    run_dir = Path(run_dir)
    folder = run_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"customers": folder / "customers.csv",
             "rejected_rows": folder / "rejected_rows.csv",
             "workbook": folder / "customer_value.xlsx"}
    customers = query(con, "customer_export",
                      {"pii": cfg.pii.exports, "client": cfg.client}).df()
    rejected = con.execute(
        REJECTED_EXPORT_SQL.format(raw=raw_json_expression(cfg, cfg.pii.exports))).df()
    # The input's absolute path names the consultant's folders: the client knows its files
    # by name, and the name does not change with where the report is written.
    rejected["file"] = rejected["file"].map(lambda file: Path(file).name)
    customers.to_csv(paths["customers"], index=False)
    rejected.to_csv(paths["rejected_rows"], index=False)
    if "identity_review" in table_names(con):
        paths["identity_review"] = folder / "identity_review.csv"
        review_queue(con, cfg, cfg.pii.exports).to_csv(paths["identity_review"], index=False)
    write_workbook({
        "Summary": headline(con, cfg),
        "Customers": customers,
        "Tiers": tier_summary(con),
        "Equity": con.execute("SELECT * FROM equity_metrics ORDER BY period_end, "
                              "segment <> 'All', segment").df(),
        "Row counts": reconciliation(con),
        "Rejected rows": rejected,
    }, paths["workbook"], cfg.as_of)
    return paths


def data_quality_note(con: duckdb.DuckDBPyConnection) -> str:
    """One Markdown sentence for the top of the report when input rows were set aside.

    For example: "**Data quality:** 120 of 65,112 input rows (0.2%) were set aside: 62 in
    webshop, 58 in store (top reason: exact duplicate); 12 rows dated after the as-of date
    were left out. Every set-aside row is listed in exports/rejected_rows.csv."

    Reads ``load_counts`` (source, rows_in, rejected, and ``excluded`` — rows dated after the
    as-of date — when the table has it) and ``rejected_rows`` (source, reason).

    Returns
    -------
    str
        The sentence, or an empty string when every input row was used.
    """
    require_columns(con, "load_counts", ("source", "rows_in", "rejected"))
    require_columns(con, "rejected_rows", ("source", "reason"))
    present = {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND table_name = 'load_counts'").fetchall()}
    excluded_sql = "excluded" if "excluded" in present else "0"
    counts = con.execute(f"SELECT source, rows_in, rejected, {excluded_sql} AS excluded "
                         f"FROM load_counts ORDER BY rejected DESC, source").df()
    rows_in, rejected, excluded = (int(counts[c].sum())
                                   for c in ("rows_in", "rejected", "excluded"))
    if rejected == 0 and excluded == 0:
        return ""
    if rejected == 0:
        return (f"**Data quality:** {excluded:,} of {rows_in:,} input rows "
                f"{_were(excluded)} dated after the as-of date and left out; "
                f"no row was set aside.")
    by_source = ", ".join(f"{n:,} in {source}" for source, n
                          in counts.loc[counts["rejected"] > 0, ["source", "rejected"]]
                          .itertuples(index=False))
    reasons = (rejection_reasons(con).groupby("reason", as_index=False)["rows"].sum()
               .sort_values(["rows", "reason"], ascending=[False, True]))
    share = rejected / rows_in
    shown = f"{share:.1%}" if share >= 0.001 else "under 0.1%"
    note = (f"**Data quality:** {rejected:,} of {rows_in:,} input rows ({shown}) "
            f"{_were(rejected)} set aside: {by_source} (top reason: {reasons['reason'].iloc[0]})")
    if excluded:
        note += (f"; {excluded:,} {'row' if excluded == 1 else 'rows'} dated after the as-of "
                 f"date {_were(excluded)} left out")
    return note + ". Every set-aside row is listed in exports/rejected_rows.csv."


def _were(count: int) -> str:
    return "was" if count == 1 else "were"
