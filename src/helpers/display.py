"""Display: one theme, one table style and the charts, for every notebook and the report.

Stage modules compute; this module shows. Every chart takes a per-customer (or smaller)
frame read from the warehouse and returns its Axes or Figure, so a notebook cell is one call.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from helpers.differentiate import value_concentration
from helpers.warehouse import require_frame_columns

__all__ = ["set_theme", "show", "plot_value_concentration", "plot_rfm_heatmap",
           "plot_cohort_retention", "plot_frequency_fit", "plot_p_alive",
           "plot_clv_distribution", "plot_tiers"]


def set_theme() -> None:
    """One plotting style for every notebook (readable in HTML and on a projector)."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["figure.figsize"] = (8, 4.5)


def show(table: pd.DataFrame, decimals: int = 2):
    """A table as a client reads it: thousands separators, fixed decimals, no row index."""
    return table.style.format(precision=decimals, thousands=",", na_rep="").hide(axis="index")


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


def plot_frequency_fit(model_fit: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bar chart: customers with 0, 1, …, 7+ repeat purchases, actual vs BG/NBD expected.

    Parameters
    ----------
    model_fit
        From :func:`model_fit_table`: columns ``metric``, ``value``, with the metrics
        ``customers_with_K_repeat_actual`` / ``_expected``.
    ax
        Axes to draw on; a new figure if None.
    """
    require_frame_columns(model_fit, "model_fit", ("metric", "value"))
    parts = model_fit["metric"].str.extract(r"^customers_with_(\w+?)_repeat_(actual|expected)$")
    bars = pd.DataFrame({"repeat purchases": parts[0], "customers": parts[1],
                         "count": model_fit["value"]}).dropna()
    if bars.empty:
        raise ValueError("model_fit has no 'customers_with_K_repeat_actual/_expected' metrics")
    bars["repeat purchases"] = bars["repeat purchases"].str.replace("plus", "+")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(data=bars, x="repeat purchases", y="count", hue="customers", ax=ax)
    ax.set_title("Repeat purchases in the observed period: actual vs BG/NBD")
    ax.set_ylabel("customers")
    return ax


def plot_p_alive(clv: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Histogram of the probability that each customer is still active.

    Parameters
    ----------
    clv
        From :func:`score_customers`: column ``p_alive``.
    ax
        Axes to draw on; a new figure if None.
    """
    require_frame_columns(clv, "clv", ("p_alive",))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    sns.histplot(data=clv, x="p_alive", bins=20, binrange=(0, 1), ax=ax)
    ax.set_title("Probability alive (BG/NBD)")
    ax.set_ylabel("customers")
    return ax


def plot_clv_distribution(clv: pd.DataFrame, column: str = "clv_net",
                          ax: Axes | None = None) -> Axes:
    """Histogram of CLV with a line at zero: the customers left of it are worth less than they cost.

    Parameters
    ----------
    clv
        From :func:`score_customers`: the column named by ``column``.
    column
        ``clv_net`` (default) or ``clv``.
    ax
        Axes to draw on; a new figure if None.
    """
    require_frame_columns(clv, "clv", (column,))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    sns.histplot(data=clv, x=column, bins=50, ax=ax)
    ax.axvline(0, color="black", linewidth=1)
    ax.set_title(f"Customer lifetime value ({column})")
    ax.set_ylabel("customers")
    return ax


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
