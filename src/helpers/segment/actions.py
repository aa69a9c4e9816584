"""Actions: what each customer gets, through which channel, from whom, and why.

The frame's *Interact* and *Customize* steps: ``actions`` (``sql/actions.sql``) gives every
customer in ``segments`` one action of the playbook (the config's ``segment.actions``), a
concrete offer, a channel, a priority, the value at stake with the budget it implies, and a
one-line reason. :func:`playbook` sums it per tier and action; :func:`recovery_guidelines`
is the compensation front-line staff may grant; :func:`export_actions` writes the files the
CRM loads.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import ACTIONS, TIERS, RunConfig
from helpers.exports import export, export_rows, write_export
from helpers.warehouse import build_table, require_columns, require_tables
from helpers.workbook import Sheet, write_workbook

__all__ = ["build_actions", "check_actions", "action_rules", "playbook", "recovery_guidelines",
           "export_actions", "action_summary"]

PLAYBOOK_SQL = """
SELECT tier, action, ANY_VALUE(treatment) AS treatment, COUNT(*) AS customers,
       MIN(priority) AS priority, SUM(value_at_stake) AS value_at_stake,
       SUM(budget) AS budget, SUM(budget) / COUNT(*) AS budget_per_customer,
       COUNT(*) FILTER (WHERE offer_type IN ('cross-sell', 'up-sell')) AS product_offers,
       COUNT(*) FILTER (WHERE offer_type = 'concern') AS concern_offers
FROM actions
GROUP BY tier, action
"""

CHECK_ACTIONS_SQL = """
WITH per_customer AS (
    SELECT s.customer_id, s.tier, s.profit_to_date, s.future_value,
           COUNT(a.customer_id) AS rows, COUNT(*) FILTER (WHERE a.tier <> s.tier) AS other_tier
    FROM segments AS s
    LEFT JOIN actions AS a USING (customer_id)
    GROUP BY ALL
)
SELECT
    COUNT(*) FILTER (WHERE rows = 0),
    COUNT(*) FILTER (WHERE rows > 1),
    (SELECT COUNT(*) FROM actions ANTI JOIN segments USING (customer_id)),
    COUNT(*) FILTER (WHERE other_tier > 0),
    COUNT(*) FILTER (WHERE (tier = 'Below zero')
                           <> (profit_to_date < 0 AND profit_to_date + future_value < 0))
FROM per_customer
"""

ACTION_SUMMARY_SQL = """
SELECT action, offer_type, channel, COUNT(*) AS customers, MIN(priority) AS priority,
       SUM(budget) AS budget
FROM actions
GROUP BY action, offer_type, channel
ORDER BY priority, customers DESC, action, offer_type, channel
"""


def action_rules(cfg: RunConfig) -> pd.DataFrame:
    """The playbook's rules (``segment.actions``): action, treatment, offer, priority and
    budget_share, in :data:`helpers.config.ACTIONS` order."""
    return pd.DataFrame([{"action": name, **rule.model_dump()}
                         for name, rule in cfg.segment.actions.items()])


def _window_label(days: int) -> str:
    return "last 12 months" if days == 365 else f"last {days} days"


def build_actions(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``actions``: one row per customer in ``segments`` with what to do and why.

    Reads ``segments`` (customer_id, tier, current_value, profit_to_date, future_value,
    future_value_low, future_value_high, p_alive), ``customer_value`` (rfm_segment,
    n_orders, n_orders_12m, tenure_days), ``customers`` (email, phone), ``clusters``
    (cluster, cluster_name), ``cross_sell`` (category, because_of, expected_value),
    ``up_sell`` (category, current_band, proposed_band, expected_value) and
    ``driver_segments`` (driver_group, weakest_driver, weakest_rating, offer). The last four
    may be empty (no catalogue, no survey).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``segment.actions`` (the playbook), ``segment.win_back_p_alive``,
        ``differentiate.current_value_days`` and ``currency``.

    Returns
    -------
    int
        Rows written: one per customer in ``segments``.

    Notes
    -----
    **Action.** Below zero → reduce cost to serve, whatever ``p_alive``; otherwise
    ``p_alive < win_back_p_alive`` → win back (a NULL ``p_alive``, no CLV estimate, is no
    risk signal); otherwise the tier's: Most valuable → retain, Most growable → develop,
    Maintain → maintain. ``priority`` is the better of the action's and the tier action's
    (an at-risk best customer is won back first of all).

    **Offer** (``offer_type``): reduce cost to serve keeps its standard offer; a survey
    respondent with a concern gets the offer their weakest driver suggests ('concern');
    develop and maintain customers with a product offer get the better of their cross-sell
    and up-sell by expected value ('cross-sell', 'up-sell'; maintain folds it into its
    standard offer); everyone else the action's standard offer ('standard').
    ``offer_value`` is the product offer's expected value.

    **Value at stake.** The future value (net CLV, floored at 0) the action protects; for
    develop plus the product offer's expected value; for reduce cost to serve the loss
    still expected, ``-(profit_to_date + future_value)``. ``budget`` is the action's
    ``budget_share`` of it.

    **Channel**: email when the customer has one, else sms when a phone, else store.
    ``reason`` joins, with '; ': the value ('top 5% profit', the loss of a below-zero
    customer, the growth of a growable one), the risk ('probably lapsing (P(alive) 0.31)'),
    the purchase trend (orders in the current window against the rate before it, for
    customers with two windows of history: 'falling' below half, 'rising' above 1.5 times)
    and what drives the offer ('buys coffee, never bought grinders', 'rates price 1').
    """
    require_tables(con, "clusters", "cross_sell", "up_sell", "driver_segments")
    require_columns(con, "segments", ("customer_id", "tier", "current_value", "profit_to_date",
                                      "future_value", "future_value_low", "future_value_high",
                                      "p_alive"))
    require_columns(con, "customer_value", ("customer_id", "rfm_segment", "n_orders",
                                            "n_orders_12m", "tenure_days"))
    require_columns(con, "customers", ("customer_id", "email", "phone"))
    con.register("action_rules", action_rules(cfg))
    window = cfg.differentiate.current_value_days
    try:
        return build_table(con, "actions", {
            "win_back_p_alive": cfg.segment.win_back_p_alive, "window_days": window,
            "window_label": _window_label(window), "currency": cfg.currency})
    finally:
        con.unregister("action_rules")


def check_actions(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Check ``actions`` against ``segments`` before anything is exported; return empty tiers.

    Reads ``segments`` (customer_id, tier, profit_to_date, future_value) and ``actions``
    (customer_id, tier).

    Returns
    -------
    list of str
        The tiers of :data:`TIERS` no customer is in (a fact to report, not an error: a
        small client may have no Most growable customer).

    Raises
    ------
    ValueError
        When a customer of ``segments`` has no row or several rows in ``actions``, when
        ``actions`` has a customer ``segments`` has not, when a row's tier differs from the
        customer's tier, or when the Below zero tier is not exactly the customers with
        ``profit_to_date < 0`` and ``profit_to_date + future_value < 0``.
    """
    require_columns(con, "segments", ("customer_id", "tier", "profit_to_date", "future_value"))
    require_columns(con, "actions", ("customer_id", "tier"))
    problems = con.execute(CHECK_ACTIONS_SQL).fetchone()
    labels = ("customers without an action", "customers with several actions",
              "actions of customers not in segments", "actions whose tier is not the customer's",
              "customers whose Below zero tier disagrees with their profit and CLV")
    found = [f"{count:,} {label}" for count, label in zip(problems, labels, strict=True)
             if count]
    if found:
        raise ValueError("actions do not match segments: " + "; ".join(found)
                         + ". Rebuild segments, then actions (notebook 04)")
    present = {row[0] for row in con.execute("SELECT DISTINCT tier FROM segments").fetchall()}
    return [tier for tier in TIERS if tier not in present]


def playbook(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each tier's actions: who gets them, what they protect and the budget they imply.

    Reads ``actions`` (tier, action, treatment, priority, value_at_stake, budget,
    offer_type).

    Returns
    -------
    DataFrame
        One row per tier (in :data:`TIERS` order) and action (by priority): tier, action,
        treatment, customers, priority, value_at_stake, budget, budget_per_customer,
        product_offers (customers offered a cross-sell or up-sell) and concern_offers
        (customers offered what their survey concern suggests).
    """
    require_columns(con, "actions", ("tier", "action", "treatment", "priority",
                                     "value_at_stake", "budget", "offer_type"))
    table = con.execute(PLAYBOOK_SQL).df()
    table["tier_order"] = table["tier"].map({tier: i for i, tier in enumerate(TIERS)})
    table["action_order"] = table["action"].map({a: i for i, a in enumerate(ACTIONS)})
    return (table.sort_values(["tier_order", "priority", "action_order"], ignore_index=True)
            .drop(columns=["tier_order", "action_order"]))


def action_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customers per action, offer type and channel, highest priority first (``actions``)."""
    require_columns(con, "actions", ("action", "offer_type", "channel", "priority", "budget"))
    return con.execute(ACTION_SUMMARY_SQL).df()


def recovery_guidelines(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """Compensation front-line staff may grant, by tier and complaint severity.

    The limits are the config's ``segment.recovery``; beside them, each tier's customers and
    median future value (``segments``: tier, future_value), so the limits can be read
    against what the customer is worth.

    Returns
    -------
    DataFrame
        One row per tier in :data:`TIERS` order: tier, customers, median_future_value, then
        one column per severity (in the config's order) with the limit.
    """
    require_columns(con, "segments", ("tier", "future_value"))
    worth = con.execute("SELECT tier, COUNT(*) AS customers, MEDIAN(future_value) AS "
                        "median_future_value FROM segments GROUP BY tier").df()
    limits = pd.DataFrame.from_dict(cfg.segment.recovery, orient="index")
    limits.index.name = "tier"
    table = (worth.set_index("tier").reindex(list(TIERS)).join(limits).reset_index())
    table["customers"] = table["customers"].fillna(0).astype("int64")
    return table


def export_actions(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                   run_dir: str | Path) -> dict[str, Path]:
    """Write ``exports/actions.csv``, ``exports/actions.parquet`` and ``exports/actions.xlsx``
    under ``run_dir``: the files the CRM loads.

    The CSV and Parquet are ``actions`` (:func:`helpers.exports.write_export`): one row per
    customer, highest priority first, then the largest value at stake, then customer_id (the
    same order every run). They hold no personal data: the CRM joins them on customer_id
    (``exports/customers.csv`` has the contact fields, under the config's ``pii.exports``).
    The workbook (:mod:`helpers.workbook`) has sheets Actions (the same rows, as many as
    Excel holds: a longer list is cut, and a 'Read me' sheet first says so and names
    actions.csv), Playbook (:func:`playbook`), Recovery (:func:`recovery_guidelines`: its
    limits shown as money) and Rules (:func:`action_rules`); it is stamped with ``as_of`` so
    a rerun writes the same bytes.

    Reads ``actions`` (every registered column) and ``segments`` (tier, future_value).

    Returns
    -------
    dict
        'csv', 'parquet' and 'workbook' → path.
    """
    require_tables(con, "actions", "segments")
    folder = Path(run_dir) / "exports"
    written = write_export(con, cfg, folder, export("actions"))
    paths = {"csv": written["actions.csv"], "parquet": written["actions.parquet"],
             "workbook": folder / "actions.xlsx"}
    severities = next(iter(cfg.segment.recovery.values()))
    write_workbook(paths["workbook"], [
        Sheet("Actions", export_rows(con, cfg, "actions"), full_list="actions.csv"),
        Sheet("Playbook", playbook(con)),
        Sheet("Recovery", recovery_guidelines(con, cfg),
              kinds={severity: "money" for severity in severities}),
        Sheet("Rules", action_rules(cfg)),
    ], cfg.as_of, cfg.currency)
    return paths
