"""What each customer is worth today: acquisition costs and ``customer_value`` (notebook 02).

``acquisition_costs`` shares each month's marketing spend among the customers each channel
acquired; ``customer_value`` gives every customer's revenue, margin, costs, profit before and
after acquisition, current value, RFMT scores and RFM segment (:mod:`helpers.differentiate.rfm`).
Both are SQL run in the warehouse (``sql/acquisition_costs.sql``, ``sql/customer_value.sql``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd

from helpers.config import RunConfig
from helpers.differentiate.rfm import rfm_segment_cells, rfm_segment_rules
from helpers.warehouse import build_table, require_columns, require_frame_columns

__all__ = ["DAYS_PER_YEAR", "build_acquisition_costs", "acquisition_cost_by_channel",
           "build_customer_value", "value_concentration"]

#: Days in one year of tenure (``service_cost``, ``cost_to_serve_12m``).
DAYS_PER_YEAR = 365

#: Shares of customers (ranked by value) that ``value_concentration`` reports.
CONCENTRATION_SHARES = (0.01, 0.05, 0.10, 0.20, 0.50)

#: Columns the builders read, so a missing one fails by name before any SQL runs.
TRANSACTION_COLUMNS = ("customer_id", "source", "order_id", "order_date", "amount", "cost")
SUPPORT_COLUMNS = ("customer_id", "contact_date", "cost")


def build_acquisition_costs(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``acquisition_costs``: each month's marketing spend per channel, shared by the
    customers the channel acquired that month.

    Reads ``marketing_spend`` (spend_date, channel, amount), ``transactions`` (customer_id,
    order_date) and ``customers`` (customer_id, acquisition_channel), up to ``cfg.as_of``.

    Returns
    -------
    int
        Rows written: one per month and channel with spend or acquired customers, for the
        months from the first to the last month with spend; none without marketing spend.

    Notes
    -----
    A customer is acquired in the month of their first transaction (``first_purchase`` of
    ``customer_value``), through ``customers.acquisition_channel`` (trimmed, lower-case;
    ``'unknown'`` when missing). The spend of a month and channel is shared equally by the
    customers it acquired: ``cost_per_customer = allocated / customers_acquired``. Spend on a
    channel that acquired nobody that month cannot be placed on a customer of that channel;
    when the month has customers of unknown channel, they may be the ones it brought, so it
    is *pooled* and shared by them; otherwise it stays *unallocated*. Every unit of spend up
    to as_of is either allocated or unallocated: ``sum(allocated) + sum(unallocated) =
    sum(spend)``. Spend is matched by month, so a month's spend counts whole even when as_of
    falls inside it. Within the months the spend covers, a channel with no spend in a month
    (a referral, a walk-in, a month with no campaign) acquired its customers for 0; outside
    them the cost is unknown (NULL in ``customer_value``).
    """
    require_columns(con, "marketing_spend", ("spend_date", "channel", "amount"))
    require_columns(con, "transactions", ("customer_id", "order_date"))
    require_columns(con, "customers", ("customer_id", "acquisition_channel"))
    return build_table(con, "acquisition_costs", {"as_of": cfg.as_of})


def acquisition_cost_by_channel(acquisition_costs: pd.DataFrame) -> pd.DataFrame:
    """The months of ``acquisition_costs`` added up per channel.

    Parameters
    ----------
    acquisition_costs
        The table ``acquisition_costs``: needs ``channel``, ``spend``, ``customers_acquired``,
        ``allocated`` and ``unallocated``.

    Returns
    -------
    DataFrame
        channel, spend, customers_acquired, allocated, unallocated and cost_per_customer
        (allocated / customers_acquired; NaN for a channel that acquired nobody), one row per
        channel in alphabetical order.
    """
    money = ["spend", "customers_acquired", "allocated", "unallocated"]
    require_frame_columns(acquisition_costs, "acquisition_costs", ["channel", *money])
    totals = acquisition_costs.groupby("channel", sort=True)[money].sum()
    totals["cost_per_customer"] = (totals["allocated"]
                                   / totals["customers_acquired"].replace(0, np.nan))
    return totals.reset_index()


def build_customer_value(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``customer_value``: what each customer is worth today, and their RFMT scores.

    One row per customer with at least one transaction on or before ``cfg.as_of``; later
    rows are ignored. Reads ``transactions`` (customer_id, source, order_id, order_date,
    amount, cost), ``support_contacts`` (customer_id, contact_date, cost), ``customers``
    (customer_id, acquisition_channel) and ``acquisition_costs`` (run
    :func:`build_acquisition_costs` first).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of``, ``costs.gross_margin_rate``, ``costs.cost_per_order``,
        ``costs.cost_per_customer_per_year``, ``differentiate.current_value_days``,
        ``differentiate.rfm_segments`` and ``rfmt_weights``.

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
      over the current window (below).
    - ``service_cost = n_orders * cost_per_order + cost_per_customer_per_year *
      years_as_customer``, where ``years_as_customer = (tenure_days + 1) / 365``: fractional,
      counting the first-purchase day, so it is at least one day's worth (1/365 of a year).
      The fixed cost runs until ``as_of`` even for lapsed customers: they are still on file.
    - ``profit = gross_margin - support_cost - service_cost``.
    - ``acquisition_cost``: the ``cost_per_customer`` of the month and channel that acquired
      the customer (see :func:`build_acquisition_costs`); NULL when the marketing spend does
      not cover that month (or none is loaded): unknown, not free.
      ``profit_after_acquisition = profit - acquisition_cost``.

    The current window is ``(as_of - current_value_days, as_of]``, the last 12 months by
    default (the columns keep the ``_12m`` name whatever its length): ``n_orders_12m``,
    ``revenue_12m`` (positive amounts), ``net_revenue_12m``, ``gross_margin_12m``,
    ``cost_to_serve_12m`` (support cost in the window + orders in the window *
    ``cost_per_order`` + ``cost_per_customer_per_year`` * the days of the window the customer
    was on file, ``min(tenure_days + 1, current_value_days) / 365`` years) and ``profit_12m =
    gross_margin_12m - cost_to_serve_12m``, the customer's **current value** used by the
    tiers. A 90-day window thus charges 90/365 of the yearly cost, not a whole year.

    RFMT: ``first_purchase`` is the first transaction of any kind (a return proves an
    earlier purchase), ``last_purchase`` the last with a positive amount (or the last
    transaction, for a customer with returns only). ``recency_days = as_of -
    last_purchase``, ``frequency = n_orders``, ``monetary = net_revenue / n_orders`` (NULL
    without orders, scored lowest), ``tenure_days = as_of - first_purchase``. Each score is
    the fifth of the customers the metric's rank falls in, ordered worst to best: ``min(5, 1
    + floor(5 * percent_rank))`` with ``percent_rank = (rank - 1) / (n - 1)``, so 5 is best
    (most recent, most frequent, highest monetary, longest tenure) and the best customer is
    always 5. Tied customers share the score of the fifth where their group starts:
    however many one-time buyers there are, they are all F1 (scoring them where their group
    ends would make a base of 60% one-time buyers F3). ``rfm_cell`` is e.g. ``'R5F3M4'``;
    ``rfmt_score`` is the mean of the four scores weighted by ``rfmt_weights`` normalised to
    sum 1; ``rfm_segment`` names the (R, F, M) combination (:mod:`helpers.differentiate.rfm`).
    """
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    require_columns(con, "support_contacts", SUPPORT_COLUMNS)
    require_columns(con, "customers", ("customer_id", "acquisition_channel"))
    require_columns(con, "acquisition_costs", ("month", "channel", "cost_per_customer"))
    window = cfg.differentiate.current_value_days
    weights = cfg.rfmt_weights
    total = weights.recency + weights.frequency + weights.monetary + weights.tenure
    params = {
        "as_of": cfg.as_of,
        "window_days": window,
        "start_12m": cfg.as_of - timedelta(days=window),
        "days_per_year": DAYS_PER_YEAR,
        "gross_margin_rate": cfg.costs.gross_margin_rate,
        "cost_per_order": cfg.costs.cost_per_order,
        "cost_per_year": cfg.costs.cost_per_customer_per_year,
        "w_recency": weights.recency / total,
        "w_frequency": weights.frequency / total,
        "w_monetary": weights.monetary / total,
        "w_tenure": weights.tenure / total,
    }
    con.register("rfm_segment_cells", rfm_segment_cells(rfm_segment_rules(cfg)))
    try:
        return build_table(con, "customer_value", params)
    finally:
        con.unregister("rfm_segment_cells")


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
