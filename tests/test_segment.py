"""Helpers of notebook 04 on small tables whose tiers and actions are worked out by hand."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import openpyxl
import pandas as pd
import pytest

from helpers.config import ACTIONS, SegmentConfig
from helpers.segment import (
    TIERS,
    action_summary,
    build_actions,
    build_customer_categories,
    build_driver_segments,
    build_segments,
    check_actions,
    cluster_tiers,
    driver_tier_table,
    export_actions,
    has_categories,
    playbook,
    recovery_guidelines,
    tier_sensitivity,
    tier_summary,
)
from helpers.warehouse import MissingColumnError, MissingTableError, read_table, write_table

TIERS_CONFIG = {"most_valuable_share": 0.2, "most_growable_ratio": 1.5,
                "most_growable_share": 0.2}

# customer_id, profit_12m (current value), profit to date, clv_net (future value; None: not in
# clv), p_alive
CUSTOMERS = [
    ("c01", 500, 800, 1000, 0.9),  # top current value; also top future value, but MV first
    ("c02", 300, 600, 50, 0.3),  # 2nd of 10 by current value: the threshold; at risk
    ("c03", 300, 300, 100, 0.8),  # ties with the threshold: in
    ("c04", 100, 150, 400, 0.6),  # 2nd by future value (threshold 400), 400 >= 1.5 * 100
    ("c05", -20, 30, 400, 0.2),  # loses money today but growable: 400 >= 1.5 * max(-20, 0)
    ("c06", 290, 400, 400, 0.7),  # top future value but 400 < 1.5 * 290 = 435
    ("c07", -50, -50, None, None),  # not in clv: future value 0, -50 + 0 < 0 -> Below zero
    ("c08", -10, -20, -5, 0.1),  # Below zero (no win-back for them)
    ("c09", 0, -10, 10, 0.5),  # -10 + 10 is not < 0: Maintain; p_alive 0.5 is not at risk
    ("c10", -30, -40, 50, 0.4),  # a future value that makes up the loss: not Below zero
]
EXPECTED_TIERS = ["Most valuable"] * 3 + ["Most growable"] * 2 + [
    "Maintain", "Below zero", "Below zero", "Maintain", "Maintain"]


def warehouse(customers=CUSTOMERS) -> duckdb.DuckDBPyConnection:
    """customer_value and clv of ``customers``; c03's acquisition cost is unknown, so its
    profit to date is its profit."""
    con = duckdb.connect()
    ids, current, to_date, future, p_alive = zip(*customers, strict=True)
    after_acquisition = [None if i == "c03" else float(v) for i, v in zip(ids, to_date,
                                                                          strict=True)]
    write_table(con, "customer_value", pd.DataFrame({
        "customer_id": ids, "profit_12m": [float(v) for v in current],
        "profit": [float(v) + 25 if i != "c03" else float(v)
                   for i, v in zip(ids, to_date, strict=True)],
        "profit_after_acquisition": after_acquisition,
        "rfmt_score": [3.0] * len(ids), "rfm_segment": ["Loyal"] * len(ids),
        "n_orders": [10 if i == "c10" else 3 for i in ids],
        "n_orders_12m": [1 if i == "c10" else 2 for i in ids],
        "tenure_days": [1095 if i == "c10" else 300 for i in ids]}))
    clv = pd.DataFrame({"customer_id": ids, "p_alive": p_alive, "clv_net": future}).dropna(
        subset=["clv_net"]).astype({"p_alive": float, "clv_net": float})
    write_table(con, "clv", clv.assign(expected_service_cost=2.0,
                                       clv_low=clv["clv_net"] - 8, clv_high=clv["clv_net"] + 12))
    return con


def test_tiers_by_hand(make_config):
    con = warehouse()
    assert build_segments(con, make_config(tiers=TIERS_CONFIG)) == 10
    segments = read_table(con, "segments")
    assert segments["tier"].tolist() == EXPECTED_TIERS
    assert segments["current_value"].tolist() == [c[1] for c in CUSTOMERS]
    assert segments["profit_to_date"].tolist() == [c[2] for c in CUSTOMERS]
    assert segments["future_value"].tolist() == [0 if c[3] is None else c[3] for c in CUSTOMERS]
    # the interval is clv's, net of the expected service cost: clv_low - 2 = clv_net - 10
    assert segments.loc[0, "future_value_low"] == 990 and segments.loc[0, "future_value_high"] \
        == 1010
    assert pd.isna(segments.loc[6, "p_alive"])  # c07 has no CLV estimate
    reasons = segments.set_index("customer_id")["tier_reason"]
    assert reasons["c01"] == "profit last 12m EUR 500.00 in top 20% (≥ EUR 300.00)"
    assert reasons["c04"] == ("future value EUR 400.00 in top 20% (≥ EUR 400.00) "
                              "and ≥ 1.5 × current (EUR 150.00)")
    assert reasons["c07"] == ("profit to date EUR -50.00 < 0 and future value EUR 0.00 will "
                              "not make it up")
    assert reasons["c06"] == ("profit last 12m EUR 290.00 (Most valuable: > 0 and ≥ EUR 300.00); "
                              "future value EUR 400.00 (Most growable: > 0, ≥ EUR 400.00 and "
                              "≥ EUR 435.00)")


def test_below_zero_is_exactly_loss_not_made_up(make_config):
    con = warehouse()
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    segments = read_table(con, "segments")
    says_so = (segments["profit_to_date"] < 0) & (
        segments["profit_to_date"] + segments["future_value"] < 0)
    assert ((segments["tier"] == "Below zero") == says_so).all()


def test_most_valuable_needs_positive_value(make_config):
    # the top-20% threshold is 0 here, but nobody earning nothing is "most valuable"
    con = warehouse([("a", 0, 0, 0, 0.9), ("b", -5, -5, 0, 0.9), ("c", -8, 5, 1, 0.9)])
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    assert read_table(con, "segments")["tier"].tolist() == ["Maintain", "Below zero",
                                                            "Most growable"]


def test_top_share_is_rank_based(make_config):
    # 0.1 * 30 is 3.0000000000000004 in floating point: the top 10% is still 3 customers
    con = warehouse([(f"c{i:02d}", 30 - i, 1, 0, 0.9) for i in range(30)])
    build_segments(con, make_config(tiers={"most_valuable_share": 0.1}))
    assert (read_table(con, "segments")["tier"] == "Most valuable").sum() == 3


def test_sensitivity_by_hand(make_config):
    con = warehouse()
    cfg = make_config(tiers=TIERS_CONFIG)
    build_segments(con, cfg)
    table = tier_sensitivity(con, cfg, steps={"most_valuable_share": (-0.1, 0.9),
                                              "most_growable_ratio": (1.0,)})
    # 0.2 + 0.9 is not a share: skipped
    assert table["threshold"].tolist() == ["as configured", "most_valuable_share",
                                           "most_growable_ratio"]
    assert (table[list(TIERS)].sum(axis=1) == 10).all()
    configured, top_tenth, ratio = table.to_dict("records")
    assert [configured[t] for t in TIERS] == [3, 2, 3, 2] and configured["moved"] == 0
    # top 10%: only c01 stays Most valuable; c02 and c03 drop to Maintain (future 50, 100)
    assert [top_tenth[t] for t in TIERS] == [1, 2, 5, 2] and top_tenth["moved"] == 2
    # ratio 2.5: c04 (400 < 250 is false: stays), c05 stays; nobody moves
    assert [ratio[t] for t in TIERS] == [3, 2, 3, 2] and ratio["moved"] == 0


def side_tables(con: duckdb.DuckDBPyConnection) -> None:
    """customers, clusters, cross_sell, up_sell and driver_segments for the actions."""
    write_table(con, "customers", pd.DataFrame({
        "customer_id": [c[0] for c in CUSTOMERS[:9]],  # c10 has no golden record
        "email": ["a@x.it", "", None, "  ", "e@x.it", None, None, "h@x.it", None],
        "phone": [None, "+39 1", None, None, "+39 5", "+39 6", None, None, "+39 9"],
    }))
    write_table(con, "clusters", pd.DataFrame({
        "customer_id": [c[0] for c in CUSTOMERS], "cluster": [1] * 5 + [2] * 5,
        "cluster_name": ["frequent"] * 5 + ["lapsed"] * 5}))
    write_table(con, "cross_sell", pd.DataFrame({
        "customer_id": ["c01", "c04", "c06"], "category": ["grinders"] * 3,
        "because_of": ["coffee"] * 3, "lift": [2.0] * 3, "confidence": [0.3] * 3,
        "expected_value": [30.0, 12.0, 5.0]}))
    write_table(con, "up_sell", pd.DataFrame({
        "customer_id": ["c04"], "category": ["coffee"], "current_band": ["mid"],
        "proposed_band": ["premium"], "expected_value": [20.0]}))
    write_table(con, "driver_segments", pd.DataFrame({
        "customer_id": ["c03", "c07", "c09"], "nps": [4, 2, 9],
        "weakest_driver": ["price", "problems", "benefits"], "weakest_rating": [1.0, 1.0, 4.0],
        "driver_group": ["price", "problems", "no concern"],
        "offer": ["value offer", "fix first", "ask for a referral"]}))


def actions_warehouse(make_config):
    con = warehouse()
    side_tables(con)
    cfg = make_config(tiers=TIERS_CONFIG)
    build_segments(con, cfg)
    assert build_actions(con, cfg) == 10
    return con, cfg


def test_actions_by_hand(make_config):
    con, _ = actions_warehouse(make_config)
    actions = read_table(con, "actions").set_index("customer_id")
    assert actions["tier"].tolist() == EXPECTED_TIERS  # win-back keeps the tier
    assert actions["action"].tolist() == [
        "retain", "win back",  # c02: Most valuable, p_alive 0.3
        "retain", "develop", "win back",  # c05: Most growable, p_alive 0.2
        "maintain",
        "reduce cost to serve",  # c07: no p_alive
        "reduce cost to serve",  # c08: p_alive 0.1, but Below zero is never won back
        "maintain",  # c09: p_alive 0.5 is not < 0.5
        "win back",  # c10: Maintain, p_alive 0.4
    ]
    # at-risk customers keep their tier's priority when it is higher than win-back's (3)
    assert actions["priority"].tolist() == [1, 1, 1, 2, 2, 4, 5, 5, 4, 3]
    # email, else phone, else store; blank email counts as none; c10 has no customers row
    assert actions["channel"].tolist() == ["email", "sms", "store", "store", "email", "sms",
                                           "store", "email", "sms", "store"]
    assert actions["cluster_name"].tolist() == ["frequent"] * 5 + ["lapsed"] * 5
    assert actions.loc["c01", "clv_low"] == 990


def test_offers_by_hand(make_config):
    con, _ = actions_warehouse(make_config)
    actions = read_table(con, "actions").set_index("customer_id")
    # retain keeps its offer even with a cross-sell; develop takes the larger of cross-sell
    # (12) and up-sell (20); maintain folds the cross-sell into its newsletter
    assert actions.loc["c01", ["offer", "offer_type"]].tolist() == [
        "loyalty reward and early access", "standard"]
    assert actions.loc["c04", ["offer", "offer_type", "offer_value"]].tolist() == [
        "up-sell: premium coffee", "up-sell", 20.0]
    assert actions.loc["c06", "offer"] == "seasonal newsletter featuring grinders"
    # a survey concern orients the offer; 'no concern' and below zero keep the standard one
    assert actions.loc["c03", ["offer", "offer_type"]].tolist() == ["value offer", "concern"]
    assert actions.loc["c09", "offer_type"] == "standard"
    assert actions.loc["c07", "offer"] == "self-service and digital-only contact"
    assert actions.loc["c02", "offer"] == "reactivation voucher"


def test_value_at_stake_and_budget_by_hand(make_config):
    con, _ = actions_warehouse(make_config)
    actions = read_table(con, "actions").set_index("customer_id")
    # develop: future value + the offer's 20; below zero: the loss not made up
    assert actions.loc["c04", "value_at_stake"] == 420 and actions.loc["c04", "budget"] == 84
    assert actions.loc["c07", "value_at_stake"] == 50 and actions.loc["c07", "budget"] == 0
    assert actions.loc["c08", "value_at_stake"] == 25
    assert actions.loc["c01", "budget"] == pytest.approx(100)
    assert actions.loc["c02", "budget"] == pytest.approx(5)  # win back: 10% of 50


def test_reasons_by_hand(make_config):
    con, _ = actions_warehouse(make_config)
    reasons = read_table(con, "actions").set_index("customer_id")["reason"]
    assert reasons["c01"] == "top 10% profit"
    assert reasons["c02"] == "top 20% profit; probably lapsing (P(alive) 0.30)"
    assert reasons["c03"] == "top 20% profit; rates price 1"
    assert reasons["c04"] == ("future value EUR 400.00 against EUR 100.00 in the last 12 "
                              "months; buys mid coffee")
    assert reasons["c06"] == "top 40% profit; buys coffee, never bought grinders"
    assert reasons["c07"] == ("lost EUR 50.00 to date, future value EUR 0.00 will not make "
                              "it up; no CLV estimate")
    # 9 orders over the 2 years before the window: 4.5 a window, against 1 in it
    assert reasons["c10"] == ("profit in the last 12 months EUR -30.00; probably lapsing "
                              "(P(alive) 0.40); purchase rate falling (1 order in the last "
                              "12 months, 4.5 per such period before)")


def test_playbook_and_summary_reconcile(make_config):
    con, _ = actions_warehouse(make_config)
    book = playbook(con)
    actions = read_table(con, "actions")
    assert book["customers"].sum() == 10
    assert book["budget"].sum() == pytest.approx(actions["budget"].sum())
    assert book["tier"].tolist()[0] == "Most valuable"
    retain = book[(book["tier"] == "Most valuable") & (book["action"] == "retain")].iloc[0]
    assert retain["customers"] == 2 and retain["value_at_stake"] == 1100
    summary = action_summary(con)
    assert summary["customers"].sum() == 10 and summary["priority"].is_monotonic_increasing


def test_recovery_guidelines_follow_the_config(make_config):
    con = warehouse()
    limits = {tier: {"small": 1.0 * i, "big": 10.0 * (i + 1)} for i, tier in enumerate(TIERS)}
    cfg = make_config(tiers=TIERS_CONFIG, segment={"recovery": limits})
    build_segments(con, cfg)
    table = recovery_guidelines(con, cfg)
    assert table["tier"].tolist() == list(TIERS)
    assert table["big"].tolist() == [10.0, 20.0, 30.0, 40.0]
    assert table["customers"].tolist() == [3, 2, 3, 2]


@pytest.mark.parametrize("recovery, message", [
    ({"Most valuable": {"minor": 1.0}}, "each tier"),
    ({t: {"minor": 5.0, "severe": 1.0} for t in TIERS}, "rise with severity"),
    ({**{t: {"minor": 1.0} for t in TIERS}, "Maintain": {"severe": 1.0}}, "same severities"),
])
def test_recovery_config_is_checked(recovery, message):
    with pytest.raises(ValueError, match=message):
        SegmentConfig(recovery=recovery)


def test_actions_config_fills_in_and_refuses_unknown():
    cfg = SegmentConfig(actions={"develop": {"treatment": "t", "offer": "o", "priority": 2,
                                             "budget_share": 0.5}})
    assert list(cfg.actions) == list(ACTIONS) and cfg.actions["develop"].offer == "o"
    assert cfg.actions["retain"].priority == 1
    with pytest.raises(ValueError, match="unknown action"):
        SegmentConfig(actions={"upsell": {"treatment": "t", "offer": "o", "priority": 1,
                                          "budget_share": 0}})


def test_exports_read_back_and_are_stable(make_config, tmp_path):
    con, cfg = actions_warehouse(make_config)
    paths = export_actions(con, cfg, tmp_path)
    csv = pd.read_csv(paths["csv"])
    assert len(csv) == 10 and csv["customer_id"].is_unique
    assert csv["priority"].is_monotonic_increasing
    book = openpyxl.load_workbook(paths["workbook"], read_only=True)
    assert book.sheetnames == ["Actions", "Playbook", "Recovery", "Rules"]
    rows = list(book["Actions"].values)
    assert len(rows) == 11 and rows[0][0] == "customer_id"
    first = paths["workbook"].read_bytes()
    export_actions(con, cfg, tmp_path)
    assert paths["workbook"].read_bytes() == first


def survey_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    write_table(con, "survey_answers", pd.DataFrame({
        "customer_id": ["c01", "c01", "c04", "c06", "c08"], "source": ["s"] * 5,
        "source_row": [1, 2, 3, 4, 5],
        "response_date": [date(2025, 1, 1), date(2025, 6, 1), date(2025, 3, 1),
                          date(2025, 3, 1), date(2025, 3, 1)],
        "nps": [3, 10, 6, 9, 2], "comment": [None] * 5}))
    write_table(con, "survey_ratings", pd.DataFrame({
        "customer_id": ["c01", "c01", "c01", "c01", "c04", "c04", "c06", "c06"],
        "source": ["s"] * 8, "source_row": [1, 1, 2, 2, 3, 3, 4, 4],
        "driver": ["price", "problems", "price", "problems", "price", "benefits", "price",
                   "problems"],
        "rating": [1.0, 1.0, 4.0, 5.0, 2.0, 2.0, 5.0, 3.0]}))


def test_driver_segments_by_hand(make_config):
    con = warehouse()
    survey_warehouse(con)
    cfg = make_config(tiers=TIERS_CONFIG, segment={"driver_offers": {"price": "cheaper"}})
    assert build_driver_segments(con, cfg) == 4
    drivers = read_table(con, "driver_segments").set_index("customer_id")
    # c01's latest answer rates price 4 and problems 5: no concern (the older 1s do not count)
    assert drivers.loc["c01", ["weakest_driver", "driver_group"]].tolist() == ["price",
                                                                               "no concern"]
    # c04 ties benefits and price at 2: the first by name, a concern at <= 2
    assert drivers.loc["c04", ["weakest_driver", "driver_group", "offer"]].tolist() == [
        "benefits", "benefits", "show the benefits: product advice and how-to content"]
    assert drivers.loc["c06", "driver_group"] == "no concern"
    assert drivers.loc["c08", "driver_group"] == "not rated"
    build_segments(con, cfg)
    crossed = driver_tier_table(con, cfg)
    assert crossed["respondents"].sum() == 4
    mv = crossed[crossed["tier"] == "Most valuable"].iloc[0]
    assert mv[["driver_group", "nps", "offer"]].tolist() == ["no concern", 100.0,
                                                             "ask for a review or a referral"]


def test_missing_inputs_are_named(make_config):
    con = duckdb.connect()
    with pytest.raises(MissingTableError, match="customer_value"):
        build_segments(con, make_config(tiers=TIERS_CONFIG))
    con = warehouse()
    con.execute("ALTER TABLE clv DROP COLUMN clv_net")
    with pytest.raises(MissingColumnError, match="'clv'.*clv_net"):
        build_segments(con, make_config(tiers=TIERS_CONFIG))
    con = warehouse()
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    with pytest.raises(MissingTableError, match="clusters"):
        build_actions(con, make_config(tiers=TIERS_CONFIG))


def test_tier_summary_by_hand(make_config):
    con = warehouse()
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    summary = tier_summary(con)
    assert summary["tier"].tolist() == list(TIERS)
    assert summary["customers"].tolist() == [3, 2, 3, 2]
    assert summary["current_value_total"].tolist() == [1100.0, 80.0, 260.0, -60.0]
    assert summary["future_value_total"].tolist() == [1150.0, 800.0, 460.0, -5.0]
    assert summary["p_alive_mean"].tolist() == pytest.approx([2 / 3, 0.4, 1.6 / 3, 0.1])
    # c02 of three; c05 of two; c10 of three; c08 of the one with an estimate (c07 has none)
    assert summary["at_risk_share"].tolist() == pytest.approx([1 / 3, 0.5, 1 / 3, 1.0])


def test_tier_summary_lists_empty_tiers(make_config):
    con = warehouse([("a", 10, 10, 0, 0.9), ("b", 5, 5, 0, 0.9)])
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    summary = tier_summary(con).set_index("tier")
    assert summary["customers"].tolist() == [1, 0, 1, 0]
    assert summary.loc["Below zero", "current_value_total"] == 0
    assert pd.isna(summary.loc["Below zero", "current_value_mean"])


def test_check_actions_catches_what_would_be_exported_wrong(make_config):
    con, _ = actions_warehouse(make_config)
    assert check_actions(con) == []
    con.execute("DELETE FROM actions WHERE customer_id = 'c01'")
    con.execute("INSERT INTO actions (customer_id, tier) VALUES ('c02', 'Most valuable'), "
                "('zz', 'Maintain')")
    con.execute("UPDATE actions SET tier = 'Maintain' WHERE customer_id = 'c03'")
    con.execute("UPDATE segments SET tier = 'Maintain' WHERE customer_id = 'c07'")
    with pytest.raises(ValueError) as error:
        check_actions(con)
    assert str(error.value) == (
        "actions do not match segments: 1 customers without an action; 1 customers with "
        "several actions; 1 actions of customers not in segments; 2 actions whose tier is not "
        "the customer's; 1 customers whose Below zero tier disagrees with their profit and CLV"
        ". Rebuild segments, then actions (notebook 04)")


def test_check_actions_reports_empty_tiers(make_config):
    con = warehouse([("a", 10, 10, 0, 0.9), ("b", 5, 5, 0, 0.9)])
    side_tables(con)
    cfg = make_config(tiers=TIERS_CONFIG)
    build_segments(con, cfg)
    build_actions(con, cfg)
    assert check_actions(con) == ["Most growable", "Below zero"]


def test_customer_categories_by_hand(make_config):
    con = duckdb.connect()
    # customer, source, order, day, amount, quantity, category, cost
    lines = [
        ("a", "shop", "o1", date(2025, 3, 1), 10.0, 2.0, "coffee", 4.0),
        ("a", "shop", "o2", date(2025, 4, 1), 6.0, None, "coffee", None),  # no cost, no qty
        ("a", "shop", "o2", date(2025, 4, 1), -5.0, -1.0, "coffee", -2.0),  # a return
        ("a", "shop", "o3", date(2025, 5, 1), -20.0, -1.0, "grinders", -8.0),  # only returned
        ("a", "shop", "o3", date(2025, 5, 1), 7.0, 1.0, None, 3.0),  # no category
        ("b", "till", "o1", date(2025, 6, 1), 30.0, 3.0, "grinders", 12.0),  # other source
        ("b", "till", "o9", date(2026, 1, 2), 99.0, 1.0, "coffee", 1.0),  # after as-of
    ]
    write_table(con, "transactions", pd.DataFrame(lines, columns=[
        "customer_id", "source", "order_id", "order_date", "amount", "quantity", "category",
        "cost"]))
    cfg = make_config(costs={"gross_margin_rate": 0.5})
    assert build_customer_categories(con, cfg) == 2
    rows = read_table(con, "customer_categories").set_index(["customer_id", "category"])
    coffee = rows.loc[("a", "coffee")]
    assert coffee["orders"] == 2 and coffee["units"] == 3  # a line without quantity is 1
    assert coffee["net_revenue"] == 11
    # margin: 10 - 4, then 6 at the 50% rate, then the return gives back 5 - 2
    assert coffee["gross_margin"] == pytest.approx(6 + 3 - 3)
    assert coffee["mean_unit_price"] == pytest.approx(16 / 3)
    assert coffee["first_purchase"] == pd.Timestamp(2025, 3, 1)
    assert rows.loc[("b", "grinders"), "units"] == 3
    assert not has_categories(duckdb.connect())


def test_cluster_tiers_count_customers_per_cluster_and_tier(make_config):
    con = warehouse()
    side_tables(con)
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    table = cluster_tiers(con)
    assert table.columns.tolist() == ["cluster", "cluster_name", *TIERS]
    # c01-c05 are cluster 1 (3 Most valuable, 2 Most growable), c06-c10 cluster 2
    assert table.iloc[0][list(TIERS)].tolist() == [3, 2, 0, 0]
    assert table.iloc[1][list(TIERS)].tolist() == [0, 0, 3, 2]


def test_the_value_potential_map_draws_a_proportional_sample_of_a_large_base(monkeypatch):
    import matplotlib.pyplot as plt

    from helpers import display

    monkeypatch.setattr(display, "MAX_SCATTER_POINTS", 1_000)
    rng = np.random.default_rng(0)
    segments = pd.DataFrame({
        "current_value": rng.normal(100, 50, 4_000), "future_value": rng.normal(80, 60, 4_000),
        "tier": ["Most valuable"] * 800 + ["Maintain"] * 3_000 + ["Below zero"] * 200})
    segments.loc[0, "current_value"] = 1e6  # a whale the sample may miss: the axes still reach it
    ax = display.plot_value_potential(segments)
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == 1_000
    assert "a sample of 1,000 of 4,000 customers" in ax.get_title()
    assert ax.get_xlim()[1] >= 1e6
    plt.close(ax.figure)
    ax = display.plot_value_potential(segments.head(900))  # under the cap: every customer
    assert sum(len(c.get_offsets()) for c in ax.collections) == 900
    assert "sample" not in ax.get_title()
    plt.close(ax.figure)
