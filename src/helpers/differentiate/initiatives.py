"""Initiatives: did a campaign change what its customers bought? (notebook 02)

A campaign file lists the customers a campaign reached (``treated``) and the ones held out of
it on purpose (``control``), each with an exposure date. Management tracks the two groups over
the same days after exposure: when the groups were drawn at random, the difference between
their purchases is the campaign's effect, and a 95% confidence interval says how sure it is.

``campaign_tracking`` follows both groups week by week; ``campaign_effects`` gives, per
campaign and metric, the difference with its Welch interval and a verdict in words, checked
against the same comparison before exposure (groups that already differed were not
comparable). Reads ``campaign_exposure`` (written by 01 identify) and ``transactions``; the
transaction-level work is SQL (``sql/campaign_customers.sql``, ``sql/campaign_days.sql``,
``sql/campaign_outcomes.sql``, ``sql/campaign_tracking.sql``); only one row per customer
reaches Python, for the intervals. The charts are in :mod:`helpers.display`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from helpers.config import RunConfig
from helpers.warehouse import (
    build_table,
    query,
    require_columns,
    require_frame_columns,
    write_table,
)

__all__ = ["CAMPAIGN_METRICS", "CONFIDENCE", "welch_difference", "campaign_verdict",
           "build_campaign_effects", "campaign_effects", "true_campaign_effects",
           "effects_against_truth"]

#: The outcomes compared, and their unit in a verdict ('{currency}' is the run's currency).
CAMPAIGN_METRICS = {
    "purchases": "purchases",
    "revenue": "{currency} of revenue",
    "net_revenue": "{currency} of net revenue",
}

#: Coverage of the confidence intervals of the campaign effects and of the NPS tables.
CONFIDENCE = 0.95

#: The truth file's keys (``clv.truth``, object "campaign") holding the true average effect on
#: a treated customer, by metric: what a treated-minus-control comparison estimates.
TRUTH_KEYS = {"purchases": "extra_purchases_per_treated",
              "revenue": "extra_revenue_per_treated"}

#: The columns the builder reads, so a missing one fails by name before any SQL runs.
EXPOSURE_COLUMNS = ("customer_id", "campaign_id", "exposure_date", "exposure_group")
TRANSACTION_COLUMNS = ("customer_id", "source", "order_id", "order_date", "amount")


def welch_difference(first: Sequence[float], second: Sequence[float],
                     level: float = CONFIDENCE) -> dict[str, float]:
    """Difference of two means with Welch's unequal-variance t interval and its p-value.

    Parameters
    ----------
    first, second
        The values of the two groups (e.g. purchases of each treated and of each control
        customer); each needs at least 2.
    level
        Coverage of the interval.

    Returns
    -------
    dict
        ``mean_first``, ``mean_second``, ``difference`` (first - second), ``low``, ``high``
        (the interval ``difference ± t * se``, with ``se = sqrt(s1²/n1 + s2²/n2)`` and the
        Welch-Satterthwaite degrees of freedom), ``p_value`` (two-sided, of no difference).
        When both groups have no spread at all the difference is exact: ``low = high =
        difference`` and ``p_value`` is 1 when it is 0, else 0. NaN except the means when a
        group has fewer than 2 values.
    """
    a, b = np.asarray(first, dtype=float), np.asarray(second, dtype=float)
    result = {"mean_first": a.mean() if a.size else np.nan,
              "mean_second": b.mean() if b.size else np.nan}
    result["difference"] = result["mean_first"] - result["mean_second"]
    if a.size < 2 or b.size < 2:
        return result | {"difference": np.nan, "low": np.nan, "high": np.nan,
                         "p_value": np.nan}
    difference = result["difference"]
    var_a, var_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if var_a == 0 and var_b == 0:
        return result | {"low": difference, "high": difference,
                         "p_value": 1.0 if difference == 0 else 0.0}
    # written out rather than scipy's ttest_ind, which warns on a group without spread
    se = np.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a ** 2 / (a.size - 1) + var_b ** 2 / (b.size - 1))
    half = stats.t.ppf(0.5 + level / 2, df) * se
    return result | {"low": difference - half, "high": difference + half,
                     "p_value": float(2 * stats.t.sf(abs(difference) / se, df))}


def campaign_verdict(unit: str, difference: float, low: float, high: float,
                     pre_difference: float = np.nan, pre_low: float = np.nan,
                     pre_high: float = np.nan, n_treated: int = 0, n_control: int = 0,
                     level: float = CONFIDENCE) -> str:
    """The plain-words verdict of one campaign and metric.

    An effect is *detectable* when the interval ``[low, high]`` leaves out 0: "effect of
    +0.30 ± 0.12 purchases per customer (95% CI +0.18 to +0.42)", else "no detectable effect
    (difference +0.06 purchases per customer, 95% CI -0.05 to +0.17)". When the same
    comparison over the window before exposure (``pre_*``) leaves out 0, the groups already
    differed before the campaign: a warning says they were not comparable. When the interval
    is missing (fewer than 2 customers in a group), says the effect cannot be measured.

    Parameters
    ----------
    unit
        What one unit of the metric is, e.g. ``'purchases'`` or ``'EUR of revenue'``.
    """
    pct = f"{level:.0%}"
    if np.isnan(low) or np.isnan(high):
        return (f"not measurable: each group needs at least 2 customers followed over the "
                f"whole window (treated {n_treated}, control {n_control})")
    half = (high - low) / 2
    if low > 0 or high < 0:
        verdict = (f"effect of {_signed(difference, half)} ± {_signed(half, half)[1:]} {unit} "
                   f"per customer ({pct} CI {_signed(low, half)} to {_signed(high, half)})")
    else:
        verdict = (f"no detectable effect (difference {_signed(difference, half)} {unit} per "
                   f"customer, {pct} CI {_signed(low, half)} to {_signed(high, half)})")
    if pre_low > 0 or pre_high < 0:
        pre_half = (pre_high - pre_low) / 2
        verdict += (f"; warning: before exposure the groups already differed by "
                    f"{_signed(pre_difference, pre_half)} {unit} per customer ({pct} CI "
                    f"{_signed(pre_low, pre_half)} to {_signed(pre_high, pre_half)}), so they "
                    f"were not comparable and the difference is not the campaign's alone")
    return verdict


def _signed(value: float, half_width: float) -> str:
    """``value`` with its sign and two decimals, more when the interval is narrower than 0.1
    (so that '-0.002, CI -0.049 to +0.045' does not read '-0.00, CI -0.05 to +0.05')."""
    decimals = 2 if not 0 < half_width < 0.1 else min(6, 1 - int(np.floor(np.log10(half_width))))
    return f"{value:+,.{decimals}f}"


def build_campaign_effects(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``campaign_tracking`` and ``campaign_effects``: what each campaign changed.

    Reads ``campaign_exposure`` (customer_id, campaign_id, exposure_date, exposure_group) and
    ``transactions`` (customer_id, source, order_id, order_date, amount), up to
    ``cfg.as_of``. Both tables are empty when no campaign is loaded.

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of``, ``currency`` and ``differentiate.campaign_window_days``.

    Returns
    -------
    int
        Rows of ``campaign_effects`` (one per campaign and metric); 0 without campaigns.

    Notes
    -----
    Who is compared (``sql/campaign_customers.sql``): a customer listed twice in one group
    counts once, from their first exposure; a customer listed in both groups of a campaign is
    left out of both and counted (``in_both_groups``).

    Over which days: every customer of a campaign is followed for the same number of days,
    ``window_days``, from their own exposure date, the exposure day included (a purchase on
    it counts after exposure). It is ``differentiate.campaign_window_days``, else the days from
    the campaign's latest exposure up to ``as_of``: a common window, so that a customer
    exposed late is not compared over fewer days. With a configured window, customers whose
    window would end after ``as_of`` are left out and counted (``window_too_short``).

    Outcomes per customer (``sql/campaign_outcomes.sql``), 0 for a customer who bought
    nothing: ``purchases`` (orders with a positive amount), ``revenue`` (positive amounts)
    and ``net_revenue`` (returns deducted). Per campaign and metric: the mean of each group,
    the difference treated - control with Welch's unequal-variance t interval
    (:func:`welch_difference`, :data:`CONFIDENCE`) and p-value; the same over the
    ``window_days`` days before exposure (``pre_*``), where a campaign cannot have acted yet:
    an interval there that leaves out 0 means the groups were not comparable
    (``comparable`` False) and the verdict warns (:func:`campaign_verdict`).

    ``campaign_tracking``: per campaign, group and week since exposure, the cumulative
    purchases, revenue and net revenue per customer of the group.
    """
    require_columns(con, "campaign_exposure", EXPOSURE_COLUMNS)
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    build_table(con, "campaign_customers", {
        "as_of": cfg.as_of, "window_days": cfg.differentiate.campaign_window_days},
        temporary=True)
    build_table(con, "campaign_days", temporary=True)
    try:
        build_table(con, "campaign_tracking")
        customers = con.execute("SELECT * FROM campaign_customers").df()
        outcomes = query(con, "campaign_outcomes").df()
    finally:
        con.execute("DROP TABLE campaign_days; DROP TABLE campaign_customers")
    return write_table(con, "campaign_effects", campaign_effects(customers, outcomes,
                                                                 cfg.currency))


#: The columns of ``campaign_effects``, in order.
EFFECT_COLUMNS = ("campaign_id", "metric", "unit", "exposure_start", "exposure_end",
                  "window_days", "n_treated", "n_control", "in_both_groups", "window_too_short",
                  "mean_treated", "mean_control", "difference", "ci_low", "ci_high", "p_value",
                  "pre_mean_treated", "pre_mean_control", "pre_difference", "pre_ci_low",
                  "pre_ci_high", "pre_p_value", "comparable", "verdict")


def campaign_effects(customers: pd.DataFrame, outcomes: pd.DataFrame,
                     currency: str = "") -> pd.DataFrame:
    """The rows of ``campaign_effects`` from one row per campaign customer.

    Parameters
    ----------
    customers
        ``sql/campaign_customers.sql``: campaign_id, exposure_date, window_days,
        in_both_groups, window_too_short, followed.
    outcomes
        ``sql/campaign_outcomes.sql``: campaign_id, exposure_group and, per metric of
        :data:`CAMPAIGN_METRICS`, the metric and ``pre_<metric>``.
    currency
        Written in the units of the money metrics.
    """
    require_frame_columns(customers, "campaign_customers",
                          ("campaign_id", "exposure_date", "window_days", "in_both_groups",
                           "window_too_short", "followed"))
    require_frame_columns(outcomes, "campaign_outcomes",
                          ("campaign_id", "exposure_group",
                           *CAMPAIGN_METRICS, *(f"pre_{m}" for m in CAMPAIGN_METRICS)))
    rows = []
    for campaign_id, listed in customers.groupby("campaign_id", sort=True):
        followed = listed[listed["followed"]]
        mine = outcomes[outcomes["campaign_id"] == campaign_id]
        treated = mine[mine["exposure_group"] == "treated"]
        control = mine[mine["exposure_group"] == "control"]
        for metric, unit in CAMPAIGN_METRICS.items():
            unit = unit.format(currency=currency).strip()
            after = welch_difference(treated[metric], control[metric])
            before = welch_difference(treated[f"pre_{metric}"], control[f"pre_{metric}"])
            measured = not np.isnan(after["low"])
            rows.append({
                "campaign_id": campaign_id, "metric": metric, "unit": f"{unit} per customer",
                "exposure_start": followed["exposure_date"].min(),
                "exposure_end": followed["exposure_date"].max(),
                "window_days": followed["window_days"].min(),
                "n_treated": len(treated), "n_control": len(control),
                "in_both_groups": int(listed["in_both_groups"].sum()),
                "window_too_short": int(listed["window_too_short"].sum()),
                "mean_treated": after["mean_first"], "mean_control": after["mean_second"],
                "difference": after["difference"], "ci_low": after["low"],
                "ci_high": after["high"], "p_value": after["p_value"],
                "pre_mean_treated": before["mean_first"],
                "pre_mean_control": before["mean_second"],
                "pre_difference": before["difference"], "pre_ci_low": before["low"],
                "pre_ci_high": before["high"], "pre_p_value": before["p_value"],
                "comparable": (not (before["low"] > 0 or before["high"] < 0)
                               if measured else None),
                "verdict": campaign_verdict(unit, after["difference"], after["low"],
                                            after["high"], before["difference"],
                                            before["low"], before["high"], len(treated),
                                            len(control)),
            })
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def true_campaign_effects(cfg: RunConfig) -> pd.DataFrame | None:
    """The simulation's true campaign effects, from the truth file named by ``clv.truth``.

    The demo generator's ``truth/parameters.json`` holds a ``campaign`` object: its
    ``campaign_id`` and the true average effect on a treated customer over the days from the
    campaign's start to ``as_of``, in purchases (``extra_purchases_per_treated``) and in
    revenue before returns (``extra_revenue_per_treated``): what ``campaign_effects``
    estimates with the default window (up to ``as_of``).

    Returns
    -------
    DataFrame or None
        ``campaign_id``, ``metric`` ('purchases', 'revenue'), ``true_difference``; None when
        the config names no truth file or the file describes no campaign.
    """
    if not cfg.clv.truth:
        return None
    truth = json.loads(cfg.resolve_path(cfg.clv.truth).read_text(encoding="utf-8"))
    campaign = truth.get("campaign")
    if not campaign:
        return None
    return pd.DataFrame([(campaign["campaign_id"], metric, float(campaign[key]))
                         for metric, key in TRUTH_KEYS.items() if key in campaign],
                        columns=["campaign_id", "metric", "true_difference"])


def effects_against_truth(effects: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The estimated effects beside the true ones, and whether each interval covers its truth.

    Parameters
    ----------
    effects
        ``campaign_effects``: campaign_id, metric, difference, ci_low, ci_high.
    truth
        :func:`true_campaign_effects`: campaign_id, metric, true_difference.

    Returns
    -------
    DataFrame
        The metrics with a true value: campaign_id, metric, difference, ci_low, ci_high,
        true_difference, covered (``ci_low <= true_difference <= ci_high``).
    """
    require_frame_columns(effects, "campaign_effects",
                          ("campaign_id", "metric", "difference", "ci_low", "ci_high"))
    require_frame_columns(truth, "truth", ("campaign_id", "metric", "true_difference"))
    both = effects[["campaign_id", "metric", "difference", "ci_low", "ci_high"]].merge(
        truth, on=["campaign_id", "metric"], how="inner")
    both["covered"] = both["true_difference"].between(both["ci_low"], both["ci_high"])
    return both
