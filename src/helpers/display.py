"""Display: one theme, one table style and the charts, for every notebook and the report.

Stage modules compute; this module shows. Every chart takes a per-customer (or smaller)
frame read from the warehouse and returns its Axes or Figure, so a notebook cell is one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from helpers.clv.fitting import MODEL_NAMES
from helpers.config import TIERS
from helpers.differentiate import (
    cohort_matrix,
    gini,
    lorenz_curve,
    profit_basis,
    profit_values,
    value_label,
    whale_curve,
)
from helpers.warehouse import require_frame_columns

__all__ = ["set_theme", "show", "heading", "report_table", "plot_rfm_heatmap",
           "plot_cohort_retention", "plot_frequency_fit", "plot_p_alive",
           "plot_clv_distribution", "plot_tiers"]


def set_theme() -> None:
    """One plotting style for every notebook (readable in HTML and on a projector)."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams["figure.figsize"] = (8, 4.5)


def show(table: pd.DataFrame, decimals: int = 2):
    """A table as a client reads it: thousands separators, fixed decimals, no row index.

    Text from the data is HTML-escaped: a customer or category named ``<script>…`` shows as
    text in the notebook and the report.
    """
    return (table.style.format(precision=decimals, thousands=",", na_rep="", escape="html")
            .hide(axis="index"))


#: Words in column names written as a reader expects them in a heading.
HEADING_WORDS = {"clv": "CLV", "nps": "NPS", "p_alive": "P(alive)", "rfm": "RFM",
                 "rfmt": "RFMT", "12m": "(12 months)", "id": "ID", "mae": "MAE",
                 "rmse": "RMSE", "bic": "BIC", "ari": "ARI", "csv": "CSV"}


def heading(column: str) -> str:
    """A snake_case column name in words: 'share_of_customers' -> 'Share of customers',
    'clv_net' -> 'CLV net', 'p_alive_mean' -> 'P(alive) mean'."""
    text = column.replace("p_alive", "p-alive")
    words = [HEADING_WORDS.get(word.replace("-", "_"), word.replace("-", "_"))
             for word in text.split("_")]
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:]


def report_table(table: pd.DataFrame, currency: str = "", locale: str = "en",
                 money: Sequence[str] = (), percent: Sequence[str] = (),
                 title: str | None = None, caption: str | None = None,
                 decimals: int = 2, labels: Mapping[str, str] | None = None):
    """A table for the client's report, formatted by great_tables.

    Parameters
    ----------
    table
        The rows to show, as they are (no index).
    currency, locale
        The run's ``currency`` and ``locale``: money and numbers are written the client's way
        (``EUR 1.234,50`` in ``it``).
    money, percent
        Columns shown as money, and shares (0.2) shown as percentages (20.0%).
    title, caption
        A heading above the table, and a note below it saying how to read it.
    decimals
        Decimals of the other non-integer numbers.
    labels
        Column headings that :func:`heading` would not write well.

    Notes
    -----
    Integer columns get thousands separators; dates are written ISO (2025-12-31), never
    with a time; every other column name is put in words (:func:`heading`). great_tables
    escapes the data's text in the HTML.
    """
    from great_tables import GT  # the report's tables only: the other notebooks use show()

    frame = table.reset_index(drop=True)
    dates = [c for c in frame.columns
             if pd.api.types.is_datetime64_any_dtype(frame[c])
             or frame[c].map(lambda v: isinstance(v, date)).any()]
    for column in dates:
        frame[column] = pd.to_datetime(frame[column]).dt.date
    integers = [c for c in frame.columns if pd.api.types.is_integer_dtype(frame[c])]
    others = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])
              and c not in money and c not in percent]
    gt = GT(frame)
    if money:
        gt = gt.fmt_currency(list(money), currency=currency or "EUR", locale=locale)
    if percent:
        gt = gt.fmt_percent(list(percent), decimals=1, locale=locale)
    if integers:
        gt = gt.fmt_integer(integers, locale=locale)
    if others:
        gt = gt.fmt_number(others, decimals=decimals, locale=locale)
    if dates:
        gt = gt.fmt_date(dates, date_style="iso")
    gt = gt.sub_missing(missing_text="")
    names = {c: (labels or {}).get(c, heading(c)) for c in frame.columns}
    gt = gt.cols_label(**names)
    if title:
        gt = gt.tab_header(title=title)
    if caption:
        gt = gt.tab_source_note(caption)
    return gt.tab_options(table_font_size="13px", table_width="100%")


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


def plot_cohort_retention(cohorts: pd.DataFrame, period: str = "period",
                          ax: Axes | None = None) -> Axes:
    """Retention rate per acquisition cohort (rows, oldest at the top) × periods since
    acquisition (columns).

    Read a row left to right to see how a cohort thins out; read a column top to bottom to
    compare cohorts at the same age (newer cohorts holding up better is good news). Needs
    the columns of ``cohorts`` (:func:`helpers.differentiate.cohort_matrix`); ``period`` is
    the config's period ('month', 'quarter', 'year') for the axis label. Returns the Axes.
    """
    return _cohort_heatmap(cohorts, "retention_rate", period, ax, fmt=".0%", cmap="Blues",
                           vmin=0, vmax=1, label="share of the cohort buying",
                           title="Cohort retention")


def plot_frequency_fit(model_fit: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bar chart: customers with 0, 1, …, 7+ repeat purchases, actual vs the model's expectation.

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
    ax.set_title("Repeat purchases in the observed period: actual vs model")
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
    ax.set_title("Probability alive")
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


# --- the customer-equity report (helpers.differentiate.equity) -------------------------------

__all__ += ["plot_cohort_revenue", "plot_equity_metrics", "plot_equity_by_segment",
            "plot_equity_changes"]


def plot_cohort_revenue(cohorts: pd.DataFrame, value: str = "revenue_per_customer",
                        period: str = "period", currency: str = "",
                        ax: Axes | None = None) -> Axes:
    """Revenue per acquisition cohort (rows) × periods since acquisition (columns).

    With ``revenue_per_customer`` (the default: the cohort's revenue in the period divided
    by the customers it started with) cohorts of different sizes compare; ``revenue`` shows
    what each cohort brings in total. Returns the Axes.
    """
    money = f" ({currency})" if currency else ""
    what = "revenue per customer acquired" if value == "revenue_per_customer" else value
    return _cohort_heatmap(cohorts, value, period, ax, fmt=",.0f", cmap="Greens", vmin=None,
                           vmax=None, label=f"{what}{money}", title=f"Cohort {what}")


def _cohort_heatmap(cohorts: pd.DataFrame, value: str, period: str, ax: Axes | None,
                    fmt: str, cmap: str, vmin, vmax, label: str, title: str) -> Axes:
    """A cohort × age heat map of ``value``; cells annotated while they stay readable."""
    grid = cohort_matrix(cohorts, value)
    ax = ax if ax is not None else plt.subplots(
        figsize=(min(4 + 0.6 * grid.shape[1], 16), min(2 + 0.35 * grid.shape[0], 12)))[1]
    sns.heatmap(grid, annot=grid.shape[1] <= 16, fmt=fmt, annot_kws={"size": 7}, cmap=cmap,
                vmin=vmin, vmax=vmax, ax=ax, cbar_kws={"label": label})
    ax.set(xlabel=f"{period}s since acquisition (0 = the {period} of acquisition)",
           ylabel="acquisition cohort", title=title)
    return ax


#: The panels of :func:`plot_equity_metrics`: title, whether it shows money, and the
#: (column, label) of its lines.
_EQUITY_PANELS = (
    ("Customers won", False, (("gross_new_customers", "gross new"),
                              ("net_new_customers", "net new (still buying at the end)"))),
    ("Active customers", False, (("active_customers", "all active"),
                                 ("active_existing_customers", "active existing"))),
    ("Revenue per customer", True, (("revenue_per_new_customer", "per new customer"),
                                    ("revenue_per_existing_customer", "per active existing"),
                                    ("revenue_per_customer", "per active customer"))),
    ("Cost per customer", True, (("acquisition_cost_per_new_customer", "acquisition, per new"),
                                 ("cost_to_serve_per_customer",
                                  "serving, per customer on file"))),
)

#: The metrics :func:`plot_equity_by_segment` compares across segments, with their labels.
EQUITY_SEGMENT_METRICS = {
    "share_active": "share still active",
    "purchase_frequency": "orders per active customer",
    "revenue_per_customer": "revenue per active customer",
    "acquisition_cost_per_new_customer": "acquisition cost per new customer",
    "cost_to_serve_per_customer": "cost to serve per customer",
}


def _period_axis(ax: Axes, labels: list[str]) -> None:
    """Period names on the x axis, thinned to about 12 so that they stay readable."""
    step = max(1, int(np.ceil(len(labels) / 12)))
    ticks = np.arange(len(labels))[::-1][::step][::-1]  # always show the latest period
    ax.set_xticks(ticks, [labels[i] for i in ticks], rotation=45 if len(labels) > 6 else 0,
                  ha="right" if len(labels) > 6 else "center")


def plot_equity_metrics(equity_metrics: pd.DataFrame, segment: str = "All",
                        currency: str = "") -> plt.Figure:
    """The customer-equity report of one segment over the periods, in four panels.

    Customers won (gross new, and net new: still buying at the period's end); active
    customers (all, and existing ones); revenue per new, per active existing and per active
    customer; what acquiring a new customer and serving a customer on file cost. A panel
    whose values are all missing (no marketing spend: no acquisition cost) says so.

    Parameters
    ----------
    equity_metrics
        The table ``equity_metrics`` (``period_end``, ``period``, ``segment`` and the
        columns drawn).
    segment
        The segment to show: ``'All'`` (default) or a value of its ``segment`` column.
    currency
        For the money axes.

    Returns
    -------
    matplotlib.figure.Figure
        Four Axes, one line per metric, one point per period.
    """
    columns = [column for _, _, lines in _EQUITY_PANELS for column, _ in lines]
    require_frame_columns(equity_metrics, "equity_metrics",
                          ("period_end", "period", "segment", *columns))
    rows = equity_metrics[equity_metrics["segment"] == segment].sort_values("period_end")
    if rows.empty:
        raise ValueError(f"equity_metrics has no rows for segment {segment!r}; its segments "
                         f"are {', '.join(map(str, equity_metrics['segment'].unique()))}")
    x = np.arange(len(rows))
    fig, axes = plt.subplots(2, 2, figsize=(12, 7), sharex=True)
    money = f" ({currency})" if currency else ""
    for ax, (title, is_money, lines) in zip(axes.ravel(), _EQUITY_PANELS, strict=True):
        for column, label in lines:
            values = rows[column].to_numpy(dtype=float)
            if np.isnan(values).all():
                ax.annotate(f"{label}: not known (no marketing spend loaded)", (0.02, 0.95),
                            xycoords="axes fraction", va="top", fontsize=8, color="grey")
                continue
            ax.plot(x, values, marker="o", label=label)
        ax.set_title(title)
        ax.set_ylabel(f"amount{money}" if is_money else "customers")
        ax.yaxis.set_major_formatter("{x:,.0f}")
        if ax.lines:
            ax.legend(loc="best", fontsize=8)
        ax.set_ylim(bottom=0)
        _period_axis(ax, rows["period"].astype(str).tolist())
    fig.suptitle(f"Customer equity, period by period ({segment})")
    fig.tight_layout()
    return fig


def plot_equity_by_segment(equity_metrics: pd.DataFrame,
                           metrics: Mapping[str, str] = EQUITY_SEGMENT_METRICS) -> plt.Figure:
    """The segments compared over the periods: one panel per metric, one line per segment.

    Parameters
    ----------
    equity_metrics
        The table ``equity_metrics``; the ``'All'`` rows are drawn as a dashed grey line
        for reference.
    metrics
        Column → label of the metrics to draw (default :data:`EQUITY_SEGMENT_METRICS`); a
        metric missing everywhere (acquisition cost without marketing spend) is left out.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per metric drawn.
    """
    require_frame_columns(equity_metrics, "equity_metrics",
                          ("period_end", "period", "segment", *metrics))
    drawn = [m for m in metrics if equity_metrics[m].notna().any()]
    if not drawn:
        raise ValueError("equity_metrics has no value for any of " + ", ".join(metrics))
    labels = (equity_metrics.drop_duplicates("period_end").sort_values("period_end")
              ["period"].astype(str).tolist())
    position = {end: i for i, end in enumerate(sorted(equity_metrics["period_end"].unique()))}
    fig, axes = plt.subplots(1, len(drawn), figsize=(4.2 * len(drawn), 4), squeeze=False)
    for ax, metric in zip(axes[0], drawn, strict=True):
        for segment, rows in equity_metrics.groupby("segment", sort=False):
            rows = rows.sort_values("period_end")
            style = {"color": "grey", "linestyle": "--"} if segment == "All" else {}
            ax.plot(rows["period_end"].map(position), rows[metric].to_numpy(dtype=float),
                    marker="o", markersize=3, label=segment, **style)
        ax.set_title(metrics[metric], fontsize=10)
        if metric == "share_active":
            ax.yaxis.set_major_formatter("{x:.0%}")
        _period_axis(ax, labels)
    axes[0, -1].legend(loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8, title="segment")
    fig.suptitle("Segments compared, period by period")
    fig.tight_layout()
    return fig


def plot_equity_changes(changes: pd.DataFrame, segment: str = "All", period: str | None = None,
                        ax: Axes | None = None) -> Axes:
    """How the main equity metrics moved from the period before: one bar per metric.

    A bar's length is the relative change; it is green when the change is good news (more
    customers or revenue, lower costs) and red when it is bad, and its label gives the two
    values. Metrics without a previous value to compare are left out.

    Parameters
    ----------
    changes
        From :func:`helpers.differentiate.equity_changes`.
    segment
        The segment (default ``'All'``).
    period
        The period's name (its ``period`` column); None for the latest.
    ax
        Axes to draw on; a new figure if None.

    Returns
    -------
    matplotlib.axes.Axes
        One horizontal bar per metric.
    """
    require_frame_columns(changes, "equity changes",
                          ("segment", "period_end", "period", "metric", "previous", "value",
                           "relative_change", "rise_is_good"))
    rows = changes[changes["segment"] == segment]
    if rows.empty:
        raise ValueError(f"no changes for segment {segment!r}: it needs two periods or more")
    if period is None:
        period = rows.loc[rows["period_end"].idxmax(), "period"]
    rows = rows[(rows["period"] == period) & rows["relative_change"].notna()]
    if rows.empty:
        raise ValueError(f"no change to show for segment {segment!r} in period {period!r}")
    good = np.where(rows["rise_is_good"], rows["relative_change"] > 0,
                    rows["relative_change"] < 0)
    y = np.arange(len(rows))
    if ax is None:
        ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.5), layout="constrained")[1]
    ax.barh(y, rows["relative_change"], color=np.where(good, "#55A868", "#C44E52"))
    ax.axvline(0, color="black", linewidth=1)
    for position, row in zip(y, rows.itertuples(), strict=True):
        shown = (".0%" if row.metric.startswith("share") else
                 ",.0f" if row.metric.endswith("customers") else ",.2f")
        rise = row.relative_change >= 0
        ax.annotate(f"{row.relative_change:+.1%} ({row.previous:{shown}} → {row.value:{shown}})",
                    (row.relative_change, position), xytext=(4 if rise else -4, 0),
                    textcoords="offset points", va="center", fontsize=8,
                    ha="left" if rise else "right")
    ax.set_yticks(y, [m.replace("_", " ") for m in rows["metric"]])
    ax.invert_yaxis()
    ax.margins(x=0.45)
    ax.xaxis.set_major_formatter("{x:+.0%}")
    ax.set(xlabel="change from the period before (green: good news, red: bad news)",
           title=f"What changed in {period} ({segment})")
    return ax


# --- CLV: validation, the probability-alive history, uncertainty, loyalty (helpers.clv) -----

__all__ += ["plot_alive_history", "plot_frequency_recency_matrix",
            "plot_probability_alive_matrix", "plot_tracking", "plot_holdout_by_frequency",
            "plot_model_comparison", "plot_loyalty", "plot_clv_interval"]

_ACTUAL, _MODEL = "#4C72B0", "#DD8452"


def plot_alive_history(history: pd.DataFrame,
                       roles: Mapping[str, str] | None = None) -> plt.Figure:
    """Probability alive day by day, one panel per customer, purchase days marked.

    Each panel shows the model's belief that the customer is still active, given what they had
    bought by that day: it jumps up at a purchase and decays while they are silent, faster for
    a customer who used to buy often. Under BG/NBD a customer who never bought again stays at
    100%: that model lets customers leave only right after a repeat purchase (MBG/NBD also
    right after the first one, Pareto/NBD at any time).

    Parameters
    ----------
    history
        From :func:`helpers.clv.history.alive_history`: columns ``customer_id``, ``date``,
        ``p_alive`` and ``purchase`` (True on a purchase day); customers in panel order.
    roles
        Optional words for a customer's panel title, by customer_id (e.g. the ``role`` of
        :func:`helpers.clv.history.customers_to_follow`).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per customer, each with one line (p_alive) and one set of purchase markers.
    """
    require_frame_columns(history, "history", ("customer_id", "date", "p_alive", "purchase"))
    if history.empty:
        raise ValueError("The history is empty: pass the result of alive_history for at least "
                         "one customer.")
    customers = list(dict.fromkeys(history["customer_id"]))
    fig, axes = plt.subplots(len(customers), 1, sharex=True, sharey=True, squeeze=False,
                             figsize=(9, 2.2 * len(customers) + 1))
    for ax, customer_id in zip(axes[:, 0], customers, strict=True):
        path = history[history["customer_id"] == customer_id]
        bought = path[path["purchase"].astype(bool)]
        ax.plot(path["date"], path["p_alive"], color=_ACTUAL, label="probability alive")
        ax.scatter(bought["date"], bought["p_alive"], color="#C44E52", zorder=3, s=18,
                   label="purchase day")
        role = f" ({roles[customer_id]})" if roles and customer_id in roles else ""
        days = f"{len(bought)} purchase day" + ("s" if len(bought) != 1 else "")
        ax.set_title(f"customer {customer_id}{role}: {days}, probability alive now "
                     f"{path['p_alive'].iloc[-1]:.0%}", loc="left", fontsize=10)
        ax.set(ylim=(0, 1.05), ylabel="P(alive)")
        ax.yaxis.set_major_formatter("{x:.0%}")
    axes[0, 0].legend(loc="lower left", fontsize=8)
    axes[-1, 0].set_xlabel("date")
    fig.suptitle("Probability alive day by day: up at each purchase, down while the customer "
                 "is silent")
    fig.tight_layout()
    return fig


def _history_grid(max_frequency: int, max_recency: int) -> tuple[np.ndarray, np.ndarray]:
    """Frequency and recency of every cell of a history matrix: rows are recency
    0..max_recency, columns frequency 0..max_frequency."""
    return np.meshgrid(np.arange(max_frequency + 1, dtype=float),
                       np.arange(max_recency + 1, dtype=float))


def _history_matrix(values: np.ndarray, title: str, unit: str, colour_label: str,
                    **imshow) -> Axes:
    """A frequency × recency heat map, laid out as lifetimes' own (row = recency), with
    plain-word labels and whole-number ticks (the theme's grid would cross the cells: off)."""
    fig, ax = plt.subplots(figsize=(7, 6))
    image = ax.imshow(values, interpolation="none", aspect="auto", **imshow)
    fig.colorbar(image, ax=ax, label=colour_label)
    ax.set(title=title, xlabel="repeat purchases so far (frequency)",
           ylabel=f"{unit} from first to last purchase (recency)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(False)
    return ax


def plot_frequency_recency_matrix(fitter, max_frequency: int, max_recency: int, t: float,
                                  unit: str = "weeks") -> Axes:
    """Expected purchases in the next ``t`` time units by frequency and recency.

    For a customer first seen ``max_recency`` units ago (T = max_recency): the bottom right
    (many purchases, the last one recent) buys most; a frequent buyer silent for long (top
    right) is probably gone. The matrix of lifetimes' ``plot_frequency_recency_matrix``,
    computed in one vectorised call instead of one call per cell.

    Parameters
    ----------
    fitter
        A fitted lifetimes purchase model (BG/NBD, Pareto/NBD or MBG/NBD) with ``params_``.
    max_frequency, max_recency
        The largest frequency (columns 0..max_frequency) and recency (rows 0..max_recency,
        in model time units) shown.
    t
        The prediction horizon, in model time units.
    unit
        The model time unit in words, for the labels ("weeks", "days").

    Returns
    -------
    matplotlib.axes.Axes
        With one image: row = recency, column = frequency.
    """
    frequency, recency = _history_grid(max_frequency, max_recency)
    expected = np.asarray(fitter.conditional_expected_number_of_purchases_up_to_time(
        t, frequency.ravel(), recency.ravel(), float(max_recency)), dtype=float)
    return _history_matrix(
        expected.reshape(frequency.shape),
        f"Expected purchases in the next {t:g} {unit}, by purchase history\n"
        f"(customers first seen {max_recency:g} {unit} ago)",
        unit, f"expected purchases in the next {t:g} {unit}", cmap="viridis")


def plot_probability_alive_matrix(fitter, max_frequency: int, max_recency: int,
                                  unit: str = "weeks") -> Axes:
    """Probability alive by frequency and recency, for customers first seen ``max_recency``
    units ago.

    Reads like :func:`plot_frequency_recency_matrix`: a customer whose last purchase is recent
    (bottom rows) is likely alive; the more often they used to buy, the sooner a silence means
    they have left. The matrix of lifetimes' ``plot_probability_alive_matrix``, computed in one
    vectorised call.

    Parameters
    ----------
    fitter
        A fitted lifetimes purchase model with ``params_``.
    max_frequency, max_recency
        The largest frequency and recency (model time units) shown.
    unit
        The model time unit in words, for the labels.

    Returns
    -------
    matplotlib.axes.Axes
        With one image: row = recency, column = frequency.
    """
    frequency, recency = _history_grid(max_frequency, max_recency)
    alive = np.asarray(fitter.conditional_probability_alive(
        frequency.ravel(), recency.ravel(), np.full(frequency.size, float(max_recency))),
        dtype=float)
    return _history_matrix(
        alive.reshape(frequency.shape),
        f"Probability a customer is still active, by purchase history\n"
        f"(customers first seen {max_recency:g} {unit} ago)",
        unit, "probability alive", cmap="RdYlGn", vmin=0, vmax=1)


def plot_tracking(tracking: pd.DataFrame, calibration_end, period: str = "week") -> plt.Figure:
    """Repeat purchases per period and cumulated, actual vs model, across calibration and
    holdout.

    Left of the dashed line the model was fitted on these purchases; right of it, it forecasts
    purchases it has not seen: the lines should stay together there.

    Parameters
    ----------
    tracking
        One row per period in order: ``period``, ``period_start`` (date),
        ``repeat_purchases`` (actual) and ``expected_repeat_purchases`` (model).
    calibration_end
        The last day of the calibration period (a date).
    period
        The period's name in words, for the labels.

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes (per period, cumulative), each with the actual and the model line.
    """
    require_frame_columns(tracking, "tracking", ("period", "period_start", "repeat_purchases",
                                                 "expected_repeat_purchases"))
    tracking = tracking.sort_values("period")
    start = pd.to_datetime(tracking["period_start"])
    actual = tracking["repeat_purchases"].to_numpy(dtype=float)
    expected = tracking["expected_repeat_purchases"].to_numpy(dtype=float)
    fig, (per_period, cumulative) = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, (observed, model), what in (
            (per_period, (actual, expected), f"repeat purchases per {period}"),
            (cumulative, (actual.cumsum(), expected.cumsum()), "cumulative repeat purchases")):
        ax.plot(start, observed, color=_ACTUAL, label="actual")
        ax.plot(start, model, color=_MODEL, linestyle="--", label="model")
        ax.axvline(pd.Timestamp(calibration_end), color="black", linestyle=":", linewidth=1)
        ax.annotate("calibration | holdout", (pd.Timestamp(calibration_end), 1),
                    xycoords=("data", "axes fraction"), xytext=(0, -4),
                    textcoords="offset points", ha="center", va="top", fontsize=8)
        ax.set(xlabel=f"{period} starting", ylabel=what, title=what.capitalize())
        ax.yaxis.set_major_formatter("{x:,.0f}")
        ax.legend(loc="lower right" if ax is cumulative else "upper right")
    fig.suptitle("Tracking: does the model follow the purchases it did not see?")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_holdout_by_frequency(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Mean repeat purchases in the holdout, actual vs predicted, by purchases in calibration.

    Fader, Hardie and Lee's conditional-expectation check: the model must get right not only
    the total but who buys, from the one-time buyers to the most frequent.

    Parameters
    ----------
    table
        One row per calibration frequency in order: ``frequency_cal`` (the last row is the
        open bucket, e.g. 7 meaning 7 or more), ``actual_mean`` and ``predicted_mean``.
    ax
        Axes to draw on; a new figure if None.

    Returns
    -------
    matplotlib.axes.Axes
        With two lines, actual and predicted.
    """
    require_frame_columns(table, "holdout by frequency",
                          ("frequency_cal", "actual_mean", "predicted_mean"))
    table = table.sort_values("frequency_cal")
    labels = [f"{int(f)}" for f in table["frequency_cal"]]
    labels[-1] += "+"
    ax = ax if ax is not None else plt.subplots(figsize=(8, 4.5))[1]
    x = np.arange(len(table))
    ax.plot(x, table["actual_mean"].to_numpy(dtype=float), marker="o", color=_ACTUAL,
            label="actual")
    ax.plot(x, table["predicted_mean"].to_numpy(dtype=float), marker="o", linestyle="--",
            color=_MODEL, label="model")
    ax.set_xticks(x, labels)
    ax.set(xlabel="repeat purchases in the calibration period",
           ylabel="mean repeat purchases in the holdout",
           title="Holdout purchases by calibration purchases: actual vs model")
    ax.legend(loc="upper left")
    return ax


def plot_model_comparison(comparison: pd.DataFrame) -> plt.Figure:
    """The purchase models side by side: holdout error per customer, and BIC.

    Parameters
    ----------
    comparison
        One row per model: ``model``, ``holdout_mae``, ``holdout_rmse`` (repeat purchases per
        customer in the holdout) and ``bic`` (on the calibration period).

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes: the errors (a MAE and an RMSE bar per model) and BIC (a bar per model).
        Lower is better on both.
    """
    require_frame_columns(comparison, "model comparison",
                          ("model", "holdout_mae", "holdout_rmse", "bic"))
    names = [MODEL_NAMES.get(model, model) for model in comparison["model"]]
    x = np.arange(len(comparison))
    fig, (errors, bic) = plt.subplots(1, 2, figsize=(11, 4))
    errors.bar(x - 0.2, comparison["holdout_mae"], width=0.4, color=_ACTUAL,
               label="mean absolute error")
    errors.bar(x + 0.2, comparison["holdout_rmse"], width=0.4, color=_MODEL,
               label="root mean squared error")
    errors.set_xticks(x, names)
    errors.set(ylabel="repeat purchases per customer",
               title="Holdout error (lower is better)")
    errors.legend(loc="lower right", fontsize=8)
    bic.bar(x, comparison["bic"], color="#8C8C8C")
    bic.set_xticks(x, names)
    # BICs differ by tens on values in the thousands: start the axis near the smallest
    low, high = comparison["bic"].min(), comparison["bic"].max()
    bic.set_ylim(low - 0.5 * (high - low) - 1, high + 0.2 * (high - low) + 1)
    bic.set(ylabel="BIC on the calibration period", title="BIC (lower is better)")
    fig.suptitle("Which purchase model forecasts best")
    fig.tight_layout()
    return fig


def plot_loyalty(scenarios: pd.DataFrame, currency: str = "",
                 ax: Axes | None = None) -> Axes:
    """Total customer equity now and if fewer customers dropped out, with each gain.

    Parameters
    ----------
    scenarios
        One row per scenario, the current one first: ``scenario`` (its name),
        ``dropout_cut`` (0 for now, 0.1 for a 10% lower dropout probability …),
        ``total_equity`` and ``gain`` (over now).
    currency
        For the axis label.
    ax
        Axes to draw on; a new figure if None.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per scenario, its height the total equity.
    """
    require_frame_columns(scenarios, "loyalty scenarios",
                          ("scenario", "dropout_cut", "total_equity", "gain"))
    ax = ax if ax is not None else plt.subplots(figsize=(8, 4.5))[1]
    x = np.arange(len(scenarios))
    colours = np.where(scenarios["dropout_cut"].to_numpy(dtype=float) > 0, "#55A868", "#8C8C8C")
    ax.bar(x, scenarios["total_equity"], color=colours)
    for position, row in zip(x, scenarios.itertuples(), strict=True):
        text = f"{row.total_equity:,.0f}"
        if row.dropout_cut > 0:
            text += f"\n+{row.gain:,.0f} ({row.gain / (row.total_equity - row.gain):+.1%})"
        ax.annotate(text, (position, row.total_equity), xytext=(0, 3),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [f"{row.scenario}\n(dropout -{row.dropout_cut:.0%})" if row.dropout_cut
                      else row.scenario for row in scenarios.itertuples()])
    ax.margins(y=0.15)
    money = f" ({currency})" if currency else ""
    ax.set(ylabel=f"total customer equity{money}",
           title="The value of loyalty: customer equity if fewer customers dropped out")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    return ax


def plot_clv_interval(per_customer: pd.DataFrame, n: int = 20, level: float = 0.95,
                      currency: str = "", ax: Axes | None = None) -> Axes:
    """CLV of the ``n`` most valuable customers, each with its uncertainty interval.

    Parameters
    ----------
    per_customer
        One row per customer: ``clv``, ``clv_low``, ``clv_high``; ``customer_id`` labels the
        rows when present.
    n
        How many customers, highest CLV first.
    level
        The interval's coverage, for the title.
    currency
        For the axis label.
    ax
        Axes to draw on; a new figure if None.

    Returns
    -------
    matplotlib.axes.Axes
        One point per customer at its CLV (top row the highest) and a line over its interval.
    """
    require_frame_columns(per_customer, "clv", ("clv", "clv_low", "clv_high"))
    keys = ["clv", "customer_id"] if "customer_id" in per_customer else ["clv"]
    top = per_customer.sort_values(keys, ascending=[False] + [True] * (len(keys) - 1),
                                   kind="stable").head(n)
    rows = np.arange(len(top))
    ax = ax if ax is not None else plt.subplots(figsize=(8, 0.3 * len(top) + 1.5))[1]
    ax.hlines(rows, top["clv_low"], top["clv_high"], color=_ACTUAL, linewidth=2,
              label=f"{level:.0%} interval")
    ax.plot(top["clv"].to_numpy(dtype=float), rows, "o", color="black", label="estimate")
    labels = top["customer_id"].astype(str) if "customer_id" in top else rows + 1
    ax.set_yticks(rows, labels)
    ax.invert_yaxis()
    money = f" ({currency})" if currency else ""
    ax.set(xlabel=f"customer lifetime value{money}", ylabel="customer",
           title=f"CLV of the {len(top)} most valuable customers, with {level:.0%} intervals")
    ax.xaxis.set_major_formatter("{x:,.0f}")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_tiers(tiers: pd.DataFrame, currency: str = "") -> plt.Figure:
    """Bar charts of customers and of value per tier.

    Parameters
    ----------
    tiers
        The output of :func:`helpers.segment.tier_summary` (tier, customers,
        current_value_total, future_value_total).
    currency
        Shown in the value axis' label.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    sns.barplot(data=tiers, y="tier", x="customers", hue="tier", palette=TIER_COLOURS,
                legend=False, ax=left)
    left.set(title="Customers per tier", xlabel="customers", ylabel="")
    values = tiers.melt(id_vars="tier", value_vars=["current_value_total", "future_value_total"],
                        var_name="value", value_name="amount")
    values["value"] = values["value"].map({"current_value_total": "profit, current window",
                                           "future_value_total": "CLV, next horizon (net)"})
    sns.barplot(data=values, y="tier", x="amount", hue="value", ax=right)
    unit = f" ({currency})" if currency else ""
    right.set(title="Value per tier", xlabel=f"total value{unit}", ylabel="")
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ += ["plot_value_potential"]

#: One colour per value tier, in :data:`helpers.segment.TIERS` order, in every chart.
TIER_COLOURS = dict(zip(TIERS, ("#1b7837", "#2166ac", "#999999", "#b2182b"), strict=True))


#: Most dots a per-customer scatter plot draws; past it, a seeded sample in proportion.
MAX_SCATTER_POINTS = 20_000


def plot_value_potential(segments: pd.DataFrame, currency: str = "",
                         ax: Axes | None = None) -> Axes:
    """The value–potential map: current profit against predicted CLV, one dot per customer.

    Parameters
    ----------
    segments
        The table ``segments``: current_value, future_value, tier.
    currency
        Shown in the axis labels.

    Notes
    -----
    Both axes are symmetric-log (linear within ±10, logarithmic beyond): money per customer
    is skewed, with a long tail of large customers and losses below zero that a linear axis
    would squash into one corner. The diagonal is future = current. Past
    :data:`MAX_SCATTER_POINTS` customers, a seeded sample of each tier in proportion is drawn
    (the title says so); the axes still span every customer.
    """
    require_frame_columns(segments, "segments", ("current_value", "future_value", "tier"))
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 6))
    shown = segments
    if len(segments) > MAX_SCATTER_POINTS:  # a million dots draw slowly and show no more
        shown = segments.groupby("tier", observed=True).sample(
            frac=MAX_SCATTER_POINTS / len(segments), random_state=0)
    sns.scatterplot(data=shown, x="current_value", y="future_value", hue="tier",
                    hue_order=list(TIERS), palette=TIER_COLOURS, s=10, alpha=0.5,
                    linewidth=0, ax=ax)
    ax.set_xscale("symlog", linthresh=10)
    ax.set_yscale("symlog", linthresh=10)
    low = min(segments["current_value"].min(), segments["future_value"].min(), 0)
    high = max(segments["current_value"].max(), segments["future_value"].max(), 1)
    ax.plot([low, high], [low, high], color="black", linewidth=0.8, linestyle=":")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.axvline(0, color="black", linewidth=0.5)
    unit = f" ({currency})" if currency else ""
    sampled = (f" (a sample of {len(shown):,} of {len(segments):,} customers)"
               if len(shown) < len(segments) else "")
    ax.set(title=f"Value today against value tomorrow{sampled}",
           xlabel=f"profit, current window{unit}", ylabel=f"predicted CLV, net{unit}")
    ax.legend(title="tier", loc="upper left", fontsize=8, markerscale=2)
    return ax


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


# --- initiatives and satisfaction (helpers.differentiate.initiatives, .satisfaction) ---------

__all__ += ["plot_campaign_tracking", "plot_nps", "plot_nps_drivers"]

#: Colours of the campaign groups and of the NPS bands.
_GROUP_COLOURS = {"treated": "#DD8452", "control": "#4C72B0"}
_BAND_COLOURS = {"promoters": "#55A868", "passives": "#8C8C8C", "detractors": "#C44E52"}


def plot_campaign_tracking(tracking: pd.DataFrame, effects: pd.DataFrame,
                           campaign_id: str | None = None,
                           revenue: str = "revenue") -> plt.Figure:
    """Treated against control: cumulative purchases and revenue per customer, week by week
    after exposure.

    The two lines start together at exposure; a campaign that works opens a gap that grows
    and stays. Each panel's title gives the difference at the end of the window with its 95%
    interval (``campaign_effects``): an interval that holds 0 means the gap may be chance.

    Parameters
    ----------
    tracking
        The table ``campaign_tracking`` (campaign_id, exposure_group, days_followed,
        purchases_per_customer, ``<revenue>_per_customer``).
    effects
        The table ``campaign_effects`` (campaign_id, metric, unit, difference, ci_low,
        ci_high, n_treated, n_control, window_days).
    campaign_id
        The campaign to show; None for the first one.
    revenue
        ``'revenue'`` (before returns, default) or ``'net_revenue'``.

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes: purchases and revenue per customer, one line per group.
    """
    require_frame_columns(tracking, "campaign_tracking",
                          ("campaign_id", "exposure_group", "days_followed",
                           "purchases_per_customer", f"{revenue}_per_customer"))
    require_frame_columns(effects, "campaign_effects",
                          ("campaign_id", "metric", "unit", "difference", "ci_low", "ci_high",
                           "n_treated", "n_control", "window_days"))
    if tracking.empty:
        raise ValueError("campaign_tracking is empty: no campaign is loaded")
    campaign_id = campaign_id if campaign_id is not None else sorted(tracking["campaign_id"])[0]
    rows = tracking[tracking["campaign_id"] == campaign_id].sort_values("days_followed")
    if rows.empty:
        raise ValueError(f"campaign_tracking has no campaign {campaign_id!r}; its campaigns "
                         f"are {', '.join(sorted(tracking['campaign_id'].unique()))}")
    found = effects[effects["campaign_id"] == campaign_id].set_index("metric")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
    for ax, metric in zip(axes, ("purchases", revenue), strict=True):
        for group, colour in _GROUP_COLOURS.items():
            line = rows[rows["exposure_group"] == group]
            ax.plot(np.r_[0, line["days_followed"] / 7], np.r_[0, line[f"{metric}_per_customer"]],
                    color=colour, marker=".", label=f"{group}")
        title = metric.replace("_", " ").capitalize() + " per customer"
        if metric in found.index and not np.isnan(found.at[metric, "ci_low"]):
            effect = found.loc[metric]
            title += (f"\ndifference {effect['difference']:+,.3g} "
                      f"(95% CI {effect['ci_low']:+,.3g} to {effect['ci_high']:+,.3g})")
        unit = found.at[metric, "unit"] if metric in found.index else metric
        ax.set(xlabel="weeks since exposure", ylabel=f"cumulative {unit}", title=title)
        ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
        ax.legend(loc="upper left")
    if len(found):
        first = found.iloc[0]
        fig.suptitle(f"Campaign {campaign_id}: {first['n_treated']:,} treated, "
                     f"{first['n_control']:,} control, followed {first['window_days']} days")
    fig.tight_layout()
    return fig


def plot_nps(satisfaction: pd.DataFrame, breakdown: str = "rfm_segment") -> plt.Figure:
    """NPS per group with its 95% interval, as horizontal bars; the dashed line is everyone's.

    Groups whose interval overlaps the dashed line are not clearly different from the whole
    base; the number of respondents is written beside each bar (few respondents, wide
    interval).

    Parameters
    ----------
    satisfaction
        The table ``satisfaction`` (breakdown, segment, respondents, nps, nps_low, nps_high)
        or the output of :func:`helpers.differentiate.nps_by` (without ``breakdown``: all
        its rows are drawn).
    breakdown
        The rows of ``satisfaction`` to draw: ``'rfm_segment'``, ``'customer_type'`` or
        ``'all'``.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes, the groups sorted by NPS, best at the top.
    """
    require_frame_columns(satisfaction, "satisfaction",
                          ("segment", "respondents", "nps", "nps_low", "nps_high"))
    if "breakdown" in satisfaction.columns:
        everyone = satisfaction[satisfaction["breakdown"] == "all"]["nps"]
        rows = satisfaction[satisfaction["breakdown"] == breakdown]
    else:
        everyone, rows = pd.Series(dtype=float), satisfaction
    if rows.empty:
        raise ValueError(f"satisfaction has no rows for breakdown {breakdown!r}: is a survey "
                         f"loaded?")
    rows = rows.sort_values(["nps", "segment"], ascending=[True, True])
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.6))
    y = np.arange(len(rows))
    nps = rows["nps"].to_numpy(dtype=float)
    ax.barh(y, nps, color=np.where(nps >= 0, "#55A868", "#C44E52"),
            xerr=[nps - rows["nps_low"].to_numpy(dtype=float),
                  rows["nps_high"].to_numpy(dtype=float) - nps],
            error_kw={"ecolor": "black", "capsize": 3, "linewidth": 1})
    for row, (value, count) in enumerate(zip(rows["nps_high"], rows["respondents"],
                                             strict=True)):
        ax.annotate(f"n = {count:,}", (value, row), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(y, rows["segment"].astype(str))
    ax.axvline(0, color="black", linewidth=1)
    if len(everyone):
        ax.axvline(everyone.iloc[0], color="grey", linestyle="--",
                   label=f"all respondents: {everyone.iloc[0]:+.0f}")
        ax.legend(loc="lower right", fontsize=8)
    ax.set(xlim=(-100, 100), xlabel="NPS (% promoters - % detractors), with its 95% interval",
           ylabel="", title=f"Net Promoter Score by {breakdown.replace('_', ' ')}")
    fig.tight_layout()
    return fig


def plot_nps_drivers(nps_drivers: pd.DataFrame) -> plt.Figure:
    """Mean rating of each driver by promoters, passives and detractors (a dot plot).

    The wider apart a driver's green and red dots, the more it separates the customers who
    recommend the company from those who warn against it; drivers are sorted that way, most
    separating at the top, with the separation and its 95% interval on the right.

    Parameters
    ----------
    nps_drivers
        The table ``nps_drivers`` (driver, mean_promoters, mean_passives, mean_detractors,
        separation, separation_low, separation_high).

    Returns
    -------
    matplotlib.figure.Figure
        One Axes.
    """
    require_frame_columns(nps_drivers, "nps_drivers",
                          ("driver", "mean_promoters", "mean_passives", "mean_detractors",
                           "separation", "separation_low", "separation_high"))
    if nps_drivers.empty:
        raise ValueError("nps_drivers is empty: no survey with driver ratings is loaded")
    rows = nps_drivers.iloc[::-1]  # the most separating (first row) at the top
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.6))
    ax.hlines(y, rows[["mean_promoters", "mean_detractors"]].min(axis=1),
              rows[["mean_promoters", "mean_detractors"]].max(axis=1), color="lightgrey",
              linewidth=3, zorder=1)
    for band, colour in _BAND_COLOURS.items():
        ax.scatter(rows[f"mean_{band}"], y, color=colour, s=60, label=band, zorder=2)
    for row, (top, low, high) in enumerate(zip(
            rows[["mean_promoters", "mean_passives", "mean_detractors"]].max(axis=1),
            rows["separation_low"], rows["separation_high"], strict=True)):
        separation = rows["separation"].iloc[row]
        text = f"{separation:+.2f}" + ("" if np.isnan(low) else f" ({low:+.2f} to {high:+.2f})")
        ax.annotate(text, (top, row), xytext=(8, 0), textcoords="offset points", va="center",
                    fontsize=8)
    ax.set_yticks(y, rows["driver"].astype(str))
    ax.margins(x=0.25)
    ax.set(xlabel="mean rating (the survey's scale)", ylabel="",
           title="What separates promoters from detractors")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


# --- below-zero customers and concentration (helpers.differentiate.below_zero, .concentration)

__all__ += ["plot_lorenz", "plot_whale_curve", "plot_rfm_segments", "plot_below_zero"]

#: Points drawn per curve: a million customers draw as fast as a thousand, and look the same.
_CURVE_POINTS = 2000


def _thin(n: int, keep: tuple[int, ...] = ()) -> np.ndarray:
    """About :data:`_CURVE_POINTS` evenly spaced indices of ``range(n)``, both ends and
    ``keep`` (a curve's peak or dip) included."""
    spaced = np.linspace(0, n - 1, min(n, _CURVE_POINTS)).round().astype(int)
    return np.unique(np.r_[spaced, np.asarray(keep, dtype=int)])


def plot_lorenz(customer_value: pd.DataFrame, columns: tuple[str, ...] | None = None,
                ax: Axes | None = None) -> plt.Figure:
    """Lorenz curves: the share of the value held by the least valuable customers.

    Read it from the left: the curve at 50% of customers says what the less valuable half
    brings. The diagonal is a base where everyone is worth the same; the further a curve
    sags below it, the more the value rests on a few customers, and the Gini coefficient in
    the legend measures that gap (0: all equal, close to 1: one customer has everything). A
    profit curve dips below 0 first: those customers lose money, and the dip is what they
    lose, as a share of the total profit.

    Parameters
    ----------
    customer_value
        The table ``customer_value`` with the ``columns``.
    columns
        The value columns; default ``net_revenue`` and the profit basis
        (:func:`helpers.differentiate.profit_basis`).
    ax
        Axes to draw on; a new figure if None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    columns = columns or ("net_revenue", profit_basis(customer_value))
    ax = ax if ax is not None else plt.subplots(figsize=(7, 5.5))[1]
    for column in columns:
        values = profit_values(customer_value, column)
        curve = lorenz_curve(values)
        label = f"{value_label(column)} (Gini {gini(values):.2f})"
        if curve["share_of_value"].isna().all():
            ax.plot([], [], label=f"{label}: not positive in total, no curve")
            continue
        shown = curve.iloc[_thin(len(curve), (int(curve["share_of_value"].idxmin()),))]
        ax.plot(shown["share_of_customers"], shown["share_of_value"], label=label)
        dip = curve["share_of_value"].min()
        if dip < 0:
            ax.annotate(f"the below-zero customers lose {-dip:.1%} of it",
                        (curve["share_of_customers"].iloc[curve["share_of_value"].idxmin()], dip),
                        textcoords="offset points", xytext=(6, -12), fontsize=8)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="all customers equal")
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set(xlabel="share of customers, least valuable first", ylabel="share of the total",
           title="Lorenz curves")
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.yaxis.set_major_formatter("{x:.0%}")
    ax.legend(loc="upper left", fontsize=8)
    return ax.figure


def plot_whale_curve(customer_value: pd.DataFrame, profit: str | None = None,
                     ax: Axes | None = None) -> plt.Figure:
    """The whale curve: cumulative share of profit, the most profitable customers first.

    The curve climbs while customers add profit, peaks above 100% after the last profitable
    one, and falls back to 100% as the below-zero customers take their losses off: the
    height of the peak over 100% is the profit they cost. A curve that passes 100% is not an
    error.

    Parameters
    ----------
    customer_value
        ``customer_id`` and the profit column.
    profit
        Default :func:`helpers.differentiate.profit_basis`.
    ax
        Axes to draw on; a new figure if None.

    Returns
    -------
    matplotlib.figure.Figure
    """
    curve = whale_curve(customer_value, profit)
    label = value_label(profit or profit_basis(customer_value))
    if not curve["is_peak"].any():
        raise ValueError(f"the customers' {label} is not positive in total: there is no share "
                         f"of it to draw")
    peak = curve[curve["is_peak"]].iloc[0]
    shown = curve.iloc[_thin(len(curve), (int(peak["customers"]),))]
    ax = ax if ax is not None else plt.subplots(figsize=(7, 5))[1]
    ax.plot(shown["share_of_customers"], shown["share_of_profit"], color="#4C72B0")
    ax.axhline(1, color="grey", linestyle="--", linewidth=1, label=f"all the {label}")
    ax.scatter([peak["share_of_customers"]], [peak["share_of_profit"]], color="black", zorder=3)
    ax.annotate(f"peak: the top {peak['share_of_customers']:.0%} bring "
                f"{peak['share_of_profit']:.1%}\nthe other {1 - peak['share_of_customers']:.0%} "
                f"lose {peak['share_of_profit'] - 1:.1%} of it",
                (peak["share_of_customers"], peak["share_of_profit"]),
                textcoords="offset points", xytext=(-10, -32), ha="right", fontsize=8)
    ax.set(xlabel="share of customers, most profitable first",
           ylabel=f"cumulative share of {label}", title="Whale curve")
    ax.set_ylim(bottom=0, top=max(1.05, peak["share_of_profit"] * 1.05))
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.yaxis.set_major_formatter("{x:.0%}")
    ax.legend(loc="lower right", fontsize=8)
    return ax.figure


def plot_rfm_segments(summary: pd.DataFrame) -> plt.Figure:
    """Each named RFM segment's share of the customers against its share of the profit.

    A segment whose profit bar is longer than its customer bar is worth more than its size;
    a profit bar to the left of 0 is a segment that loses money.

    Parameters
    ----------
    summary
        From :func:`helpers.differentiate.rfm_segment_summary` (``rfm_segment``,
        ``customers``, ``share_of_customers``, ``share_of_profit``); drawn in its order, the
        first segment at the top.

    Returns
    -------
    matplotlib.figure.Figure
    """
    require_frame_columns(summary, "RFM segment summary",
                          ("rfm_segment", "customers", "share_of_customers", "share_of_profit"))
    if summary.empty:
        raise ValueError("the RFM segment summary is empty: customer_value has no customer")
    y = np.arange(len(summary))
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(summary) + 1.6))
    for offset, column, colour, label in ((-0.2, "share_of_customers", "#8C8C8C", "customers"),
                                          (0.2, "share_of_profit", "#55A868", "profit")):
        values = summary[column].to_numpy(dtype=float)
        colours = np.where(values < 0, "#C44E52", colour)
        ax.barh(y + offset, values, height=0.4, color=colours, label=f"share of {label}")
        for row, value in zip(y, values, strict=True):
            if not np.isnan(value):
                rise = value >= 0
                ax.annotate(f"{value:.0%}", (value, row + offset), xytext=(3 if rise else -3, 0),
                            textcoords="offset points", va="center", fontsize=7,
                            ha="left" if rise else "right")
    ax.set_yticks(y, [f"{name} ({count:,})" for name, count in
                      zip(summary["rfm_segment"].astype(str), summary["customers"], strict=True)])
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=1)
    ax.margins(x=0.12)
    ax.xaxis.set_major_formatter("{x:.0%}")
    ax.set(xlabel="share of all customers / of the total profit", ylabel="",
           title="RFM segments: size against profit")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_below_zero(reasons: pd.DataFrame, currency: str = "") -> plt.Figure:
    """Below-zero customers by main reason: how many (left) and how much they lose (right).

    Parameters
    ----------
    reasons
        From :func:`helpers.differentiate.below_zero_reasons` (``reason``, ``customers``,
        ``loss``).
    currency
        For the loss axis.

    Returns
    -------
    matplotlib.figure.Figure
        Two Axes sharing the reasons.
    """
    require_frame_columns(reasons, "below-zero reasons", ("reason", "customers", "loss"))
    y = np.arange(len(reasons))
    money = f" ({currency})" if currency else ""
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.5 * len(reasons) + 1.8), sharey=True)
    for ax, column, label, shown in ((axes[0], "customers", "customers", ",.0f"),
                                     (axes[1], "loss", f"loss{money}", ",.0f")):
        values = reasons[column].to_numpy(dtype=float)
        ax.barh(y, values, color="#C44E52")
        for row, value in zip(y, values, strict=True):
            ax.annotate(f"{value:{shown}}", (value, row), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8)
        ax.margins(x=0.15)
        ax.set(xlabel=label)
        ax.xaxis.set_major_formatter("{x:,.0f}")
    axes[0].set_yticks(y, reasons["reason"].astype(str))
    axes[0].invert_yaxis()
    fig.suptitle(f"{int(reasons['customers'].sum()):,} customers below zero, losing "
                 f"{reasons['loss'].sum():,.0f}{money} between them: main reason")
    fig.tight_layout()
    return fig


# --- segment and act (helpers.segment) ------------------------------------------------------

__all__ += ["plot_silhouettes", "plot_cluster_profiles", "plot_affinity", "plot_early_value"]


def plot_silhouettes(silhouettes: pd.DataFrame, k: int, ax: Axes | None = None) -> Axes:
    """Mean silhouette against the number of clusters, the chosen ``k`` marked.

    Needs ``k`` and ``silhouette`` (:func:`helpers.segment.clusters.choose_k`).
    """
    require_frame_columns(silhouettes, "silhouettes", ("k", "silhouette"))
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(silhouettes["k"], silhouettes["silhouette"], marker="o", color="#4C72B0")
    chosen = silhouettes.loc[silhouettes["k"] == k, "silhouette"].iloc[0]
    ax.scatter([k], [chosen], s=120, facecolors="none", edgecolors="#b2182b", linewidths=2,
               label=f"chosen: k = {k}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(title="Which number of clusters separates customers best?", xlabel="clusters (k)",
           ylabel="mean silhouette")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def plot_cluster_profiles(result, ax: Axes | None = None) -> Axes:
    """Heatmap of each cluster's mean features, in standard deviations from all customers.

    ``result`` is a :class:`helpers.segment.clusters.ClusterResult` (features, labels,
    profiles): a cell far from 0 is what sets the cluster apart; the row labels are the
    generated names.
    """
    from helpers.segment.clusters import standardised

    scaled = standardised(result.features)
    means = scaled.groupby(result.labels.reindex(scaled.index)).mean()
    names = result.profiles.set_index("cluster")["name"]
    means.index = [f"{c}. {names[c]}" for c in means.index]
    means.columns = [c.removeprefix("share_") for c in means.columns]
    if ax is None:
        _, ax = plt.subplots(figsize=(max(7, 0.7 * means.shape[1] + 4),
                                      0.6 * len(means) + 1.5))
    sns.heatmap(means, cmap="RdBu_r", center=0, vmin=-1.5, vmax=1.5, annot=True, fmt=".1f",
                cbar_kws={"label": "standard deviations from the mean"}, ax=ax)
    ax.set(title="What sets each cluster apart", xlabel="", ylabel="")
    return ax


def plot_affinity(category_affinity: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Heatmap of the lift between categories: row = bought, column = also bought.

    Needs ``antecedent``, ``consequent`` and ``lift`` (``category_affinity``); pairs not
    trusted (``trusted`` False, when the column is there) are left blank.
    """
    require_frame_columns(category_affinity, "category_affinity",
                          ("antecedent", "consequent", "lift"))
    pairs = category_affinity
    if "trusted" in pairs.columns:
        pairs = pairs[pairs["trusted"]]
    matrix = pairs.pivot(index="antecedent", columns="consequent", values="lift")
    labels = sorted(set(category_affinity["antecedent"]) | set(category_affinity["consequent"]))
    matrix = matrix.reindex(index=labels, columns=labels)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.8 * len(labels) + 3, 0.6 * len(labels) + 2))
    sns.heatmap(matrix, cmap="RdBu_r", center=1, annot=True, fmt=".2f",
                cbar_kws={"label": "lift (1 = no affinity)"}, ax=ax)
    ax.set(title="Buyers of the row's category buy the column's this many times as often",
           xlabel="also bought", ylabel="bought")
    return ax


def plot_early_value(result, ax: Axes | None = None) -> Axes:
    """How much lower each predictor's holdout error is than the overall mean's, in percent.

    ``result`` is a :class:`helpers.segment.early_value.EarlyValueResult` (errors: features,
    predictor, rmse, chosen); the chosen models are outlined. A bar at 0 is no better than
    guessing the average; the channel-mean bar is the baseline a model must beat.
    """
    errors = result.errors
    require_frame_columns(errors, "errors", ("features", "predictor", "rmse", "chosen"))
    naive = errors[errors["predictor"] == "overall mean"].set_index("features")["rmse"]
    gains = errors.assign(gain=100 * (1 - errors["rmse"] / errors["features"].map(naive)))
    gains = gains[gains["predictor"] != "overall mean"]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    sns.barplot(data=gains, y="predictor", x="gain", hue="features", ax=ax)
    for bars, (_, group) in zip(ax.containers, gains.groupby("features", sort=False),
                                strict=False):
        for bar, chosen in zip(bars, group["chosen"], strict=False):
            if chosen:
                bar.set_edgecolor("black")
                bar.set_linewidth(2)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set(title="Early value on the holdout (outlined: the chosen models)",
           xlabel="RMSE lower than the overall mean's (%)", ylabel="")
    ax.legend(title="what the model knows", fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1))
    return ax
