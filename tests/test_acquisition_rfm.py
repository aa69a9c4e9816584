"""Acquisition costs and named RFM segments (notebook 02), on hand-made tables."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from helpers.config import ConfigError, load_config
from helpers.differentiate import (
    acquisition_cost_by_channel,
    build_acquisition_costs,
    build_customer_value,
)
from helpers.differentiate.rfm import DEFAULT_RFM_SEGMENTS, rfm_segment_cells
from helpers.warehouse import read_table, write_table

AS_OF = date(2025, 12, 31)

# customer -> (first purchase, acquisition channel as the CRM wrote it)
PEOPLE = {
    "A1": ("2025-01-10", "Email"),
    "A2": ("2025-01-31", " email "),  # the month's last day; channel untidy
    "A3": ("2025-02-01", "social"),
    "U1": ("2025-02-15", None),  # no channel known
    "L1": ("2025-03-31", "email"),
    "B1": ("2024-12-20", "store"),  # before the spend data starts
}
SPEND = [  # (month, channel, amount)
    ("2025-01", "email", 100.0),
    ("2025-01", "social", 30.0),  # acquired nobody; January has no unknown-channel customer
    ("2025-02", "email", 50.0),  # acquired nobody; February has one: pooled to U1
    ("2025-02", "social", 60.0),
    ("2025-03", "email", 20.0),
    ("2026-01", "email", 999.0),  # after as_of
]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    tx = pd.DataFrame({"customer_id": list(PEOPLE), "source": "shop",
                       "order_id": [f"O{i}" for i in range(len(PEOPLE))],
                       "order_date": [pd.Timestamp(day).date() for day, _ in PEOPLE.values()],
                       "amount": 100.0, "cost": None})
    write_table(con, "transactions", tx)
    write_table(con, "support_contacts", pd.DataFrame(
        {"customer_id": [], "contact_date": [], "cost": []}))
    write_table(con, "customers", pd.DataFrame(
        {"customer_id": list(PEOPLE), "acquisition_channel": [c for _, c in PEOPLE.values()]}))
    write_table(con, "marketing_spend", pd.DataFrame({
        "source": "marketing", "spend_date": [pd.Timestamp(m + "-01").date() for m, _, _ in SPEND],
        "channel": [c for _, c, _ in SPEND], "amount": [a for _, _, a in SPEND]}))
    return con


def test_spend_is_shared_by_the_customers_each_channel_acquired(con, make_config):
    cfg = make_config(AS_OF)
    assert build_acquisition_costs(con, cfg) == 6
    costs = read_table(con, "acquisition_costs")
    costs["month"] = pd.to_datetime(costs["month"]).dt.strftime("%Y-%m")
    expected = pd.DataFrame([
        # month, channel, spend, customers, pooled, allocated, unallocated, per customer
        ("2025-01", "email", 100.0, 2, 0.0, 100.0, 0.0, 50.0),
        ("2025-01", "social", 30.0, 0, 0.0, 0.0, 30.0, None),
        ("2025-02", "email", 50.0, 0, 50.0, 0.0, 0.0, None),
        ("2025-02", "social", 60.0, 1, 0.0, 60.0, 0.0, 60.0),
        ("2025-02", "unknown", 0.0, 1, 0.0, 50.0, 0.0, 50.0),
        ("2025-03", "email", 20.0, 1, 0.0, 20.0, 0.0, 20.0),
    ], columns=["month", "channel", "spend", "customers_acquired", "pooled", "allocated",
                "unallocated", "cost_per_customer"])
    pd.testing.assert_frame_equal(costs, expected, check_dtype=False)
    # every unit of spend up to as_of is allocated or unallocated, once
    assert costs["allocated"].sum() + costs["unallocated"].sum() == pytest.approx(260.0)

    build_customer_value(con, cfg)
    value = read_table(con, "customer_value").set_index("customer_id")
    cost = value["acquisition_cost"]
    assert cost.drop("B1").to_dict() == {"A1": 50.0, "A2": 50.0, "A3": 60.0, "L1": 20.0,
                                         "U1": 50.0}
    assert pd.isna(cost["B1"])  # acquired before the spend data: unknown, not free
    assert value.loc["A2", "acquisition_channel"] == "email"
    assert value.loc["U1", "acquisition_channel"] == "unknown"
    after = value["profit"] - value["acquisition_cost"]
    pd.testing.assert_series_equal(value["profit_after_acquisition"], after, check_names=False)


def test_channel_totals_add_up_the_months(con, make_config):
    build_acquisition_costs(con, make_config(AS_OF))
    totals = acquisition_cost_by_channel(read_table(con, "acquisition_costs"))
    expected = pd.DataFrame([
        # channel, spend, customers, allocated, unallocated, per customer
        ("email", 170.0, 3, 120.0, 0.0, 40.0),  # 50 of its February spend went to U1
        ("social", 90.0, 1, 60.0, 30.0, 60.0),
        ("unknown", 0.0, 1, 50.0, 0.0, 50.0),
    ], columns=["channel", "spend", "customers_acquired", "allocated", "unallocated",
                "cost_per_customer"])
    pd.testing.assert_frame_equal(totals, expected, check_dtype=False)


def test_without_marketing_spend_nothing_is_allocated(con, make_config):
    con.execute("DELETE FROM marketing_spend")
    cfg = make_config(AS_OF)
    assert build_acquisition_costs(con, cfg) == 0
    build_customer_value(con, cfg)
    value = read_table(con, "customer_value")
    assert value["acquisition_cost"].isna().all()


def test_the_default_map_names_every_score_combination_and_uses_every_segment():
    cells = rfm_segment_cells(DEFAULT_RFM_SEGMENTS)
    assert len(cells) == 125 and cells["rfm_segment"].notna().all()
    assert set(cells["rfm_segment"]) == {rule.name for rule in DEFAULT_RFM_SEGMENTS}
    named = cells.set_index(["r_score", "f_score", "m_score"])["rfm_segment"]
    assert named[(5, 5, 5)] == "Champions"
    assert named[(5, 5, 1)] == "Loyal"  # frequent and recent, small baskets
    assert named[(5, 1, 5)] == "New"
    assert named[(4, 1, 1)] == "Promising"
    assert named[(4, 3, 2)] == "Potential loyalist"
    assert named[(3, 2, 5)] == "Need attention"
    assert named[(3, 1, 3)] == "About to sleep"
    assert named[(1, 5, 5)] == "Can't lose them"
    assert named[(2, 5, 3)] == "At risk"  # frequent, gone, not the biggest spender
    assert named[(2, 2, 5)] == "Hibernating"
    assert named[(1, 1, 5)] == "Lost"


def test_the_config_can_replace_the_segment_map(con, make_config):
    rules = [{"name": "Recent", "r": [4, 5]}, {"name": "Everyone else"}]
    cfg = make_config(AS_OF, differentiate={"rfm_segments": rules})
    build_acquisition_costs(con, cfg)
    build_customer_value(con, cfg)
    value = read_table(con, "customer_value")
    expected = value["r_score"].map(lambda r: "Recent" if r >= 4 else "Everyone else")
    pd.testing.assert_series_equal(value["rfm_segment"], expected, check_names=False)


def test_a_map_that_leaves_scores_out_is_refused(write_config):
    path = write_config({"client": "acme", "as_of": "2025-12-31",
                         "sources": {"shop": {"kind": "transactions", "path": "shop.csv",
                                              "columns": {"customer_key": "a",
                                                          "order_date": "b", "amount": "c"}}},
                         "differentiate": {"rfm_segments": [{"name": "Top", "r": [5, 5]}]}})
    with pytest.raises(ConfigError, match="100 score combination"):
        load_config(path)
