"""The per-customer sufficient statistics of the BTYD models, computed in DuckDB."""

from __future__ import annotations

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.warehouse import query, require_columns

__all__ = ["TRANSACTION_COLUMNS", "SUMMARY_COLUMNS", "rfm_summary"]

TRANSACTION_COLUMNS = ("customer_id", "order_date", "amount")
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")


def rfm_summary(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer, computed in DuckDB.

    Runs ``sql/rfm_summary.sql`` (see there for the Fader-Hardie conventions) on the warehouse.

    Parameters
    ----------
    con
        The run's warehouse; needs table ``transactions`` with columns ``customer_id``,
        ``order_date`` (DATE) and ``amount`` (DOUBLE, negative = return).
    cfg
        Uses ``as_of`` (later transactions are ignored) and ``days_per_unit``.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``frequency`` (repeat purchase days), ``recency`` and ``T``
        (time units), ``monetary_value`` (mean repeat day value), ``first_purchase`` and
        ``last_purchase`` (dates); one row per customer with a purchase, sorted by customer_id.
    """
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    params = {"as_of": cfg.as_of, "days_per_unit": float(cfg.days_per_unit)}
    return query(con, "rfm_summary", params).df()
