"""Segment: what do we do with each customer? (notebook 04)

Reads ``customer_value`` (02 differentiate), ``clv`` (03 clv) and ``customers`` (01 identify)
and writes:

* ``segments`` — each customer's current and future value and value tier, with the reason
  (``sql/segments.sql``);
* ``actions`` — the treatment, offer, channel and priority the tier (or risk) calls for
  (``sql/actions.sql``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.warehouse import build_table, require_columns

__all__ = ["TIERS", "ACTION_RULES", "WIN_BACK_P_ALIVE", "build_segments", "build_actions",
           "tier_summary", "action_summary"]

#: The value tiers, most valuable first (the order reports show them in).
TIERS = ("Most valuable", "Most growable", "Other", "Below zero")

#: Customers (not Below zero) less likely than this to still be active get the win-back
#: treatment instead of their tier's.
WIN_BACK_P_ALIVE = 0.5

#: Which treatment and offer each customer gets, one row per rule (the notebook shows it).
#: ``rule`` is the customer's tier, or 'Win back' for the at-risk overlay; priority 1 is
#: served first.
ACTION_RULES = pd.DataFrame([
    {"rule": "Most valuable", "applies_to": "tier Most valuable, not at risk",
     "treatment": "Retain: dedicated relationship programme",
     "offer": "loyalty reward / early access", "priority": 1},
    {"rule": "Most growable", "applies_to": "tier Most growable, not at risk",
     "treatment": "Develop: cross-sell and up-sell",
     "offer": "complementary category offer", "priority": 2},
    {"rule": "Win back",
     "applies_to": f"any tier but Below zero, at risk: p_alive < {WIN_BACK_P_ALIVE:g} "
                   f"(keeps its tier, and its tier's priority when higher)",
     "treatment": "Win back", "offer": "reactivation voucher", "priority": 3},
    {"rule": "Other", "applies_to": "tier Other, not at risk",
     "treatment": "Maintain: standard communication",
     "offer": "seasonal newsletter", "priority": 4},
    {"rule": "Below zero", "applies_to": "tier Below zero, whatever p_alive",
     "treatment": "Reduce cost to serve",
     "offer": "self-service and digital-only contact", "priority": 5},
])

ACTION_SUMMARY_SQL = """
SELECT tier, treatment, offer, channel, COUNT(*) AS customers, MIN(priority) AS priority
FROM actions
GROUP BY tier, treatment, offer, channel
ORDER BY priority, customers DESC, tier, channel
"""

TIER_SUMMARY_SQL = """
SELECT
    tier,
    COUNT(*) AS customers,
    CAST(COUNT(*) AS DOUBLE) / SUM(COUNT(*)) OVER () AS share_of_customers,
    SUM(current_value) AS current_value_total,
    AVG(current_value) AS current_value_mean,
    SUM(future_value) AS future_value_total,
    AVG(future_value) AS future_value_mean
FROM segments
GROUP BY tier
"""


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def build_segments(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``segments``: each customer's current value, future value and value tier.

    Reads ``customer_value`` (customer_id, profit_12m, rfmt_score) and ``clv``
    (customer_id, p_alive, clv_net).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``currency`` and ``tiers`` (most_valuable_share, most_growable_ratio,
        most_growable_share).

    Returns
    -------
    int
        Rows written: one per customer in ``customer_value``.

    Notes
    -----
    ``current_value`` is ``customer_value.profit_12m``; ``future_value`` is ``clv.clv_net``
    (0 for customers missing from ``clv``, whose ``p_alive`` stays NULL). The thresholds
    are rank-based over all customers in ``customer_value``: the top-share threshold is the
    value of the ``ceil(share * n)``-th best customer, and ties with it are in.

    Tiers, first rule that fires wins (DOMAIN.md's value tiers):

    1. **Below zero**: ``current_value < 0`` and ``future_value <= 0`` — they cost more
       than they bring and are not expected to make up for it.
    2. **Most valuable**: ``current_value > 0`` and in the top ``most_valuable_share`` by
       current value.
    3. **Most growable**: ``future_value > 0``, in the top ``most_growable_share`` by
       future value, and ``future_value >= most_growable_ratio * max(current_value, 0)``.
    4. **Other**: everyone else.

    ``tier_reason`` is a short sentence with the customer's numbers and the thresholds.
    """
    require_columns(con, "customer_value", ("customer_id", "profit_12m", "rfmt_score"))
    require_columns(con, "clv", ("customer_id", "p_alive", "clv_net"))
    tiers = cfg.tiers
    params = {
        "valuable_share": tiers.most_valuable_share,
        "growable_share": tiers.most_growable_share,
        "growable_ratio": tiers.most_growable_ratio,
        "currency": cfg.currency,
        "valuable_label": _percent(tiers.most_valuable_share),
        "growable_label": _percent(tiers.most_growable_share),
        "ratio_label": f"{tiers.most_growable_ratio:g}",
    }
    return build_table(con, "segments", params)


def build_actions(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``actions``: who gets what treatment and offer, through which channel, and when.

    Reads ``segments`` (customer_id, tier, p_alive) and ``customers`` (customer_id, email,
    phone).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        The run configuration (the rules are the kit's: :data:`ACTION_RULES`).

    Returns
    -------
    int
        Rows written: one per customer in ``segments``.

    Notes
    -----
    Columns customer_id, tier, treatment, offer, channel, priority. Treatment, offer and
    priority come from :data:`ACTION_RULES` by tier, except that a customer not Below zero
    with ``p_alive < WIN_BACK_P_ALIVE`` (0.5) gets the 'Win back' rule, keeping the tier.
    A NULL ``p_alive`` (no CLV estimate) never triggers win-back. ``channel`` is 'email'
    when the customer has an email, else 'sms' when a phone, else 'store'.
    """
    require_columns(con, "segments", ("customer_id", "tier", "p_alive"))
    require_columns(con, "customers", ("customer_id", "email", "phone"))
    con.register("action_rules", ACTION_RULES)
    try:
        return build_table(con, "actions", {"win_back_p_alive": WIN_BACK_P_ALIVE})
    finally:
        con.unregister("action_rules")


def tier_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customers and value per tier, all four tiers in :data:`TIERS` order.

    Reads ``segments`` (tier, current_value, future_value).

    Returns
    -------
    DataFrame
        tier, customers, share_of_customers, current_value_total, current_value_mean,
        future_value_total, future_value_mean. An empty tier has 0 customers and totals,
        and NaN means.
    """
    require_columns(con, "segments", ("tier", "current_value", "future_value"))
    summary = con.execute(TIER_SUMMARY_SQL).df().set_index("tier").reindex(list(TIERS))
    zero_when_empty = ["customers", "share_of_customers", "current_value_total",
                       "future_value_total"]
    summary[zero_when_empty] = summary[zero_when_empty].fillna(0)
    summary["customers"] = summary["customers"].astype("int64")
    return summary.reset_index()


def action_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customers per tier, treatment, offer and channel, highest priority first (``actions``)."""
    require_columns(con, "actions", ("tier", "treatment", "offer", "channel", "priority"))
    return con.execute(ACTION_SUMMARY_SQL).df()
