"""Report: the figures a client reads first, the row-count reconciliation, and the exports
(notebook 05). Everything here reads the warehouse; nothing is recomputed from files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.identify import reconciliation
from helpers.segment import tier_summary
from helpers.warehouse import query, require_tables

__all__ = ["headline", "export_tables"]

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
    customers = query(con, "customer_export").df()
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
