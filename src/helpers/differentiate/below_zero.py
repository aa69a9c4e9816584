"""Below-zero customers: how many cost more than they bring, how much, and why (notebook 02).

A customer is *below zero* when their profit is negative. Profit is read after acquisition
cost when the run has marketing spend (:func:`profit_basis`); each below-zero customer gets
the main reason for it (:func:`below_zero_customers`). All functions take the per-customer
table ``customer_value`` read into pandas.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.warehouse import require_frame_columns

__all__ = ["REASONS", "profit_basis", "profit_values", "below_zero_summary",
           "below_zero_customers", "below_zero_reasons"]

#: The main reasons a customer is below zero, in the order the tables list them, with what
#: each means. The cost components are compared in money terms (see
#: :func:`below_zero_customers`).
REASONS = {
    "negative margin": "sold below cost: the gross margin is already negative",
    "returns": "the margin lost on returned goods alone would cover the loss",
    "support": "the support contacts' cost alone exceeds what the customer brings",
    "service": "the cost of serving the orders and keeping the customer on file alone "
               "exceeds it",
    "acquisition": "what acquiring the customer cost alone exceeds it",
    "several": "no single cost is that large: several add up to the loss",
}

#: Cost component column of :func:`below_zero_customers` → its reason in :data:`REASONS`.
_COMPONENTS = {"returns_margin": "returns", "support_cost": "support",
               "service_cost": "service", "acquisition_cost": "acquisition"}


def profit_basis(customer_value: pd.DataFrame) -> str:
    """The profit column the below-zero count and the concentration read.

    ``"profit_after_acquisition"`` when that column has any value (the run has marketing
    spend), else ``"profit"``: a customer is only fully below zero once what it cost to
    acquire them is counted, but without marketing spend that cost is unknown, not zero.
    """
    if ("profit_after_acquisition" in customer_value.columns
            and customer_value["profit_after_acquisition"].notna().any()):
        return "profit_after_acquisition"
    return "profit"


def profit_values(customer_value: pd.DataFrame, profit: str | None = None) -> pd.Series:
    """Each customer's profit on the basis ``profit`` (default :func:`profit_basis`).

    On ``profit_after_acquisition``, a customer whose acquisition cost is unknown (the
    marketing spend does not cover the month they were acquired) keeps their ``profit``: they
    stay in the counts and shares, and :func:`below_zero_summary` says how many they are.
    Any other column is read as it is and must have no missing value.

    Raises
    ------
    ValueError
        When the column has missing values.
    """
    profit = profit or profit_basis(customer_value)
    require_frame_columns(customer_value, "customer_value", (profit,))
    values = customer_value[profit].astype(float)
    if profit == "profit_after_acquisition":
        require_frame_columns(customer_value, "customer_value", ("profit",))
        values = values.fillna(customer_value["profit"].astype(float))
    if values.isna().any():
        raise ValueError(f"customer_value.{profit} is missing for {int(values.isna().sum()):,} "
                         f"customers; rebuild customer_value or choose another column")
    return values.rename(profit)


def below_zero_summary(customer_value: pd.DataFrame, profit: str | None = None) -> pd.DataFrame:
    """How many customers are below zero and what they lose, in one row.

    Parameters
    ----------
    customer_value
        Needs the ``profit`` column (and ``profit`` itself on the after-acquisition basis:
        see :func:`profit_values`); ``acquisition_cost`` when present.
    profit
        The profit column; default :func:`profit_basis`.

    Returns
    -------
    DataFrame
        One row: ``basis`` (the column read), ``customers``, ``below_zero`` (customers with
        a negative profit), ``share_below_zero``, ``total_loss`` (their profits summed, as
        a positive amount), ``loss_per_below_zero_customer`` (NaN when there are none),
        ``profit_above_zero`` (the other customers' profit), ``total_profit``
        (= profit_above_zero - total_loss) and ``customers_without_acquisition_cost``
        (all of them when the table has no acquisition cost).
    """
    values = _values(customer_value, profit)
    below = values < 0
    loss = -values[below].sum()
    unknown = (int(customer_value["acquisition_cost"].isna().sum())
               if "acquisition_cost" in customer_value.columns else len(values))
    return pd.DataFrame([{
        "basis": values.name,
        "customers": len(values),
        "below_zero": int(below.sum()),
        "share_below_zero": below.mean(),
        "total_loss": loss,
        "loss_per_below_zero_customer": loss / below.sum() if below.any() else np.nan,
        "profit_above_zero": values[~below].sum(),
        "total_profit": values.sum(),
        "customers_without_acquisition_cost": unknown,
    }])


def below_zero_customers(customer_value: pd.DataFrame,
                         profit: str | None = None) -> pd.DataFrame:
    """Each below-zero customer, with their costs and the main reason they are below zero.

    Parameters
    ----------
    customer_value
        Needs ``customer_id``, ``returns``, ``net_revenue``, ``gross_margin``,
        ``support_cost``, ``service_cost`` and the ``profit`` column; on the
        after-acquisition basis also ``profit`` and ``acquisition_cost``.
    profit
        The profit column; default :func:`profit_basis`.

    Returns
    -------
    DataFrame
        One row per customer whose profit is negative, the biggest loss first (ties by
        customer_id): ``customer_id``, ``loss`` (minus the profit), ``gross_margin``, the
        cost components ``returns_margin``, ``support_cost``, ``service_cost``,
        ``acquisition_cost`` (the last only on the after-acquisition basis), and
        ``reason`` (a key of :data:`REASONS`).

    Notes
    -----
    Profit is ``gross_margin`` minus the costs, so the costs are what a below-zero customer's
    margin fails to cover. The rule, in order:

    1. ``gross_margin < 0``: **negative margin**, sold below cost; no cost to serve is
       needed to lose money on such a customer.
    2. Otherwise each cost is compared with the loss: ``support_cost``, ``service_cost``,
       ``acquisition_cost`` (0 when unknown), and for returns the margin the returned goods
       would have brought had they been kept, ``returns_margin = returns × margin rate``,
       at the customer's own rate ``gross_margin / net_revenue``, or, for a customer who
       kept nothing (``net_revenue <= 0``), the rate of all customers who kept something
       (a negative rate counts as 0). The main reason is the **largest** cost when removing
       it alone brings the customer to zero or above (largest ≥ loss; on a tie the first of
       returns, support, service, acquisition); otherwise **several**: no single cost is
       enough, they add up.
    """
    values = _values(customer_value, profit)
    after_acquisition = values.name == "profit_after_acquisition"
    require_frame_columns(customer_value, "customer_value",
                          ("customer_id", "returns", "net_revenue", "gross_margin",
                           "support_cost", "service_cost")
                          + (("acquisition_cost",) if after_acquisition else ()))
    net_revenue = customer_value["net_revenue"].astype(float)
    gross_margin = customer_value["gross_margin"].astype(float)
    kept = net_revenue > 0
    base_rate = (gross_margin[kept].sum() / net_revenue[kept].sum()) if kept.any() else 0.0
    rate = (gross_margin / net_revenue.where(kept)).fillna(base_rate).clip(lower=0)
    costs = pd.DataFrame({
        "returns_margin": customer_value["returns"].astype(float) * rate,
        "support_cost": customer_value["support_cost"].astype(float),
        "service_cost": customer_value["service_cost"].astype(float),
    })
    if after_acquisition:
        costs["acquisition_cost"] = customer_value["acquisition_cost"].astype(float).fillna(0)
    below = values < 0
    costs = costs[below]
    loss = -values[below]
    largest = costs.idxmax(axis=1)  # the first column on a tie
    reason = np.where(gross_margin[below] < 0, "negative margin",
                      np.where(costs.max(axis=1) >= loss, largest.map(_COMPONENTS), "several"))
    result = pd.concat([customer_value.loc[below, ["customer_id"]],
                        pd.DataFrame({"loss": loss, "gross_margin": gross_margin[below]}),
                        costs], axis=1)
    result["reason"] = reason
    return (result.sort_values(["loss", "customer_id"], ascending=[False, True])
            .reset_index(drop=True))


def below_zero_reasons(customer_value: pd.DataFrame, profit: str | None = None) -> pd.DataFrame:
    """Below-zero customers counted and sized by main reason (see :func:`below_zero_customers`).

    Parameters
    ----------
    customer_value
        The columns :func:`below_zero_customers` needs.
    profit
        The profit column; default :func:`profit_basis`.

    Returns
    -------
    DataFrame
        One row per reason in :data:`REASONS` order (``acquisition`` only on the
        after-acquisition basis), zero rows kept: ``reason``, ``meaning``, ``customers``,
        ``share_of_below_zero`` (of the below-zero customers), ``loss`` (their losses
        summed) and ``share_of_loss``. Shares are NaN when nobody is below zero.
    """
    customers = below_zero_customers(customer_value, profit)
    reasons = [r for r in REASONS
               if r != "acquisition" or "acquisition_cost" in customers.columns]
    grouped = customers.groupby("reason")["loss"].agg(["size", "sum"]).reindex(reasons,
                                                                               fill_value=0)
    result = pd.DataFrame({"reason": reasons, "meaning": [REASONS[r] for r in reasons],
                           "customers": grouped["size"].to_numpy(dtype="int64"),
                           "loss": grouped["sum"].to_numpy(dtype=float)})
    count, total = result["customers"].sum(), result["loss"].sum()
    result.insert(3, "share_of_below_zero", result["customers"] / count if count else np.nan)
    result["share_of_loss"] = result["loss"] / total if count else np.nan
    return result


def _values(customer_value: pd.DataFrame, profit: str | None) -> pd.Series:
    """:func:`profit_values`, refusing an empty table."""
    if customer_value.empty:
        raise ValueError("customer_value is empty: no customer has a transaction up to as_of")
    return profit_values(customer_value, profit)
