"""Helpers of notebook 02 on small frames whose answers are worked out by hand."""

from __future__ import annotations

from datetime import date

import duckdb
import matplotlib
import pandas as pd
import pytest

from helpers.config import CostConfig, RFMTWeights
from helpers.differentiate import (
    build_cohorts,
    build_customer_value,
    build_equity_metrics,
    value_concentration,
    yearly_periods,
)
from helpers.display import plot_cohort_retention, plot_rfm_heatmap, plot_value_concentration
from helpers.warehouse import MissingColumnError, MissingTableError, read_table, write_table

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

AS_OF = date(2025, 12, 31)


def warehouse(transactions: list[tuple], support: list[tuple] = ()) -> duckdb.DuckDBPyConnection:
    """A warehouse holding ``transactions`` (customer_id, order_id, order_date, amount, cost)
    and ``support_contacts`` (customer_id, contact_date, cost)."""
    con = duckdb.connect()
    tx = pd.DataFrame(transactions, columns=["customer_id", "order_id", "order_date", "amount",
                                             "cost"])
    tx.insert(1, "source", "shop")
    tx["order_date"] = pd.to_datetime(tx["order_date"]).dt.date
    tx["amount"] = tx["amount"].astype(float)
    tx["cost"] = tx["cost"].astype(float)
    write_table(con, "transactions", tx)
    contacts = pd.DataFrame(list(support), columns=["customer_id", "contact_date", "cost"])
    contacts["contact_date"] = pd.to_datetime(contacts["contact_date"]).dt.date
    contacts["cost"] = contacts["cost"].astype(float)
    write_table(con, "support_contacts", contacts)
    return con


# as_of 2025-12-31, so the last 12 months are 2025-01-01 … 2025-12-31.
VALUE_TRANSACTIONS = [
    # C1: an order older than 12 months, a two-line order (one line with a product cost),
    # and a return
    ("C1", "O1", "2024-06-30", 100, None),
    ("C1", "O2", "2025-03-01", 200, 50),
    ("C1", "O2", "2025-03-01", 50, None),
    ("C1", "R1", "2025-04-01", -50, None),
    # C2: one order on as_of
    ("C2", "O3", "2025-12-31", 80, 20),
    # C3: lapsed, one order two years ago
    ("C3", "O4", "2023-12-31", 40, None),
    # C4: one order on as_of - 365 days (outside the window), one just inside, one after as_of
    ("C4", "O5", "2024-12-31", 10, None),
    ("C4", "O6", "2025-01-01", 120, None),
    ("C4", "O7", "2026-01-05", 999, None),
    # C5: only after as_of: not a customer yet
    ("C5", "O8", "2026-02-01", 70, None),
]
VALUE_SUPPORT = [
    ("C1", "2025-05-01", 10),
    ("C1", "2024-01-15", 5),
    ("C4", "2026-01-02", 100),  # after as_of
    ("C6", "2025-03-03", 8),  # no transactions
]
# 36.5 a year is 0.1 a day
VALUE_COSTS = CostConfig(gross_margin_rate=0.4, cost_per_order=2.0,
                         cost_per_customer_per_year=36.5)


@pytest.fixture
def customer_value(make_config) -> pd.DataFrame:
    con = warehouse(VALUE_TRANSACTIONS, VALUE_SUPPORT)
    assert build_customer_value(con, make_config(AS_OF, costs=VALUE_COSTS)) == 4
    return read_table(con, "customer_value").set_index("customer_id")


def test_customer_value_money_by_hand(customer_value):
    c1 = customer_value.loc["C1"]
    assert c1["n_orders"] == 2  # O1, O2 (R1 is a return)
    assert c1["revenue"] == pytest.approx(350)
    assert c1["returns"] == pytest.approx(50)
    assert c1["net_revenue"] == pytest.approx(300)
    # 100*0.6 + 50 (product cost) + 50*0.6 - 50*0.6
    assert c1["cost_of_goods"] == pytest.approx(110)
    assert c1["gross_margin"] == pytest.approx(190)
    assert c1["margin_rate"] == pytest.approx(190 / 300)
    assert c1["support_cost"] == pytest.approx(15)
    # 2 orders * 2 + 36.5 * (549 + 1) / 365
    assert c1["service_cost"] == pytest.approx(59)
    assert c1["profit"] == pytest.approx(190 - 15 - 59)
    # last 12 months: O2 and the return
    assert c1["n_orders_12m"] == 1
    assert c1["revenue_12m"] == pytest.approx(250)
    assert c1["net_revenue_12m"] == pytest.approx(200)
    assert c1["gross_margin_12m"] == pytest.approx(200 - (50 + 30 - 30))
    assert c1["support_cost_per_year"] == pytest.approx(10)
    assert c1["cost_to_serve_12m"] == pytest.approx(10 + 2 + 36.5)
    assert c1["profit_12m"] == pytest.approx(150 - 48.5)

    c2 = customer_value.loc["C2"]
    # first bought on as_of: one order and one day on the books
    assert c2["service_cost"] == pytest.approx(2 + 0.1)
    assert c2["profit"] == pytest.approx(60 - 2.1)
    assert c2["profit_12m"] == pytest.approx(60 - 2.1)

    c3 = customer_value.loc["C3"]
    assert c3["service_cost"] == pytest.approx(2 + 36.5 * 732 / 365)
    assert c3["profit"] == pytest.approx(16 - 75.2)
    assert c3["revenue_12m"] == 0
    assert c3["profit_12m"] == pytest.approx(-36.5)  # a full year of fixed cost, no sales
    assert c3["margin_rate"] == pytest.approx(0.4)

    c4 = customer_value.loc["C4"]
    assert c4["revenue"] == pytest.approx(130)  # the order after as_of is ignored
    assert c4["support_cost"] == 0  # so is the contact after as_of
    assert c4["service_cost"] == pytest.approx(4 + 36.6)
    assert c4["profit"] == pytest.approx(130 * 0.4 - 40.6)
    assert c4["revenue_12m"] == pytest.approx(120)  # 2024-12-31 is outside the window
    assert c4["cost_to_serve_12m"] == pytest.approx(2 + 36.5)  # at most one year
    assert c4["profit_12m"] == pytest.approx(48 - 38.5)


def test_customer_value_dates_and_rfmt_by_hand(customer_value):
    expected = pd.DataFrame({
        "first_purchase": [date(2024, 6, 30), date(2025, 12, 31), date(2023, 12, 31),
                           date(2024, 12, 31)],
        # C1's last purchase is 2025-03-01: the later return does not count
        "last_purchase": [date(2025, 3, 1), date(2025, 12, 31), date(2023, 12, 31),
                          date(2025, 1, 1)],
        "recency_days": [305, 0, 731, 364],
        "tenure_days": [549, 0, 731, 365],
        "frequency": [2, 1, 1, 2],
        "monetary": [150.0, 80.0, 40.0, 65.0],
        # recency worst-first 731, 364, 305, 0 -> ceil(5 * .25, .5, .75, 1) = 2, 3, 4, 5
        "r_score": [4, 5, 2, 3],
        # frequency 1, 1 tie at cume_dist .5 -> 3; 2, 2 at 1.0 -> 5
        "f_score": [5, 3, 3, 5],
        "m_score": [5, 4, 2, 3],
        "t_score": [4, 2, 5, 3],
        "rfm_cell": ["R4F5M5", "R5F3M4", "R2F3M2", "R3F5M3"],
    }, index=pd.Index(["C1", "C2", "C3", "C4"], name="customer_id"))
    got = customer_value[expected.columns].copy()
    got["first_purchase"] = pd.to_datetime(got["first_purchase"]).dt.date
    got["last_purchase"] = pd.to_datetime(got["last_purchase"]).dt.date
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # default weights .3 .3 .3 .1
    assert customer_value.loc["C1", "rfmt_score"] == pytest.approx(1.2 + 1.5 + 1.5 + 0.4)


def test_customer_with_returns_only(make_config):
    # a return of a purchase made before the data starts
    con = warehouse([("C1", "O1", "2025-06-01", 30, None), ("C2", "R1", "2025-03-01", -40, None)])
    build_customer_value(con, make_config(AS_OF))
    c2 = read_table(con, "customer_value").set_index("customer_id").loc["C2"]
    assert c2["n_orders"] == 0
    assert c2["net_revenue"] == pytest.approx(-40)
    assert pd.isna(c2["margin_rate"])  # no margin rate on negative revenue
    assert pd.isna(c2["monetary"])
    assert c2["m_score"] == 3  # NULL monetary sorts worst: cume_dist .5
    assert pd.Timestamp(c2["last_purchase"]).date() == date(2025, 3, 1)


def ten_customers() -> duckdb.DuckDBPyConnection:
    """C00 bought on as_of, C01 one day before, … C09 nine days before; same amount."""
    return warehouse([(f"C{i:02d}", f"O{i}", pd.Timestamp(AS_OF) - pd.Timedelta(days=i), 10, None)
                      for i in range(10)])


def test_scores_split_customers_into_fifths(make_config):
    con = ten_customers()
    build_customer_value(con, make_config(AS_OF))
    scores = read_table(con, "customer_value")
    assert scores["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["t_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # everyone ties on frequency and monetary: all share the top score
    assert set(scores["f_score"]) == {5}
    assert set(scores["m_score"]) == {5}


def test_tied_customers_share_a_score(make_config):
    days_ago = [0, 0, 10, 20, 20]
    con = warehouse([(f"C{i}", f"O{i}", pd.Timestamp(AS_OF) - pd.Timedelta(days=d), 10, None)
                     for i, d in enumerate(days_ago)])
    build_customer_value(con, make_config(AS_OF))
    # worst first: 20, 20 -> cume_dist .4 -> 2; 10 -> .6 -> 3; 0, 0 -> 1.0 -> 5
    assert read_table(con, "customer_value")["r_score"].tolist() == [5, 5, 3, 2, 2]


@pytest.mark.parametrize(("weights", "expected"), [
    (RFMTWeights(recency=1, frequency=0, monetary=0, tenure=0),
     [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]),
    # r + t is 6 for everyone here
    (RFMTWeights(recency=1, frequency=0, monetary=0, tenure=1), [3] * 10),
    # only the ratio matters: f and m are 5 for everyone
    (RFMTWeights(recency=0, frequency=2, monetary=2, tenure=0), [5] * 10),
    (RFMTWeights(recency=3, frequency=1, monetary=0, tenure=0),
     [5, 5, 4.25, 4.25, 3.5, 3.5, 2.75, 2.75, 2, 2]),
])
def test_weights_change_rfmt_score(weights, expected, make_config):
    con = ten_customers()
    build_customer_value(con, make_config(AS_OF, rfmt_weights=weights))
    got = read_table(con, "customer_value")["rfmt_score"].tolist()
    assert got == pytest.approx(expected)


def test_missing_table_and_column_are_named(make_config):
    con = duckdb.connect()
    with pytest.raises(MissingTableError, match="transactions"):
        build_customer_value(con, make_config(AS_OF))
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, order_date DATE)")
    with pytest.raises(MissingColumnError, match="'transactions'.*amount"):
        build_customer_value(con, make_config(AS_OF))


# Equity: as_of 2025-12-31; periods (2023-12-31, 2024-12-31] and (2024-12-31, 2025-12-31].
EQUITY_TRANSACTIONS = [
    ("A", "a1", "2024-03-01", 100, None),
    ("A", "a2", "2025-02-01", 50, None),
    ("A", "a3", "2025-11-15", 30, None),
    ("B", "b1", "2024-11-01", 200, None),
    ("C", "c1", "2025-01-10", 80, None),
    ("C", "c1r", "2025-01-20", -20, None),
    ("D", "d1", "2025-10-15", 60, None),
    ("D", "d2", "2025-12-31", 40, None),
    ("E", "e1", "2025-05-05", 25, None),
    ("F", "f1", "2025-10-02", 10, None),  # exactly 90 days before the end: not active
    ("G", "g1", "2025-10-03", 5, None),  # 89 days before: active
]
EQUITY_SUPPORT = [("A", "2025-06-01", 5), ("B", "2024-11-02", 7), ("C", "2025-01-11", 3)]


def test_equity_metrics_by_hand(make_config):
    con = warehouse(EQUITY_TRANSACTIONS, EQUITY_SUPPORT)
    cfg = make_config(AS_OF)
    build_customer_value(con, cfg)
    assert build_equity_metrics(con, cfg) == 2
    got = read_table(con, "equity_metrics")
    expected = pd.DataFrame({
        "period_start": pd.to_datetime(["2023-12-31", "2024-12-31"]),
        "period_end": pd.to_datetime(["2024-12-31", "2025-12-31"]),
        "gross_new_customers": [2, 5],  # A, B | C, D, E, F, G
        "net_new_customers": [1, 2],  # B (Nov) | D, G
        "active_existing_customers": [0, 1],  # - | A (B did not buy in 2025)
        "revenue_new": [300.0, 60 + 100 + 25 + 10 + 5],
        "revenue_existing": [0.0, 80.0],
        "revenue_per_new_customer": [150.0, 40.0],
        "revenue_per_existing_customer": [None, 80.0],
        "orders_new": [2, 6],
        "orders_existing": [0, 2],
        "support_cost_new": [7.0, 3.0],
        "support_cost_existing": [0.0, 5.0],
    })
    got["period_start"] = pd.to_datetime(got["period_start"])
    got["period_end"] = pd.to_datetime(got["period_end"])
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_yearly_periods_go_back_to_the_first_transaction():
    periods = yearly_periods(date(2024, 2, 29), date(2022, 5, 1))
    assert periods["period_start"].dt.date.tolist() == [date(2022, 2, 28), date(2023, 2, 28)]
    assert periods["period_end"].dt.date.tolist() == [date(2023, 2, 28), date(2024, 2, 29)]
    assert yearly_periods(AS_OF, None).empty


# Cohorts: as_of 2024-09-30
COHORT_TRANSACTIONS = [
    ("P", "p1", "2024-01-15", 10, None),
    ("P", "p2", "2024-02-01", 20, None),
    ("P", "p3", "2024-07-01", 30, None),
    ("Q", "q1", "2024-03-31", 40, None),
    ("Q", "q2", "2024-04-01", 50, None),
    ("R", "r1", "2024-05-01", 60, None),
    ("R", "r1r", "2024-08-01", -10, None),  # a return is not activity
    ("R", "r2", "2024-10-05", 70, None),  # after as_of
]


def test_cohorts_by_hand(make_config):
    con = warehouse(COHORT_TRANSACTIONS)
    cfg = make_config(date(2024, 9, 30))
    build_customer_value(con, cfg)
    assert build_cohorts(con, cfg) == 5
    expected = pd.DataFrame({
        "cohort": ["2024Q1"] * 3 + ["2024Q2"] * 2,
        "period": ["2024Q1", "2024Q2", "2024Q3", "2024Q2", "2024Q3"],
        "months_since_acquisition": [0, 3, 6, 0, 3],
        "customers_in_cohort": [2, 2, 2, 1, 1],
        "active_customers": [2, 1, 1, 1, 0],
        "revenue": [70.0, 50.0, 30.0, 60.0, -10.0],
        "retention_rate": [1.0, 0.5, 0.5, 1.0, 0.0],
    })
    pd.testing.assert_frame_equal(read_table(con, "cohorts"), expected, check_dtype=False)


def test_value_concentration_by_hand():
    frame = pd.DataFrame({
        "customer_id": [f"C{i:02d}" for i in range(10)],
        "profit_12m": [50, 30, 20, 10, 5, 5, 0, 0, -10, -10],  # total 100
        "net_revenue_12m": [100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
    })
    got = value_concentration(frame, shares=(0.1, 0.2, 0.25, 0.5, 1.0))
    assert got["customers"].tolist() == [1, 2, 3, 5, 10]
    assert got["share_of_profit"].tolist() == pytest.approx([0.5, 0.8, 1.0, 1.15, 1.0])
    assert got["share_of_revenue"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.5, 1.0])
    # 0.1 * 30 is 3.0000000000000004 in floating point: still 3 customers
    thirty = pd.DataFrame({"customer_id": range(30), "profit_12m": 1.0, "net_revenue_12m": 1.0})
    assert value_concentration(thirty, shares=(0.1,))["customers"].tolist() == [3]
    with pytest.raises(MissingColumnError, match="profit_12m"):
        value_concentration(frame.drop(columns="profit_12m"))
    with pytest.raises(ValueError, match="shares"):
        value_concentration(frame, shares=(0, 0.5))


def test_plots_return_axes(customer_value, make_config):
    frame = customer_value.reset_index()
    assert plot_value_concentration(frame).get_title() == "Value concentration"
    assert "recency" in plot_rfm_heatmap(frame).get_ylabel()
    con = warehouse(COHORT_TRANSACTIONS)
    cfg = make_config(date(2024, 9, 30))
    build_customer_value(con, cfg)
    build_cohorts(con, cfg)
    assert plot_cohort_retention(read_table(con, "cohorts")).get_title() == "Cohort retention"
    plt.close("all")
