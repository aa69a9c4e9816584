"""Below-zero customers, Lorenz curves, the Gini coefficient, the whale curve, the
concentration sentence and the RFM segment summary (helpers.differentiate.below_zero,
.concentration), on hand-made per-customer frames whose answers are worked out by hand or
computed another way in the test."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest

from helpers.differentiate import (
    below_zero_customers,
    below_zero_reasons,
    below_zero_summary,
    concentration_sentence,
    gini,
    lorenz_curve,
    profit_basis,
    profit_values,
    rfm_segment_summary,
    whale_curve,
)
from helpers.differentiate.below_zero import REASONS
from helpers.display import plot_below_zero, plot_lorenz, plot_rfm_segments, plot_whale_curve

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)


def frame(profits, acquisition=None, ids=None) -> pd.DataFrame:
    """A customer_value with the given profits (and acquisition costs) and nothing else."""
    ids = ids or [f"C{i:02d}" for i in range(len(profits))]
    result = pd.DataFrame({"customer_id": ids, "profit": np.asarray(profits, dtype=float)})
    if acquisition is not None:
        result["acquisition_cost"] = np.asarray(acquisition, dtype=float)
        result["profit_after_acquisition"] = result["profit"] - result["acquisition_cost"]
    return result


# --- the profit basis ------------------------------------------------------------------------

def test_profit_basis_is_after_acquisition_only_when_some_cost_is_known():
    assert profit_basis(frame([1, 2])) == "profit"
    assert profit_basis(frame([1, 2], acquisition=[np.nan, np.nan])) == "profit"
    assert profit_basis(frame([1, 2], acquisition=[np.nan, 5])) == "profit_after_acquisition"


def test_profit_values_keep_profit_where_the_acquisition_cost_is_unknown():
    values = profit_values(frame([10, 20, 30], acquisition=[4, np.nan, 50]))
    assert values.name == "profit_after_acquisition"
    assert values.tolist() == [6, 20, -20]
    broken = frame([10, 20]).assign(profit_12m=[1.0, np.nan])
    with pytest.raises(ValueError, match="profit_12m is missing for 1 customers"):
        profit_values(broken, "profit_12m")


# --- below-zero customers --------------------------------------------------------------------

def test_below_zero_summary_by_hand():
    got = below_zero_summary(frame([100, -10, -30, 0, 40])).iloc[0]
    assert got["basis"] == "profit"
    assert (got["customers"], got["below_zero"]) == (5, 2)  # 0 is not below zero
    assert got["share_below_zero"] == pytest.approx(2 / 5)
    assert got["total_loss"] == pytest.approx(40)
    assert got["loss_per_below_zero_customer"] == pytest.approx(20)
    assert got["profit_above_zero"] == pytest.approx(140)
    assert got["total_profit"] == pytest.approx(100)
    assert got["customers_without_acquisition_cost"] == 5


def test_below_zero_summary_after_acquisition():
    # C00 loses once acquisition counts; C01's acquisition cost is unknown: profit 5 stays
    got = below_zero_summary(frame([10, 5, 50], acquisition=[25, np.nan, 10])).iloc[0]
    assert got["basis"] == "profit_after_acquisition"
    assert (got["below_zero"], got["total_loss"], got["total_profit"]) == (1, 15, 30)
    assert got["customers_without_acquisition_cost"] == 1
    nobody = below_zero_summary(frame([1, 2])).iloc[0]
    assert nobody["below_zero"] == 0 and np.isnan(nobody["loss_per_below_zero_customer"])


# One row per branch of the reason rule: (customer_id, net_revenue, returns, gross_margin,
# support, service, acquisition, expected reason). profit = margin - support - service;
# after acquisition minus acquisition (NaN: unknown, profit kept).
BRANCHES = [
    ("neg_margin", 50, 0, -5, 0, 2, 0, "negative margin"),   # -7: sold below cost
    ("returns", 100, 100, 40, 25, 20, 0, "returns"),          # -5; returns 100 x 40% = 40
    ("support", 100, 0, 10, 30, 5, 0, "support"),             # -25; support 30 covers it
    ("service", 100, 0, 10, 0, 15, 0, "service"),             # -5
    ("acquisition", 100, 0, 10, 2, 3, 20, "acquisition"),     # -15; acquisition 20 >= 15
    ("several", 100, 0, 10, 8, 7, 6, "several"),              # -11; the largest, 8, < 11
    ("tie", 100, 0, 15, 10, 10, 0, "support"),                # -5; support and service tie
    ("all_back", 0, 80, 0, 0, 4, np.nan, "returns"),          # -4; kept nothing: base rate
    ("fine", 300, 0, 120, 10, 10, 30, None),                  # +70
    ("zero", 100, 0, 20, 10, 10, 0, None),                    # exactly 0: not below zero
]


def branches() -> pd.DataFrame:
    rows = pd.DataFrame(BRANCHES, columns=["customer_id", "net_revenue", "returns",
                                           "gross_margin", "support_cost", "service_cost",
                                           "acquisition_cost", "expected"])
    rows["profit"] = rows["gross_margin"] - rows["support_cost"] - rows["service_cost"]
    rows["profit_after_acquisition"] = rows["profit"] - rows["acquisition_cost"]
    return rows


def test_each_reason_branch():
    rows = branches()
    got = below_zero_customers(rows).set_index("customer_id")
    expected = rows.dropna(subset=["expected"]).set_index("customer_id")["expected"]
    assert got["reason"].to_dict() == expected.to_dict()
    # the base margin rate: customers who kept something, margin over net revenue
    kept = rows[rows["net_revenue"] > 0]
    base = kept["gross_margin"].sum() / kept["net_revenue"].sum()
    assert got.at["all_back", "returns_margin"] == pytest.approx(80 * base)
    assert got.at["returns", "returns_margin"] == pytest.approx(40)
    assert got.at["all_back", "acquisition_cost"] == 0  # unknown: no cost to blame
    assert got.at["several", "loss"] == pytest.approx(11)
    # biggest loss first, ties by customer_id (returns and service both lose 5)
    assert list(got.index) == ["support", "acquisition", "several", "neg_margin", "returns",
                               "service", "tie", "all_back"]


def test_reasons_counted_and_sized():
    got = below_zero_reasons(branches()).set_index("reason")
    assert list(got.index) == list(REASONS)
    assert got["customers"].to_dict() == {"negative margin": 1, "returns": 2, "support": 2,
                                          "service": 1, "acquisition": 1, "several": 1}
    assert got.loc["returns", "loss"] == pytest.approx(5 + 4)
    assert got.loc["support", "loss"] == pytest.approx(25 + 5)
    assert got["share_of_below_zero"].sum() == pytest.approx(1)
    assert got.loc["support", "share_of_loss"] == pytest.approx(30 / (7 + 5 + 25 + 5 + 15 + 11
                                                                      + 5 + 4))


def test_reasons_on_profit_without_acquisition():
    rows = branches().drop(columns=["acquisition_cost", "profit_after_acquisition"])
    got = below_zero_reasons(rows).set_index("reason")
    assert "acquisition" not in got.index
    # before acquisition 'acquisition' (profit 5) and 'fine' are above zero; 'several'
    # (10 - 8 - 7 = -5) is now covered by support alone
    assert got["customers"].sum() == 7
    assert got.loc["support", "customers"] == 3
    assert got.loc["several", "customers"] == 0 and got.loc["several", "loss"] == 0


def test_nobody_below_zero_and_empty_table():
    got = below_zero_reasons(branches().query("customer_id in ['fine', 'zero']"))
    assert got["customers"].sum() == 0 and got["share_of_loss"].isna().all()
    with pytest.raises(ValueError, match="customer_value is empty"):
        below_zero_summary(frame([]))


# --- Lorenz curve and Gini ------------------------------------------------------------------

def test_lorenz_curve_by_hand():
    got = lorenz_curve([3, 1, 0, 4])
    assert got["share_of_customers"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert got["share_of_value"].tolist() == [0, 0, 1 / 8, 4 / 8, 1]
    # a profit curve dips below 0 with the customers who lose money
    assert lorenz_curve([6, -2])["share_of_value"].tolist() == [0, -0.5, 1]
    assert lorenz_curve([-3, 1])["share_of_value"].isna().all()
    with pytest.raises(ValueError, match="1 values are missing"):
        lorenz_curve([1.0, np.nan])


def gini_by_pairs(values) -> float:
    """Every ordered pair's absolute difference, over 2 n times the sum of |x| (RSV)."""
    pairs = sum(abs(a - b) for a, b in itertools.product(values, repeat=2))
    return pairs / (2 * len(values) * sum(abs(v) for v in values))


def test_gini_textbook_cases():
    assert gini([7, 7, 7, 7]) == pytest.approx(0)
    for n in (2, 5, 10):
        assert gini([0] * (n - 1) + [3]) == pytest.approx((n - 1) / n)
    # RSV's most unequal profit: one customer has all the profit, one all the losses
    assert gini([-5, 0, 0, 10]) == pytest.approx(3 / 4)
    assert np.isnan(gini([0, 0]))


def test_gini_against_pairs_and_lorenz_area():
    rng = np.random.default_rng(9)
    for _ in range(20):
        values = rng.gamma(0.6, 100, size=rng.integers(2, 30))
        assert gini(values) == pytest.approx(gini_by_pairs(values))
        # for non-negative values: 1 - twice the area under the Lorenz curve (trapezoids)
        curve = lorenz_curve(values)
        area = np.trapezoid(curve["share_of_value"], curve["share_of_customers"])
        assert gini(values) == pytest.approx(1 - 2 * area)


def test_gini_with_negative_values_stays_in_range():
    rng = np.random.default_rng(10)
    for _ in range(20):
        values = rng.normal(20, 60, size=rng.integers(2, 30))
        assert gini(values) == pytest.approx(gini_by_pairs(values))
        assert 0 <= gini(values) <= 1
    # where the usual formula (over the plain sum) passes 1, RSV's does not
    values = [-10, 1, 1, 10]
    pairs = sum(abs(a - b) for a, b in itertools.product(values, repeat=2))
    assert pairs / (2 * 4 * sum(values)) > 1
    assert gini(values) == pytest.approx(pairs / (2 * 4 * 22))


# --- whale curve and the sentence -----------------------------------------------------------

def test_whale_curve_by_hand():
    got = whale_curve(frame([50, -10, 30, 0, -20], ids=["a", "b", "c", "d", "e"]))
    assert got["cumulative_profit"].tolist() == [0, 50, 80, 80, 70, 50]
    assert got["share_of_profit"].tolist() == pytest.approx([0, 1, 1.6, 1.6, 1.4, 1])
    # the peak comes after the last profitable customer; the one at 0 adds nothing
    peak = got[got["is_peak"]]
    assert len(peak) == 1 and peak.iloc[0]["customers"] == 2
    assert peak.iloc[0]["share_of_customers"] == pytest.approx(0.4)
    losing = whale_curve(frame([5, -10]))
    assert not losing["is_peak"].any() and losing["share_of_profit"].isna().all()


def test_sentence_exact_strings():
    no_loss = frame([50, 25, 10, 5, 5, 5, 0, 0, 0, 0])
    assert concentration_sentence(no_loss) == ("The top 20% of customers bring 75% of profit; "
                                               "no customer is below zero.")
    some_loss = frame([60, 30, 20, 10, 0, 0, 0, -5, -5, -10])  # total 100
    assert concentration_sentence(some_loss) == (
        "The top 20% of customers bring 90% of profit; 30% of customers are below zero.")
    # 60 + 30 + 20 + 10 + 0 = 120: more than all the profit
    assert concentration_sentence(some_loss, top_share=0.5) == (
        "The top 50% of customers bring 120% of profit: the other 50% lose 20% of it between "
        "them; 30% of customers are below zero.")
    # top 25% of 10 customers: ceil(2.5) = 3 customers, 110 of 100
    assert concentration_sentence(some_loss, top_share=0.25).startswith(
        "The top 25% of customers bring 110% of profit: the other 75% lose 10% of it")


def test_sentence_basis_and_edge_cases():
    after = frame([100, 50, 10, 5], acquisition=[10, 10, 20, 0])  # 90, 40, -10, 5: total 125
    assert concentration_sentence(after, top_share=0.25) == (
        "The top 25% of customers bring 72% of profit after acquisition cost; 25% of "
        "customers are below zero.")
    assert concentration_sentence(frame([10, -15])) == (
        "The customers lose money in total (profit -5), so no share of it can be read; 50% "
        "of customers are below zero.")
    one_in_a_thousand = frame([10] * 999 + [-1])
    assert concentration_sentence(one_in_a_thousand).endswith(
        "; under 1% of customers are below zero.")
    with pytest.raises(ValueError, match="top_share must be between 0 and 1"):
        concentration_sentence(frame([1, 2]), top_share=1)


# --- RFM segment summary --------------------------------------------------------------------

def test_rfm_segment_summary_by_hand():
    rows = frame([100, 20, -30, 10]).assign(
        rfm_segment=["Champions", "Champions", "Lost", "New"], r_score=[5, 4, 1, 5],
        f_score=[5, 4, 1, 1], m_score=[5, 3, 2, 1], net_revenue=[300.0, 100, 50, 50])
    got = rfm_segment_summary(rows)
    assert got["rfm_segment"].tolist() == ["Champions", "New", "Lost"]  # by profit
    champions = got.iloc[0]
    assert champions["customers"] == 2 and champions["share_of_customers"] == 0.5
    assert (champions["mean_r"], champions["mean_f"], champions["mean_m"]) == (4.5, 4.5, 4)
    assert champions["revenue"] == 400 and champions["profit"] == 120
    assert champions["profit_per_customer"] == 60
    assert champions["share_of_revenue"] == pytest.approx(400 / 500)
    assert champions["share_of_profit"] == pytest.approx(120 / 100)  # Lost loses 30
    lost = got.iloc[2]
    assert lost["share_of_profit"] == pytest.approx(-0.3) and lost["share_of_below_zero"] == 1


# --- charts ---------------------------------------------------------------------------------

def test_charts_return_figures():
    rows = branches().assign(net_revenue=lambda r: r["net_revenue"] + 10, rfm_segment="Lost",
                             r_score=1, f_score=1, m_score=1)
    rows.loc[rows["customer_id"] == "fine", "profit"] = 500  # total profit positive
    rows["profit_after_acquisition"] = rows["profit"] - rows["acquisition_cost"]
    figures = [plot_lorenz(rows), plot_whale_curve(rows),
               plot_rfm_segments(rfm_segment_summary(rows)),
               plot_below_zero(below_zero_reasons(rows), currency="EUR")]
    assert all(isinstance(f, plt.Figure) for f in figures)
    legend = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    values = profit_values(rows)
    assert f"profit after acquisition cost (Gini {gini(values):.2f})" in legend
    with pytest.raises(ValueError, match="not positive in total"):
        plot_whale_curve(frame([5, -10]))
    plt.close("all")
