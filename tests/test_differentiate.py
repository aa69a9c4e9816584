"""Helpers of notebook 02 on small frames whose answers are worked out by hand."""

from __future__ import annotations

from datetime import date

import duckdb
import matplotlib
import numpy as np
import pandas as pd
import pytest

from helpers.config import CostConfig, RFMTWeights
from helpers.differentiate import (
    build_acquisition_costs,
    build_cohorts,
    build_customer_value,
    build_equity_metrics,
    cohort_matrix,
    equity_changes,
    periods,
    value_concentration,
)
from helpers.display import (
    plot_cohort_retention,
    plot_cohort_revenue,
    plot_equity_by_segment,
    plot_equity_changes,
    plot_equity_metrics,
    plot_rfm_heatmap,
)
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
    write_table(con, "customers", pd.DataFrame({
        "customer_id": sorted(set(tx["customer_id"])), "acquisition_channel": None}))
    write_table(con, "marketing_spend", pd.DataFrame(
        {"source": [], "spend_date": [], "channel": [], "amount": []}))
    return con


def valued(con: duckdb.DuckDBPyConnection, cfg) -> int:
    """Notebook 02's first two builders: acquisition costs, then ``customer_value``."""
    build_acquisition_costs(con, cfg)
    return build_customer_value(con, cfg)


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
    assert valued(con, make_config(AS_OF, costs=VALUE_COSTS)) == 4
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
        # recency worst-first 731, 364, 305, 0: percent rank 0, 1/3, 2/3, 1
        # -> 1 + floor(5 * it) = 1, 2, 4, 5 (6 capped at 5)
        "r_score": [4, 5, 1, 2],
        # frequency 1, 1 tie at the start (percent rank 0) -> 1; 2, 2 start at 2/3 -> 4
        "f_score": [4, 1, 1, 4],
        "m_score": [5, 4, 1, 2],
        "t_score": [4, 1, 5, 2],
        "rfm_cell": ["R4F4M5", "R5F1M4", "R1F1M1", "R2F4M2"],
        "rfm_segment": ["Champions", "New", "Lost", "At risk"],
    }, index=pd.Index(["C1", "C2", "C3", "C4"], name="customer_id"))
    got = customer_value[expected.columns].copy()
    got["first_purchase"] = pd.to_datetime(got["first_purchase"]).dt.date
    got["last_purchase"] = pd.to_datetime(got["last_purchase"]).dt.date
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # default weights .3 .3 .3 .1
    assert customer_value.loc["C1", "rfmt_score"] == pytest.approx(1.2 + 1.2 + 1.5 + 0.4)
    # no marketing spend loaded: acquisition cost unknown, not zero
    assert customer_value["acquisition_cost"].isna().all()
    assert customer_value["profit_after_acquisition"].isna().all()
    assert set(customer_value["acquisition_channel"]) == {"unknown"}


def test_customer_with_returns_only(make_config):
    # a return of a purchase made before the data starts
    con = warehouse([("C1", "O1", "2025-06-01", 30, None), ("C2", "R1", "2025-03-01", -40, None)])
    valued(con, make_config(AS_OF))
    c2 = read_table(con, "customer_value").set_index("customer_id").loc["C2"]
    assert c2["n_orders"] == 0
    assert c2["net_revenue"] == pytest.approx(-40)
    assert pd.isna(c2["margin_rate"])  # no margin rate on negative revenue
    assert pd.isna(c2["monetary"])
    assert c2["m_score"] == 1  # NULL monetary sorts worst
    assert pd.Timestamp(c2["last_purchase"]).date() == date(2025, 3, 1)


def ten_customers() -> duckdb.DuckDBPyConnection:
    """C00 bought on as_of, C01 one day before, … C09 nine days before; same amount."""
    return warehouse([(f"C{i:02d}", f"O{i}", pd.Timestamp(AS_OF) - pd.Timedelta(days=i), 10, None)
                      for i in range(10)])


def test_scores_split_customers_into_fifths(make_config):
    con = ten_customers()
    valued(con, make_config(AS_OF))
    scores = read_table(con, "customer_value")
    assert scores["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert scores["t_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # everyone ties on frequency and monetary: all share the score where the tie starts
    assert set(scores["f_score"]) == {1}
    assert set(scores["m_score"]) == {1}


def test_tied_customers_share_a_score(make_config):
    days_ago = [0, 0, 10, 20, 20]
    con = warehouse([(f"C{i}", f"O{i}", pd.Timestamp(AS_OF) - pd.Timedelta(days=d), 10, None)
                     for i, d in enumerate(days_ago)])
    valued(con, make_config(AS_OF))
    # worst first: 20, 20 start at percent rank 0 -> 1; 10 at 2/4 -> 3; 0, 0 at 3/4 -> 4
    assert read_table(con, "customer_value")["r_score"].tolist() == [4, 4, 3, 1, 1]


@pytest.mark.parametrize(("weights", "expected"), [
    (RFMTWeights(recency=1, frequency=0, monetary=0, tenure=0),
     [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]),
    # r + t is 6 for everyone here
    (RFMTWeights(recency=1, frequency=0, monetary=0, tenure=1), [3] * 10),
    # only the ratio matters: f and m are 1 for everyone
    (RFMTWeights(recency=0, frequency=2, monetary=2, tenure=0), [1] * 10),
    (RFMTWeights(recency=3, frequency=1, monetary=0, tenure=0),
     [4, 4, 3.25, 3.25, 2.5, 2.5, 1.75, 1.75, 1, 1]),
])
def test_weights_change_rfmt_score(weights, expected, make_config):
    con = ten_customers()
    valued(con, make_config(AS_OF, rfmt_weights=weights))
    got = read_table(con, "customer_value")["rfmt_score"].tolist()
    assert got == pytest.approx(expected)


def test_missing_table_and_column_are_named(make_config):
    con = duckdb.connect()
    with pytest.raises(MissingTableError, match="transactions"):
        build_customer_value(con, make_config(AS_OF))
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, order_date DATE)")
    with pytest.raises(MissingColumnError, match="'transactions'.*amount"):
        build_customer_value(con, make_config(AS_OF))


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
    assert "recency" in plot_rfm_heatmap(frame).get_ylabel()
    plt.close("all")


# ---- the customer-equity report and the cohorts (helpers.differentiate.equity) ----------

# 36.5 a year is 0.1 a day
EQUITY_COSTS = CostConfig(cost_per_order=2.0, cost_per_customer_per_year=36.5)


def equity_warehouse(transactions: list[tuple], as_of: date, support: list[tuple] = (),
                     customers: dict | None = None, acquisition_cost: dict | None = None,
                     rfm_segment: dict | None = None,
                     spend: list[tuple] = ()) -> duckdb.DuckDBPyConnection:
    """:func:`warehouse` plus the tables the equity report reads, made by hand:
    ``customer_value`` (first_purchase: the first transaction of any kind up to ``as_of``;
    acquisition_cost and rfm_segment from the dicts, NULL when absent), ``customers``
    (customer_id -> (acquisition_channel, customer_type)) and ``acquisition_costs``
    ((month, unallocated) rows; none: no marketing spend)."""
    con = warehouse(transactions, support)
    tx = read_table(con, "transactions")
    tx = tx[pd.to_datetime(tx["order_date"]) <= pd.Timestamp(as_of)]
    value = (tx.groupby("customer_id", as_index=False)["order_date"].min()
             .rename(columns={"order_date": "first_purchase"}))
    value["acquisition_cost"] = value["customer_id"].map(acquisition_cost or {}).astype(float)
    value["rfm_segment"] = value["customer_id"].map(rfm_segment or {}).astype(object)
    write_table(con, "customer_value", value)
    people = customers or {}
    write_table(con, "customers", pd.DataFrame({
        "customer_id": list(people),
        "acquisition_channel": [channel for channel, _ in people.values()],
        "customer_type": [kind for _, kind in people.values()]}, dtype=object))
    months = pd.DataFrame(list(spend), columns=["month", "unallocated"])
    months["month"] = pd.to_datetime(months["month"]).dt.date
    write_table(con, "acquisition_costs", months.astype({"unallocated": float}))
    return con


#: A net-new window within the shortest period of each length (the config requires one).
NET_NEW_DAYS = {"month": 20, "quarter": 30}


def equity_config(make_config, as_of: date, **differentiate):
    period = differentiate.get("period", "year")
    if period in NET_NEW_DAYS:
        differentiate.setdefault("net_new_days", NET_NEW_DAYS[period])
    return make_config(as_of, costs=EQUITY_COSTS, differentiate=differentiate)


def dates(*days: str) -> list[date]:
    return [date.fromisoformat(day) for day in days]


@pytest.mark.parametrize(("as_of", "first", "period", "ends"), [
    # as_of on a month's last day: every end is a month's last day (calendar periods)
    (date(2025, 11, 30), date(2025, 8, 31), "month",
     dates("2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30")),
    # `first` on a period's start belongs to the period before
    (date(2025, 11, 30), date(2025, 9, 1), "month",
     dates("2025-09-30", "2025-10-31", "2025-11-30")),
    (date(2025, 12, 31), date(2025, 1, 1), "quarter",
     dates("2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31")),
    # mid-month: the 15th all the way back
    (date(2025, 11, 15), date(2025, 5, 16), "quarter", dates("2025-08-15", "2025-11-15")),
    (date(2025, 11, 15), date(2025, 5, 15), "quarter",
     dates("2025-05-15", "2025-08-15", "2025-11-15")),
    # 29 February falls back to 28 February, and is back in the leap year
    (date(2024, 2, 29), date(2020, 2, 29), "year",
     dates("2020-02-29", "2021-02-28", "2022-02-28", "2023-02-28", "2024-02-29")),
    # the 31st falls back to the month's last day
    (date(2025, 3, 31), date(2024, 12, 1), "month",
     dates("2024-12-31", "2025-01-31", "2025-02-28", "2025-03-31")),
])
def test_periods_are_counted_back_from_as_of(as_of, first, period, ends):
    got = periods(as_of, first, period)
    assert got["period_end"].dt.date.tolist() == ends
    starts = got["period_start"].dt.date.tolist()
    assert starts[1:] == ends[:-1]  # consecutive
    assert starts[0] < first <= ends[0]  # the first period holds `first`
    assert got["period_index"].tolist() == list(range(len(ends)))


def test_period_names():
    assert periods(date(2025, 12, 31), date(2025, 10, 5), "month")["period"].tolist() == [
        "2025-10", "2025-11", "2025-12"]
    assert periods(date(2025, 12, 31), date(2025, 5, 5), "quarter")["period"].tolist() == [
        "2025Q2", "2025Q3", "2025Q4"]
    assert periods(date(2025, 12, 31), date(2024, 5, 5), "year")["period"].tolist() == [
        "2024", "2025"]
    # periods that are no calendar month, quarter or year are named by their last day
    assert periods(date(2025, 11, 30), date(2025, 10, 5), "year")["period"].tolist() == [
        "2025-11-30"]
    assert periods(date(2025, 11, 15), date(2025, 10, 5), "month")["period"].tolist() == [
        "2025-10-15", "2025-11-15"]
    assert periods(AS_OF, None, "year").empty
    assert periods(AS_OF, date(2026, 1, 1), "year").empty
    with pytest.raises(ValueError, match="month, quarter, year"):
        periods(AS_OF, AS_OF, "week")


# Yearly, as_of 2025-12-31: periods (2023-12-31, 2024-12-31] and (2024-12-31, 2025-12-31].
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
    ("F", "f1", "2025-10-02", 10, None),  # exactly 90 days before the end: not net new
    ("G", "g1", "2025-10-03", 5, None),  # 89 days before: net new
    ("G", "g2", "2026-01-03", 500, None),  # after as_of
]
EQUITY_SUPPORT = [("A", "2025-06-01", 5), ("B", "2024-11-02", 7), ("C", "2025-01-11", 3)]


def test_equity_metrics_yearly_by_hand(make_config):
    con = equity_warehouse(EQUITY_TRANSACTIONS, AS_OF, EQUITY_SUPPORT)
    cfg = equity_config(make_config, AS_OF, segment_by="none")
    assert build_equity_metrics(con, cfg) == 2  # 'none': the whole base only
    got = read_table(con, "equity_metrics")
    expected = pd.DataFrame({
        "period_start": pd.to_datetime(["2023-12-31", "2024-12-31"]),
        "period_end": pd.to_datetime(["2024-12-31", "2025-12-31"]),
        "period": ["2024", "2025"],
        "segment": ["All", "All"],
        "gross_new_customers": [2, 5],  # A, B | C, D, E, F, G
        "net_new_customers": [1, 2],  # B (Nov) | D, G
        "active_existing_customers": [0, 1],  # - | A (B did not buy in 2025)
        "active_customers": [2, 6],  # A, B | A, C, D, E, F, G
        "customers_to_date": [2, 7],
        "share_active": [1.0, 6 / 7],
        "revenue": [300.0, 280.0],
        "revenue_new": [300.0, 60 + 100 + 25 + 10 + 5],  # C's return nets
        "revenue_existing": [0.0, 80.0],
        "revenue_per_new_customer": [150.0, 40.0],
        "revenue_per_existing_customer": [None, 80.0],
        "revenue_per_customer": [150.0, 280 / 6],
        "orders": [2, 8],
        "orders_new": [2, 6],
        "orders_existing": [0, 2],
        "purchase_frequency": [1.0, 8 / 6],
        "acquisition_cost": [np.nan, np.nan],  # no marketing spend
        "acquisition_cost_per_new_customer": [np.nan, np.nan],
        "support_cost": [7.0, 8.0],
        "support_cost_new": [7.0, 3.0],
        "support_cost_existing": [0.0, 5.0],
        # support + 2 per order + 0.1 per day on file: A from 1 March 2024 (306 days) and B
        # from 1 November (61) | A and B all year (730), C 356, D 78, E 241, F 91, G 90 days
        "cost_to_serve": [7 + 4 + 36.7, 8 + 16 + 158.6],
        "cost_to_serve_per_customer": [47.7 / 2, 182.6 / 7],
    })
    got["period_start"] = pd.to_datetime(got["period_start"])
    got["period_end"] = pd.to_datetime(got["period_end"])
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


# Monthly, as_of 2025-03-31, active_days 30, net_new_days 10: periods January (2024-12-31,
# 2025-01-31], February (…, 2025-02-28] and March (…, 2025-03-31].
MONTHLY_TRANSACTIONS = [
    # X: acquired on January's last day (an order of two lines), a return in February
    ("X", "x1", "2025-01-31", 60, None),
    ("X", "x1", "2025-01-31", 40, None),
    ("X", "xr", "2025-02-10", -30, None),
    ("X", "x2", "2025-03-05", 50, None),
    # Y: one order on February's last day
    ("Y", "y1", "2025-02-28", 70, None),
    # Z: on January's first day and in mid-January
    ("Z", "z1", "2025-01-01", 20, None),
    ("Z", "z2", "2025-01-15", 10, None),
    # W: a return only (of a purchase before the data)
    ("W", "w1", "2025-01-20", -15, None),
]
MONTHLY_SUPPORT = [("Y", "2025-03-31", 4), ("Z", "2024-12-31", 9)]  # Z's is before January
MONTHLY_CUSTOMERS = {"X": ("Web", "business"), "Y": ("store", "private"),
                     "Z": (" web ", "business "), "W": (None, None)}


def monthly_equity(make_config, segment_by: str = "customer_type", spend=(),
                   acquisition_cost=None) -> pd.DataFrame:
    as_of = date(2025, 3, 31)
    con = equity_warehouse(MONTHLY_TRANSACTIONS, as_of, MONTHLY_SUPPORT, MONTHLY_CUSTOMERS,
                           acquisition_cost=acquisition_cost, spend=spend)
    build_equity_metrics(con, equity_config(make_config, as_of, period="month",
                                            active_days=30, net_new_days=10,
                                            segment_by=segment_by))
    got = read_table(con, "equity_metrics")
    got["period_end"] = pd.to_datetime(got["period_end"]).dt.date
    return got.set_index(["segment", "period"])


def test_equity_metrics_monthly_by_hand(make_config):
    got = monthly_equity(make_config)
    assert got.index.get_level_values("segment").unique().tolist() == [
        "All", "business", "private", "unknown"]
    whole = got.loc["All"]
    assert whole["period_end"].tolist() == dates("2025-01-31", "2025-02-28", "2025-03-31")
    expected = pd.DataFrame({
        # January: X (on its last day), Z (on its first), W | February: Y (on its last day)
        "gross_new_customers": [3, 1, 0],
        # bought after 21 January: X | after 18 February: Y
        "net_new_customers": [1, 1, 0],
        # existing: first transaction by 31 December | 29 January (Z, W) | 28 February (all)
        "active_existing_customers": [0, 0, 1],
        # bought in (31 Dec, 31 Jan]: X, Z | (29 Jan, 28 Feb]: X, Y | (28 Feb, 31 Mar]: X
        "active_customers": [2, 2, 1],
        "customers_to_date": [3, 4, 4],
        "share_active": [2 / 3, 0.5, 0.25],
        # February: X is neither new nor existing (a customer for 28 days); its return counts
        # in the total only
        "revenue": [100 + 30 - 15, -30 + 70, 50],
        "revenue_new": [115.0, 70.0, 0.0],
        "revenue_existing": [0.0, 0.0, 50.0],
        "revenue_per_new_customer": [115 / 3, 70.0, None],
        "revenue_per_existing_customer": [None, None, 50.0],
        "revenue_per_customer": [57.5, 20.0, 50.0],
        "orders": [3, 1, 1],  # X's two lines are one order; returns are none
        "orders_new": [3, 1, 0],
        "orders_existing": [0, 0, 1],
        "purchase_frequency": [1.5, 0.5, 1.0],
        "support_cost": [0.0, 0.0, 4.0],  # Y's on as_of; Z's before the first period: none
        "support_cost_new": [0.0, 0.0, 0.0],
        "support_cost_existing": [0.0, 0.0, 4.0],
        # days on file: X 1, Z 31, W 12 | 3 * 28 + Y 1 | 4 * 31
        "cost_to_serve": [3 * 2 + 4.4, 2 + 8.5, 4 + 2 + 12.4],
    }, index=pd.Index(["2025-01", "2025-02", "2025-03"], name="period"))
    pd.testing.assert_frame_equal(whole[expected.columns], expected, check_dtype=False)

    business = got.loc["business"]  # X, and Z (' business ' trimmed)
    assert business["gross_new_customers"].tolist() == [2, 0, 0]
    assert business["active_customers"].tolist() == [2, 1, 1]
    assert business["revenue"].tolist() == pytest.approx([130, -30, 50])
    assert business["revenue_per_customer"].tolist() == pytest.approx([65, -30, 50])
    assert business["cost_to_serve"].tolist() == pytest.approx([6 + 3.2, 5.6, 2 + 6.2])
    private = got.loc["private"]  # Y: none in January, acquired on February's last day
    assert private["customers_to_date"].tolist() == [0, 1, 1]
    assert private["share_active"].isna().tolist() == [True, False, False]
    # bought on 28 February, the start of March: not active in March
    assert private["active_customers"].tolist() == [0, 1, 0]
    assert private["cost_to_serve"].tolist() == pytest.approx([0, 2 + 0.1, 4 + 3.1])
    unknown = got.loc["unknown"]  # W
    assert unknown["revenue_new"].tolist() == pytest.approx([-15, 0, 0])
    assert unknown["net_new_customers"].tolist() == [0, 0, 0]  # no purchase: not net new
    # the segments add up to the whole
    additive = ["gross_new_customers", "net_new_customers", "active_existing_customers",
                "active_customers", "customers_to_date", "revenue", "revenue_new",
                "revenue_existing", "orders", "orders_new", "orders_existing", "support_cost",
                "support_cost_new", "support_cost_existing", "cost_to_serve"]
    parts = got.drop(index="All", level="segment").groupby(level="period")[additive].sum()
    pd.testing.assert_frame_equal(parts, whole[additive], check_dtype=False)


def test_equity_metrics_by_channel_with_acquisition_cost(make_config):
    # spend from December 2024, before any purchase; what no customer carried: 6 | 3 | - | 2
    spend = [("2024-12-01", 6), ("2025-01-01", 3), ("2025-02-01", 0), ("2025-03-01", 2)]
    got = monthly_equity(make_config, "acquisition_channel", spend,
                         acquisition_cost={"X": 10, "Z": 5, "Y": 7})  # W: none
    assert got.index.get_level_values("segment").unique().tolist() == [
        "All", "store", "unknown", "web"]
    whole = got.loc["All"]
    # the periods reach back to the spend's first month
    assert whole.index.tolist() == ["2024-12", "2025-01", "2025-02", "2025-03"]
    assert whole["gross_new_customers"].tolist() == [0, 3, 1, 0]
    assert whole["acquisition_cost"].tolist() == pytest.approx([6, 10 + 5 + 3, 7, 2])
    assert whole["acquisition_cost_per_new_customer"].tolist() == pytest.approx(
        [np.nan, 6, 7, np.nan], nan_ok=True)
    # segments carry their customers' cost only; 'Web' and ' web ' are one channel
    assert got.loc["web", "acquisition_cost"].tolist() == pytest.approx([0, 15, 0, 0])
    assert got.loc["store", "acquisition_cost"].tolist() == pytest.approx([0, 0, 7, 0])
    assert got.loc["unknown", "acquisition_cost"].tolist() == pytest.approx([0, 0, 0, 0])

    # spend known from February only: unknown before
    late = monthly_equity(make_config, "none", spend[2:], acquisition_cost={"Y": 7})
    assert late.index.get_level_values("segment").unique().tolist() == ["All"]
    assert late.loc["All", "acquisition_cost"].tolist() == pytest.approx(
        [np.nan, 7, 2], nan_ok=True)


def test_equity_metrics_by_rfm_segment(make_config):
    as_of = date(2025, 3, 31)
    con = equity_warehouse(MONTHLY_TRANSACTIONS, as_of, rfm_segment={"X": "Champions",
                                                                     "Y": "New"})
    build_equity_metrics(con, equity_config(make_config, as_of, period="quarter",
                                            segment_by="rfm_segment"))
    got = read_table(con, "equity_metrics").set_index("segment")
    assert got["period"].unique().tolist() == ["2025Q1"]
    assert got["gross_new_customers"].to_dict() == {"All": 4, "Champions": 1, "New": 1,
                                                    "unknown": 2}


def reference_equity(con: duckdb.DuckDBPyConnection, cfg) -> pd.DataFrame:
    """equity_metrics straight from its definitions, customer by customer and period by
    period, in pandas (acquisition cost left out)."""
    settings = cfg.differentiate
    tx = read_table(con, "transactions")
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx = tx[tx["order_date"] <= pd.Timestamp(cfg.as_of)]
    support = read_table(con, "support_contacts")
    support["contact_date"] = pd.to_datetime(support["contact_date"])
    value = read_table(con, "customer_value")
    first = dict(zip(value["customer_id"], pd.to_datetime(value["first_purchase"]),
                     strict=True))
    people = read_table(con, "customers").set_index("customer_id")
    if settings.segment_by == "rfm_segment":
        raw = value.set_index("customer_id")["rfm_segment"]
    elif settings.segment_by != "none":
        raw = people[settings.segment_by].str.strip().str.lower().replace("", None)
    day = pd.Timedelta(days=1)
    rows = []
    for period in periods(cfg.as_of, min(first.values()).date(),
                          settings.period).itertuples():
        s, e = period.period_start, period.period_end
        existing_by = min(s, e - settings.active_days * day)
        active_from = min(s, e - settings.active_days * day)
        segments = {"All": list(first)}
        if settings.segment_by != "none":
            for customer in first:
                name = raw.get(customer)
                segments.setdefault("unknown" if pd.isna(name) else name, []).append(customer)
        for segment in ["All", *sorted(set(segments) - {"All"})]:
            members = [c for c in segments[segment] if first[c] <= e]
            new = {c for c in members if first[c] > s}
            old = {c for c in members if first[c] <= existing_by}
            lines = tx[tx["customer_id"].isin(members) & (tx["order_date"] > s)
                       & (tx["order_date"] <= e)]
            bought = lines[lines["amount"] > 0]
            recent = tx[tx["customer_id"].isin(members) & (tx["amount"] > 0)
                        & (tx["order_date"] > active_from) & (tx["order_date"] <= e)]
            active = set(recent["customer_id"])
            late = set(bought.loc[bought["order_date"] > e - settings.net_new_days * day,
                                  "customer_id"])
            orders = bought.drop_duplicates(["customer_id", "source", "order_id"])
            contacts = support[support["customer_id"].isin(members)
                               & (support["contact_date"] > s) & (support["contact_date"] <= e)]
            days_on_file = sum((e - max(s, first[c] - day)).days for c in members)
            revenue = lines["amount"].sum()
            rows.append({
                "period_end": e.date(), "segment": segment,
                "gross_new_customers": len(new), "net_new_customers": len(new & late),
                "active_existing_customers": len(old & active),
                "active_customers": len(active), "customers_to_date": len(members),
                "revenue": revenue,
                "revenue_new": lines.loc[lines["customer_id"].isin(new), "amount"].sum(),
                "revenue_existing": lines.loc[lines["customer_id"].isin(old), "amount"].sum(),
                "orders": len(orders),
                "orders_new": orders["customer_id"].isin(new).sum(),
                "orders_existing": orders["customer_id"].isin(old).sum(),
                "support_cost": contacts["cost"].sum(),
                "support_cost_new": contacts.loc[contacts["customer_id"].isin(new),
                                                 "cost"].sum(),
                "support_cost_existing": contacts.loc[contacts["customer_id"].isin(old),
                                                      "cost"].sum(),
                "cost_to_serve": contacts["cost"].sum()
                + len(orders) * cfg.costs.cost_per_order
                + days_on_file * cfg.costs.cost_per_customer_per_year / 365,
            })
    expected = pd.DataFrame(rows)
    expected["share_active"] = expected["active_customers"] / expected["customers_to_date"]
    for name, numerator, denominator in (
            ("revenue_per_new_customer", "revenue_new", "gross_new_customers"),
            ("revenue_per_existing_customer", "revenue_existing", "active_existing_customers"),
            ("revenue_per_customer", "revenue", "active_customers"),
            ("purchase_frequency", "orders", "active_customers"),
            ("cost_to_serve_per_customer", "cost_to_serve", "customers_to_date")):
        expected[name] = expected[numerator] / expected[denominator].replace(0, np.nan)
    return expected


def random_client(seed: int, as_of: date) -> duckdb.DuckDBPyConnection:
    """40 customers over about three years to ``as_of`` and a few weeks after it: orders of
    one to three lines, returns, two sources that reuse order ids, support contacts,
    channels and types written in several ways or missing."""
    rng = np.random.default_rng(seed)
    end = pd.Timestamp(as_of)
    lines, support = [], []
    for i in range(40):
        customer = f"C{i:02d}"
        first = end - pd.Timedelta(days=int(rng.integers(0, 3 * 365)))
        days = np.sort(rng.integers(0, 1200, rng.integers(1, 8)))
        for k, offset in enumerate(days):
            when = first + pd.Timedelta(days=int(offset) * (k > 0))
            order = f"O{k}"  # the same ids for every customer and source
            for _ in range(rng.integers(1, 4)):
                lines.append((customer, order, when, round(float(rng.gamma(2, 20)), 2), None))
            if rng.random() < 0.2:
                lines.append((customer, f"R{k}", when + pd.Timedelta(days=int(rng.integers(0, 40))),
                              -10.0, None))
            if rng.random() < 0.3:
                support.append((customer, when + pd.Timedelta(days=int(rng.integers(0, 60))),
                                round(float(rng.uniform(1, 9)), 2)))
    con = warehouse(lines, support)
    con.execute("UPDATE transactions SET source = 'store' "
                "WHERE hash(customer_id || order_id) % 3 = 0")
    channels = ["web", " Web", "store", None, ""]
    kinds = ["business", "private", None]
    people = {f"C{i:02d}": (channels[i % 5], kinds[i % 3]) for i in range(40)}
    rfm = {f"C{i:02d}": ["Champions", "Lost"][i % 2] for i in range(0, 40, 3)}
    tx = read_table(con, "transactions")
    tx = tx[pd.to_datetime(tx["order_date"]) <= end]
    value = (tx.groupby("customer_id", as_index=False)["order_date"].min()
             .rename(columns={"order_date": "first_purchase"}))
    value["acquisition_cost"] = np.nan
    value["rfm_segment"] = value["customer_id"].map(rfm).astype(object)
    write_table(con, "customer_value", value)
    write_table(con, "customers", pd.DataFrame(
        [(c, channel, kind) for c, (channel, kind) in people.items()],
        columns=["customer_id", "acquisition_channel", "customer_type"]))
    con.execute("CREATE TABLE acquisition_costs (month DATE, unallocated DOUBLE)")
    return con


@pytest.mark.parametrize(("as_of", "settings"), [
    (date(2025, 12, 31), {"period": "month", "segment_by": "acquisition_channel",
                          "active_days": 60, "net_new_days": 20}),
    (date(2025, 11, 15), {"period": "quarter", "segment_by": "customer_type"}),
    (date(2025, 12, 31), {"period": "year", "segment_by": "rfm_segment"}),
    (date(2024, 2, 29), {"period": "month", "segment_by": "none", "active_days": 400,
                         "net_new_days": 27}),
    (date(2024, 2, 29), {"period": "year", "segment_by": "customer_type", "active_days": 200,
                         "net_new_days": 300}),
])
def test_equity_metrics_agree_with_their_definitions(as_of, settings, make_config):
    con = random_client(7, as_of)
    cfg = equity_config(make_config, as_of, **settings)
    build_equity_metrics(con, cfg)
    got = read_table(con, "equity_metrics")
    got["period_end"] = pd.to_datetime(got["period_end"]).dt.date
    expected = reference_equity(con, cfg)
    assert len(got) == len(expected) > 3
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


def test_cost_to_serve_adds_up_over_the_periods(make_config):
    # over all the periods the whole base's cost to serve is every customer's support cost,
    # orders and yearly cost from the first purchase's day to as_of (customer_value's
    # support_cost + service_cost): no order here spans two periods
    con = random_client(3, AS_OF)
    cfg = equity_config(make_config, AS_OF, period="quarter")
    build_equity_metrics(con, cfg)
    metrics = read_table(con, "equity_metrics")
    tx = read_table(con, "transactions")
    tx = tx[pd.to_datetime(tx["order_date"]) <= pd.Timestamp(AS_OF)]
    support = read_table(con, "support_contacts")
    first = pd.to_datetime(read_table(con, "customer_value")["first_purchase"])
    expected = (support.loc[pd.to_datetime(support["contact_date"]) <= pd.Timestamp(AS_OF),
                            "cost"].sum()
                + 2.0 * len(tx[tx["amount"] > 0].drop_duplicates(
                    ["customer_id", "source", "order_id"]))
                + 0.1 * ((pd.Timestamp(AS_OF) - first).dt.days + 1).sum())
    whole = metrics[metrics["segment"] == "All"]
    assert whole["cost_to_serve"].sum() == pytest.approx(expected)


def test_equity_changes_by_hand():
    metrics = pd.DataFrame({
        "period_end": pd.to_datetime(["2024-12-31", "2025-12-31"] * 2),
        "period": ["2024", "2025"] * 2,
        "segment": ["All", "All", "web", "web"],
        "gross_new_customers": [10, 12, 4, 2],
        "cost_to_serve_per_customer": [5.0, 4.0, 0.0, 3.0],
    })
    got = equity_changes(metrics, ("gross_new_customers", "cost_to_serve_per_customer"))
    expected = pd.DataFrame({
        "segment": ["All", "All", "web", "web"],
        "period_end": pd.to_datetime(["2025-12-31"] * 4),
        "period": ["2025"] * 4,
        "metric": ["gross_new_customers", "cost_to_serve_per_customer"] * 2,
        "previous": [10.0, 5.0, 4.0, 0.0],
        "value": [12.0, 4.0, 2.0, 3.0],
        "change": [2.0, -1.0, -2.0, 3.0],
        "relative_change": [0.2, -0.2, -0.5, np.nan],  # nothing to compare 3 with
        "rise_is_good": [True, False, True, False],
    })
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


# Cohorts, quarterly, as_of 2024-09-30
COHORT_TRANSACTIONS = [
    ("P", "p1", "2024-01-15", 10, None),
    ("P", "p2", "2024-02-01", 20, None),
    ("P", "p3", "2024-07-01", 30, None),
    ("Q", "q1", "2024-03-31", 40, None),  # on the first quarter's end: in it
    ("Q", "q2", "2024-04-01", 50, None),
    ("R", "r1", "2024-05-01", 60, None),
    ("R", "r1r", "2024-08-01", -10, None),  # a return is not activity
    ("R", "r2", "2024-10-05", 70, None),  # after as_of
]


def test_cohorts_by_hand(make_config):
    as_of = date(2024, 9, 30)
    con = equity_warehouse(COHORT_TRANSACTIONS, as_of)
    assert build_cohorts(con, equity_config(make_config, as_of, period="quarter")) == 5
    expected = pd.DataFrame({
        "cohort": ["2024Q1"] * 3 + ["2024Q2"] * 2,
        "cohort_end": pd.to_datetime(["2024-03-31"] * 3 + ["2024-06-30"] * 2),
        "period": ["2024Q1", "2024Q2", "2024Q3", "2024Q2", "2024Q3"],
        "period_end": pd.to_datetime(["2024-03-31", "2024-06-30", "2024-09-30"] * 1
                                     + ["2024-06-30", "2024-09-30"]),
        "periods_since_acquisition": [0, 1, 2, 0, 1],
        "customers_in_cohort": [2, 2, 2, 1, 1],
        "active_customers": [2, 1, 1, 1, 0],
        "retention_rate": [1.0, 0.5, 0.5, 1.0, 0.0],
        "revenue": [70.0, 50.0, 30.0, 60.0, -10.0],
        "revenue_per_customer": [35.0, 25.0, 15.0, 60.0, -10.0],
    })
    got = read_table(con, "cohorts")
    got["cohort_end"] = pd.to_datetime(got["cohort_end"])
    got["period_end"] = pd.to_datetime(got["period_end"])
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    matrix = cohort_matrix(got, "retention_rate")
    assert matrix.index.tolist() == ["2024Q1", "2024Q2"]
    assert matrix.columns.tolist() == [0, 1, 2]
    assert matrix.loc["2024Q2"].tolist() == pytest.approx([1.0, 0.0, np.nan], nan_ok=True)


def test_cohorts_monthly_mid_month(make_config):
    # as_of on the 15th: months (…-15, next -15]; names are the last days
    as_of = date(2024, 3, 15)
    con = equity_warehouse([("P", "p1", "2024-01-15", 10, None),  # on a period's end
                            ("P", "p2", "2024-01-16", 5, None),  # the next period's first day
                            ("Q", "q1", "2024-03-15", 8, None)], as_of)
    build_cohorts(con, equity_config(make_config, as_of, period="month"))
    got = read_table(con, "cohorts")
    assert got["cohort"].tolist() == ["2024-01-15"] * 3 + ["2024-03-15"]
    assert got["period"].tolist() == ["2024-01-15", "2024-02-15", "2024-03-15", "2024-03-15"]
    assert got["active_customers"].tolist() == [1, 1, 0, 1]
    assert got["revenue"].tolist() == pytest.approx([10, 5, 0, 8])


def test_equity_charts(make_config):
    as_of = date(2025, 3, 31)
    spend = [("2025-01-01", 3), ("2025-02-01", 0), ("2025-03-01", 2)]
    con = equity_warehouse(MONTHLY_TRANSACTIONS, as_of, MONTHLY_SUPPORT, MONTHLY_CUSTOMERS,
                           acquisition_cost={"X": 10, "Z": 5, "Y": 7}, spend=spend)
    cfg = equity_config(make_config, as_of, period="month")
    build_equity_metrics(con, cfg)
    build_cohorts(con, cfg)
    metrics, cohorts = read_table(con, "equity_metrics"), read_table(con, "cohorts")
    figure = plot_equity_metrics(metrics, currency="EUR")
    assert [ax.get_title() for ax in figure.axes] == [
        "Customers won", "Active customers", "Revenue per customer", "Cost per customer"]
    assert len(figure.axes[3].lines) == 2  # acquisition and serving
    assert len(plot_equity_by_segment(metrics).axes) == 5
    bars = plot_equity_changes(equity_changes(metrics))
    assert bars.get_title() == "What changed in 2025-03 (All)"
    heat = plot_cohort_retention(cohorts, period="month")
    assert heat.get_title() == "Cohort retention" and "months since" in heat.get_xlabel()
    assert "revenue per customer" in plot_cohort_revenue(cohorts).get_title()
    # without marketing spend the acquisition line is replaced by a note
    con.execute("DELETE FROM acquisition_costs")
    build_equity_metrics(con, cfg)
    figure = plot_equity_metrics(read_table(con, "equity_metrics"), segment="web")
    assert len(figure.axes[3].lines) == 1
    assert len(plot_equity_by_segment(read_table(con, "equity_metrics")).axes) == 4
    with pytest.raises(ValueError, match="no rows for segment 'nope'"):
        plot_equity_metrics(metrics, segment="nope")
    plt.close("all")


def test_missing_tables_are_named(make_config):
    con = equity_warehouse(EQUITY_TRANSACTIONS, AS_OF)
    con.execute("DROP TABLE acquisition_costs")
    with pytest.raises(MissingTableError, match="acquisition_costs"):
        build_equity_metrics(con, make_config(AS_OF))
    con.execute("ALTER TABLE customer_value DROP COLUMN rfm_segment")
    with pytest.raises(MissingColumnError, match="'customer_value'.*rfm_segment"):
        build_equity_metrics(con, make_config(AS_OF))
