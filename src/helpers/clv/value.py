"""Scoring customers: probability alive, expected purchases and spend, discounted CLV."""

from __future__ import annotations

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

from helpers.clv.summary import SUMMARY_COLUMNS
from helpers.config import RunConfig
from helpers.warehouse import require_frame_columns

__all__ = ["DAYS_PER_MONTH", "LIFETIMES_FREQ", "CLV_COLUMNS", "score_customers"]

#: Average days in a calendar month (365.25 / 12): converts the horizon in months to time units.
DAYS_PER_MONTH = 30.4375

#: ``freq`` argument of lifetimes' ``customer_lifetime_value`` for each model time unit. It
#: names the unit T is measured in; lifetimes turns each month of ``time`` into 30 units for
#: 'D' and 4.345 units for 'W' (4.345 weeks = 30.4 days, so 'W' is right for weeks).
LIFETIMES_FREQ = {"day": "D", "week": "W"}

CLV_COLUMNS = (
    "customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
    "expected_purchases", "expected_avg_spend", "margin_rate", "clv",
    "expected_service_cost", "clv_net",
)


def _per_customer(values: pd.Series | None, customers: pd.Index, default: float,
                  name: str) -> pd.Series:
    """``values`` (indexed by customer_id) aligned to ``customers``; missing/NaN -> default."""
    if values is None:
        return pd.Series(default, index=customers, dtype=float)
    if not values.index.is_unique:
        raise ValueError(f"{name} must have one value per customer_id; "
                         f"duplicated: {values.index[values.index.duplicated()][:5].tolist()}")
    return values.reindex(customers).astype(float).fillna(default)


def score_customers(summary: pd.DataFrame, bgf: BetaGeoFitter, ggf: GammaGammaFitter,
                    cfg: RunConfig, margin_rate: pd.Series | None = None,
                    support_cost_per_year: pd.Series | None = None) -> pd.DataFrame:
    """The ``clv`` table: each customer's expected future purchases, spend, and value.

    Over a horizon of ``H = cfg.clv.horizon_months`` months, discounted monthly at
    ``d = (1 + cfg.clv.annual_discount_rate) ** (1/12) - 1``:

    - ``p_alive``: probability the customer has not dropped out (BG/NBD); always 1 for
      one-time buyers, since in BG/NBD a customer can only drop out right after a repeat
      purchase;
    - ``expected_purchases``: expected repeat purchases within H months, a month being
      :data:`DAYS_PER_MONTH` days (BG/NBD, conditional on the customer's history);
    - ``expected_avg_spend``: expected value per purchase (Gamma-Gamma); for one-time buyers
      the population mean, which is the model's answer when nothing is known;
    - ``clv``: lifetimes' ``GammaGammaFitter.customer_lifetime_value`` with ``time=H`` and
      ``discount_rate=d`` — the sum over months m = 1..H of the month's expected purchases
      times expected spend, divided by (1+d)**m — times ``margin_rate``: discounted expected
      gross margin. Note lifetimes' month is 30 days for ``freq='D'`` (so 12 months cover
      360 days) and 4.345 weeks for ``freq='W'`` (365 days), slightly shorter than the
      calendar months of ``expected_purchases``;
    - ``expected_service_cost``: (expected_purchases × ``cfg.costs.cost_per_order`` +
      p_alive × support cost per year × H/12) / (1+d)**(H/2), i.e. spread over the horizon
      and discounted as if paid at its middle;
    - ``clv_net`` = clv − expected_service_cost.

    Parameters
    ----------
    summary
        From :func:`rfm_summary`: columns ``customer_id``, ``frequency``, ``recency``, ``T``,
        ``monetary_value``; one row per customer.
    bgf, ggf
        From :func:`fit_bgnbd` and :func:`fit_gamma_gamma`.
    cfg
        Uses ``time_unit``, ``days_per_unit``, ``clv.horizon_months``,
        ``clv.annual_discount_rate``, ``costs.gross_margin_rate``, ``costs.cost_per_order``.
    margin_rate
        Gross margin rate per customer, indexed by customer_id (e.g. from product costs);
        customers absent or NaN get ``cfg.costs.gross_margin_rate``.
    support_cost_per_year
        Support cost per customer per year, indexed by customer_id; absent or NaN means 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``,
        ``p_alive``, ``expected_purchases``, ``expected_avg_spend``, ``margin_rate``, ``clv``,
        ``expected_service_cost``, ``clv_net``; sorted by customer_id.
    """
    require_frame_columns(summary, "summary", SUMMARY_COLUMNS)
    history = summary.set_index("customer_id")[list(SUMMARY_COLUMNS[1:])].sort_index()
    if not history.index.is_unique:
        raise ValueError("summary must have one row per customer_id; duplicated: "
                         f"{history.index[history.index.duplicated()][:5].tolist()}")
    frequency, recency, age, monetary = (history[c] for c in SUMMARY_COLUMNS[1:])
    horizon = cfg.clv.horizon_months
    monthly_rate = (1 + cfg.clv.annual_discount_rate) ** (1 / 12) - 1

    scores = history.copy()
    scores["p_alive"] = bgf.conditional_probability_alive(frequency, recency, age)
    scores["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        horizon * DAYS_PER_MONTH / cfg.days_per_unit, frequency, recency, age)
    scores["expected_avg_spend"] = ggf.conditional_expected_average_profit(frequency, monetary)
    scores["margin_rate"] = _per_customer(margin_rate, history.index,
                                          cfg.costs.gross_margin_rate, "margin_rate")
    discounted_revenue = ggf.customer_lifetime_value(
        bgf, frequency, recency, age, monetary, time=horizon, discount_rate=monthly_rate,
        freq=LIFETIMES_FREQ[cfg.time_unit])
    scores["clv"] = discounted_revenue * scores["margin_rate"]
    support = _per_customer(support_cost_per_year, history.index, 0.0, "support_cost_per_year")
    service_cost = (scores["expected_purchases"] * cfg.costs.cost_per_order
                    + scores["p_alive"] * support * horizon / 12)
    scores["expected_service_cost"] = service_cost / (1 + monthly_rate) ** (horizon / 2)
    scores["clv_net"] = scores["clv"] - scores["expected_service_cost"]
    return scores.reset_index()[list(CLV_COLUMNS)]
