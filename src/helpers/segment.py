"""Segment: what do we do with each customer? (notebook 04)

Reads ``customer_value`` (02 differentiate), ``clv`` (03 clv) and ``customers`` (01 identify)
and writes:

* ``segments`` — each customer's current and future value and value tier, with the reason;
* ``actions`` — the treatment, offer, channel and priority the tier (or risk) calls for.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.warehouse import require_columns, write_table

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

ASSIGN_TIERS_SQL = """
WITH base AS (
    SELECT
        v.customer_id,
        v.profit_12m AS current_value,
        -- no CLV estimate means no expected future value
        COALESCE(c.clv_net, 0) AS future_value,
        c.p_alive,
        v.rfmt_score
    FROM customer_value AS v
    LEFT JOIN clv AS c ON c.customer_id = v.customer_id
),
ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (ORDER BY current_value DESC, customer_id) AS current_rank,
        ROW_NUMBER() OVER (ORDER BY future_value DESC, customer_id) AS future_rank,
        COUNT(*) OVER () AS n_customers
    FROM base
),
thresholds AS (
    -- the value of the ceil(share * n)-th best customer: ties with it are in the top share;
    -- rounding keeps e.g. 0.1 * 30 from becoming 3.0000000000000004 -> 4
    SELECT
        MAX(CASE WHEN current_rank = CEIL(ROUND($valuable_share * n_customers, 9))
                 THEN current_value END) AS valuable_threshold,
        MAX(CASE WHEN future_rank = CEIL(ROUND($growable_share * n_customers, 9))
                 THEN future_value END) AS growable_threshold
    FROM ranked
),
tiered AS (
    SELECT
        r.*,
        t.valuable_threshold,
        t.growable_threshold,
        $growable_ratio * CASE WHEN r.current_value > 0 THEN r.current_value ELSE 0 END
            AS growable_floor,
        CASE
            WHEN r.current_value < 0 AND r.future_value <= 0 THEN 'Below zero'
            WHEN r.current_value > 0 AND r.current_value >= t.valuable_threshold
                THEN 'Most valuable'
            WHEN r.future_value > 0 AND r.future_value >= t.growable_threshold
                 AND r.future_value
                     >= $growable_ratio * CASE WHEN r.current_value > 0
                                               THEN r.current_value ELSE 0 END
                THEN 'Most growable'
            ELSE 'Other'
        END AS tier
    FROM ranked AS r
    CROSS JOIN thresholds AS t
),
worded AS (
    -- money as text with two decimals, for the reason sentence
    SELECT
        *,
        $currency || ' ' || CAST(CAST(ROUND(current_value, 2) AS DECIMAL(18, 2)) AS VARCHAR)
            AS current_text,
        $currency || ' ' || CAST(CAST(ROUND(future_value, 2) AS DECIMAL(18, 2)) AS VARCHAR)
            AS future_text,
        $currency || ' '
            || CAST(CAST(ROUND(valuable_threshold, 2) AS DECIMAL(18, 2)) AS VARCHAR)
            AS valuable_text,
        $currency || ' '
            || CAST(CAST(ROUND(growable_threshold, 2) AS DECIMAL(18, 2)) AS VARCHAR)
            AS growable_text,
        $currency || ' ' || CAST(CAST(ROUND(growable_floor, 2) AS DECIMAL(18, 2)) AS VARCHAR)
            AS floor_text
    FROM tiered
)
SELECT
    customer_id,
    current_value,
    future_value,
    p_alive,
    rfmt_score,
    tier,
    CASE tier
        WHEN 'Below zero' THEN
            'profit last 12m ' || current_text || ' < 0 and future value '
            || future_text || ' ≤ 0'
        WHEN 'Most valuable' THEN
            'profit last 12m ' || current_text || ' in top ' || $valuable_label
            || ' (≥ ' || valuable_text || ')'
        WHEN 'Most growable' THEN
            'future value ' || future_text || ' in top ' || $growable_label
            || ' (≥ ' || growable_text || ') and ≥ ' || $ratio_label
            || ' × current (' || floor_text || ')'
        ELSE
            -- neither rule fired: show both, with the bars the customer did not clear
            'profit last 12m ' || current_text || ' (Most valuable: > 0 and ≥ '
            || valuable_text || '); future value ' || future_text
            || ' (Most growable: > 0, ≥ ' || growable_text || ' and ≥ ' || floor_text || ')'
    END AS tier_reason
FROM worded
ORDER BY customer_id
"""

ASSIGN_ACTIONS_SQL = """
WITH keyed AS (
    SELECT
        s.customer_id,
        s.tier,
        -- the at-risk overlay; an unknown p_alive (no CLV estimate) is not a risk signal
        CASE WHEN s.tier <> 'Below zero' AND s.p_alive < $win_back_p_alive
             THEN 'Win back' ELSE s.tier END AS rule,
        CASE WHEN NULLIF(TRIM(c.email), '') IS NOT NULL THEN 'email'
             WHEN NULLIF(TRIM(c.phone), '') IS NOT NULL THEN 'sms'
             ELSE 'store' END AS channel
    FROM segments AS s
    LEFT JOIN customers AS c ON c.customer_id = s.customer_id
)
SELECT k.customer_id, k.tier, r.treatment, r.offer, k.channel,
       -- an at-risk best customer is won back first of all, not after the growable ones
       LEAST(r.priority, t.priority) AS priority
FROM keyed AS k
JOIN _action_rules AS r ON r.rule = k.rule
JOIN _action_rules AS t ON t.rule = k.tier
ORDER BY k.customer_id
"""

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


def assign_tiers(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
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
    return write_table(con, "segments", con.sql(ASSIGN_TIERS_SQL, params=params))


def assign_actions(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
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
    con.register("_action_rules", ACTION_RULES)
    try:
        relation = con.sql(ASSIGN_ACTIONS_SQL, params={"win_back_p_alive": WIN_BACK_P_ALIVE})
        return write_table(con, "actions", relation)
    finally:
        con.unregister("_action_rules")


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
