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


# --- identity resolution (helpers.matching) -------------------------------------------------

__all__ += ["plot_blocking", "plot_match_weights", "plot_m_u", "plot_cluster_sizes"]


def _weight(probability: float) -> float:
    """The match weight of a match probability: log2 of its odds."""
    return float(np.log2(probability / (1 - probability)))


def plot_blocking(blocking: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Candidate pairs made by each blocking rule, cumulated, against all the pairs there are.

    Needs the columns of ``match_blocking``: ``rule``, ``pairs``, ``cumulative_pairs`` and
    ``all_pairs`` (a log scale: blocking keeps a tiny share). Returns the Axes.
    """
    require_frame_columns(blocking, "match_blocking",
                          ("rule", "pairs", "cumulative_pairs", "all_pairs"))
    ax = ax if ax is not None else plt.subplots(figsize=(8, 0.4 * len(blocking) + 1.5))[1]
    sns.barplot(data=blocking, y="rule", x="cumulative_pairs", color="#4C72B0", ax=ax)
    for row, (added, total) in enumerate(zip(blocking["pairs"], blocking["cumulative_pairs"],
                                             strict=True)):
        ax.annotate(f"+{added:,}", (max(total, 1), row), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize=8)
    every = int(blocking["all_pairs"].max()) if len(blocking) else 0
    if every:
        ax.axvline(every, color="black", linestyle=":")
        ax.annotate(f"all {every:,} pairs", (every, len(blocking) - 0.5), xytext=(-4, 0),
                    textcoords="offset points", ha="right", fontsize=8)
    ax.set_xscale("log")
    ax.set(xlabel="candidate pairs, this rule and those above (log scale)", ylabel="",
           title="Blocking: the pairs compared")
    return ax


def plot_match_weights(bins: pd.DataFrame, match_threshold: float, review_threshold: float,
                       ax: Axes | None = None) -> Axes:
    """Histogram of the candidate pairs' match weights, with the two thresholds.

    Non-matches pile up on the left, matches on the right; pairs between the review and the
    match threshold go to a person. Needs the columns of ``match_weight_bins``:
    ``bin_start``, ``bin_end`` and ``pairs``. Returns the Axes.
    """
    require_frame_columns(bins, "match_weight_bins", ("bin_start", "bin_end", "pairs"))
    ax = ax if ax is not None else plt.subplots(figsize=(9, 4.5))[1]
    match_at, review_at = _weight(match_threshold), _weight(review_threshold)
    colours = np.where(bins["bin_start"] >= match_at, "#55A868",
                       np.where(bins["bin_end"] > review_at, "#DD8452", "#8C8C8C"))
    ax.bar(bins["bin_start"], bins["pairs"], width=bins["bin_end"] - bins["bin_start"],
           align="edge", color=colours)
    # the review label left of its line, the link label right of its own: they may be close
    for weight, probability, label, side in ((review_at, review_threshold, "review from", -1),
                                             (match_at, match_threshold, "link from", 1)):
        ax.axvline(weight, color="black", linestyle="--", linewidth=1)
        ax.annotate(f"{label} p = {probability:g}\n(weight {weight:+.1f})", (weight, 1),
                    xycoords=("data", "axes fraction"), xytext=(4 * side, -4),
                    textcoords="offset points", va="top", ha="left" if side > 0 else "right",
                    fontsize=8)
    ax.set_yscale("log")
    ax.set(xlabel="match weight (bits of evidence: prior + every comparison)",
           ylabel="candidate pairs (log scale)", title="Match weights of the candidate pairs")
    return ax


def plot_m_u(model: pd.DataFrame) -> plt.Figure:
    """m and u of every comparison level (left) and the level's match weight log2(m/u)
    (right), one row per level, grouped by comparison.

    Needs the columns of ``match_model``: ``comparison``, ``level``, ``label``,
    ``m_probability``, ``u_probability`` and ``match_weight``; the row of the prior is shown
    in the title. Returns the Figure.
    """
    require_frame_columns(model, "match_model", ("comparison", "level", "label",
                                                 "m_probability", "u_probability",
                                                 "match_weight"))
    levels = model[model["comparison"] != "prior"].reset_index(drop=True)
    names = levels["comparison"] + ": " + levels["label"]
    fig, (left, right) = plt.subplots(1, 2, sharey=True,
                                      figsize=(12, 0.3 * len(levels) + 1.8))
    rows = np.arange(len(levels))
    left.barh(rows - 0.2, levels["m_probability"], height=0.4, label="m: among matches",
              color="#55A868")
    left.barh(rows + 0.2, levels["u_probability"], height=0.4, label="u: among non-matches",
              color="#C44E52")
    left.set_xscale("log")
    left.set(yticks=rows, yticklabels=names, xlabel="share of pairs at the level (log scale)")
    left.invert_yaxis()
    left.legend(loc="lower left", fontsize=8)
    right.barh(rows, levels["match_weight"],
               color=np.where(levels["match_weight"] >= 0, "#55A868", "#C44E52"))
    right.axvline(0, color="black", linewidth=1)
    right.set(xlabel="match weight log2(m / u), bits")
    prior = model.loc[model["comparison"] == "prior", "match_weight"]
    fig.suptitle("What each level of each comparison says" + (
        f" (prior weight {prior.iloc[0]:+.1f})" if len(prior) else ""))
    fig.tight_layout()
    return fig


def plot_cluster_sizes(sizes: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Customers by the number of source records they were made of (log scale: the few
    large ones are where over-merging shows).

    Needs ``n_source_records`` and ``customers`` (helpers.identify.records_per_customer).
    Returns the Axes.
    """
    require_frame_columns(sizes, "records per customer", ("n_source_records", "customers"))
    ax = ax if ax is not None else plt.subplots(figsize=(8, 4))[1]
    ax.bar(sizes["n_source_records"].astype(str), sizes["customers"], color="#4C72B0")
    for x, count in enumerate(sizes["customers"]):
        ax.annotate(f"{count:,}", (x, count), xytext=(0, 2), textcoords="offset points",
                    ha="center", fontsize=8)
    ax.set_yscale("log")
    ax.set(xlabel="source records in the customer", ylabel="customers (log scale)",
           title="Cluster sizes")
    return ax
