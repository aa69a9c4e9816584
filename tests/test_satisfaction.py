"""NPS and its drivers (helpers.differentiate.satisfaction) on hand-made survey answers whose
answers are worked out by hand."""

from __future__ import annotations

from datetime import date

import duckdb
import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.differentiate import build_satisfaction, nps_by
from helpers.differentiate.satisfaction import nps_summary
from helpers.display import plot_nps, plot_nps_drivers
from helpers.tables import table
from helpers.warehouse import read_table, write_table

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

AS_OF = date(2025, 12, 31)

# (customer, source_row, date, score, {driver: rating})
ANSWERS = [
    ("A", 1, "2025-01-10", 3, {"price": 1.0}),           # replaced by A's later answer
    ("A", 2, "2025-06-01", 9, {"price": 5.0, "problems": 4.0}),
    ("B", 3, "2025-03-01", 10, {"price": 4.0, "problems": 5.0}),
    ("B", 4, "2026-01-05", 2, {"price": 1.0}),           # after as_of: left out
    ("C", 5, "2025-02-01", 8, {"price": 3.0, "problems": 4.0}),
    ("D", 6, "2025-02-02", 7, {"price": 3.0}),
    ("E", 7, "2025-02-03", 6, {"price": 1.0, "problems": 2.0}),
    ("F", 8, "2025-02-04", 0, {"price": 2.0, "problems": 2.0}),
    ("G", 9, "2025-04-04", 1, {"price": 1.0}),           # same day: the later row wins
    ("G", 10, "2025-04-04", 9, {"price": 3.0, "problems": 5.0}),
]
# the latest answers up to as_of: A 9, B 10, G 9 promoters; C 8, D 7 passives; E 6, F 0
# detractors
LATEST = {"A": 9, "B": 10, "C": 8, "D": 7, "E": 6, "F": 0, "G": 9}
RFM_SEGMENT = {"A": "Champions", "B": "Champions", "C": "Lost", "E": "Lost", "D": None}
CUSTOMER_TYPE = {"A": "private", "B": "business", "C": "private", "D": "private",
                 "E": "business", "F": "private", "G": "private"}


def warehouse(answers: list[tuple] = tuple(ANSWERS)) -> duckdb.DuckDBPyConnection:
    """``survey_answers`` and ``survey_ratings`` of ``answers``, ``customer_value`` with an
    rfm_segment (F and G have no purchase) and ``customers`` with a customer_type."""
    con = duckdb.connect()
    write_table(con, "survey_answers", pd.DataFrame(
        [(c, "survey", row, pd.Timestamp(d).date(), score, None)
         for c, row, d, score, _ in answers], columns=list(table("survey_answers").column_names)))
    write_table(con, "survey_ratings", pd.DataFrame(
        [(c, "survey", row, driver, rating) for c, row, _, _, ratings in answers
         for driver, rating in ratings.items()],
        columns=list(table("survey_ratings").column_names)))
    write_table(con, "customer_value", pd.DataFrame(
        {"customer_id": list(RFM_SEGMENT), "rfm_segment": list(RFM_SEGMENT.values())}))
    write_table(con, "customers", pd.DataFrame(
        {"customer_id": list(CUSTOMER_TYPE), "customer_type": list(CUSTOMER_TYPE.values())}))
    return con


def expected_nps(scores: list[int]) -> tuple[float, float, float]:
    """NPS and its 95% interval, from the multinomial variance, worked out on ``scores``."""
    n = len(scores)
    p_promoters = sum(s >= 9 for s in scores) / n
    p_detractors = sum(s <= 6 for s in scores) / n
    nps = p_promoters - p_detractors
    half = 1.959964 * np.sqrt((p_promoters + p_detractors - nps ** 2) / n)
    return 100 * nps, max(-100, 100 * (nps - half)), min(100, 100 * (nps + half))


def test_nps_counts_each_customers_latest_answer_up_to_as_of(make_config):
    con = warehouse()
    assert build_satisfaction(con, make_config(AS_OF)) == 1 + 3 + 2
    result = read_table(con, "satisfaction").set_index(["breakdown", "segment"])
    everyone = result.loc[("all", "All")]
    assert (everyone["respondents"], everyone["promoters"], everyone["passives"],
            everyone["detractors"]) == (7, 3, 2, 2)
    assert everyone["mean_score"] == pytest.approx(49 / 7)
    assert (everyone["nps"], everyone["nps_low"], everyone["nps_high"]) == pytest.approx(
        expected_nps(list(LATEST.values())), abs=1e-4)
    assert everyone["nps"] == pytest.approx(100 / 7)


def test_nps_per_group_puts_customers_without_a_value_in_unknown(make_config):
    con = warehouse()
    build_satisfaction(con, make_config(AS_OF))
    result = read_table(con, "satisfaction").set_index(["breakdown", "segment"])
    # D has no segment, F and G are not in customer_value
    groups = {"Champions": ["A", "B"], "Lost": ["C", "E"], "unknown": ["D", "F", "G"]}
    assert sorted(result.loc["rfm_segment"].index) == sorted(groups)
    for segment, members in groups.items():
        row = result.loc[("rfm_segment", segment)]
        assert row["respondents"] == len(members)
        assert (row["nps"], row["nps_low"], row["nps_high"]) == pytest.approx(
            expected_nps([LATEST[c] for c in members]), abs=1e-4)
    # two promoters: no spread, the interval is a point
    assert result.loc[("rfm_segment", "Champions"), "nps_low"] == 100
    business = result.loc[("customer_type", "business")]
    assert (business["promoters"], business["detractors"], business["nps"]) == (1, 1, 0)
    # the same through nps_by, on any table
    by_type = nps_by(con, "customers", "customer_type", AS_OF).set_index("segment")
    assert by_type.loc["private", "nps"] == pytest.approx(expected_nps([9, 8, 7, 0, 9])[0])


def test_a_score_of_6_is_a_detractor_7_and_8_passives_9_a_promoter():
    counts = nps_summary(pd.DataFrame({"nps": [6, 7, 8, 9, 10, 0]})).iloc[0]
    assert (counts["promoters"], counts["passives"], counts["detractors"]) == (2, 2, 2)
    assert counts["nps"] == 0


def test_driver_means_use_the_latest_answer_only(make_config):
    con = warehouse()
    build_satisfaction(con, make_config(AS_OF))
    means = read_table(con, "driver_ratings").set_index(["breakdown", "segment", "driver"])
    # price of the latest answers: A 5, B 4, C 3, D 3, E 1, F 2, G 3
    assert means.loc[("all", "All", "price"), "ratings"] == 7
    assert means.loc[("all", "All", "price"), "mean_rating"] == pytest.approx(21 / 7)
    # problems: A 4, B 5, C 4, E 2, F 2, G 5 (D left it empty)
    assert means.loc[("all", "All", "problems"), "ratings"] == 6
    assert means.loc[("rfm_segment", "Champions", "price"), "mean_rating"] == pytest.approx(4.5)
    assert means.loc[("rfm_segment", "unknown", "price"), "mean_rating"] == pytest.approx(8 / 3)


def test_drivers_are_sorted_by_how_far_promoters_and_detractors_rate_them(make_config):
    con = warehouse()
    build_satisfaction(con, make_config(AS_OF))
    drivers = read_table(con, "nps_drivers")
    # price: promoters 5, 4, 3 (4.0), passives 3, 3, detractors 1, 2 (1.5): 2.5 apart;
    # problems: promoters 4, 5, 5, detractors 2, 2: 2.667 apart, first
    assert drivers["driver"].tolist() == ["problems", "price"]
    price = drivers.set_index("driver").loc["price"]
    assert (price["mean_promoters"], price["mean_passives"], price["mean_detractors"]) == (
        pytest.approx(4.0), pytest.approx(3.0), pytest.approx(1.5))
    assert price["separation"] == pytest.approx(2.5)
    promoters, detractors = np.array([5.0, 4.0, 3.0]), np.array([1.0, 2.0])
    va, vb = promoters.var(ddof=1) / 3, detractors.var(ddof=1) / 2
    df = (va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 1)
    half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    assert (price["separation_low"], price["separation_high"]) == pytest.approx(
        (2.5 - half, 2.5 + half))
    pairs = pd.DataFrame({"rating": [5, 4, 3, 3, 1, 2, 3], "nps": [9, 10, 8, 7, 6, 0, 9]})
    assert price["spearman"] == pytest.approx(pairs["rating"].corr(pairs["nps"],
                                                                   method="spearman"))


def test_without_a_survey_the_tables_are_empty(make_config):
    con = warehouse([])
    assert build_satisfaction(con, make_config(AS_OF)) == 0
    for name in ("satisfaction", "driver_ratings", "nps_drivers"):
        columns = con.execute(f"DESCRIBE {name}").fetchall()
        assert [(c[0], c[1]) for c in columns] == [(c.name, c.type) for c in table(name).columns]
        assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == 0


def test_tables_match_the_registry(make_config):
    con = warehouse()
    build_satisfaction(con, make_config(AS_OF))
    for name in ("satisfaction", "driver_ratings", "nps_drivers"):
        columns = con.execute(f"DESCRIBE {name}").fetchall()
        assert [(c[0], c[1]) for c in columns] == [(c.name, c.type) for c in table(name).columns]


def test_charts_show_every_group_and_driver(make_config):
    con = warehouse()
    build_satisfaction(con, make_config(AS_OF))
    fig = plot_nps(read_table(con, "satisfaction"), "rfm_segment")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "Champions"  # best at the top
    assert len(ax.patches) == 3
    plt.close(fig)
    fig = plot_nps_drivers(read_table(con, "nps_drivers"))
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["price", "problems"]
    plt.close(fig)
