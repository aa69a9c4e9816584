"""Early value of new customers and prospects (helpers.segment.early_value): first_baskets
worked out by hand, the time split, the model against the naive baselines on a synthetic
client whose value depends on the acquisition channel, the skips, and the channel profile
against scipy's t interval and a hand-made truth file."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers.segment.early_value import (
    ERROR_COLUMNS,
    MODELS,
    NotEnoughHistoryError,
    build_early_value,
    build_first_baskets,
    channel_profile,
    early_value_errors,
    holdout_split_date,
    profile_vs_truth,
    training_sample,
    truth_agreement,
)
from helpers.warehouse import read_table, write_table

AS_OF = date(2025, 12, 31)


def warehouse(lines: list[tuple], customers: list[tuple]) -> duckdb.DuckDBPyConnection:
    """A warehouse with ``transactions`` (customer_id, source, order_date, amount, quantity,
    category) and ``customers`` (customer_id, acquisition_channel, customer_type, city)."""
    con = duckdb.connect()
    tx = pd.DataFrame(lines, columns=["customer_id", "source", "order_date", "amount",
                                      "quantity", "category"])
    tx["order_date"] = pd.to_datetime(tx["order_date"]).dt.date
    tx = tx.astype({"amount": float, "quantity": float})
    write_table(con, "transactions", tx)
    write_table(con, "customers", pd.DataFrame(customers, columns=[
        "customer_id", "acquisition_channel", "customer_type", "city"]))
    return con


# --- first_baskets by hand ---------------------------------------------------------------------

HAND_LINES = [
    # A: first day 2024-01-10 in two sources; 2024 is a leap year, so day 365 is 2025-01-09
    ("A", "store", "2024-01-10", 30, 2, "x"),
    ("A", "store", "2024-01-10", 20, None, "y"),  # no quantity: one unit
    ("A", "webshop", "2024-01-10", 15, 1, "y"),  # y: 35 > x: 30
    ("A", "store", "2024-01-10", -5, 1, "x"),  # a return is not in the basket
    ("A", "webshop", "2024-03-01", 100, 1, "x"),
    ("A", "webshop", "2024-04-01", -40, 1, "x"),  # gross: returns are not netted
    ("A", "store", "2025-01-09", 7, 1, "x"),  # day 365: in
    ("A", "store", "2025-01-10", 1000, 1, "x"),  # day 366: out
    ("B", "webshop", "2025-06-01", 40, 1, None),  # 213 days observed: no full year
    ("C", "store", "2024-12-31", 10, 1, None),  # exactly 365 days observed
    ("D", "store", "2025-01-01", 10, 1, None),  # 364 days observed
    ("F", "store", "2025-02-01", -10, 1, None),  # a return only: neither bought nor prospect
    ("G", "store", "2026-02-01", 50, 1, None),  # after as_of only: a prospect
    ("Z", "webshop", "2025-03-01", 0, 1, None),  # a free item is a purchase
    ("Z", "webshop", "2025-03-02", 50, 1, None),
]
HAND_CUSTOMERS = [("A", " Email ", "Business", "Milano"), ("B", None, None, " "),
                  ("C", "store", "private", None), ("D", "store", "private", None),
                  ("E", "search", "private", "Roma"), ("F", None, None, None),
                  ("G", "social", None, None), ("Z", None, None, None)]


def test_first_baskets_by_hand():
    con = warehouse(HAND_LINES, HAND_CUSTOMERS)
    assert build_first_baskets(con, AS_OF) == 5
    baskets = read_table(con, "first_baskets").set_index("customer_id")
    assert baskets.index.tolist() == ["A", "B", "C", "D", "Z"]  # no E, F, G
    a = baskets.loc["A"]
    assert (a["acquisition_channel"], a["customer_type"], a["city"]) == \
        ("email", "business", "milano")
    assert a["first_purchase"] == pd.Timestamp("2024-01-10")
    assert a["first_source"] == "store,webshop"
    assert (a["first_basket_value"], a["first_basket_lines"], a["first_basket_units"]) == \
        (65, 3, 4)
    assert (a["first_basket_categories"], a["first_category"]) == (2, "y")
    assert (a["days_observed"], a["n_purchase_days"]) == (721, 4)
    # 100 on day 51 and 7 on day 365; the first day, the return and day 366 are left out
    assert (a["first_year_value"], a["first_year_purchase_days"]) == (107, 2)
    b = baskets.loc["B"]
    assert (b["acquisition_channel"], b["customer_type"], b["city"]) == \
        ("unknown", "unknown", "unknown")
    assert pd.isna(b["first_basket_categories"]) and pd.isna(b["first_category"])
    assert b["days_observed"] == 213 and pd.isna(b["first_year_value"])
    assert pd.isna(b["first_year_purchase_days"])
    assert baskets.loc["C", "first_year_value"] == 0  # a full year without a repeat
    assert pd.isna(baskets.loc["D", "first_year_value"])  # one day short
    assert baskets.loc["Z", ["first_basket_value", "n_purchase_days"]].tolist() == [0, 2]


def test_a_shorter_year_moves_the_window():
    con = warehouse(HAND_LINES, HAND_CUSTOMERS)
    build_first_baskets(con, AS_OF, year_days=60)
    baskets = read_table(con, "first_baskets").set_index("customer_id")
    assert baskets.loc["A", "first_year_value"] == 100  # day 51 only
    assert baskets.loc["B", "first_year_value"] == 0  # 213 days observed are enough now


# --- the time split ----------------------------------------------------------------------------

def test_holdout_split_date_takes_the_latest_share_and_keeps_days_whole():
    days = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-01"]))
    assert holdout_split_date(days, 0.25) == date(2024, 3, 1)
    assert holdout_split_date(days, 0.5) == date(2024, 2, 1)
    tied = pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01", "2024-02-01"]))
    assert holdout_split_date(tied, 0.25) == date(2024, 2, 1)  # 3 of 4 held out, not 1.5
    with pytest.raises(NotEnoughHistoryError, match="none is left to train"):
        holdout_split_date(days[:2], 0.25)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        holdout_split_date(days, 1.0)


def cohort(n: int, start: str, values: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Full-year customers, one a day from ``start``, worth ``values``."""
    return pd.DataFrame({
        "first_purchase": pd.date_range(start, periods=n, freq="D"),
        "acquisition_channel": rng.choice(["a", "b"], n), "customer_type": "private",
        "city": "roma", "first_source": "store", "first_category": None,
        "first_basket_value": rng.uniform(10, 100, n), "first_basket_lines": 1,
        "first_basket_units": 1.0, "first_basket_categories": np.nan,
        "first_year_value": values})


def test_the_holdout_never_trains_the_models():
    # the last quarter of the customers are worth 100 times more: a model that saw them would
    # estimate far more than the training customers' 100
    rng = np.random.default_rng(3)
    full_year = pd.concat([cohort(300, "2022-01-01", rng.uniform(50, 150, 300), rng),
                           cohort(100, "2023-10-28", np.full(100, 10_000.0), rng)],
                          ignore_index=True)
    full_year.insert(0, "customer_id", [f"C{i:03d}" for i in range(len(full_year))])
    errors, split, n_train, n_holdout = early_value_errors(full_year, seed=0)
    assert split == date(2023, 10, 28) and (n_train, n_holdout) == (300, 100)
    assert list(errors.columns) == list(ERROR_COLUMNS)
    assert (errors["mean_actual"] == 10_000).all()
    assert (errors["mean_predicted"] < 200).all()
    overall = errors[errors["predictor"] == "overall mean"]["mean_predicted"]
    assert np.allclose(overall, full_year["first_year_value"][:300].mean())


# --- the model on a client whose value depends on the channel ---------------------------------

def synthetic_client(n: int = 900, prospects: int = 40, with_attributes: bool = True,
                     seed: int = 7) -> duckdb.DuckDBPyConnection:
    """Customers acquired from 2022 to as_of whose repeat purchases a year depend on their
    channel (a: 0.5, b: 2, c: 6) and type (business: twice), and whose spend per purchase
    shows in their first basket; the city is noise. Plus ``prospects`` contacts who never
    bought."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:04d}" for i in range(n + prospects)])
    channel = rng.choice(["a", "b", "c"], n + prospects, p=[0.4, 0.35, 0.25])
    business = rng.random(n + prospects) < 0.3
    city = rng.choice(["roma", "milano", "napoli"], n + prospects)
    buyer = ids[:n]
    first = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 1461, n), unit="D")
    spend = rng.gamma(4, 15, n)  # each customer's spend per purchase
    rate = (np.select([channel[:n] == "a", channel[:n] == "b"], [0.5, 2.0], 6.0)
            * np.where(business[:n], 2.0, 1.0))
    repeats = rng.poisson(rate * 1.5)  # over 1.5 years: some fall after the first year
    owner = np.repeat(np.arange(n), repeats)
    days = pd.to_timedelta(rng.integers(1, 548, len(owner)), unit="D")
    lines = pd.DataFrame({
        "customer_id": np.r_[buyer, buyer[owner]], "source": "shop",
        "order_date": np.r_[first, first[owner] + days],
        "amount": np.r_[spend * rng.uniform(0.8, 1.2, n),
                        spend[owner] * rng.uniform(0.8, 1.2, len(owner))].round(2),
        "quantity": 1.0, "category": "music"})
    lines = lines[lines["order_date"] <= pd.Timestamp(AS_OF)]
    attributes = [channel, np.where(business, "business", "private"), city]
    if not with_attributes:
        attributes = [[None] * (n + prospects)] * 3
    return warehouse(list(lines.itertuples(index=False)),
                     list(zip(ids, *attributes, strict=True)))


@pytest.fixture(scope="module")
def client():
    """The synthetic client after build_early_value, and its result."""
    con = synthetic_client()
    result = build_early_value(con, AS_OF, seed=1)
    yield con, result
    con.close()


def test_first_year_values_agree_with_pandas(client):
    con, _ = client
    bought = read_table(con, "transactions").query("amount >= 0")
    first = bought.groupby("customer_id")["order_date"].min()
    day = (bought["order_date"] - bought["customer_id"].map(first)).dt.days
    repeat = bought[day.between(1, 365)].groupby("customer_id")["amount"].sum()
    full = first.index[first <= pd.Timestamp(AS_OF) - pd.Timedelta(days=365)]
    expected = repeat.reindex(full, fill_value=0.0)
    got = read_table(con, "first_baskets").set_index("customer_id")["first_year_value"]
    assert got.notna().sum() == len(full)
    pd.testing.assert_series_equal(got.dropna(), expected, check_names=False)


def test_the_model_beats_both_baselines(client):
    _, result = client
    assert result.skipped is None and result.beats_baselines
    assert result.model in MODELS and result.prospect_model in MODELS
    errors = result.errors.set_index(["features", "predictor"])
    chosen = errors[errors["chosen"]]
    assert chosen.index.get_level_values("features").tolist() == ["first basket",
                                                                   "attributes only"]
    for features, model in chosen.index:
        for baseline in ("overall mean", "channel mean"):
            assert errors.loc[(features, model), "mae"] < errors.loc[(features, baseline), "mae"]
            assert errors.loc[(features, model), "rmse"] < \
                errors.loc[(features, baseline), "rmse"]
    # the channel alone already helps; the first basket (spend) helps more
    assert errors.loc[("first basket", "channel mean"), "rmse"] < \
        errors.loc[("first basket", "overall mean"), "rmse"]
    assert chosen["rmse"].iloc[0] < chosen["rmse"].iloc[1]


def test_the_split_trains_on_the_earliest_full_years(client):
    con, result = client
    baskets = read_table(con, "first_baskets")
    full = baskets[baskets["first_year_value"].notna()]
    split = pd.Timestamp(result.split_date)
    # the training customers' first years end by the split; the holdout starts on it
    train = full[full["first_purchase"] + pd.Timedelta(days=365) <= split]
    holdout = full[full["first_purchase"] >= split]
    assert (result.train_customers, result.holdout_customers) == (len(train), len(holdout))
    assert len(train) + len(holdout) < len(full)
    assert result.holdout_customers / len(full) == pytest.approx(0.25, abs=0.01)
    assert full["first_purchase"].max() <= pd.Timestamp(AS_OF) - pd.Timedelta(days=365)


def test_new_customers_and_prospects_are_scored(client):
    con, result = client
    scored = read_table(con, "early_value")
    assert list(scored.columns) == ["customer_id", "status", "predicted_first_year_value",
                                    "acquisition_channel", "customer_type"]
    assert scored["customer_id"].is_monotonic_increasing
    baskets = read_table(con, "first_baskets")
    new = baskets[(baskets["n_purchase_days"] == 1) & (baskets["days_observed"] < 365)]
    status = scored.set_index("customer_id")["status"]
    assert sorted(status[status == "new"].index) == sorted(new["customer_id"])
    assert status[status == "prospect"].index.tolist() == [f"C{i:04d}" for i in range(900, 940)]
    assert (result.new_customers, result.prospects) == (len(new), 40)
    assert (scored["predicted_first_year_value"] > 0).all()
    # channel c buys 12 times as often as a: its prospects must be estimated worth more
    prospects = scored[scored["status"] == "prospect"]
    by_channel = prospects.groupby("acquisition_channel")["predicted_first_year_value"].mean()
    assert by_channel["c"] > by_channel["b"] > by_channel["a"]


def test_the_same_inputs_give_the_same_estimates(client):
    con, result = client
    first = read_table(con, "early_value")
    again = build_early_value(con, AS_OF, seed=1)
    pd.testing.assert_frame_equal(read_table(con, "early_value"), first)
    pd.testing.assert_frame_equal(again.errors, result.errors)


def test_no_acquisition_attributes_is_a_clear_skip():
    con = synthetic_client(n=300, prospects=5, with_attributes=False)
    result = build_early_value(con, AS_OF, seed=1)
    assert "no customer has an acquisition channel, customer type or city" in result.skipped
    assert result.summary.startswith("No early-value model: no customer")
    assert result.model is None and not result.beats_baselines and result.errors.empty
    assert read_table(con, "first_baskets")["first_year_value"].notna().sum() > 100
    scored = read_table(con, "early_value")
    assert scored.empty and list(scored.columns) == ["customer_id", "status",
                                                     "predicted_first_year_value",
                                                     "acquisition_channel", "customer_type"]


def test_too_little_history_is_refused():
    con = synthetic_client(n=120, prospects=0)
    result = build_early_value(con, AS_OF, seed=1)
    assert "an early-value model needs at least 200" in result.skipped
    assert read_table(con, "early_value").empty
    full = read_table(con, "first_baskets").dropna(subset=["first_year_value"])
    with pytest.raises(NotEnoughHistoryError, match=f"only {len(full)} customers"):
        early_value_errors(full, seed=1)


# --- the channel profile -----------------------------------------------------------------------

PROFILE = pd.DataFrame({
    "customer_id": ["c1", "c2", "c3", "c4", "c5"],
    "acquisition_channel": ["a", "a", "b", "b", "b"],
    "first_year_value": [0.0, 10.0, 100.0, 300.0, np.nan],  # c5: the year is not over
})


def test_channel_profile_by_hand_and_against_scipy():
    profile = channel_profile(PROFILE).set_index("acquisition_channel")
    assert profile.index.tolist() == ["b", "a"]  # the most valuable first
    assert profile["customers"].tolist() == [2, 2]
    assert profile["mean_first_year_value"].tolist() == [200, 5]
    # the top 20% of 4 customers is ceil(0.8) = 1: c4
    assert profile["share_in_top"].tolist() == [0.5, 0]
    assert profile["index"].tolist() == pytest.approx([100 * 200 / 102.5, 100 * 5 / 102.5])
    for channel, values in (("b", [100.0, 300.0]), ("a", [0.0, 10.0])):
        low, high = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values),
                                     scale=stats.sem(values))
        assert profile.loc[channel, ["low", "high"]].tolist() == pytest.approx([low, high])


def truth_file(tmp_path, by_channel: dict, by_type: dict):
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps({"acquisition": {
        "by_channel": {k: {"expected_first_year_spend": v} for k, v in by_channel.items()},
        "by_customer_type": {k: {"expected_first_year_spend": v} for k, v in by_type.items()},
    }}), encoding="utf-8")
    return path


def test_profile_against_a_truth_file(tmp_path):
    baskets = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(9)],
        "acquisition_channel": ["a", "a", "b", "b", "c", "c", "unknown", "a", "b"],
        "customer_type": ["business"] * 4 + ["private"] * 5,
        "first_year_value": [10.0, 20.0, 200.0, 220.0, 50.0, 70.0, 999.0, 30.0, 210.0]})
    # realised means: a 20, b 210, c 60; business 112.5, private 271.8 (unknown's 999 in it)
    same = truth_file(tmp_path, {"a": 15, "b": 205, "c": 100, "z": 1}, {"business": 100,
                                                                         "private": 300})
    comparison = profile_vs_truth(baskets, same)
    assert comparison["group"].tolist() == ["b", "c", "a", "private", "business"]  # no unknown
    assert comparison["true_value"].tolist() == [205, 100, 15, 300, 100]
    # a: 20 ± 24.8 (t with 2 degrees of freedom), b: 210 ± 24.8, c: 60 ± 127
    assert comparison["covered"].tolist()[:3] == [True, True, True]
    agreement = truth_agreement(comparison).set_index("attribute")
    assert agreement.loc["acquisition_channel", ["groups", "spearman", "same_order",
                                                 "same_best"]].tolist() == [3, 1.0, True, True]
    assert agreement.loc["customer_type", "spearman"] == pytest.approx(1.0)
    swapped = truth_file(tmp_path, {"a": 300, "b": 100, "c": 200}, {"business": 300,
                                                                     "private": 100})
    agreement = truth_agreement(profile_vs_truth(baskets, swapped)).set_index("attribute")
    assert agreement.loc["acquisition_channel", "spearman"] == pytest.approx(-1.0)
    assert not agreement.loc["acquisition_channel", "same_best"]
    assert agreement.loc["customer_type", "spearman"] == pytest.approx(-1.0)
    assert not agreement.loc["customer_type", "same_order"]


def test_a_truth_file_without_acquisition_is_refused(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"bgnbd": {}}), encoding="utf-8")
    with pytest.raises(ValueError, match="no 'acquisition' object"):
        profile_vs_truth(PROFILE.assign(customer_type="private"), path)


def test_a_large_base_trains_on_a_seeded_sample(client):
    con, result = client
    assert result.sampled_customers == result.train_customers  # the demo-sized base: all
    sampled = build_early_value(con, AS_OF, seed=1, sample_size=150)
    assert sampled.train_customers == result.train_customers > 150
    assert sampled.sampled_customers == 150
    assert "(a seeded sample of 150)" in sampled.summary
    # the holdout is scored whole, whatever the sample, and the sample is the same each run
    assert not sampled.errors["rmse"].equals(result.errors["rmse"])
    again = build_early_value(con, AS_OF, seed=1, sample_size=150)
    pd.testing.assert_frame_equal(again.errors, sampled.errors)
    # a sample still learns the channels: it beats the overall mean
    errors = sampled.errors.set_index(["features", "predictor"])
    chosen = errors[errors["chosen"]]
    assert (chosen["rmse"].to_numpy() < errors.xs("overall mean", level="predictor")["rmse"]
            .reindex(chosen.index.get_level_values("features")).to_numpy()).all()
    build_early_value(con, AS_OF, seed=1)  # the module's other tests read the full fit


def test_training_sample_keeps_order_and_all_when_small():
    frame = pd.DataFrame({"x": range(10)})
    assert training_sample(frame, 20, seed=0) is frame
    sample = training_sample(frame, 4, seed=0)
    assert len(sample) == 4 and sample.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(sample, training_sample(frame, 4, seed=0))
