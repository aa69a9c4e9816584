"""Value tiers: who is worth most today, who will grow, who costs more than they bring.

Writes ``segments`` (``sql/segments.sql``) from ``customer_value`` (02 differentiate) and
``clv`` (03 clv), and shows how the tier sizes move with the thresholds.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from helpers.config import TIERS, RunConfig, TierConfig
from helpers.warehouse import build_table, require_columns, scalar, sql_text

__all__ = ["TIERS", "SENSITIVITY_STEPS", "build_segments", "tier_summary", "tier_sensitivity"]

#: How far :func:`tier_sensitivity` moves each threshold, below and above the config's value.
SENSITIVITY_STEPS = {"most_valuable_share": (-0.10, -0.05, 0.05, 0.10),
                     "most_growable_share": (-0.10, -0.05, 0.05, 0.10),
                     "most_growable_ratio": (-0.25, 0.25, 0.5, 1.0)}

TIER_SUMMARY_SQL = """
SELECT
    tier,
    COUNT(*) AS customers,
    CAST(COUNT(*) AS DOUBLE) / SUM(COUNT(*)) OVER () AS share_of_customers,
    SUM(current_value) AS current_value_total,
    AVG(current_value) AS current_value_mean,
    SUM(future_value) AS future_value_total,
    AVG(future_value) AS future_value_mean,
    SUM(future_value) / NULLIF(SUM(SUM(future_value)) OVER (), 0) AS share_of_future_value,
    AVG(p_alive) AS p_alive_mean,
    AVG(CASE WHEN p_alive < 0.5 THEN 1.0 WHEN p_alive >= 0.5 THEN 0.0 END) AS at_risk_share
FROM segments
GROUP BY tier
"""


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def _tier_params(tiers: TierConfig, currency: str) -> dict:
    """The ``$`` parameters of ``sql/segments.sql`` for thresholds ``tiers``."""
    return {
        "valuable_share": tiers.most_valuable_share,
        "growable_share": tiers.most_growable_share,
        "growable_ratio": tiers.most_growable_ratio,
        "currency": currency,
        "valuable_label": _percent(tiers.most_valuable_share),
        "growable_label": _percent(tiers.most_growable_share),
        "ratio_label": f"{tiers.most_growable_ratio:g}",
    }


def _require_inputs(con: duckdb.DuckDBPyConnection) -> None:
    require_columns(con, "customer_value", ("customer_id", "profit_12m", "profit",
                                            "profit_after_acquisition", "rfmt_score"))
    require_columns(con, "clv", ("customer_id", "p_alive", "clv_net", "clv_low", "clv_high",
                                 "expected_service_cost"))


def build_segments(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``segments``: each customer's current value, future value and value tier.

    Reads ``customer_value`` (customer_id, profit_12m, profit, profit_after_acquisition,
    rfmt_score) and ``clv`` (customer_id, p_alive, clv_net, clv_low, clv_high,
    expected_service_cost).

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
    ``current_value`` is ``profit_12m``; ``profit_to_date`` is the lifetime profit after
    acquisition cost where that cost is known, else the lifetime profit (notebook 02's
    below-zero basis); ``future_value`` is ``clv.clv_net`` (0 for customers missing from
    ``clv``, whose ``p_alive`` stays NULL), with ``future_value_low``/``_high`` its interval
    net of the expected service cost. The thresholds are rank-based over all customers: the
    top-share threshold is the value of the ``ceil(share * n)``-th best customer, and ties
    with it are in.

    Tiers, first rule that fires wins (DOMAIN.md's value tiers):

    1. **Below zero**: ``profit_to_date < 0`` and ``profit_to_date + future_value < 0``:
       they have cost more than they brought and their expected future profit will not make
       it up.
    2. **Most valuable**: ``current_value > 0`` and in the top ``most_valuable_share`` by
       current value.
    3. **Most growable**: ``future_value > 0``, in the top ``most_growable_share`` by
       future value, and ``future_value >= most_growable_ratio * max(current_value, 0)``.
    4. **Maintain**: everyone else.

    ``tier_reason`` is a short sentence with the customer's numbers and the thresholds.
    """
    _require_inputs(con)
    return build_table(con, "segments", _tier_params(cfg.tiers, cfg.currency))


def tier_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customers, value and churn risk per tier, all four tiers in :data:`TIERS` order.

    Reads ``segments`` (tier, current_value, future_value, p_alive).

    Returns
    -------
    DataFrame
        tier, customers, share_of_customers, current_value_total, current_value_mean,
        future_value_total, future_value_mean, share_of_future_value, p_alive_mean and
        at_risk_share (share with ``p_alive < 0.5``, of those with an estimate). An empty
        tier has 0 customers and totals, and NaN means.
    """
    require_columns(con, "segments", ("tier", "current_value", "future_value", "p_alive"))
    summary = con.execute(TIER_SUMMARY_SQL).df().set_index("tier").reindex(list(TIERS))
    zero_when_empty = ["customers", "share_of_customers", "current_value_total",
                       "future_value_total", "share_of_future_value"]
    summary[zero_when_empty] = summary[zero_when_empty].fillna(0)
    summary["customers"] = summary["customers"].astype("int64")
    return summary.reset_index()


def tier_sensitivity(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                     steps: dict[str, tuple[float, ...]] | None = None) -> pd.DataFrame:
    """How many customers each tier would hold if one threshold moved.

    Reruns ``sql/segments.sql`` (without writing it) once per threshold and step, the other
    thresholds kept at the config's values. Reads what :func:`build_segments` reads.

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``tiers`` and ``currency``.
    steps
        Threshold name → changes added to its configured value (default
        :data:`SENSITIVITY_STEPS`); a moved value outside the threshold's allowed range
        (shares in (0, 1), a ratio above 1) is skipped.

    Returns
    -------
    DataFrame
        One row per scenario, the configured thresholds first ('as configured'):
        threshold, value, then one column of customers per tier in :data:`TIERS` order,
        then ``moved``: customers whose tier differs from the configured run.
    """
    _require_inputs(con)
    steps = SENSITIVITY_STEPS if steps is None else steps
    base = cfg.tiers
    scenarios = [("as configured", None, base)]
    for name, changes in steps.items():
        for change in changes:
            value = round(getattr(base, name) + change, 10)
            try:
                moved = TierConfig(**{**base.model_dump(), name: value})
            except ValueError:
                continue
            scenarios.append((name, value, moved))
    con.execute(sql_text("macros"))
    rows = []
    try:
        for i, (threshold, value, tiers) in enumerate(scenarios):
            # the first scenario is the configured one, the reference the others move from
            table = "tier_reference" if i == 0 else "tier_scenario"
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                        f"SELECT customer_id, tier FROM ({sql_text('segments')})",
                        _tier_params(tiers, cfg.currency))
            counts = dict(con.execute(f"SELECT tier, count(*) FROM {table} "
                                      f"GROUP BY tier").fetchall())
            moved = scalar(con, f"SELECT count(*) FROM {table} AS s "
                                "JOIN tier_reference AS r USING (customer_id) "
                                "WHERE s.tier <> r.tier")
            rows.append({"threshold": threshold, "value": value,
                         **{tier: counts.get(tier, 0) for tier in TIERS}, "moved": moved})
    finally:
        con.execute("DROP TABLE IF EXISTS tier_reference; DROP TABLE IF EXISTS tier_scenario")
    return pd.DataFrame(rows)
