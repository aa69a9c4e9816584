"""The customer-equity report and the acquisition cohorts (notebook 02, seed 003).

``equity_metrics`` reports, period by period and segment by segment, how the customer base
changes: customers won and kept, active existing customers, revenue and orders of new and of
existing customers, what acquiring and serving them cost. ``cohorts`` follows the customers
acquired in each period through the periods after. Both use the same periods
(:func:`periods`), counted back from ``as_of`` so that the last one is complete. The
transaction-level work is SQL (``sql/equity_metrics.sql``, ``sql/cohorts.sql``); the charts
are in :mod:`helpers.display`.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from helpers.config import RunConfig
from helpers.differentiate.value import DAYS_PER_YEAR
from helpers.warehouse import build_table, require_columns, require_frame_columns, scalar

__all__ = ["PERIOD_MONTHS", "EQUITY_CHANGE_METRICS", "periods", "build_equity_metrics",
           "equity_changes", "build_cohorts", "cohort_matrix"]

#: Calendar months in one period of each length the config allows.
PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}

#: The metrics :func:`equity_changes` follows from period to period, and whether a rise is
#: good news (False for the costs).
EQUITY_CHANGE_METRICS = {
    "gross_new_customers": True,
    "net_new_customers": True,
    "active_existing_customers": True,
    "active_customers": True,
    "share_active": True,
    "revenue_per_new_customer": True,
    "revenue_per_existing_customer": True,
    "revenue_per_customer": True,
    "purchase_frequency": True,
    "acquisition_cost_per_new_customer": False,
    "cost_to_serve_per_customer": False,
}

#: The columns the builders read, so a missing one fails by name before any SQL runs.
EQUITY_TRANSACTION_COLUMNS = ("customer_id", "source", "order_id", "order_date", "amount")
EQUITY_SUPPORT_COLUMNS = ("customer_id", "contact_date", "cost")

#: The registered name the builders give the periods frame inside the warehouse.
PERIODS_VIEW = "report_periods"


def _months_before(day: pd.Timestamp, months: int, month_end: bool) -> pd.Timestamp:
    """``day`` moved back ``months`` calendar months; the 31st and 29 February fall back to
    the month's last day (pandas' DateOffset), and a month's last day stays one when
    ``month_end``."""
    moved = day - pd.DateOffset(months=months)
    return moved + pd.offsets.MonthEnd(0) if month_end else moved


def _label(start: pd.Timestamp, end: pd.Timestamp, period: str) -> str:
    """A calendar name ('2025-12', '2025Q4', '2025') when the period is that calendar month,
    quarter or year, else its last day ('2025-12-15')."""
    calendar = (start.is_month_end and end.is_month_end
                and start + pd.offsets.MonthEnd(PERIOD_MONTHS[period]) == end)
    if calendar and period == "month":
        return f"{end:%Y-%m}"
    if calendar and period == "quarter" and end.month % 3 == 0:
        return f"{end.year}Q{end.month // 3}"
    if calendar and period == "year" and end.month == 12:
        return str(end.year)
    return f"{end:%Y-%m-%d}"


def periods(as_of: date, first: date | None, period: str = "year") -> pd.DataFrame:
    """The consecutive periods ending on ``as_of``, ``as_of`` - 1 period, … back to the one
    that contains ``first``.

    Each period is ``(period_start, period_end]``: a day on a period's end belongs to it, a
    day on its start to the one before. Ends are counted back from ``as_of`` in calendar
    months (1, 3 or 12 per period), each from ``as_of`` itself: the 31st and 29 February
    fall back to the month's last day, as pandas' ``DateOffset`` does, and when ``as_of`` is
    the last day of its month every end is a month's last day (so with ``as_of`` on 31
    December the periods are the calendar months, quarters or years).

    Parameters
    ----------
    as_of
        The last day of the last period.
    first
        A day the earliest period must contain (the first transaction); None gives no
        periods.
    period
        ``'month'``, ``'quarter'`` or ``'year'`` (``cfg.differentiate.period``).

    Returns
    -------
    DataFrame
        Oldest first: ``period_start``, ``period_end`` (datetime64), ``period`` (its name:
        '2025-12', '2025Q4' or '2025' when it is that calendar period, else its last day as
        '2025-12-15') and ``period_index`` (0 for the oldest).
    """
    if period not in PERIOD_MONTHS:
        raise ValueError(f"period must be one of {', '.join(PERIOD_MONTHS)}; got {period!r}")
    step = PERIOD_MONTHS[period]
    end = pd.Timestamp(as_of)
    month_end = end.is_month_end
    ends = [end]
    while first is not None and ends[-1] >= pd.Timestamp(first):
        ends.append(_months_before(end, step * len(ends), month_end))
    # ends[-1] is the start of the period holding `first` (or as_of itself: no periods)
    starts, ends = ends[:0:-1], ends[-2::-1]
    return pd.DataFrame({
        "period_start": pd.Series(starts, dtype="datetime64[s]"),
        "period_end": pd.Series(ends, dtype="datetime64[s]"),
        "period": pd.Series([_label(s, e, period) for s, e in zip(starts, ends, strict=True)],
                            dtype=object),
        "period_index": pd.Series(range(len(ends)), dtype="int64")})


def _register_periods(con: duckdb.DuckDBPyConnection, cfg: RunConfig, first: date | None) -> None:
    """Register the run's periods as :data:`PERIODS_VIEW` for the queries."""
    con.register(PERIODS_VIEW, periods(cfg.as_of, first, cfg.differentiate.period))


def build_equity_metrics(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``equity_metrics``: the change in the customer base, per period and segment.

    Seed 003, "measuring customer equity". One row per period (:func:`periods`, of
    ``cfg.differentiate.period``, back to the first transaction or the first month of
    marketing spend) and segment: ``'All'``, then one per value of
    ``cfg.differentiate.segment_by`` (``customers.acquisition_channel`` or
    ``customers.customer_type``, trimmed and lower-cased, or ``customer_value.rfm_segment``;
    missing is ``'unknown'``; ``'none'`` gives the ``'All'`` rows only).

    Reads ``customer_value`` (customer_id, first_purchase, acquisition_cost, rfm_segment; run
    the customer-value builders first), ``acquisition_costs`` (month, unallocated),
    ``customers`` (customer_id, acquisition_channel, customer_type), ``transactions``
    (customer_id, source, order_id, order_date, amount) and ``support_contacts``
    (customer_id, contact_date, cost), up to ``cfg.as_of``.

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of``, ``differentiate`` (period, segment_by, net_new_days, active_days) and
        ``costs`` (cost_per_order, cost_per_customer_per_year).

    Returns
    -------
    int
        Rows written.

    Notes
    -----
    For a period ``(s, e]``, with ``A = active_days`` (default 365) and ``N = net_new_days``
    (default 90), a customer is

    - *new* when their first transaction (``first_purchase``) is in the period;
    - *existing* when it is on or before both ``s`` and ``e - A``: a customer for ``A`` days
      or more at the period's end, and not new in it. With yearly periods and ``A = 365``
      that is "first transaction on or before the period's start". With shorter periods the
      customers acquired less than ``A`` days before the end but before the period are
      neither new nor existing: they count in the totals only;
    - *active* when they bought (a positive amount) in the period or in the ``A`` days up to
      its end, ``(min(s, e - A), e]``: with yearly periods, bought in the period (a leap
      year's period has 366 days); with shorter ones, bought in the last ``A`` days.

    Columns:

    1. ``gross_new_customers``: new customers; ``net_new_customers``: new customers who
       bought in the last ``N`` days of the period, ``(e - N, e]`` (all new customers whose
       first transaction is a purchase, when ``N`` is longer than the period).
    2. ``active_existing_customers``; ``active_customers`` (all the active);
       ``customers_to_date`` (first transaction on or before ``e``); ``share_active =
       active_customers / customers_to_date``.
    3. ``revenue``, ``revenue_new``, ``revenue_existing``: amounts in the period of all, of
       new and of existing customers, net of the returns dated in it;
       ``revenue_per_new_customer = revenue_new / gross_new_customers``,
       ``revenue_per_existing_customer = revenue_existing / active_existing_customers``,
       ``revenue_per_customer = revenue / active_customers``.
    4. ``orders``, ``orders_new``, ``orders_existing``: distinct orders with a positive
       amount in the period; ``purchase_frequency = orders / active_customers``.
    5. ``acquisition_cost``: the ``customer_value.acquisition_cost`` of the period's new
       customers; the ``'All'`` rows add the spend that no customer could carry
       (``acquisition_costs.unallocated``) of the months whose first day is in the period.
       NULL when no marketing spend is loaded, and for periods that end before its first
       month. ``acquisition_cost_per_new_customer = acquisition_cost /
       gross_new_customers``.
       ``support_cost`` (contacts in the period), ``support_cost_new`` (of the period's new
       customers), ``support_cost_existing``; ``cost_to_serve = support_cost + orders *
       cost_per_order + cost_per_customer_per_year / 365 * days on file``, the days on file
       being the days of the period from the customer's first transaction on (both counted),
       summed over the customers to date, lapsed ones included (as ``customer_value``'s
       ``service_cost``, whose sum over the periods it is); ``cost_to_serve_per_customer =
       cost_to_serve / customers_to_date``.

    Ratios are NULL when their denominator is 0.
    """
    require_columns(con, "customer_value",
                    ("customer_id", "first_purchase", "acquisition_cost", "rfm_segment"))
    require_columns(con, "acquisition_costs", ("month", "unallocated"))
    require_columns(con, "customers", ("customer_id", "acquisition_channel", "customer_type"))
    require_columns(con, "transactions", EQUITY_TRANSACTION_COLUMNS)
    require_columns(con, "support_contacts", EQUITY_SUPPORT_COLUMNS)
    first = scalar(con, "SELECT LEAST(MIN(v.first_purchase), (SELECT MIN(month) FROM "
                        "acquisition_costs WHERE month <= ?)) FROM customer_value AS v",
                   [cfg.as_of])
    _register_periods(con, cfg, first)
    settings = cfg.differentiate
    try:
        return build_table(con, "equity_metrics", {
            "as_of": cfg.as_of,
            "segment_by": settings.segment_by,
            "net_new_days": settings.net_new_days,
            "active_days": settings.active_days,
            "cost_per_order": cfg.costs.cost_per_order,
            "cost_per_day": cfg.costs.cost_per_customer_per_year / DAYS_PER_YEAR,
        })
    finally:
        con.unregister(PERIODS_VIEW)


def equity_changes(equity_metrics: pd.DataFrame,
                   metrics: tuple[str, ...] = tuple(EQUITY_CHANGE_METRICS)) -> pd.DataFrame:
    """Period-over-period change of the main equity metrics, per segment.

    Parameters
    ----------
    equity_metrics
        The table ``equity_metrics``: ``period_end``, ``period``, ``segment`` and the
        ``metrics``.
    metrics
        The metrics to follow (default :data:`EQUITY_CHANGE_METRICS`).

    Returns
    -------
    DataFrame
        One row per segment, period after the first and metric, in segment (as in the
        table), period and metric order: ``segment``, ``period_end``, ``period``,
        ``metric``, ``previous`` (the value in the period before), ``value``, ``change``
        (``value - previous``), ``relative_change`` (``change / |previous|``, NaN when the
        previous value is 0 or missing) and ``rise_is_good`` (False for costs, so that a
        chart can colour a change by what it means).
    """
    require_frame_columns(equity_metrics, "equity_metrics",
                          ("period_end", "period", "segment", *metrics))
    ordered = equity_metrics.assign(
        _segment=pd.Categorical(equity_metrics["segment"],
                                categories=list(dict.fromkeys(equity_metrics["segment"])))
    ).sort_values(["_segment", "period_end"], kind="stable")
    long = ordered.melt(id_vars=["_segment", "segment", "period_end", "period"],
                        value_vars=list(metrics), var_name="metric", value_name="value")
    long["value"] = long["value"].astype(float)
    long["metric"] = pd.Categorical(long["metric"], categories=list(metrics))
    long = long.sort_values(["_segment", "metric", "period_end"], kind="stable")
    long["previous"] = long.groupby(["_segment", "metric"], observed=True)["value"].shift()
    long = long[long.groupby(["_segment", "metric"], observed=True).cumcount() > 0]
    long["change"] = long["value"] - long["previous"]
    previous = long["previous"].abs().replace(0, np.nan)
    long["relative_change"] = long["change"] / previous
    long["rise_is_good"] = [EQUITY_CHANGE_METRICS.get(m, True) for m in long["metric"]]
    long = long.sort_values(["_segment", "period_end", "metric"], kind="stable")
    long["metric"] = long["metric"].astype(str)
    return long[["segment", "period_end", "period", "metric", "previous", "value", "change",
                 "relative_change", "rise_is_good"]].reset_index(drop=True)


def build_cohorts(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``cohorts``: the customers acquired in each period, followed period by period.

    Cohorts and the periods they are followed in are the equity report's periods
    (:func:`periods` of ``cfg.differentiate.period``, ending on ``as_of``): every period is
    complete, the last one included, so that a late cohort's retention is not cut short by
    a partial calendar quarter. Reads ``customer_value`` (customer_id, first_purchase; run
    the customer-value builders first) and ``transactions`` (customer_id, order_date,
    amount), up to ``cfg.as_of``.

    Returns
    -------
    int
        Rows written: one per cohort and period from its acquisition on (a quiet period
        shows as zero retention, not as a gap).

    Notes
    -----
    ``cohort`` is the name of the acquisition period (the period of the first transaction),
    ``periods_since_acquisition`` counts from 0 (the acquisition period itself);
    ``customers_in_cohort``; ``active_customers``: members with a positive amount in the
    period; ``retention_rate = active_customers / customers_in_cohort`` (below 1 in period 0
    only for customers whose first transaction was a return); ``revenue``: the members'
    amounts in the period, net of returns; ``revenue_per_customer = revenue /
    customers_in_cohort``, so that cohorts of different sizes compare.
    """
    require_columns(con, "customer_value", ("customer_id", "first_purchase"))
    require_columns(con, "transactions", ("customer_id", "order_date", "amount"))
    first = scalar(con, "SELECT MIN(first_purchase) FROM customer_value")
    _register_periods(con, cfg, first)
    try:
        return build_table(con, "cohorts", {"as_of": cfg.as_of})
    finally:
        con.unregister(PERIODS_VIEW)


def cohort_matrix(cohorts: pd.DataFrame, value: str = "retention_rate") -> pd.DataFrame:
    """The cohort table as a matrix for a heat map: one row per cohort (oldest first), one
    column per period since acquisition, cells ``value``.

    Parameters
    ----------
    cohorts
        The table ``cohorts``: ``cohort``, ``cohort_end``, ``periods_since_acquisition`` and
        ``value``.
    value
        A column of ``cohorts``: ``retention_rate``, ``revenue_per_customer``, ``revenue``,
        ``active_customers``.

    Returns
    -------
    DataFrame
        Index ``cohort``, columns ``periods_since_acquisition`` (0, 1, …); NaN where a cohort
        has not reached that age by ``as_of``.
    """
    require_frame_columns(cohorts, "cohorts",
                          ("cohort", "cohort_end", "periods_since_acquisition", value))
    order = cohorts.sort_values("cohort_end", kind="stable")["cohort"].drop_duplicates()
    grid = cohorts.pivot(index="cohort", columns="periods_since_acquisition", values=value)
    return grid.reindex(index=order.tolist(), columns=sorted(grid.columns)).astype(float)
