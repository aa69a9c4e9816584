"""customer_value's current window and acquisition cost, checked by hand and against an
independent per-customer computation in pandas."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from helpers.config import CostConfig
from helpers.differentiate import build_acquisition_costs, build_customer_value
from helpers.warehouse import read_table, write_table

# 36.5 a year is 0.1 a day
COSTS = CostConfig(gross_margin_rate=0.4, cost_per_order=2.0, cost_per_customer_per_year=36.5)


def warehouse(transactions: list[tuple], support: list[tuple] = (),
              channels: dict[str, str | None] | None = None,
              spend: list[tuple] = ()) -> duckdb.DuckDBPyConnection:
    """A warehouse with ``transactions`` (customer_id, order_id, order_date, amount),
    ``support_contacts`` (customer_id, contact_date, cost), ``customers`` (channel per
    customer, None by default) and ``marketing_spend`` (spend_date, channel, amount)."""
    con = duckdb.connect()
    tx = pd.DataFrame(transactions, columns=["customer_id", "order_id", "order_date", "amount"])
    tx.insert(1, "source", "shop")
    tx["order_date"] = pd.to_datetime(tx["order_date"]).dt.date
    tx["amount"] = tx["amount"].astype(float)
    tx["cost"] = np.nan
    write_table(con, "transactions", tx)
    contacts = pd.DataFrame(list(support), columns=["customer_id", "contact_date", "cost"])
    contacts["contact_date"] = pd.to_datetime(contacts["contact_date"]).dt.date
    contacts["cost"] = contacts["cost"].astype(float)
    write_table(con, "support_contacts", contacts)
    ids = sorted(set(tx["customer_id"]))
    channels = channels or {}
    write_table(con, "customers", pd.DataFrame(
        {"customer_id": ids, "acquisition_channel": [channels.get(i) for i in ids]}))
    marketing = pd.DataFrame(list(spend), columns=["spend_date", "channel", "amount"])
    marketing.insert(0, "source", "marketing")
    marketing["spend_date"] = pd.to_datetime(marketing["spend_date"]).dt.date
    marketing["amount"] = marketing["amount"].astype(float)
    write_table(con, "marketing_spend", marketing)
    return con


def value(con: duckdb.DuckDBPyConnection, cfg) -> pd.DataFrame:
    """Notebook 02's first two builders, then ``customer_value`` indexed by customer."""
    build_acquisition_costs(con, cfg)
    build_customer_value(con, cfg)
    return read_table(con, "customer_value").set_index("customer_id")


# as_of 2025-12-31; a 90-day window is 2025-10-03 … 2025-12-31 (as_of - 90 is outside)
WINDOW_TRANSACTIONS = [
    ("W1", "O1", "2025-01-10", 100),  # before the window
    ("W1", "O2", "2025-11-15", 200),
    ("W1", "R1", "2025-12-01", -50),
    ("W2", "O3", "2025-12-22", 60),  # on file 10 days
    ("W3", "O4", "2025-10-02", 40),  # as_of - 90: just outside
    ("W3", "O5", "2025-10-03", 50),  # first day of the window
]
WINDOW_SUPPORT = [("W1", "2025-12-10", 5), ("W1", "2025-06-01", 7)]


def test_a_90_day_window_by_hand(make_config):
    con = warehouse(WINDOW_TRANSACTIONS, WINDOW_SUPPORT)
    got = value(con, make_config(date(2025, 12, 31), costs=COSTS,
                                 differentiate={"current_value_days": 90}))
    # W1: O2 and the return; support 5; fixed cost of 90 days (on file all of them)
    w1 = got.loc["W1"]
    assert w1["n_orders_12m"] == 1
    assert w1["revenue_12m"] == pytest.approx(200)
    assert w1["net_revenue_12m"] == pytest.approx(150)
    assert w1["gross_margin_12m"] == pytest.approx(60)
    assert w1["support_cost_per_year"] == pytest.approx(5)
    assert w1["cost_to_serve_12m"] == pytest.approx(5 + 2 + 9.0)
    assert w1["profit_12m"] == pytest.approx(60 - 16)
    # W2: on file 10 days of the 90
    assert got.loc["W2", "cost_to_serve_12m"] == pytest.approx(2 + 1.0)
    assert got.loc["W2", "profit_12m"] == pytest.approx(24 - 3)
    # W3: first bought on as_of - 90 (91 days on file, the window has 90), only O5 in it
    w3 = got.loc["W3"]
    assert w3["tenure_days"] == 90
    assert w3["n_orders_12m"] == 1
    assert w3["revenue_12m"] == pytest.approx(50)
    assert w3["cost_to_serve_12m"] == pytest.approx(2 + 9.0)
    assert w3["profit_12m"] == pytest.approx(20 - 11)

    # the lifetime columns do not depend on the window
    default = value(con, make_config(date(2025, 12, 31), costs=COSTS))
    lifetime = ["revenue", "returns", "net_revenue", "gross_margin", "support_cost",
                "service_cost", "profit"]
    pd.testing.assert_frame_equal(got[lifetime], default[lifetime])
    # the 365-day window holds all of W3's orders, and W1's fixed cost of the 356 days since
    # 2025-01-10
    assert default.loc["W3", "revenue_12m"] == pytest.approx(90)
    assert default.loc["W1", "cost_to_serve_12m"] == pytest.approx(5 + 7 + 2 * 2 + 35.6)


def test_acquisition_at_the_edges_of_as_of(make_config):
    # as_of mid-October: October's spend counts whole; a customer acquired after as_of is not
    # one yet; a return before the first purchase dates the acquisition
    con = warehouse(
        [("E1", "O1", "2025-10-15", 10),  # on as_of
         ("E2", "O2", "2025-10-16", 10),  # after as_of
         ("E3", "R1", "2025-09-30", -5),  # September's last day, a return
         ("E3", "O3", "2025-10-02", 20)],
        channels={"E1": "email", "E2": "email", "E3": "Email"},
        spend=[("2025-09-01", "email", 30.0), ("2025-10-01", "email", 40.0),
               ("2025-11-01", "email", 500.0)])
    got = value(con, make_config(date(2025, 10, 15)))
    assert got.index.tolist() == ["E1", "E3"]
    assert got["acquisition_cost"].to_dict() == {"E1": 40.0, "E3": 30.0}
    costs = read_table(con, "acquisition_costs")
    assert costs["spend"].sum() == pytest.approx(70)  # November is after as_of
    assert costs["unallocated"].sum() == 0


def independent_acquisition_costs(tx: pd.DataFrame, customers: pd.DataFrame,
                                  spend: pd.DataFrame, as_of: date) -> tuple[pd.Series, float]:
    """Each customer's acquisition cost and the unallocated spend, worked out per customer
    from the rule as build_acquisition_costs states it."""
    tx = tx[tx["order_date"] <= as_of]
    first = tx.groupby("customer_id")["order_date"].min()
    people = pd.DataFrame({"month": pd.to_datetime(first).dt.to_period("M")})
    channel = customers.set_index("customer_id")["acquisition_channel"].str.strip().str.lower()
    people["channel"] = channel.reindex(people.index).replace("", None).fillna("unknown")
    spend = spend[spend["spend_date"] <= as_of].copy()
    spend["month"] = pd.to_datetime(spend["spend_date"]).dt.to_period("M")
    by_cell = spend.groupby(["month", "channel"])["amount"].sum()
    acquired = people.groupby(["month", "channel"]).size()
    # spend on a channel that acquired nobody that month
    orphan = by_cell[~by_cell.index.isin(acquired.index)]
    orphan_by_month = orphan.groupby(level="month").sum()
    months_with_unknown = set(acquired.xs("unknown", level="channel").index
                              if "unknown" in acquired.index.get_level_values("channel") else ())
    unallocated = float(orphan[[m not in months_with_unknown
                                for m in orphan.index.get_level_values("month")]].sum())
    first_month, last_month = by_cell.index.get_level_values("month")[[0, -1]]

    def cost(row) -> float:
        if not first_month <= row["month"] <= last_month:
            return np.nan
        carried = by_cell.get((row["month"], row["channel"]), 0.0)
        if row["channel"] == "unknown":
            carried += orphan_by_month.get(row["month"], 0.0)
        return carried / acquired[(row["month"], row["channel"])]

    return people.apply(cost, axis=1), unallocated


def test_acquisition_cost_agrees_with_an_independent_computation(make_config):
    rng = np.random.default_rng(9)
    as_of = date(2025, 10, 15)
    n = 400
    ids = [f"K{i:03d}" for i in range(n)]
    days = pd.Timestamp("2024-06-01") + pd.to_timedelta(rng.integers(0, 560, 2 * n), unit="D")
    amounts = np.where(rng.random(2 * n) < 0.1, -15.0, 40.0)  # some first rows are returns
    tx = [(ids[i % n], f"O{i}", d.date(), a)
          for i, (d, a) in enumerate(zip(days, amounts, strict=True))]
    # few customers of unknown channel, so some months have none and their orphan spend
    # stays unallocated
    channels = dict(zip(ids, rng.choice(["email", " Email ", "social", "search", "", None],
                                         p=[0.3, 0.1, 0.27, 0.27, 0.03, 0.03], size=n),
                        strict=True))
    months = pd.period_range("2024-09", "2025-12", freq="M")
    spend = [(m.start_time.date(), c, float(rng.integers(1, 500)))
             for m in months for c in ("email", "social", "search", "tv")
             # some months lack a channel's spend; a gap month has none at all
             if rng.random() < 0.8 and m != pd.Period("2025-02", "M")]
    con = warehouse(tx, channels=channels, spend=spend)
    got = value(con, make_config(as_of))

    frame = pd.DataFrame(tx, columns=["customer_id", "order_id", "order_date", "amount"])
    customers = pd.DataFrame({"customer_id": ids,
                              "acquisition_channel": [channels[i] for i in ids]})
    marketing = pd.DataFrame(spend, columns=["spend_date", "channel", "amount"])
    expected, unallocated = independent_acquisition_costs(frame, customers, marketing, as_of)
    pd.testing.assert_series_equal(got["acquisition_cost"], expected.sort_index(),
                                   check_names=False)
    # the data has every case: unknown channels carrying pooled spend, unallocated spend,
    # customers before the spend data (unknown cost) and in the gap month (cost 0)
    costs = read_table(con, "acquisition_costs")
    assert costs["pooled"].sum() > 0 and unallocated > 0
    assert got["acquisition_cost"].isna().any()
    assert (got["acquisition_cost"] == 0).any()
    # every unit of spend up to as_of is carried by a customer or reported unallocated
    total = marketing.loc[marketing["spend_date"] <= as_of, "amount"].sum()
    assert costs["unallocated"].sum() == pytest.approx(unallocated)
    assert costs["allocated"].sum() + costs["unallocated"].sum() == pytest.approx(total)
    assert got["acquisition_cost"].sum() == pytest.approx(total - unallocated)
