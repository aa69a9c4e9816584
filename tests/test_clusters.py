"""Behavioural clusters (helpers.segment.clusters): features from a small in-memory warehouse
worked out by hand, k-means on synthetic blobs whose clusters are known, stability on blobs
against uniform noise, and cluster names from hand-made profiles."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from helpers.errors import TooLittleDataError
from helpers.segment.clusters import (
    SHARE_PREFIX,
    build_clusters,
    choose_k,
    cluster_features,
    cluster_profiles,
    cluster_stability,
    fit_clusters,
    standardised,
)
from helpers.warehouse import MissingTableError

BEHAVIOUR = ("recency_days", "frequency", "monetary", "tenure_days", "p_alive", "clv_net")


def blobs(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Three well separated clusters in three columns, and which cluster each row is in."""
    points, truth = make_blobs(n, centers=[(0, 0, 0), (10, 0, 0), (0, 10, 0)],
                               cluster_std=1.0, random_state=seed)
    ids = [f"C{i:04d}" for i in range(n)]
    return pd.DataFrame(points, columns=["a", "b", "c"], index=ids), truth


def customers(n: int, seed: int = 0) -> pd.DataFrame:
    """customer_value and clv columns for ``n`` customers of two kinds, alike in recency,
    spend per order and tenure: half frequent, likely active and valuable, half one-timers
    likely gone."""
    rng = np.random.default_rng(seed)
    frequent = np.arange(n) < n // 2
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "recency_days": rng.integers(0, 300, n),
        "frequency": np.where(frequent, rng.integers(15, 30, n), 1),
        "monetary": rng.uniform(20, 120, n),
        "tenure_days": rng.integers(300, 800, n),
        "p_alive": np.where(frequent, rng.uniform(0.8, 1, n), rng.uniform(0, 0.2, n)),
        "clv_net": np.where(frequent, rng.uniform(200, 400, n), rng.uniform(-5, 5, n)),
    })


def warehouse(value: pd.DataFrame, clv: pd.DataFrame | None = None,
              categories: pd.DataFrame | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory warehouse with customer_value, clv (by default every customer of
    ``value``) and, if given, customer_categories."""
    con = duckdb.connect()
    clv = value if clv is None else clv
    con.execute("CREATE TABLE customer_value AS SELECT customer_id, recency_days, frequency, "
                "monetary, tenure_days FROM value")
    con.execute("CREATE TABLE clv AS SELECT customer_id, p_alive, clv_net FROM clv")
    if categories is not None:
        con.execute("CREATE TABLE customer_categories AS SELECT * FROM categories")
    return con


# --- features --------------------------------------------------------------------------------

def test_features_without_categories_and_a_customer_missing_from_clv():
    value = pd.DataFrame({"customer_id": ["B", "A", "C", "D"], "recency_days": [1, 2, 3, 4],
                          "frequency": [1, 2, 0, 4], "monetary": [10.0, 20.0, None, 40.0],
                          "tenure_days": [5, 6, 7, 8]})
    clv = pd.DataFrame({"customer_id": ["A", "B", "C"], "p_alive": [0.2, 0.9, 0.4],
                        "clv_net": [5.0, -3.0, 1.0]})
    features = cluster_features(warehouse(value, clv))
    assert features.index.tolist() == ["A", "B", "C", "D"]
    assert features.columns.tolist() == list(BEHAVIOUR)
    # D was not scored: median p_alive of the scored (0.4) and no future value
    assert features.loc["D", ["p_alive", "clv_net"]].tolist() == [0.4, 0.0]
    assert features.loc["C", "monetary"] == 0  # returns only: no order to average over
    assert features.loc["B"].tolist() == [1, 1, 10, 5, 0.9, -3]


def test_category_mix_shares_clip_returns_and_pool_small_categories():
    value = pd.DataFrame({"customer_id": ["A", "B", "C"], "recency_days": [1, 2, 3],
                          "frequency": [1, 2, 3], "monetary": [1.0, 2.0, 3.0],
                          "tenure_days": [5, 6, 7], "p_alive": [0.5] * 3, "clv_net": [1.0] * 3})
    categories = pd.DataFrame({
        "customer_id": ["A", "A", "A", "B", "B", "C"],
        "category": ["tea", "coffee", "cups", "coffee", "mugs", "tea"],
        "net_revenue": [30.0, 60.0, 10.0, -5.0, 20.0, 0.0],
    })
    # totals: coffee 60 (B's -5 counts 0), tea 30, mugs 20, cups 10: keep 2, pool the rest
    features = cluster_features(warehouse(value, categories=categories), top_categories=2)
    shares = [f"{SHARE_PREFIX}{c}" for c in ("coffee", "tea", "other")]
    assert features.columns.tolist() == [*BEHAVIOUR, *shares]
    assert features.loc["A", shares].tolist() == pytest.approx([0.6, 0.3, 0.1])
    assert features.loc["B", shares].tolist() == [0, 0, 1]
    assert features.loc["C", shares].tolist() == [0, 0, 0]  # bought nothing that counts


def test_features_name_the_missing_table():
    con = duckdb.connect()
    con.register("value", customers(4))
    con.execute("CREATE TABLE customer_value AS SELECT * FROM value")
    with pytest.raises(MissingTableError, match="clv"):
        cluster_features(con)


def test_standardised_by_hand_and_the_mix_weighs_as_one_feature():
    features = pd.DataFrame({"frequency": [0.0, 1.0, 3.0], "recency_days": [1.0, 2.0, 6.0],
                             "share_x": [0.0, 0.5, 1.0], "share_y": [1.0, 0.5, 0.0]})
    log_frequency = np.log1p(features["frequency"])
    expected = (log_frequency - log_frequency.mean()) / log_frequency.std(ddof=0)
    got = standardised(features)
    assert got.columns.tolist() == features.columns.tolist()
    assert got["frequency"].to_numpy() == pytest.approx(expected.to_numpy())
    assert got.var(ddof=0).to_numpy() == pytest.approx(np.ones(4))
    weighted = standardised(features, weigh_mix=True)
    assert weighted[["share_x", "share_y"]].var(ddof=0).sum() == pytest.approx(1)
    assert weighted["recency_days"].to_numpy() == pytest.approx(got["recency_days"].to_numpy())


# --- k, clusters and their stability ----------------------------------------------------------

def test_blobs_are_recovered_and_k_is_chosen_by_silhouette():
    features, truth = blobs()
    silhouettes = choose_k(features, 2, 5, seed=1)
    assert silhouettes["k"].tolist() == [2, 3, 4, 5]
    assert silhouettes.loc[silhouettes["silhouette"].idxmax(), "k"] == 3
    assert silhouettes["inertia"].is_monotonic_decreasing
    labels = fit_clusters(features, 3, seed=1)
    assert adjusted_rand_score(truth, labels) == pytest.approx(1)
    assert sorted(labels.unique()) == [1, 2, 3]


def test_same_seed_same_clusters_and_numbers_follow_clv():
    features = customers(200).set_index("customer_id")
    first = fit_clusters(features, 4, seed=7)
    pd.testing.assert_series_equal(first, fit_clusters(features, 4, seed=7))
    mean_clv = features["clv_net"].groupby(first).mean()
    assert mean_clv.is_monotonic_decreasing


def test_stability_is_high_on_blobs_and_low_on_noise():
    features, _ = blobs()
    on_blobs = cluster_stability(features, 3, seed=1, n_bootstrap=10)
    assert on_blobs.columns.tolist() == ["refit", "adjusted_rand_index"]
    assert on_blobs["refit"].tolist() == list(range(1, 11))
    assert on_blobs["adjusted_rand_index"].min() > 0.95
    # uniform noise has no clusters to find: each resample cuts it differently
    noise = pd.DataFrame(np.random.default_rng(0).uniform(size=(300, 4)), columns=list("abcd"))
    on_noise = cluster_stability(noise, 4, seed=0, n_bootstrap=10)
    assert on_noise["adjusted_rand_index"].mean() < 0.7
    pd.testing.assert_frame_equal(on_noise, cluster_stability(noise, 4, seed=0, n_bootstrap=10))


def test_too_few_customers_stop_and_a_short_range_is_clipped():
    features = pd.DataFrame({"a": [0.0, 1.0, 1.0, 5.0], "b": [0.0, 1.0, 1.0, 5.0]})
    with pytest.warns(UserWarning, match="k is tried from 2 to 2 instead of 4"):
        assert choose_k(features, 2, 4, seed=1)["k"].tolist() == [2]
    with pytest.raises(TooLittleDataError, match="needs 4 customers .* there are 3"):
        choose_k(features, 3, 4, seed=1)


# --- profiles and names -----------------------------------------------------------------------

def test_profiles_name_frequent_customers_and_one_timers():
    features = customers(100).set_index("customer_id")
    labels = fit_clusters(features, 2, seed=3)
    profiles = cluster_profiles(features, labels)
    assert profiles["cluster"].tolist() == [1, 2]
    assert profiles["customers"].tolist() == [50, 50]
    assert profiles["share_of_customers"].tolist() == [0.5, 0.5]
    assert profiles.loc[0, "frequency"] == features["frequency"].iloc[:50].mean()
    # the halves differ by frequency, p_alive and clv_net only; one-timers are not
    # "infrequent"
    assert profiles["name"].tolist() == ["frequent, likely active, high-CLV customers",
                                         "likely gone, low-CLV one-timers"]


def test_names_by_hand_mostly_a_category_and_unique():
    # customers 0-1 and 4-5 alike, 2-3 recent; 0-3 buy mostly tea, 4-5 more coffee
    features = pd.DataFrame({
        "recency_days": [100.0, 100, 0, 0, 100, 100],
        "frequency": [3.0, 3, 3, 3, 3, 3],
        "share_tea": [0.9, 0.9, 0.9, 0.9, 0.4, 0.4],
        "share_coffee": [0.1, 0.1, 0.1, 0.1, 0.6, 0.6],
    })
    labels = pd.Series([1, 1, 2, 2, 3, 3])
    names = cluster_profiles(features, labels)["name"].tolist()
    # z of recency: mean 66.7, sd 47.1 -> clusters 1 and 3 at +0.71 (lapsed), 2 at -1.41
    assert names == ["lapsed customers; mostly tea", "recent customers; mostly tea",
                     "lapsed customers; mostly coffee"]
    labels = pd.Series([1, 1, 2, 2, 2, 2])
    features["share_coffee"] = [0.3, 0.3, 0.1, 0.1, 0.1, 0.1]
    features["share_tea"] = [0.3, 0.3, 0.1, 0.1, 0.1, 0.1]
    features["recency_days"] = 5.0
    assert cluster_profiles(features, labels)["name"].tolist() == [
        "average customers; more tea than most", "average customers"]
    alike = features.assign(frequency=1.0, share_tea=0.5, share_coffee=0.5)
    assert cluster_profiles(alike, pd.Series([1, 1, 1, 2, 2, 2]))["name"].tolist() == [
        "average one-timers; mostly tea", "average one-timers; mostly tea (2)"]


# --- the whole step ----------------------------------------------------------------------------

def test_build_clusters_writes_every_customer_once_reproducibly():
    value = customers(120)
    scored = value.iloc[:-1]  # C0119, a one-timer, has no CLV estimate
    con = warehouse(value, scored)
    result = build_clusters(con, k_min=2, k_max=4, seed=11, n_bootstrap=5)
    written = con.execute("SELECT * FROM clusters").df()
    assert written["customer_id"].tolist() == value["customer_id"].tolist()
    assert [c[1] for c in con.execute("DESCRIBE clusters").fetchall()] == [
        "VARCHAR", "INTEGER", "VARCHAR"]
    assert result.k == 2 and result.unscored == 1
    assert result.profiles["name"].tolist() == ["frequent, likely active, high-CLV customers",
                                                "likely gone, low-CLV one-timers"]
    assert (written.groupby("cluster")["cluster_name"].unique().str[0].tolist()
            == result.profiles["name"].tolist())
    assert written["cluster"].tolist() == result.labels.tolist()
    assert written["cluster"].iloc[-1] == 2  # still clustered, with the one-timers
    assert result.ari_mean > 0.95 and result.ari_min <= result.ari_mean
    assert "2 clusters of 120 customers" in result.summary()
    assert "Customers without a CLV estimate: 1." in result.summary()
    again = build_clusters(con, k_min=2, k_max=4, seed=11, n_bootstrap=5)
    pd.testing.assert_frame_equal(written, con.execute("SELECT * FROM clusters").df())
    pd.testing.assert_frame_equal(result.stability, again.stability)


def test_a_large_base_is_clustered_on_a_sample_and_everyone_assigned():
    """Above sample_size customers, k, the stability and the centres come from a seeded
    sample; every customer gets the nearest cluster: on two well-separated kinds of customer
    the same partition as a fit on everyone, and the same labels on a rerun."""
    value = customers(400, seed=4)
    con = warehouse(value)
    sampled = build_clusters(con, 2, 4, seed=1, n_bootstrap=3, sample_size=150)
    sampled_labels = con.execute("SELECT cluster FROM clusters").df()["cluster"]
    everyone = build_clusters(con, 2, 4, seed=1, n_bootstrap=3, sample_size=10_000)
    assert sampled.fitted_on == 150 and everyone.fitted_on == 400
    assert len(sampled_labels) == 400 and sampled_labels.notna().all()
    assert adjusted_rand_score(sampled.labels, everyone.labels) == pytest.approx(1.0)
    again = build_clusters(con, 2, 4, seed=1, n_bootstrap=3, sample_size=150)
    pd.testing.assert_series_equal(again.labels, sampled.labels)
    assert "seeded random 150 of the customers" in sampled.summary()
    assert "seeded random" not in everyone.summary()
