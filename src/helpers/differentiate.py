"""Differentiate: what is each customer worth today? (notebook 02)

Reads ``transactions`` and ``support_contacts`` (written by 01 identify) and writes:

* ``customer_value`` — one row per customer: revenue, margin, cost to serve, profit (lifetime
  and over the last 12 months, the *current value*), and the RFMT scores;
* ``equity_metrics`` — the customer-equity report of seed 003, one row per 12-month period;
* ``cohorts`` — acquisition-quarter cohorts followed quarter by quarter.

All transaction-level work is SQL run inside the warehouse; the plot helpers work on the
customer-level ``customer_value`` and ``cohorts`` frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import duckdb
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from helpers.config import RunConfig
from helpers.warehouse import require_columns, require_frame_columns, scalar, write_table

#: Length of the "last 12 months" window of ``customer_value`` and of one year of tenure in
#: ``service_cost``: the window (as_of - 365 days, as_of] has exactly this many days.
DAYS_PER_YEAR = 365

#: A new customer counts as *net new* (still there at the end of the period) when they bought
#: within this many days before the period end.
ACTIVE_AT_END_DAYS = 90

#: Shares of customers (ranked by value) that ``value_concentration`` reports.
CONCENTRATION_SHARES = (0.01, 0.05, 0.10, 0.20, 0.50)

#: Columns each builder reads, so a missing one fails by name before any SQL runs.
TRANSACTION_COLUMNS = ("customer_id", "source", "order_id", "order_date", "amount", "cost")
SUPPORT_COLUMNS = ("customer_id", "contact_date", "cost")

CUSTOMER_VALUE_SQL = """
WITH lines AS (
    SELECT
        customer_id,
        order_date,
        amount,
        -- a product catalogue gives the real cost; otherwise the configured margin applies
        COALESCE(cost, amount * (1 - $gross_margin_rate)) AS cost_of_goods,
        -- order ids are unique within a source only
        CASE WHEN amount > 0 THEN source || ':' || order_id END AS purchase_key,
        order_date > $start_12m AS in_12m
    FROM transactions
    WHERE order_date <= $as_of
),
sales AS (
    SELECT
        customer_id,
        -- the first row of any kind: a return proves a purchase made before the data starts
        MIN(order_date) AS first_purchase,
        -- a return is no sign of recent buying; all-return customers fall back to any row
        COALESCE(MAX(CASE WHEN amount > 0 THEN order_date END), MAX(order_date))
            AS last_purchase,
        COUNT(DISTINCT purchase_key) AS n_orders,
        SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS revenue,
        SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS returns,
        SUM(amount) AS net_revenue,
        SUM(cost_of_goods) AS cost_of_goods,
        COUNT(DISTINCT CASE WHEN in_12m THEN purchase_key END) AS n_orders_12m,
        SUM(CASE WHEN in_12m AND amount > 0 THEN amount ELSE 0 END) AS revenue_12m,
        SUM(CASE WHEN in_12m THEN amount ELSE 0 END) AS net_revenue_12m,
        SUM(CASE WHEN in_12m THEN cost_of_goods ELSE 0 END) AS cost_of_goods_12m
    FROM lines
    GROUP BY customer_id
),
support AS (
    SELECT
        customer_id,
        SUM(cost) AS support_cost,
        SUM(CASE WHEN contact_date > $start_12m THEN cost ELSE 0 END) AS support_cost_12m
    FROM support_contacts
    WHERE contact_date <= $as_of
    GROUP BY customer_id
),
costed AS (
    SELECT
        s.*,
        COALESCE(p.support_cost, 0) AS support_cost,
        COALESCE(p.support_cost_12m, 0) AS support_cost_per_year,
        DATE_DIFF('day', s.first_purchase, $as_of) AS tenure_days,
        DATE_DIFF('day', s.last_purchase, $as_of) AS recency_days,
        -- years on the books count the first-purchase day, so nobody is served for free
        CAST(DATE_DIFF('day', s.first_purchase, $as_of) + 1 AS DOUBLE) / $days_per_year
            AS years_as_customer,
        CASE WHEN s.n_orders > 0 THEN s.net_revenue / s.n_orders END AS monetary
    FROM sales AS s
    LEFT JOIN support AS p ON p.customer_id = s.customer_id
),
valued AS (
    SELECT
        *,
        net_revenue - cost_of_goods AS gross_margin,
        n_orders * $cost_per_order + $cost_per_year * years_as_customer AS service_cost,
        net_revenue_12m - cost_of_goods_12m AS gross_margin_12m,
        support_cost_per_year + n_orders_12m * $cost_per_order
            + $cost_per_year * CASE WHEN years_as_customer < 1 THEN years_as_customer ELSE 1 END
            AS cost_to_serve_12m
    FROM costed
),
scored AS (
    SELECT
        *,
        -- CUME_DIST gives tied customers the same score; the best value sorts last (5)
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY recency_days DESC)) AS INTEGER) AS r_score,
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY n_orders)) AS INTEGER) AS f_score,
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY monetary NULLS FIRST)) AS INTEGER) AS m_score,
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY tenure_days)) AS INTEGER) AS t_score
    FROM valued
)
SELECT
    customer_id,
    first_purchase,
    last_purchase,
    n_orders,
    revenue,
    returns,
    net_revenue,
    cost_of_goods,
    gross_margin,
    CASE WHEN net_revenue > 0 THEN gross_margin / net_revenue END AS margin_rate,
    support_cost,
    service_cost,
    gross_margin - support_cost - service_cost AS profit,
    n_orders_12m,
    revenue_12m,
    net_revenue_12m,
    gross_margin_12m,
    support_cost_per_year,
    cost_to_serve_12m,
    gross_margin_12m - cost_to_serve_12m AS profit_12m,
    recency_days,
    n_orders AS frequency,
    monetary,
    tenure_days,
    r_score,
    f_score,
    m_score,
    t_score,
    'R' || CAST(r_score AS VARCHAR) || 'F' || CAST(f_score AS VARCHAR)
        || 'M' || CAST(m_score AS VARCHAR) AS rfm_cell,
    $w_recency * r_score + $w_frequency * f_score + $w_monetary * m_score
        + $w_tenure * t_score AS rfmt_score
FROM scored
ORDER BY customer_id
"""

FIRST_TRANSACTION_SQL = "SELECT MIN(first_purchase) FROM customer_value"

EQUITY_METRICS_SQL = """
WITH periods AS (
    SELECT CAST(period_start AS DATE) AS period_start, CAST(period_end AS DATE) AS period_end
    FROM _equity_periods
),
lines AS (
    SELECT
        p.period_end,
        t.customer_id,
        t.amount,
        CASE WHEN t.amount > 0 THEN t.source || ':' || t.order_id END AS purchase_key,
        t.amount > 0 AND DATE_DIFF('day', t.order_date, p.period_end) < $active_days
            AS bought_near_end,
        -- everyone who transacts in a period first did so in it (new) or before it (existing:
        -- a customer for a year or more at the period end)
        v.first_purchase > p.period_start AS is_new
    FROM transactions AS t
    JOIN customer_value AS v ON v.customer_id = t.customer_id
    JOIN periods AS p ON t.order_date > p.period_start AND t.order_date <= p.period_end
),
buyers AS (
    SELECT
        period_end,
        customer_id,
        is_new,
        SUM(amount) AS revenue,
        COUNT(DISTINCT purchase_key) AS orders,
        MAX(CASE WHEN bought_near_end THEN 1 ELSE 0 END) AS active_at_end
    FROM lines
    GROUP BY period_end, customer_id, is_new
),
sales AS (
    SELECT
        period_end,
        COUNT(CASE WHEN is_new THEN 1 END) AS gross_new_customers,
        COUNT(CASE WHEN is_new AND active_at_end = 1 THEN 1 END) AS net_new_customers,
        COUNT(CASE WHEN NOT is_new AND orders > 0 THEN 1 END) AS active_existing_customers,
        SUM(CASE WHEN is_new THEN revenue ELSE 0 END) AS revenue_new,
        SUM(CASE WHEN NOT is_new THEN revenue ELSE 0 END) AS revenue_existing,
        CAST(SUM(CASE WHEN is_new THEN orders ELSE 0 END) AS BIGINT) AS orders_new,
        CAST(SUM(CASE WHEN NOT is_new THEN orders ELSE 0 END) AS BIGINT) AS orders_existing
    FROM buyers
    GROUP BY period_end
),
support AS (
    SELECT
        p.period_end,
        SUM(CASE WHEN v.first_purchase > p.period_start AND v.first_purchase <= p.period_end
                 THEN s.cost ELSE 0 END) AS support_cost_new,
        SUM(CASE WHEN v.first_purchase <= p.period_start THEN s.cost ELSE 0 END)
            AS support_cost_existing
    FROM support_contacts AS s
    JOIN customer_value AS v ON v.customer_id = s.customer_id
    JOIN periods AS p ON s.contact_date > p.period_start AND s.contact_date <= p.period_end
    GROUP BY p.period_end
)
SELECT
    p.period_start,
    p.period_end,
    COALESCE(a.gross_new_customers, 0) AS gross_new_customers,
    COALESCE(a.net_new_customers, 0) AS net_new_customers,
    COALESCE(a.active_existing_customers, 0) AS active_existing_customers,
    COALESCE(a.revenue_new, 0) AS revenue_new,
    COALESCE(a.revenue_existing, 0) AS revenue_existing,
    a.revenue_new / NULLIF(a.gross_new_customers, 0) AS revenue_per_new_customer,
    a.revenue_existing / NULLIF(a.active_existing_customers, 0)
        AS revenue_per_existing_customer,
    COALESCE(a.orders_new, 0) AS orders_new,
    COALESCE(a.orders_existing, 0) AS orders_existing,
    COALESCE(s.support_cost_new, 0) AS support_cost_new,
    COALESCE(s.support_cost_existing, 0) AS support_cost_existing
FROM periods AS p
LEFT JOIN sales AS a ON a.period_end = p.period_end
LEFT JOIN support AS s ON s.period_end = p.period_end
ORDER BY p.period_end
"""

COHORTS_SQL = """
WITH lines AS (
    SELECT
        customer_id,
        amount,
        EXTRACT(YEAR FROM order_date) * 4 + EXTRACT(QUARTER FROM order_date) - 1 AS quarter,
        CAST(EXTRACT(YEAR FROM order_date) AS VARCHAR) || 'Q'
            || CAST(EXTRACT(QUARTER FROM order_date) AS VARCHAR) AS period
    FROM transactions
    WHERE order_date <= $as_of
),
quarters AS (
    SELECT DISTINCT quarter, period FROM lines
),
members AS (
    SELECT
        customer_id,
        EXTRACT(YEAR FROM first_purchase) * 4 + EXTRACT(QUARTER FROM first_purchase) - 1
            AS cohort_quarter,
        CAST(EXTRACT(YEAR FROM first_purchase) AS VARCHAR) || 'Q'
            || CAST(EXTRACT(QUARTER FROM first_purchase) AS VARCHAR) AS cohort
    FROM customer_value
),
sizes AS (
    SELECT cohort, cohort_quarter, COUNT(*) AS customers_in_cohort
    FROM members
    GROUP BY cohort, cohort_quarter
),
activity AS (
    SELECT
        m.cohort,
        l.quarter,
        COUNT(DISTINCT CASE WHEN l.amount > 0 THEN l.customer_id END) AS active_customers,
        SUM(l.amount) AS revenue
    FROM lines AS l
    JOIN members AS m ON m.customer_id = l.customer_id
    GROUP BY m.cohort, l.quarter
)
SELECT
    s.cohort,
    q.period,
    CAST(3 * (q.quarter - s.cohort_quarter) AS INTEGER) AS months_since_acquisition,
    s.customers_in_cohort,
    COALESCE(a.active_customers, 0) AS active_customers,
    COALESCE(a.revenue, 0) AS revenue,
    CAST(COALESCE(a.active_customers, 0) AS DOUBLE) / s.customers_in_cohort AS retention_rate
FROM sizes AS s
-- every quarter from acquisition on, so quiet quarters show as zero retention, not gaps
JOIN quarters AS q ON q.quarter >= s.cohort_quarter
LEFT JOIN activity AS a ON a.cohort = s.cohort AND a.quarter = q.quarter
ORDER BY s.cohort, q.period
"""


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
    return write_table(con, "customer_value", con.sql(CUSTOMER_VALUE_SQL, params=params))


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
    first = scalar(con, FIRST_TRANSACTION_SQL)
    con.register("_equity_periods", yearly_periods(cfg.as_of, first))
    try:
        relation = con.sql(EQUITY_METRICS_SQL, params={"active_days": ACTIVE_AT_END_DAYS})
        return write_table(con, "equity_metrics", relation)
    finally:
        con.unregister("_equity_periods")


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
    return write_table(con, "cohorts", con.sql(COHORTS_SQL, params={"as_of": cfg.as_of}))


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


def plot_value_concentration(customer_value: pd.DataFrame, profit: str = "profit_12m",
                             revenue: str = "net_revenue_12m", ax: Axes | None = None) -> Axes:
    """Cumulative share of profit and of revenue against share of customers ranked by profit.

    The Pareto/Lorenz ("whale") curve, with the :func:`value_concentration` points marked
    on the profit curve. Needs ``customer_id``, ``profit`` and ``revenue`` columns.
    Returns the Axes.
    """
    points = value_concentration(customer_value, profit=profit, revenue=revenue)
    ranked = customer_value.sort_values([profit, "customer_id"], ascending=[False, True])
    ax = ax if ax is not None else plt.subplots(figsize=(7, 5))[1]
    customers = np.r_[0, np.arange(1, len(ranked) + 1) / len(ranked)]
    for column in (profit, revenue):
        values = ranked[column].fillna(0).to_numpy(dtype=float)
        ax.plot(customers, np.r_[0, values.cumsum() / values.sum()], label=column)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="all customers equal")
    ax.scatter(points["share_of_customers"], points["share_of_profit"], color="black", zorder=3)
    for row in points.itertuples():
        ax.annotate(f"top {row.share_of_customers:.0%}: {row.share_of_profit:.0%}",
                    (row.share_of_customers, row.share_of_profit),
                    textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.axhline(1, color="grey", linewidth=0.5)
    ax.set(xlabel="share of customers, most profitable first", ylabel="cumulative share",
           title="Value concentration")
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.yaxis.set_major_formatter("{x:.0%}")
    ax.legend(loc="lower right")
    return ax


def plot_rfm_heatmap(customer_value: pd.DataFrame, value: str = "profit",
                     ax: Axes | None = None) -> Axes:
    """Mean ``value`` per recency score (rows, 5 at the top) × frequency score (columns).

    Needs ``r_score``, ``f_score`` and ``value`` columns. Returns the Axes.
    """
    require_frame_columns(customer_value, "customer_value", ("r_score", "f_score", value))
    scores = list(range(1, 6))
    grid = (customer_value.pivot_table(index="r_score", columns="f_score", values=value,
                                       aggfunc="mean")
            .reindex(index=scores[::-1], columns=scores))
    ax = ax if ax is not None else plt.subplots(figsize=(7, 5))[1]
    sns.heatmap(grid, annot=True, fmt=".0f", cmap="RdYlGn", center=0, ax=ax,
                cbar_kws={"label": f"mean {value}"})
    ax.set(xlabel="frequency score (5 = most orders)", ylabel="recency score (5 = most recent)",
           title=f"Mean {value} by recency and frequency")
    return ax


def plot_cohort_retention(cohorts: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Retention rate per acquisition cohort (rows) × months since acquisition (columns).

    Needs ``cohort``, ``months_since_acquisition`` and ``retention_rate``. Returns the Axes.
    """
    require_frame_columns(cohorts, "cohorts",
                           ("cohort", "months_since_acquisition", "retention_rate"))
    grid = cohorts.pivot(index="cohort", columns="months_since_acquisition",
                         values="retention_rate").sort_index()
    ax = ax if ax is not None else plt.subplots(figsize=(9, 5))[1]
    sns.heatmap(grid, annot=True, fmt=".0%", annot_kws={"size": 7}, cmap="Blues", vmin=0,
                vmax=1, ax=ax, cbar_kws={"label": "share of the cohort buying"})
    ax.set(xlabel="months since acquisition", ylabel="acquisition cohort",
           title="Cohort retention")
    return ax
