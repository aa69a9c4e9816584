"""Differentiate: what is each customer worth today? (notebook 02)

Reads ``transactions`` and ``support_contacts`` (written by 01 identify) and writes:

* ``customer_value`` — one row per customer: revenue, margin, cost to serve, profit (lifetime
  and over the last 12 months, the *current value*), and the RFMT scores;
* ``equity_metrics`` — the customer-equity report of seed 003, one row per 12-month period;
* ``cohorts`` — acquisition-quarter cohorts followed quarter by quarter.

All transaction-level work is SQL run inside the warehouse (``sql/customer_value.sql``,
``sql/equity_metrics.sql``, ``sql/cohorts.sql``); the charts are in :mod:`helpers.display`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

from helpers.config import RunConfig
from helpers.warehouse import build_table, require_columns, require_frame_columns, scalar

__all__ = ["build_customer_value", "build_equity_metrics", "build_cohorts", "yearly_periods",
           "value_concentration"]

#: Length of the "last 12 months" window of ``customer_value`` and of one year of tenure in
#: ``service_cost``: the window (as_of - 365 days, as_of] has exactly this many days.
DAYS_PER_YEAR = 365

#: A new customer counts as *net new* (still there at the end of the period) when they bought
#: within this many days before the period end.
ACTIVE_AT_END_DAYS = 90

#: Shares of customers (ranked by value) that ``value_concentration`` reports.
CONCENTRATION_SHARES = (0.01, 0.05, 0.10, 0.20, 0.50)

#: Columns the builders read, so a missing one fails by name before any SQL runs.
TRANSACTION_COLUMNS = ("customer_id", "source", "order_id", "order_date", "amount", "cost")
SUPPORT_COLUMNS = ("customer_id", "contact_date", "cost")


def build_customer_value(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``customer_value``: what each customer is worth today, and their RFMT scores.

    One row per customer with at least one transaction on or before ``cfg.as_of``; later
    rows are ignored. Reads ``transactions`` (customer_id, source, order_id, order_date,
    amount, cost) and ``support_contacts`` (customer_id, contact_date, cost).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of``, ``costs.gross_margin_rate``, ``costs.cost_per_order``,
        ``costs.cost_per_customer_per_year`` and ``rfmt_weights``.

    Returns
    -------
    int
        Rows written.

    Notes
    -----
    Money columns:

    - ``revenue``: sum of positive amounts; ``returns``: sum of ``|negative amounts|``;
      ``net_revenue = revenue - returns``; ``n_orders``: distinct (source, order_id) with a
      positive amount.
    - ``cost_of_goods``: the line's ``cost`` where the catalogue gives one, else
      ``amount * (1 - gross_margin_rate)``; returns carry a negative cost and reduce it.
      ``gross_margin = net_revenue - cost_of_goods``; ``margin_rate = gross_margin /
      net_revenue`` (NULL when ``net_revenue <= 0``).
    - ``support_cost``: sum of ``support_contacts.cost``; ``support_cost_per_year``: the same
      over the last 12 months.
    - ``service_cost = n_orders * cost_per_order + cost_per_customer_per_year *
      years_as_customer``, where ``years_as_customer = (tenure_days + 1) / 365``: fractional,
      counting the first-purchase day, so it is at least one day's worth (1/365 of a year).
      The fixed cost runs until ``as_of`` even for lapsed customers: they are still on file.
    - ``profit = gross_margin - support_cost - service_cost``.

    The last 12 months are the window ``(as_of - 365 days, as_of]``: ``n_orders_12m``,
    ``revenue_12m`` (positive amounts), ``net_revenue_12m``, ``gross_margin_12m``,
    ``cost_to_serve_12m`` (support cost in the window + orders in the window *
    ``cost_per_order`` + ``cost_per_customer_per_year`` * the part of the year the customer
    was on file, at most 1) and ``profit_12m = gross_margin_12m - cost_to_serve_12m``, the
    customer's **current value** used by the tiers.

    RFMT: ``first_purchase`` is the first transaction of any kind (a return proves an
    earlier purchase), ``last_purchase`` the last with a positive amount (or the last
    transaction, for a customer with returns only). ``recency_days = as_of -
    last_purchase``, ``frequency = n_orders``, ``monetary = net_revenue / n_orders`` (NULL
    without orders, scored lowest), ``tenure_days = as_of - first_purchase``. Each score is
    ``CEIL(5 * CUME_DIST())`` over the metric ordered worst to best, so 5 is best (most
    recent, most frequent, highest monetary, longest tenure) and tied customers share a
    score. ``rfm_cell`` is e.g. ``'R5F3M4'``; ``rfmt_score`` is the mean of the four scores
    weighted by ``rfmt_weights`` normalised to sum 1.
    """
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    require_columns(con, "support_contacts", SUPPORT_COLUMNS)
    weights = cfg.rfmt_weights
    total = weights.recency + weights.frequency + weights.monetary + weights.tenure
    params = {
        "as_of": cfg.as_of,
        "start_12m": cfg.as_of - timedelta(days=DAYS_PER_YEAR),
        "days_per_year": DAYS_PER_YEAR,
        "gross_margin_rate": cfg.costs.gross_margin_rate,
        "cost_per_order": cfg.costs.cost_per_order,
        "cost_per_year": cfg.costs.cost_per_customer_per_year,
        "w_recency": weights.recency / total,
        "w_frequency": weights.frequency / total,
        "w_monetary": weights.monetary / total,
        "w_tenure": weights.tenure / total,
    }
    return build_table(con, "customer_value", params)


def _years_before(day: date, years: int) -> date:
    """``day`` moved back ``years`` calendar years (29 February falls back to 28 February)."""
    return (pd.Timestamp(day) - pd.DateOffset(years=years)).date()


def yearly_periods(as_of: date, first: date | None) -> pd.DataFrame:
    """The 12-month periods ending on ``as_of``, ``as_of`` - 1 year, … back to ``first``.

    Periods are calendar years counted back from ``as_of``, each ``(period_start,
    period_end]``, oldest first; the earliest one contains ``first``. ``first=None`` (no
    transactions) gives no periods.
    """
    n_periods = 0
    while first is not None and _years_before(as_of, n_periods) >= first:
        n_periods += 1
    ends = [_years_before(as_of, k) for k in reversed(range(n_periods))]
    starts = [_years_before(as_of, k + 1) for k in reversed(range(n_periods))]
    return pd.DataFrame({"period_start": pd.Series(starts, dtype="datetime64[s]"),
                         "period_end": pd.Series(ends, dtype="datetime64[s]")})


def build_equity_metrics(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``equity_metrics``: the change in the customer base, per 12-month period.

    Seed 003, "measuring customer equity". One row per period ``(period_start,
    period_end]`` ending on ``as_of``, ``as_of`` - 1 year, … back to the first transaction
    (see :func:`yearly_periods`). Reads ``customer_value`` (customer_id, first_purchase; run
    :func:`build_customer_value` first), ``transactions`` (customer_id, source, order_id,
    order_date, amount) and ``support_contacts`` (customer_id, contact_date, cost).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of``.

    Returns
    -------
    int
        Rows written (periods).

    Notes
    -----
    Everyone who transacts in a period is either *new* (first transaction in the period) or
    *existing* (first transaction on or before ``period_start``, i.e. a customer for a year
    or more at ``period_end``).

    - ``gross_new_customers``: new customers of the period.
    - ``net_new_customers``: new customers still there at its end, i.e. who bought in its
      last ``ACTIVE_AT_END_DAYS`` (90) days. Customers acquired in those 90 days count by
      construction.
    - ``active_existing_customers``: existing customers who bought (positive amount) in the
      period — *active* meaning bought in the last year.
    - ``revenue_new`` / ``revenue_existing``: amounts in the period, net of returns dated in
      it; ``revenue_per_new_customer`` divides by gross new customers,
      ``revenue_per_existing_customer`` by active existing customers (NULL when there are
      none).
    - ``orders_new`` / ``orders_existing``: distinct orders with a positive amount.
    - ``support_cost_new`` / ``support_cost_existing``: support contacts in the period of the
      period's new customers / of all existing customers, buying or not.

    Acquisition cost is not reported: no marketing spend is loaded yet.
    """
    require_columns(con, "customer_value", ("customer_id", "first_purchase"))
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    require_columns(con, "support_contacts", SUPPORT_COLUMNS)
    first = scalar(con, "SELECT MIN(first_purchase) FROM customer_value")
    con.register("equity_periods", yearly_periods(cfg.as_of, first))
    try:
        return build_table(con, "equity_metrics", {"active_days": ACTIVE_AT_END_DAYS})
    finally:
        con.unregister("equity_periods")


def build_cohorts(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``cohorts``: acquisition-quarter cohorts followed quarter by quarter.

    Reads ``customer_value`` (customer_id, first_purchase; run
    :func:`build_customer_value` first) and ``transactions`` (customer_id, order_date,
    amount), up to ``cfg.as_of``.

    Returns
    -------
    int
        Rows written: one per cohort and calendar quarter from its acquisition quarter on
        (every quarter with any transaction, so a quiet quarter shows as zero retention).

    Notes
    -----
    Columns: ``cohort`` (quarter of first purchase, e.g. ``'2024Q1'``), ``period`` (the
    quarter observed), ``months_since_acquisition`` (3 per quarter), ``customers_in_cohort``,
    ``active_customers`` (cohort members with a positive amount in the period), ``revenue``
    (net of returns) and ``retention_rate = active_customers / customers_in_cohort``. The
    quarter holding ``as_of`` may be partial.
    """
    require_columns(con, "customer_value", ("customer_id", "first_purchase"))
    require_columns(con, "transactions", ("customer_id", "order_date", "amount"))
    return build_table(con, "cohorts", {"as_of": cfg.as_of})


def value_concentration(customer_value: pd.DataFrame,
                        shares: Sequence[float] = CONCENTRATION_SHARES,
                        profit: str = "profit_12m",
                        revenue: str = "net_revenue_12m") -> pd.DataFrame:
    """How much of the profit and revenue the most profitable customers bring.

    Parameters
    ----------
    customer_value
        Needs ``customer_id`` and the ``profit`` and ``revenue`` columns.
    shares
        Top shares of customers to report; the top ``ceil(share * n)`` customers by
        ``profit`` (ties broken by customer_id).
    profit, revenue
        The value and revenue columns: the current value (last 12 months) by default; pass
        ``"profit"`` and ``"net_revenue"`` for the whole history.

    Returns
    -------
    DataFrame
        share_of_customers, customers, share_of_profit, share_of_revenue. A share of
        profit above 1 is real: the customers further down lose money (the "whale curve").
        Shares are NaN when the total is not positive.
    """
    require_frame_columns(customer_value, "customer_value", ("customer_id", profit, revenue))
    if customer_value.empty:
        raise ValueError("customer_value is empty: no customer has a transaction up to as_of")
    if not all(0 < share <= 1 for share in shares):
        raise ValueError(f"shares must be in (0, 1]; got {list(shares)}")
    ranked = customer_value.sort_values([profit, "customer_id"], ascending=[False, True])
    # rounding first keeps e.g. 0.1 * 30 from becoming 3.0000000000000004 -> 4 customers
    top = np.ceil(np.round(np.asarray(shares, dtype=float) * len(ranked), 9)).astype(int)
    result = pd.DataFrame({"share_of_customers": shares, "customers": top})
    for column, name in ((profit, "share_of_profit"), (revenue, "share_of_revenue")):
        values = ranked[column].fillna(0).to_numpy(dtype=float)
        total = values.sum()
        result[name] = values.cumsum()[top - 1] / total if total > 0 else np.nan
    return result
