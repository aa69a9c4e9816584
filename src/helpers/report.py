"""Report: the figures a client reads first, the row-count reconciliation, and the exports
(notebook 05). Everything here reads the warehouse; nothing is recomputed from files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from helpers.config import RunConfig
from helpers.segment import tier_summary
from helpers.warehouse import require_tables

#: One row per customer with everything the kit knows: who (customers), worth today
#: (customer_value), worth tomorrow (clv), tier and action. Customers without purchases
#: (CRM contacts who never bought) are kept, with empty value columns.
CUSTOMER_EXPORT_SQL = """
SELECT c.customer_id, c.name, c.email, c.phone, c.city, c.customer_type, c.sources,
       v.first_purchase, v.last_purchase, v.n_orders, v.net_revenue, v.gross_margin,
       v.profit, v.profit_12m, v.rfm_cell, v.rfmt_score,
       k.p_alive, k.expected_purchases, k.clv, k.clv_net,
       s.tier, a.treatment, a.offer, a.channel, a.priority
FROM customers AS c
LEFT JOIN customer_value AS v USING (customer_id)
LEFT JOIN clv AS k USING (customer_id)
LEFT JOIN segments AS s USING (customer_id)
LEFT JOIN actions AS a USING (customer_id)
ORDER BY a.priority NULLS LAST, k.clv_net DESC NULLS LAST, c.customer_id
"""

#: Rejection reasons grouped into kinds ("exact duplicate of row 17" and "… of row 90" are
#: one kind), per source.
REJECTION_REASONS_SQL = """
SELECT source, regexp_replace(reason, ' of row [0-9]+$', '') AS reason, count(*) AS rows,
       min(row_number) AS first_row
FROM rejected_rows
GROUP BY 1, 2
ORDER BY source, rows DESC, reason
"""


def set_style() -> None:
    """One plotting style for every notebook (readable in HTML and on a projector)."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["figure.figsize"] = (8, 4.5)


def show(table: pd.DataFrame, decimals: int = 2):
    """A table as a client reads it: thousands separators, fixed decimals, no row index."""
    return table.style.format(precision=decimals, thousands=",", na_rep="").hide(axis="index")


def reconciliation(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows in, accepted and rejected per source, with a total row and a check column.

    Reads ``load_counts`` (source, kind, rows_in, accepted, rejected).
    """
    require_tables(con, "load_counts")
    counts = con.execute("SELECT source, kind, rows_in, accepted, rejected FROM load_counts "
                         "ORDER BY source").df()
    total = pd.DataFrame([{"source": "total", "kind": "", **counts[
        ["rows_in", "accepted", "rejected"]].sum().to_dict()}])
    counts = pd.concat([counts, total], ignore_index=True)
    counts["reconciles"] = counts["rows_in"] == counts["accepted"] + counts["rejected"]
    return counts


def rejection_reasons(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rejected rows by source and kind of reason, with the first row of each kind."""
    require_tables(con, "rejected_rows")
    return con.execute(REJECTION_REASONS_SQL).df()


def headline(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """The first table of the report: the customer base in a dozen figures.

    Reads ``source_records``, ``customers``, ``transactions``, ``customer_value``, ``clv``.
    """
    require_tables(con, "source_records", "customers", "transactions", "customer_value", "clv")
    row = con.execute("""
        SELECT
          (SELECT count(*) FROM source_records) AS source_records,
          (SELECT count(*) FROM customers) AS customers,
          (SELECT count(*) FROM customer_value) AS buying_customers,
          (SELECT count(DISTINCT order_id) FROM transactions) AS orders,
          (SELECT sum(net_revenue) FROM customer_value) AS net_revenue,
          (SELECT sum(gross_margin) FROM customer_value) AS gross_margin,
          (SELECT sum(profit) FROM customer_value) AS profit,
          (SELECT sum(profit_12m) FROM customer_value) AS profit_last_12_months,
          (SELECT sum(clv_net) FROM clv) AS clv_next_horizon,
          (SELECT 100 * avg(p_alive) FROM clv) AS mean_p_alive
    """).df().iloc[0]
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


def plot_tiers(tiers: pd.DataFrame) -> plt.Figure:
    """Bar charts of customers and of value per tier.

    Parameters
    ----------
    tiers
        The output of :func:`helpers.segment.tier_summary` (tier, customers,
        current_value_total, future_value_total).
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    sns.barplot(data=tiers, y="tier", x="customers", ax=left, color="#4C72B0")
    left.set(title="Customers per tier", xlabel="customers", ylabel="")
    values = tiers.melt(id_vars="tier", value_vars=["current_value_total", "future_value_total"],
                        var_name="value", value_name="amount")
    values["value"] = values["value"].map({"current_value_total": "profit last 12 months",
                                           "future_value_total": "CLV next horizon (net)"})
    sns.barplot(data=values, y="tier", x="amount", hue="value", ax=right)
    right.set(title="Value per tier", xlabel="amount", ylabel="")
    fig.tight_layout()
    return fig


def export_tables(con: duckdb.DuckDBPyConnection, run_dir: str | Path,
                  cfg: RunConfig) -> dict[str, Path]:
    """Write the client's exports to ``<run_dir>/exports/``.

    * ``customers.csv`` — one row per customer (see CUSTOMER_EXPORT_SQL);
    * ``rejected_rows.csv`` — every input row set aside, with file, row and reason;
    * ``customer_value.xlsx`` — sheets Summary, Customers, Tiers, Equity, Rejected rows.

    Returns
    -------
    dict
        Export name → path.
    """
    require_tables(con, "customers", "customer_value", "clv", "segments", "actions",
                   "equity_metrics", "rejected_rows")
    folder = Path(run_dir) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"customers": folder / "customers.csv",
             "rejected_rows": folder / "rejected_rows.csv",
             "workbook": folder / "customer_value.xlsx"}
    customers = con.execute(CUSTOMER_EXPORT_SQL).df()
    rejected = con.execute("SELECT * FROM rejected_rows ORDER BY source, row_number").df()
    customers.to_csv(paths["customers"], index=False)
    rejected.to_csv(paths["rejected_rows"], index=False)
    with pd.ExcelWriter(paths["workbook"], engine="openpyxl") as workbook:
        headline(con, cfg).to_excel(workbook, sheet_name="Summary", index=False)
        customers.to_excel(workbook, sheet_name="Customers", index=False)
        tier_summary(con).to_excel(workbook, sheet_name="Tiers", index=False)
        con.execute("SELECT * FROM equity_metrics").df().to_excel(
            workbook, sheet_name="Equity", index=False)
        reconciliation(con).to_excel(workbook, sheet_name="Row counts", index=False)
        rejected.to_excel(workbook, sheet_name="Rejected rows", index=False)
    return paths
