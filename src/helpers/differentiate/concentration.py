"""How concentrated customer value is: Lorenz curves, the Gini coefficient, the whale curve,
the sentence the report needs, and the value of each named RFM segment (notebook 02).

Everything here takes the per-customer table ``customer_value`` (or one of its columns) read
into pandas, and is vectorised: sorting and cumulative sums, no loop over customers. Profit
is read on the basis of :func:`helpers.differentiate.below_zero.profit_basis` unless a column
is named.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.differentiate.below_zero import profit_values
from helpers.differentiate.value import value_concentration
from helpers.warehouse import require_frame_columns

__all__ = ["lorenz_curve", "gini", "whale_curve", "concentration_sentence",
           "rfm_segment_summary", "value_label"]

#: How the sentences and charts name the usual value columns.
_LABELS = {"profit": "profit", "profit_after_acquisition": "profit after acquisition cost",
           "profit_12m": "current profit", "net_revenue": "net revenue",
           "net_revenue_12m": "current net revenue", "revenue": "revenue"}


def value_label(column: str) -> str:
    """How a value column reads in a sentence: ``'profit_after_acquisition'`` →
    ``'profit after acquisition cost'``."""
    return _LABELS.get(column, column.replace("_", " "))


def lorenz_curve(values) -> pd.DataFrame:
    """The Lorenz curve of ``values``: customers from the least to the most valuable.

    Parameters
    ----------
    values
        One value per customer (array-like, no missing value); negative values allowed.

    Returns
    -------
    DataFrame
        ``share_of_customers``, ``share_of_value``: n + 1 points from (0, 0) to (1, 1). The
        further the curve sags below the diagonal, the more the value is concentrated; with
        negative values it first dips below 0 (the customers who lose money) before rising.
        ``share_of_value`` is NaN when the total is not positive (no share can be read).
    """
    x = _array(values)
    total = x.sum()
    cumulative = np.r_[0.0, np.cumsum(np.sort(x))]
    return pd.DataFrame({"share_of_customers": np.arange(len(x) + 1) / len(x),
                         "share_of_value": cumulative / total if total > 0 else np.nan})


def gini(values) -> float:
    """The Gini coefficient of ``values``: 0 when everyone is worth the same, close to 1 when
    one customer has everything.

    ``G = sum_i sum_j |x_i - x_j| / (2 n sum_i |x_i|)``. For non-negative values this is the
    usual Gini, the mean absolute difference over twice the mean (the area between the
    Lorenz curve and the diagonal, times two): 0 when all are equal, ``(n - 1) / n`` when one
    has everything. With negative values (profit) the usual formula can pass 1; dividing by
    the sum of the absolute values instead of the sum is the normalisation of Raffinetti,
    Siletti & Vernizzi (2015, *Statistical Methods & Applications* 24: 507-521), which keeps
    G in [0, 1]: its maximum, ``(n - 1) / n``, is reached when one customer has all the
    profit and one all the losses. Computed on the sorted values as
    ``2 sum_i (2i - n - 1) x_(i) / (2 n sum |x|)``. NaN when all values are 0.
    """
    x = np.sort(_array(values))
    n = len(x)
    scale = np.abs(x).sum()
    if scale == 0:
        return float("nan")
    weights = 2 * np.arange(1, n + 1) - n - 1
    return float(weights @ x / (n * scale))


def whale_curve(customer_value: pd.DataFrame, profit: str | None = None) -> pd.DataFrame:
    """Cumulative share of profit, customers from the most to the least profitable.

    Parameters
    ----------
    customer_value
        Needs ``customer_id`` and the profit column.
    profit
        Default :func:`~helpers.differentiate.below_zero.profit_basis`.

    Returns
    -------
    DataFrame
        n + 1 rows from no customer: ``customers``, ``share_of_customers``,
        ``cumulative_profit``, ``share_of_profit``, ``is_peak``. The curve rises while the
        customers add profit and passes 100% when some lose money; it peaks after the last
        profitable customer (``is_peak``, the first such point) and comes back down to 100%
        as the below-zero customers take their losses off. The height of the peak over 100%
        is what the below-zero customers cost. Ties are ranked by customer_id, as
        :func:`~helpers.differentiate.value.value_concentration` does. Shares are NaN and
        no row is the peak when the total profit is not positive.
    """
    require_frame_columns(customer_value, "customer_value", ("customer_id",))
    values = profit_values(customer_value, profit)
    if values.empty:
        raise ValueError("customer_value is empty: no customer has a transaction up to as_of")
    ranked = (pd.DataFrame({"customer_id": customer_value["customer_id"], "value": values})
              .sort_values(["value", "customer_id"], ascending=[False, True]))
    cumulative = np.r_[0.0, np.cumsum(ranked["value"].to_numpy())]
    total = cumulative[-1]
    peak = np.zeros(len(cumulative), dtype=bool)
    if total > 0:
        peak[np.argmax(cumulative)] = True
    return pd.DataFrame({"customers": np.arange(len(cumulative)),
                         "share_of_customers": np.arange(len(cumulative)) / len(values),
                         "cumulative_profit": cumulative,
                         "share_of_profit": cumulative / total if total > 0 else np.nan,
                         "is_peak": peak})


def concentration_sentence(customer_value: pd.DataFrame, top_share: float = 0.2,
                           profit: str | None = None) -> str:
    """The concentration of profit in one sentence, as the report says it.

    e.g. "The top 20% of customers bring 71% of profit; 14% of customers are below zero."
    When the top customers bring more than all the profit (the others lose money between
    them): "The top 50% of customers bring 102% of profit: the other 50% lose 2% of it
    between them; 14% of customers are below zero."

    Parameters
    ----------
    customer_value
        Needs ``customer_id`` and the profit column.
    top_share
        The share of customers, most profitable first, in (0, 1): the top
        ``ceil(top_share * n)`` customers, as
        :func:`~helpers.differentiate.value.value_concentration` counts them.
    profit
        Default :func:`~helpers.differentiate.below_zero.profit_basis`; the sentence names
        it (e.g. "of profit after acquisition cost").
    """
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must be between 0 and 1 (e.g. 0.2); got {top_share}")
    require_frame_columns(customer_value, "customer_value", ("customer_id",))
    values = profit_values(customer_value, profit)
    if values.empty:
        raise ValueError("customer_value is empty: no customer has a transaction up to as_of")
    below = _percent((values < 0).mean())
    below = ("no customer is below zero." if below == "0%"
             else f"{below} of customers are below zero.")
    label = value_label(str(values.name))
    if values.sum() <= 0:
        return (f"The customers lose money in total ({label} {values.sum():,.0f}), so no share "
                f"of it can be read; {below}")
    ranked = pd.DataFrame({"customer_id": customer_value["customer_id"], "value": values})
    share = value_concentration(ranked, shares=(top_share,), profit="value",
                                revenue="value")["share_of_profit"].iloc[0]
    top, brought = f"{top_share * 100:g}%", round(share * 100)
    if brought > 100:
        return (f"The top {top} of customers bring {brought}% of {label}: the other "
                f"{(1 - top_share) * 100:g}% lose {brought - 100}% of it between them; {below}")
    return f"The top {top} of customers bring {brought}% of {label}; {below}"


def rfm_segment_summary(customer_value: pd.DataFrame, profit: str | None = None) -> pd.DataFrame:
    """Size and value of each named RFM segment.

    Parameters
    ----------
    customer_value
        Needs ``rfm_segment``, ``r_score``, ``f_score``, ``m_score``, ``net_revenue`` and
        the profit column.
    profit
        Default :func:`~helpers.differentiate.below_zero.profit_basis`.

    Returns
    -------
    DataFrame
        One row per segment, the largest share of profit first (ties by name):
        ``rfm_segment``, ``customers``, ``share_of_customers``, ``mean_r``, ``mean_f``,
        ``mean_m`` (mean scores), ``revenue`` (net revenue), ``profit`` (on the basis
        read), ``profit_per_customer``, ``share_of_below_zero`` (its customers below zero),
        ``share_of_revenue`` and ``share_of_profit`` (of the totals; a segment that loses
        money has a negative share of profit, and the others then add up to more than 1).
    """
    require_frame_columns(customer_value, "customer_value",
                          ("rfm_segment", "r_score", "f_score", "m_score", "net_revenue"))
    values = profit_values(customer_value, profit)
    frame = pd.DataFrame({"rfm_segment": customer_value["rfm_segment"],
                          "r": customer_value["r_score"], "f": customer_value["f_score"],
                          "m": customer_value["m_score"],
                          "revenue": customer_value["net_revenue"].astype(float),
                          "profit": values, "below_zero": values < 0})
    summary = frame.groupby("rfm_segment", dropna=False).agg(
        customers=("r", "size"), mean_r=("r", "mean"), mean_f=("f", "mean"),
        mean_m=("m", "mean"), revenue=("revenue", "sum"), profit=("profit", "sum"),
        share_of_below_zero=("below_zero", "mean")).reset_index()
    summary.insert(2, "share_of_customers", summary["customers"] / len(frame))
    summary.insert(8, "profit_per_customer", summary["profit"] / summary["customers"])
    for column in ("revenue", "profit"):
        total = summary[column].sum()
        summary[f"share_of_{column}"] = summary[column] / total if total > 0 else np.nan
    return (summary.sort_values(["profit", "rfm_segment"], ascending=[False, True])
            .reset_index(drop=True))


def _array(values) -> np.ndarray:
    """``values`` as a float array, refusing an empty one or missing values."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values: the curve needs at least one customer")
    if np.isnan(x).any():
        raise ValueError(f"{int(np.isnan(x).sum()):,} values are missing; fill or drop them "
                         f"first")
    return x


def _percent(share: float) -> str:
    """A share in whole percent, "under 1%" rather than a misleading "0%" for a few."""
    shown = f"{share:.0%}"
    return "under 1%" if share > 0 and shown == "0%" else shown
