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
from helpers.exports import export_files, export_rows, write_exports
from helpers.identify import reconciliation, rejection_reasons
from helpers.segment import playbook, tier_summary
from helpers.warehouse import query, require_columns, require_tables
from helpers.workbook import Sheet, number_kind, write_workbook

__all__ = ["headline", "export_tables", "data_quality_note"]


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

    * ``<name>.csv`` and ``<name>.parquet`` of every table of :data:`helpers.exports.EXPORTS`
      (:func:`helpers.exports.write_exports`): ``customers`` (one row per customer, see
      ``sql/customer_export.sql``), ``rejected_rows`` (every input row set aside, with the
      file's name, row, reason and raw values), ``identity_review`` when the warehouse has
      it (the pairs of source records a person should decide: filled in with decision
      match or no_match and named in ``identity.review_decisions``, it is applied on the
      next run), and the tables of notebooks 02-04;
    * ``customer_value.xlsx`` (:mod:`helpers.workbook`) — sheets Summary (:func:`headline`),
      Files (each export, its rows and what one row is), Tiers, Playbook, Equity, Row counts
      and Rejected rows (as many as Excel holds). No per-customer table: those are in the
      CSV and Parquet files, which the Files sheet names.

    Personal fields (the customers' name, email and phone; the raw values of the columns a
    source maps to a personal role; the names, emails, phones, addresses and postcodes under
    review) follow the config's ``pii.exports`` mode. Reads what
    :func:`helpers.exports.write_exports` reads, and ``source_records``, ``transactions``
    (:func:`headline`) and ``load_counts`` (source, kind, rows_in, accepted, excluded,
    rejected).

    Returns
    -------
    dict
        File name (``customers.csv``, ``customers.parquet`` … ``customer_value.xlsx``) → path.
    """
    paths = write_exports(con, cfg, run_dir)
    figures = query(con, "headline")
    paths["customer_value.xlsx"] = Path(run_dir) / "exports" / "customer_value.xlsx"
    write_workbook(paths["customer_value.xlsx"], [
        Sheet("Summary", headline(con, cfg),
              row_kinds=[number_kind(c, str(t))
                         for c, t in zip(figures.columns, figures.types, strict=True)]),
        Sheet("Files", export_files(con, paths)),
        Sheet("Tiers", tier_summary(con)),
        Sheet("Playbook", playbook(con)),
        Sheet("Equity", export_rows(con, cfg, "equity_metrics")),
        Sheet("Row counts", reconciliation(con)),
        Sheet("Rejected rows", export_rows(con, cfg, "rejected_rows"),
              full_list="rejected_rows.csv"),
    ], cfg.as_of, cfg.currency)
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
