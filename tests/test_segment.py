"""Helpers of notebook 04 on small tables whose tiers and actions are worked out by hand."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from helpers.segment import (
    ACTION_RULES,
    TIERS,
    action_summary,
    build_actions,
    build_segments,
    tier_summary,
)
from helpers.warehouse import MissingColumnError, MissingTableError, read_table, write_table

TIERS_CONFIG = {"most_valuable_share": 0.2, "most_growable_ratio": 1.5,
                "most_growable_share": 0.2}

# customer_id, profit_12m (current value), clv_net (future value; None: not in clv), p_alive
CUSTOMERS = [
    ("c01", 500, 1000, 0.9),  # top current value; also top future value, but MV comes first
    ("c02", 300, 50, 0.3),  # 2nd of 10 by current value: the threshold; at risk
    ("c03", 300, 100, 0.8),  # ties with the threshold: in
    ("c04", 100, 400, 0.6),  # 2nd by future value (threshold 400), 400 >= 1.5 * 100
    ("c05", -20, 400, 0.2),  # loses money today but growable: 400 >= 1.5 * max(-20, 0)
    ("c06", 290, 400, 0.7),  # top future value but 400 < 1.5 * 290 = 435
    ("c07", -50, None, None),  # not in clv: future value 0 -> Below zero
    ("c08", -10, -5, 0.1),  # Below zero (no win-back for them)
    ("c09", 0, -1, 0.5),  # not < 0: Other; p_alive 0.5 is not at risk
    ("c10", -30, 10, 0.4),  # a positive future value keeps them out of Below zero
]
EXPECTED_TIERS = ["Most valuable"] * 3 + ["Most growable"] * 2 + [
    "Other", "Below zero", "Below zero", "Other", "Other"]


def warehouse(customers=CUSTOMERS) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ids, current, future, p_alive = zip(*customers, strict=True)
    write_table(con, "customer_value", pd.DataFrame({
        "customer_id": ids, "profit_12m": [float(v) for v in current],
        "rfmt_score": [3.0] * len(ids)}))
    write_table(con, "clv", pd.DataFrame({
        "customer_id": ids, "p_alive": p_alive, "clv_net": future,
    }).dropna(subset=["clv_net"]).astype({"p_alive": float, "clv_net": float}))
    return con


def test_tiers_by_hand(make_config):
    con = warehouse()
    assert build_segments(con, make_config(tiers=TIERS_CONFIG)) == 10
    segments = read_table(con, "segments")
    assert segments["tier"].tolist() == EXPECTED_TIERS
    assert segments["current_value"].tolist() == [c[1] for c in CUSTOMERS]
    assert segments["future_value"].tolist() == [0 if c[2] is None else c[2] for c in CUSTOMERS]
    assert pd.isna(segments.loc[6, "p_alive"])  # c07 has no CLV estimate
    reasons = segments.set_index("customer_id")["tier_reason"]
    assert reasons["c01"] == "profit last 12m EUR 500.00 in top 20% (≥ EUR 300.00)"
    assert reasons["c04"] == ("future value EUR 400.00 in top 20% (≥ EUR 400.00) "
                              "and ≥ 1.5 × current (EUR 150.00)")
    assert reasons["c07"] == "profit last 12m EUR -50.00 < 0 and future value EUR 0.00 ≤ 0"
    assert reasons["c06"] == ("profit last 12m EUR 290.00 (Most valuable: > 0 and ≥ EUR 300.00); "
                              "future value EUR 400.00 (Most growable: > 0, ≥ EUR 400.00 and "
                              "≥ EUR 435.00)")


def test_most_valuable_needs_positive_value(make_config):
    # the top-20% threshold is 0 here, but nobody earning nothing is "most valuable"
    con = warehouse([("a", 0, 0, 0.9), ("b", -5, 0, 0.9), ("c", -8, 1, 0.9)])
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    assert read_table(con, "segments")["tier"].tolist() == ["Other", "Below zero", "Most growable"]


def test_top_share_is_rank_based(make_config):
    # 0.1 * 30 is 3.0000000000000004 in floating point: the top 10% is still 3 customers
    con = warehouse([(f"c{i:02d}", 30 - i, 0, 0.9) for i in range(30)])
    cfg = make_config(tiers={"most_valuable_share": 0.1})
    build_segments(con, cfg)
    tiers = read_table(con, "segments")["tier"]
    assert (tiers == "Most valuable").sum() == 3


def customers_table(con: duckdb.DuckDBPyConnection) -> None:
    write_table(con, "customers", pd.DataFrame({
        "customer_id": [c[0] for c in CUSTOMERS[:9]],  # c10 has no golden record
        "email": ["a@x.it", "", None, "  ", "e@x.it", None, None, "h@x.it", None],
        "phone": [None, "+39 1", None, None, "+39 5", "+39 6", None, None, "+39 9"],
    }))


def test_actions_by_hand(make_config):
    con = warehouse()
    customers_table(con)
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    assert build_actions(con, make_config(tiers=TIERS_CONFIG)) == 10
    actions = read_table(con, "actions").set_index("customer_id")
    assert actions["tier"].tolist() == EXPECTED_TIERS  # win-back keeps the tier
    assert actions["treatment"].tolist() == [
        "Retain: dedicated relationship programme",
        "Win back",  # c02: Most valuable, p_alive 0.3
        "Retain: dedicated relationship programme",
        "Develop: cross-sell and up-sell",
        "Win back",  # c05: Most growable, p_alive 0.2
        "Maintain: standard communication",
        "Reduce cost to serve",  # c07: no p_alive
        "Reduce cost to serve",  # c08: p_alive 0.1, but Below zero is never won back
        "Maintain: standard communication",  # c09: p_alive 0.5 is not < 0.5
        "Win back",  # c10: Other, p_alive 0.4
    ]
    assert actions.loc["c02", "offer"] == "reactivation voucher"
    assert actions.loc["c08", "offer"] == "self-service and digital-only contact"
    # at-risk customers keep their tier's priority when it is higher than win-back's (3)
    assert actions["priority"].tolist() == [1, 1, 1, 2, 2, 4, 5, 5, 4, 3]
    # email, else phone, else store; blank email counts as none; c10 has no customers row
    assert actions["channel"].tolist() == ["email", "sms", "store", "store", "email", "sms",
                                           "store", "email", "sms", "store"]


def test_action_summary_counts_customers_per_treatment_and_channel(make_config):
    con = warehouse()
    customers_table(con)
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    build_actions(con, make_config(tiers=TIERS_CONFIG))
    summary = action_summary(con)
    assert summary["customers"].sum() == 10
    assert summary["priority"].is_monotonic_increasing
    # by hand from test_actions_by_hand: c01 and c03 are retained, one by email, one in store
    retained = summary[summary["treatment"] == "Retain: dedicated relationship programme"]
    assert dict(zip(retained["channel"], retained["customers"], strict=True)) == {
        "email": 1, "store": 1}
    won_back = summary[summary["treatment"] == "Win back"]
    assert won_back["customers"].sum() == 3


def test_action_rules_table_covers_every_tier():
    assert sorted(ACTION_RULES["rule"]) == sorted([*TIERS, "Win back"])
    assert ACTION_RULES["priority"].tolist() == [1, 2, 3, 4, 5]


def test_tier_summary_by_hand(make_config):
    con = warehouse()
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    summary = tier_summary(con)
    expected = pd.DataFrame({
        "tier": list(TIERS),
        "customers": [3, 2, 3, 2],
        "share_of_customers": [0.3, 0.2, 0.3, 0.2],
        "current_value_total": [1100.0, 80.0, 260.0, -60.0],
        "current_value_mean": [1100 / 3, 40.0, 260 / 3, -30.0],
        "future_value_total": [1150.0, 800.0, 409.0, -5.0],
        "future_value_mean": [1150 / 3, 400.0, 409 / 3, -2.5],
    })
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)


def test_tier_summary_lists_empty_tiers(make_config):
    con = warehouse([("a", 10, 0, 0.9), ("b", 5, 0, 0.9)])
    build_segments(con, make_config(tiers=TIERS_CONFIG))
    summary = tier_summary(con).set_index("tier")
    assert summary["customers"].tolist() == [1, 0, 1, 0]
    assert summary.loc["Below zero", "current_value_total"] == 0
    assert pd.isna(summary.loc["Below zero", "current_value_mean"])


def test_missing_inputs_are_named(make_config):
    con = duckdb.connect()
    with pytest.raises(MissingTableError, match="customer_value"):
        build_segments(con, make_config(tiers=TIERS_CONFIG))
    con = warehouse()
    con.execute("ALTER TABLE clv DROP COLUMN clv_net")
    with pytest.raises(MissingColumnError, match="'clv'.*clv_net"):
        build_segments(con, make_config(tiers=TIERS_CONFIG))
