"""What each customer bought, category by category (``customer_categories``).

Cross-sell and up-sell (:mod:`.affinity`) and the clusters' category mix (:mod:`.clusters`)
read this one table, so they agree on what "bought" means: a positive line up to ``as_of``.
"""

from __future__ import annotations

import duckdb

from helpers.config import RunConfig
from helpers.warehouse import build_table, require_columns, scalar

__all__ = ["build_customer_categories", "has_categories"]


def build_customer_categories(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``customer_categories``: one row per customer and category they bought.

    Reads ``transactions`` (customer_id, source, order_id, order_date, amount, quantity,
    category, cost).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of`` and ``costs.gross_margin_rate`` (lines whose product has no unit cost).

    Returns
    -------
    int
        Rows written; 0 when no line has a category (no product catalogue).

    Notes
    -----
    Columns customer_id, category, orders (distinct orders with a positive line in the
    category), units (quantity of the positive lines; a line without quantity counts 1),
    net_revenue (returns subtracted), gross_margin, mean_unit_price (positive amounts /
    units), first_purchase and last_purchase (of the positive lines). A category the
    customer only returned is not listed.
    """
    require_columns(con, "transactions", ("customer_id", "source", "order_id", "order_date",
                                          "amount", "quantity", "category", "cost"))
    return build_table(con, "customer_categories",
                       {"as_of": cfg.as_of, "gross_margin_rate": cfg.costs.gross_margin_rate})


def has_categories(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``customer_categories`` exists and has rows: the client has a catalogue."""
    try:
        return scalar(con, "SELECT count(*) > 0 FROM customer_categories")
    except duckdb.CatalogException:
        return False
