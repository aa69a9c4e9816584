"""Segment and act: what do we do with each customer? (notebook 04)

Reads what 01-03 wrote (``customer_value``, ``clv``, ``customers``, ``transactions``,
``survey_answers``, ``survey_ratings``) and writes:

* ``segments`` — each customer's current and future value and value tier (:mod:`.tiers`);
* ``customer_categories`` — what each customer bought, category by category
  (:mod:`.categories`);
* ``clusters`` — behavioural clusters, k chosen by silhouette, checked for stability
  (:mod:`.clusters`);
* ``driver_segments`` — each survey respondent's weakest driver and the offer it suggests
  (:mod:`.drivers`);
* ``category_affinity``, ``price_bands``, ``cross_sell``, ``up_sell`` — which categories go
  together, and the next category and price band to offer each customer (:mod:`.affinity`);
* ``first_baskets``, ``early_value`` — what was known at acquisition, and the first-year
  value it predicts for new customers and prospects (:mod:`.early_value`);
* ``actions`` — the action, offer, channel, priority, value at stake, budget and reason for
  each customer, with the playbook, the recovery guidelines and the CRM exports
  (:mod:`.actions`).
"""

from __future__ import annotations

from helpers.segment.actions import (
    action_rules,
    action_summary,
    build_actions,
    check_actions,
    export_actions,
    playbook,
    recovery_guidelines,
)
from helpers.segment.affinity import build_affinity, price_band_summary, top_pairs
from helpers.segment.categories import build_customer_categories, has_categories
from helpers.segment.clusters import ClusterResult, build_clusters, cluster_tiers
from helpers.segment.drivers import (
    build_driver_segments,
    driver_offer,
    driver_tier_table,
    has_survey,
)
from helpers.segment.early_value import (
    EarlyValueResult,
    build_early_value,
    channel_profile,
    profile_vs_truth,
    truth_agreement,
)
from helpers.segment.tiers import (
    SENSITIVITY_STEPS,
    TIERS,
    build_segments,
    tier_sensitivity,
    tier_summary,
)

__all__ = ["ClusterResult", "EarlyValueResult", "SENSITIVITY_STEPS", "TIERS", "action_rules",
           "action_summary", "build_actions", "build_affinity", "build_clusters",
           "build_customer_categories", "build_driver_segments", "build_early_value",
           "build_segments", "channel_profile", "check_actions", "cluster_tiers", "driver_offer",
           "driver_tier_table", "export_actions", "has_categories", "has_survey", "playbook",
           "price_band_summary", "profile_vs_truth", "recovery_guidelines", "tier_sensitivity",
           "tier_summary", "top_pairs", "truth_agreement"]
