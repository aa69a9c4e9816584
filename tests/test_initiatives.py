"""Campaign effects (helpers.differentiate.initiatives) on hand-made campaigns whose answers
are worked out by hand."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.differentiate import (
    build_campaign_effects,
    effects_against_truth,
    true_campaign_effects,
)
from helpers.differentiate.initiatives import campaign_verdict, welch_difference
from helpers.display import plot_campaign_tracking
from helpers.tables import table
from helpers.warehouse import read_table, write_table

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

AS_OF = date(2025, 12, 31)
EXPOSED = date(2025, 6, 1)


def day(offset: int, start: date = EXPOSED) -> date:
    return start + timedelta(days=offset)


def warehouse(exposures: list[tuple], transactions: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A warehouse with ``campaign_exposure`` (customer_id, campaign_id, exposure_date,
    exposure_group) and ``transactions`` (customer_id, order_id, order_date, amount)."""
    con = duckdb.connect()
    exposure = pd.DataFrame(exposures, columns=["customer_id", "campaign_id", "exposure_date",
                                                "exposure_group"])
    exposure.insert(1, "source", "campaign")
    write_table(con, "campaign_exposure", exposure[list(table("campaign_exposure")
                                                        .column_names)])
    tx = pd.DataFrame(transactions, columns=["customer_id", "order_id", "order_date", "amount"])
    tx.insert(1, "source", "shop")
    tx["amount"] = tx["amount"].astype(float)
    write_table(con, "transactions", tx)
    return con


def twins(campaign: str, control_orders: list[int], extra: int, prefix: str) -> tuple:
    """Control customers buying ``control_orders`` orders of 10 after exposure, and one
    treated twin each buying ``extra`` more; returns (exposures, transactions)."""
    exposures, transactions = [], []
    for i, orders in enumerate(control_orders):
        for group, n in (("control", orders), ("treated", orders + extra)):
            customer = f"{prefix}{group[0]}{i}"
            exposures.append((customer, campaign, EXPOSED, group))
            transactions += [(customer, f"{customer}-{k}", day(3 + 7 * k), 10.0)
                             for k in range(n)]
    return exposures, transactions


def effects_of(con, cfg) -> pd.DataFrame:
    build_campaign_effects(con, cfg)
    return read_table(con, "campaign_effects").set_index(["campaign_id", "metric"])


def test_a_known_effect_is_found_and_no_effect_is_not(make_config):
    # WIN: every treated customer buys exactly one order of 10 more than its control twin;
    # SAME: the groups buy alike
    win = twins("WIN", [0, 0, 1, 1, 0, 1], extra=1, prefix="w")
    same = twins("SAME", [0, 2, 1, 1, 0, 3], extra=0, prefix="s")
    con = warehouse(win[0] + same[0], win[1] + same[1])
    effects = effects_of(con, make_config(AS_OF))

    purchases = effects.loc[("WIN", "purchases")]
    assert (purchases["n_treated"], purchases["n_control"]) == (6, 6)
    assert purchases["mean_control"] == pytest.approx(0.5)
    assert purchases["difference"] == pytest.approx(1.0)
    assert purchases["ci_low"] < 1.0 < purchases["ci_high"]
    assert purchases["ci_low"] > 0
    assert purchases["verdict"].startswith("effect of +1.00 ± ")
    assert effects.loc[("WIN", "revenue"), "difference"] == pytest.approx(10.0)
    assert "EUR of revenue per customer" in effects.loc[("WIN", "revenue"), "verdict"]

    none = effects.loc[("SAME", "purchases")]
    assert none["difference"] == pytest.approx(0.0)
    assert none["ci_low"] < 0 < none["ci_high"]
    assert none["verdict"].startswith("no detectable effect (difference +0.00 purchases per "
                                      "customer, 95% CI -")
    # nobody bought before exposure: the groups were comparable, exactly
    assert bool(purchases["comparable"]) and purchases["pre_difference"] == 0
    assert "warning" not in purchases["verdict"]


def test_windows_start_on_the_exposure_day_and_last_window_days(make_config):
    # window 30 days: days 0..29 after exposure, days -30..-1 before
    lines = [
        ("T1", "o1", day(0), 20.0),      # exposure day: after
        ("T1", "o2", day(29), 10.0),     # last day of the window
        ("T1", "o2", day(29), 5.0),      # a second line of that order: one purchase
        ("T1", "o3", day(30), 99.0),     # the day after the window: out
        ("T1", "r1", day(10), -4.0),     # a return: net revenue only
        ("T1", "o4", day(-1), 7.0),      # the day before exposure: before
        ("T1", "o5", day(-30), 3.0),     # first day of the window before
        ("T1", "o6", day(-31), 50.0),    # out
        ("T2", "o7", day(5), 8.0),
        ("C1", "o8", day(1), 6.0),
        ("C1", "o9", day(-2), 2.0),
    ]
    exposures = [("T1", "K", EXPOSED, "treated"), ("T2", "K", EXPOSED, "treated"),
                 ("C1", "K", EXPOSED, "control"), ("C2", "K", EXPOSED, "control")]
    con = warehouse(exposures, lines)
    effects = effects_of(con, make_config(AS_OF, differentiate={"campaign_window_days": 30}))

    # treated: T1 bought o1, o2 (2 purchases, 20 + 15 revenue, -4 returned), T2 o7 (8)
    expected = {"purchases": (3 / 2, 1 / 2, 2 / 2, 1 / 2),
                "revenue": ((35 + 8) / 2, 6 / 2, (7 + 3) / 2, 2 / 2),
                "net_revenue": ((35 - 4 + 8) / 2, 6 / 2, (7 + 3) / 2, 2 / 2)}
    for metric, (treated, control, pre_treated, pre_control) in expected.items():
        row = effects.loc[("K", metric)]
        assert row["window_days"] == 30
        assert row["mean_treated"] == pytest.approx(treated)
        assert row["mean_control"] == pytest.approx(control)
        assert row["pre_mean_treated"] == pytest.approx(pre_treated)
        assert row["pre_mean_control"] == pytest.approx(pre_control)


def test_tracking_cumulates_week_by_week_per_customer_of_the_group(make_config):
    lines = [("T1", "a", day(0), 10.0), ("T1", "b", day(6), 10.0), ("T1", "c", day(7), 10.0),
             ("T2", "d", day(15), 30.0), ("T2", "e", day(16), -5.0), ("C1", "f", day(9), 4.0)]
    exposures = [("T1", "K", EXPOSED, "treated"), ("T2", "K", EXPOSED, "treated"),
                 ("C1", "K", EXPOSED, "control"), ("C2", "K", EXPOSED, "control")]
    con = warehouse(exposures, lines)
    build_campaign_effects(con, make_config(AS_OF, differentiate={"campaign_window_days": 17}))
    tracking = read_table(con, "campaign_tracking")
    treated = tracking[tracking["exposure_group"] == "treated"]
    # weeks 0 (days 0-6), 1 (7-13), 2 (14-16: cut at the 17-day window)
    assert treated["week"].tolist() == [0, 1, 2]
    assert treated["days_followed"].tolist() == [7, 14, 17]
    assert treated["customers"].tolist() == [2, 2, 2]
    assert treated["purchases_per_customer"].tolist() == pytest.approx([1.0, 1.5, 2.0])
    assert treated["revenue_per_customer"].tolist() == pytest.approx([10.0, 15.0, 30.0])
    assert treated["net_revenue_per_customer"].tolist() == pytest.approx([10.0, 15.0, 27.5])
    control = tracking[tracking["exposure_group"] == "control"]
    assert control["purchases_per_customer"].tolist() == pytest.approx([0.0, 0.5, 0.5])


def test_duplicates_and_late_exposures_are_ruled_and_counted(make_config):
    exposures = [
        ("B", "K", EXPOSED, "treated"), ("B", "K", EXPOSED, "control"),  # both groups: out
        ("D", "K", day(20), "treated"), ("D", "K", EXPOSED, "treated"),  # twice: first wins
        ("T", "K", EXPOSED, "treated"),
        ("C1", "K", EXPOSED, "control"), ("C2", "K", EXPOSED, "control"),
        ("L", "K", date(2025, 12, 15), "control"),  # 30 days do not fit before as_of
    ]
    lines = [("D", "x", day(5), 10.0), ("B", "y", day(5), 10.0), ("L", "z", day(200), 10.0)]
    con = warehouse(exposures, lines)
    effects = effects_of(con, make_config(AS_OF, differentiate={"campaign_window_days": 30}))
    row = effects.loc[("K", "purchases")]
    assert (row["n_treated"], row["n_control"]) == (2, 2)
    assert (row["in_both_groups"], row["window_too_short"]) == (1, 1)
    assert row["mean_treated"] == pytest.approx(0.5)  # D's purchase on day 5 of their window
    assert row["mean_control"] == 0


def test_the_default_window_runs_from_the_last_exposure_to_as_of(make_config):
    exposures = [("T1", "K", date(2025, 12, 1), "treated"),
                 ("T2", "K", date(2025, 12, 11), "treated"),
                 ("C1", "K", date(2025, 12, 1), "control"),
                 ("C2", "K", date(2025, 12, 11), "control")]
    # T1's purchase is 21 days after their exposure: after the common 21-day window
    lines = [("T1", "a", date(2025, 12, 22), 10.0), ("T2", "b", date(2025, 12, 31), 10.0)]
    effects = effects_of(warehouse(exposures, lines), make_config(AS_OF))
    row = effects.loc[("K", "purchases")]
    assert row["window_days"] == 21  # 11 December to 31 December, both included
    assert row["mean_treated"] == pytest.approx(0.5)
    assert row["exposure_start"] == pd.Timestamp("2025-12-01")
    assert row["exposure_end"] == pd.Timestamp("2025-12-11")


def test_groups_that_differed_before_exposure_are_flagged(make_config):
    # the treated bought 2 orders each before exposure, the control none; alike after
    exposures, lines = [], []
    for i in range(5):
        exposures += [(f"T{i}", "K", EXPOSED, "treated"), (f"C{i}", "K", EXPOSED, "control")]
        lines += [(f"T{i}", f"t{i}a", day(-10 - i), 10.0), (f"T{i}", f"t{i}b", day(-3), 10.0),
                  (f"T{i}", f"t{i}c", day(2 + i), 10.0), (f"C{i}", f"c{i}", day(4 + i), 10.0)]
    effects = effects_of(warehouse(exposures, lines), make_config(AS_OF))
    row = effects.loc[("K", "purchases")]
    assert row["pre_difference"] == pytest.approx(2.0)
    assert not row["comparable"]
    assert row["verdict"].startswith("no detectable effect (difference +0.00")
    assert "warning: before exposure the groups already differed by +2.00 purchases" \
        in row["verdict"]


def test_a_group_of_one_cannot_be_measured(make_config):
    exposures = [("T1", "K", EXPOSED, "treated"), ("T2", "K", EXPOSED, "treated"),
                 ("C1", "K", EXPOSED, "control")]
    effects = effects_of(warehouse(exposures, [("T1", "a", day(1), 5.0)]), make_config(AS_OF))
    row = effects.loc[("K", "purchases")]
    assert np.isnan(row["ci_low"]) and pd.isna(row["comparable"])
    assert row["verdict"] == ("not measurable: each group needs at least 2 customers "
                              "followed over the whole window (treated 2, control 1)")


def test_without_a_campaign_the_tables_are_empty(make_config):
    con = warehouse([], [("A", "a", day(1), 5.0)])
    assert build_campaign_effects(con, make_config(AS_OF)) == 0
    for name in ("campaign_effects", "campaign_tracking"):
        columns = con.execute(f"DESCRIBE {name}").fetchall()
        assert [(c[0], c[1]) for c in columns] == [(c.name, c.type) for c in table(name).columns]
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 0
    # no temporary step is left behind
    assert [t[0] for t in con.execute("SHOW TABLES").fetchall()] == [
        "campaign_effects", "campaign_exposure", "campaign_tracking", "transactions"]


def test_tables_match_the_registry(make_config):
    win = twins("WIN", [0, 1, 1], extra=1, prefix="w")
    con = warehouse(*win)
    build_campaign_effects(con, make_config(AS_OF))
    for name in ("campaign_effects", "campaign_tracking"):
        columns = con.execute(f"DESCRIBE {name}").fetchall()
        assert [(c[0], c[1]) for c in columns] == [(c.name, c.type) for c in table(name).columns]


def test_welch_interval_matches_scipys_test():
    rng = np.random.default_rng(7)
    a, b = rng.normal(3.0, 2.0, 40), rng.normal(2.0, 0.5, 15)
    test = stats.ttest_ind(a, b, equal_var=False)
    interval = test.confidence_interval(0.95)
    result = welch_difference(a, b)
    assert result["difference"] == pytest.approx(a.mean() - b.mean())
    assert (result["low"], result["high"]) == pytest.approx((interval.low, interval.high))
    assert result["p_value"] == pytest.approx(test.pvalue)
    # a group without spread: the interval is the other group's alone, t with n - 1 df
    result = welch_difference(a, [1.0, 1.0, 1.0])
    half = stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a))
    assert (result["low"], result["high"]) == pytest.approx((a.mean() - 1 - half,
                                                             a.mean() - 1 + half))


def test_groups_without_spread_give_an_exact_difference():
    assert welch_difference([2, 2, 2], [1, 1]) == {
        "mean_first": 2.0, "mean_second": 1.0, "difference": 1.0, "low": 1.0, "high": 1.0,
        "p_value": 0.0}
    assert welch_difference([0, 0], [0, 0])["p_value"] == 1.0


def test_verdicts_in_words():
    assert campaign_verdict("purchases", 0.3, 0.18, 0.42) == (
        "effect of +0.30 ± 0.12 purchases per customer (95% CI +0.18 to +0.42)")
    assert campaign_verdict("purchases", 0.06, -0.05, 0.17) == (
        "no detectable effect (difference +0.06 purchases per customer, 95% CI -0.05 to "
        "+0.17)")
    # a narrow interval keeps its digits
    assert campaign_verdict("purchases", -0.002, -0.049, 0.045) == (
        "no detectable effect (difference -0.002 purchases per customer, 95% CI -0.049 to "
        "+0.045)")


def test_the_truth_file_gives_the_true_effects(make_config, tmp_path):
    truth_file = tmp_path / "parameters.json"
    truth_file.write_text(json.dumps({"campaign": {
        "campaign_id": "WIN", "extra_purchases_per_treated": 1.0,
        "extra_revenue_per_treated": 12.0}}))
    truth = true_campaign_effects(make_config(AS_OF, clv={"truth": str(truth_file)}))
    assert truth.to_dict("records") == [
        {"campaign_id": "WIN", "metric": "purchases", "true_difference": 1.0},
        {"campaign_id": "WIN", "metric": "revenue", "true_difference": 12.0}]
    assert true_campaign_effects(make_config(AS_OF)) is None

    con = warehouse(*twins("WIN", [0, 0, 1, 1, 0, 1], extra=1, prefix="w"))
    build_campaign_effects(con, make_config(AS_OF))
    compared = effects_against_truth(read_table(con, "campaign_effects"), truth)
    # the estimate of purchases is exactly 1; revenue is 10 per customer, 12 lies in its CI
    assert compared.set_index("metric")["covered"].to_dict() == {"purchases": True,
                                                                "revenue": True}


def test_tracking_chart_shows_both_groups_and_the_difference(make_config):
    con = warehouse(*twins("WIN", [0, 0, 1, 1, 0, 1], extra=1, prefix="w"))
    build_campaign_effects(con, make_config(AS_OF))
    fig = plot_campaign_tracking(read_table(con, "campaign_tracking"),
                                 read_table(con, "campaign_effects"))
    purchases, revenue = fig.axes
    assert [line.get_label() for line in purchases.get_lines()] == ["treated", "control"]
    assert "difference +1 (95% CI" in purchases.get_title()
    assert purchases.get_lines()[0].get_ydata()[-1] == pytest.approx(1.5)
    plt.close(fig)
