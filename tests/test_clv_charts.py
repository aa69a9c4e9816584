"""Tests for the probability-alive history (helpers.clv.history) and the CLV charts."""

from __future__ import annotations

from datetime import date

import duckdb
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

from helpers import display
from helpers.clv import rfm_summary
from helpers.clv.history import alive_history, customers_to_follow

matplotlib.use("Agg")

AS_OF = date(2024, 3, 31)
# CDNOW's published estimates (weeks): Fader, Hardie & Lee 2005 and Fader & Hardie 2005
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}

HAND_ROWS = [
    # A: two lines on 1 Jan (one occasion); 12 Feb nets to 0 (no occasion); 10 Apr is after
    # as_of (ignored).
    ("A", "2024-01-01", 10.0), ("A", "2024-01-01", 5.0), ("A", "2024-01-15", 20.0),
    ("A", "2024-02-12", 30.0), ("A", "2024-02-12", -30.0), ("A", "2024-03-04", 40.0),
    ("A", "2024-04-10", 100.0),
    ("B", "2024-02-01", 25.0),  # one-time buyer
    ("C", "2024-01-10", 50.0), ("C", "2024-03-31", 12.0),  # buys again on as_of itself
    ("D", "2024-04-02", 9.0),  # only after as_of: no history
]


def fitted(fitter_class, params: dict):
    """A lifetimes fitter holding ``params`` (predictions use only ``params_``)."""
    fitter = fitter_class()
    fitter.params_ = pd.Series(params)
    return fitter


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions (customer_id VARCHAR, order_date DATE, "
                "amount DOUBLE)")
    con.executemany("INSERT INTO transactions VALUES (?, CAST(? AS DATE), ?)", HAND_ROWS)
    yield con
    con.close()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- alive_history ---------------------------------------------------------------------------

def test_one_row_per_day_from_first_purchase_to_as_of(warehouse, make_config):
    history = alive_history(warehouse, make_config(AS_OF), fitted(BetaGeoFitter, BGNBD),
                            ["C", "A", "B"])
    assert list(dict.fromkeys(history["customer_id"])) == ["C", "A", "B"]  # order given
    for customer_id, first in (("A", date(2024, 1, 1)), ("B", date(2024, 2, 1)),
                               ("C", date(2024, 1, 10))):
        days = history.loc[history["customer_id"] == customer_id, "date"]
        expected = pd.date_range(first, AS_OF, freq="D")
        assert list(pd.to_datetime(days)) == list(expected)
    purchases = history[history["purchase"]]
    days = pd.to_datetime(purchases["date"]).dt.date
    assert sorted(zip(purchases["customer_id"], days, strict=True)) == [
        ("A", date(2024, 1, 1)), ("A", date(2024, 1, 15)), ("A", date(2024, 3, 4)),
        ("B", date(2024, 2, 1)), ("C", date(2024, 1, 10)), ("C", date(2024, 3, 31))]


def test_statistics_grow_day_by_day_and_end_at_the_summary(warehouse, make_config):
    cfg = make_config(AS_OF, "week")
    history = alive_history(warehouse, cfg, fitted(BetaGeoFitter, BGNBD), ["A", "B", "C"])
    a = history[history["customer_id"] == "A"]
    a = a.set_index(pd.to_datetime(a["date"]))
    # on 14 Jan: nothing repeated yet; on 15 Jan (a purchase) one repeat, 2 weeks after the
    # first; on 12 Feb (net 0, no purchase) still one repeat, age 6 weeks
    assert a.loc["2024-01-14", ["frequency", "recency", "t"]].tolist() == [0, 0, 13 / 7]
    assert a.loc["2024-01-15", ["frequency", "recency", "t"]].tolist() == [1, 2, 2]
    assert a.loc["2024-02-12", ["frequency", "recency", "t"]].tolist() == [1, 2, 6]
    last = history.groupby("customer_id").tail(1).set_index("customer_id")
    summary = rfm_summary(warehouse, cfg).set_index("customer_id")
    for column, summary_column in (("frequency", "frequency"), ("recency", "recency"),
                                   ("t", "T")):
        np.testing.assert_allclose(last.loc[summary.index, column], summary[summary_column])


@pytest.mark.parametrize("fitter_class, params", [(BetaGeoFitter, BGNBD),
                                                  (ModifiedBetaGeoFitter, BGNBD),
                                                  (ParetoNBDFitter, PARETO)])
def test_p_alive_is_the_models_at_each_point(warehouse, make_config, fitter_class, params):
    fitter = fitted(fitter_class, params)
    history = alive_history(warehouse, make_config(AS_OF, "week"), fitter, ["A"])
    a = history.set_index(pd.to_datetime(history["date"]))["p_alive"]
    # (day, frequency, recency, T) worked by hand, in weeks from 1 Jan
    for day, x, t_x, age in (("2024-01-01", 0, 0, 0), ("2024-01-14", 0, 0, 13 / 7),
                             ("2024-01-15", 1, 2, 2), ("2024-02-12", 1, 2, 6),
                             ("2024-03-31", 2, 9, 90 / 7)):
        expected = fitter.conditional_probability_alive(x, t_x, age)
        assert a.loc[day] == pytest.approx(float(np.squeeze(expected)), rel=1e-12)


def test_days_per_unit_sets_the_time_scale(warehouse, make_config):
    fitter = fitted(BetaGeoFitter, BGNBD)
    history = alive_history(warehouse, make_config(AS_OF, "week"), fitter, ["A"],
                            days_per_unit=1)
    a = history.set_index(pd.to_datetime(history["date"]))
    assert a.loc["2024-02-12", ["frequency", "recency", "t"]].tolist() == [1, 14, 42]


def test_history_refuses_unknown_customers_and_unfitted_models(warehouse, make_config):
    cfg = make_config(AS_OF)
    with pytest.raises(ValueError, match=r"\['D'\] made no purchase on or before 2024-03-31"):
        alive_history(warehouse, cfg, fitted(BetaGeoFitter, BGNBD), ["A", "D"])
    with pytest.raises(ValueError, match="no parameters yet"):
        alive_history(warehouse, cfg, BetaGeoFitter(), ["A"])
    with pytest.raises(ValueError, match="No customers"):
        alive_history(warehouse, cfg, fitted(BetaGeoFitter, BGNBD), [])


# --- customers_to_follow ---------------------------------------------------------------------

CLV_TABLE = pd.DataFrame({
    "customer_id": ["k", "j", "i", "h", "g", "f", "e"],
    "frequency":   [0,   0,   1,   5,   6,   4,   9],
    "recency":     [0.0, 0.0, 3.0, 20., 10., 30., 40.],
    "T":           [10., 30., 30., 40., 50., 35., 41.],
    "p_alive":     [1.0, 1.0, 0.6, 0.9, 0.2, 0.95, 0.97],
})


def test_customers_to_follow_picks_loyal_lapsed_and_one_time():
    chosen = customers_to_follow(CLV_TABLE)
    # repeat buyers with at least the median 5 repeats: h, g, e; loyal = highest p_alive (e),
    # lapsed = lowest (g); one-time = the oldest without a repeat (j)
    assert chosen["role"].tolist() == ["loyal", "lapsed", "one-time"]
    assert chosen["customer_id"].tolist() == ["e", "g", "j"]
    assert chosen.loc[0, "p_alive"] == 0.97
    shuffled = CLV_TABLE.sample(frac=1, random_state=1)
    pd.testing.assert_frame_equal(customers_to_follow(shuffled), chosen)


def test_customers_to_follow_fills_with_frequent_buyers():
    assert customers_to_follow(CLV_TABLE, n=1)["customer_id"].tolist() == ["e"]
    chosen = customers_to_follow(CLV_TABLE, n=5)
    assert chosen["customer_id"].tolist() == ["e", "g", "j", "h", "f"]
    assert chosen["role"].tolist()[3:] == ["other", "other"]
    no_one_time = customers_to_follow(CLV_TABLE[CLV_TABLE["frequency"] > 0])
    assert no_one_time["role"].tolist() == ["loyal", "lapsed", "other"]


# --- charts ----------------------------------------------------------------------------------

def test_plot_alive_history_draws_a_panel_per_customer(warehouse, make_config):
    history = alive_history(warehouse, make_config(AS_OF), fitted(BetaGeoFitter, BGNBD),
                            ["A", "B"])
    fig = display.plot_alive_history(history, roles={"A": "loyal"})
    assert len(fig.axes) == 2
    for ax, customer_id in zip(fig.axes, ["A", "B"], strict=True):
        path = history[history["customer_id"] == customer_id]
        (line,) = ax.get_lines()
        np.testing.assert_allclose(line.get_ydata(), path["p_alive"])
        (markers,) = ax.collections
        assert len(markers.get_offsets()) == path["purchase"].sum()
    assert "(loyal)" in fig.axes[0].get_title(loc="left")


@pytest.mark.parametrize("fitter", [fitted(BetaGeoFitter, BGNBD),
                                    fitted(ParetoNBDFitter, PARETO)])
def test_frequency_recency_matrix_shows_the_models_expectation(fitter):
    ax = display.plot_frequency_recency_matrix(fitter, max_frequency=6, max_recency=20, t=8)
    grid = ax.images[0].get_array()
    assert grid.shape == (21, 7)  # rows = recency 0..20, columns = frequency 0..6
    for recency, frequency in ((20, 6), (5, 3), (0, 0)):
        expected = fitter.conditional_expected_number_of_purchases_up_to_time(
            8, frequency, recency, 20)
        assert grid[recency, frequency] == pytest.approx(float(np.squeeze(expected)))
    assert grid[20, 6] > grid[5, 6]  # a recent frequent buyer buys more than a lapsed one
    assert "weeks" in ax.get_ylabel()


def test_probability_alive_matrix_shows_p_alive():
    fitter = fitted(ParetoNBDFitter, PARETO)
    ax = display.plot_probability_alive_matrix(fitter, max_frequency=5, max_recency=10)
    grid = ax.images[0].get_array()
    assert grid.shape == (11, 6)
    assert grid[4, 2] == pytest.approx(float(fitter.conditional_probability_alive(2, 4, 10)))


def test_plot_tracking_draws_weekly_and_cumulative_lines():
    tracking = pd.DataFrame({
        "period": [0, 1, 2, 3],
        "period_start": pd.date_range("2024-01-01", periods=4, freq="7D"),
        "repeat_purchases": [0, 3, 5, 4],
        "expected_repeat_purchases": [0.5, 2.5, 4.0, 4.5],
    })
    fig = display.plot_tracking(tracking.iloc[::-1], calibration_end=date(2024, 1, 15))
    weekly, cumulative = fig.axes
    actual, model = weekly.get_lines()[:2]
    np.testing.assert_allclose(actual.get_ydata(), [0, 3, 5, 4])
    np.testing.assert_allclose(model.get_ydata(), [0.5, 2.5, 4.0, 4.5])
    actual, model = cumulative.get_lines()[:2]
    np.testing.assert_allclose(actual.get_ydata(), [0, 3, 8, 12])
    np.testing.assert_allclose(model.get_ydata(), [0.5, 3.0, 7.0, 11.5])
    assert len(weekly.get_lines()) == 3  # actual, model, the calibration end


def test_plot_holdout_by_frequency():
    table = pd.DataFrame({"frequency_cal": range(8),
                          "actual_mean": np.linspace(0.1, 4, 8),
                          "predicted_mean": np.linspace(0.2, 3.8, 8)})
    ax = display.plot_holdout_by_frequency(table)
    actual, model = ax.get_lines()
    np.testing.assert_allclose(actual.get_ydata(), table["actual_mean"])
    np.testing.assert_allclose(model.get_ydata(), table["predicted_mean"])
    assert [label.get_text() for label in ax.get_xticklabels()][-2:] == ["6", "7+"]


def test_plot_model_comparison():
    comparison = pd.DataFrame({"model": ["bgnbd", "pareto_nbd", "mbgnbd"],
                               "holdout_mae": [0.5, 0.45, 0.52],
                               "holdout_rmse": [1.1, 1.0, 1.2],
                               "bic": [9600.0, 9580.0, 9620.0]})
    fig = display.plot_model_comparison(comparison)
    errors, bic = fig.axes
    heights = [patch.get_height() for patch in errors.patches]
    assert heights == [0.5, 0.45, 0.52, 1.1, 1.0, 1.2]
    assert [patch.get_height() for patch in bic.patches] == [9600.0, 9580.0, 9620.0]
    assert [t.get_text() for t in bic.get_xticklabels()] == ["BG/NBD", "Pareto/NBD", "MBG/NBD"]


def test_plot_loyalty():
    scenarios = pd.DataFrame({"scenario": ["now", "dropout -10%", "dropout -20%"],
                              "dropout_cut": [0.0, 0.1, 0.2],
                              "total_equity": [1000.0, 1100.0, 1250.0],
                              "gain": [0.0, 100.0, 250.0]})
    ax = display.plot_loyalty(scenarios, currency="EUR")
    assert [patch.get_height() for patch in ax.patches] == [1000.0, 1100.0, 1250.0]
    assert "+250 (+25.0%)" in [text.get_text().split("\n")[-1] for text in ax.texts]
    assert "EUR" in ax.get_ylabel()


def test_plot_clv_interval_shows_the_top_customers():
    per_customer = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                                 "clv": [10.0, 40.0, 25.0, 40.0],
                                 "clv_low": [5.0, 30.0, 20.0, 35.0],
                                 "clv_high": [15.0, 55.0, 31.0, 45.0]})
    ax = display.plot_clv_interval(per_customer, n=3)
    (points,) = ax.get_lines()
    np.testing.assert_allclose(points.get_xdata(), [40.0, 40.0, 25.0])
    (intervals,) = ax.collections
    segments = [tuple(segment[:, 0]) for segment in intervals.get_segments()]
    assert segments == [(30.0, 55.0), (35.0, 45.0), (20.0, 31.0)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "d", "c"]


def test_history_span_is_short_for_a_late_first_purchase(warehouse, make_config):
    # C bought again on as_of itself: that day is flagged and is the last row
    history = alive_history(warehouse, make_config(AS_OF), fitted(BetaGeoFitter, BGNBD), ["C"])
    assert len(history) == (AS_OF - date(2024, 1, 10)).days + 1
    assert bool(history["purchase"].iloc[-1])
    assert pd.Timestamp(history["date"].iloc[-1]).date() == AS_OF
