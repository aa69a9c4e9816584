"""Differentiate: what is each customer worth today? (notebook 02)

Reads what 01 identify wrote (``transactions``, ``support_contacts``, ``customers``,
``marketing_spend``, ``campaign_exposure``, ``survey_answers``, ``survey_ratings``) and writes:

* ``acquisition_costs`` and ``customer_value`` — each customer's revenue, margin, cost to
  serve, acquisition cost and profit (lifetime and over the current window, the *current
  value*), RFMT scores and named RFM segment (:mod:`.value`, :mod:`.rfm`);
* ``equity_metrics`` — the customer-equity report of seed 003, one row per period and
  segment, and ``cohorts``, each period's new customers followed period by period
  (:mod:`.equity`);
* ``campaign_tracking`` and ``campaign_effects`` — treated against control customers of each
  campaign, with the difference and its interval (:mod:`.initiatives`);
* ``satisfaction``, ``driver_ratings`` and ``nps_drivers`` — NPS per group and the drivers
  that separate promoters from detractors (:mod:`.satisfaction`).

Below-zero customers and the concentration of value (Lorenz curves, Gini, the whale curve)
are computed on ``customer_value`` in pandas (:mod:`.below_zero`, :mod:`.concentration`).
All transaction-level work is SQL run inside the warehouse; the charts are in
:mod:`helpers.display`.
"""

from __future__ import annotations

from helpers.differentiate.below_zero import (
    below_zero_customers,
    below_zero_reasons,
    below_zero_summary,
    profit_basis,
    profit_values,
)
from helpers.differentiate.concentration import (
    concentration_sentence,
    gini,
    lorenz_curve,
    rfm_segment_summary,
    value_label,
    whale_curve,
)
from helpers.differentiate.equity import (
    EQUITY_CHANGE_METRICS,
    PERIOD_MONTHS,
    build_cohorts,
    build_equity_metrics,
    cohort_matrix,
    equity_changes,
    periods,
)
from helpers.differentiate.initiatives import (
    build_campaign_effects,
    effects_against_truth,
    true_campaign_effects,
)
from helpers.differentiate.rfm import DEFAULT_RFM_SEGMENTS, rfm_segment_rules
from helpers.differentiate.satisfaction import build_satisfaction, nps_by
from helpers.differentiate.value import (
    acquisition_cost_by_channel,
    build_acquisition_costs,
    build_customer_value,
    value_concentration,
)

__all__ = ["build_acquisition_costs", "acquisition_cost_by_channel", "build_customer_value",
           "value_concentration",
           "DEFAULT_RFM_SEGMENTS", "rfm_segment_rules", "periods", "PERIOD_MONTHS",
           "build_equity_metrics", "EQUITY_CHANGE_METRICS", "equity_changes", "build_cohorts",
           "cohort_matrix", "build_campaign_effects", "true_campaign_effects",
           "effects_against_truth", "build_satisfaction", "nps_by", "profit_basis",
           "profit_values", "below_zero_summary", "below_zero_customers", "below_zero_reasons",
           "lorenz_curve", "gini", "whale_curve", "concentration_sentence",
           "rfm_segment_summary", "value_label"]
