"""Behavioural clusters: groups of customers who buy alike (notebook 04).

Each customer in ``customer_value`` is described by recency, frequency, spend per order,
tenure, future value (``clv_net``), probability of being active (``p_alive``) and, when the
client has a product catalogue, the mix of categories they buy. The features are
log-transformed where skewed and standardised (a scikit-learn Pipeline), then grouped by
k-means. k is the one with the best silhouette in the configured range; k-means refitted on
bootstrap resamples tells how stable the clusters are (adjusted Rand index); each cluster
gets a profile and a name generated from its features. :func:`build_clusters` does it all and
writes table ``clusters``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits

from helpers.config import TIERS
from helpers.errors import TooLittleDataError
from helpers.segment.categories import has_categories
from helpers.warehouse import query, require_columns, scalar, write_table

__all__ = ["TOP_CATEGORIES", "SHARE_PREFIX", "SKEWED_FEATURES", "DESCRIPTORS", "NAME_Z",
           "NAME_WORDS", "MOSTLY_SHARE", "SAMPLE_SIZE", "ONE_TIMER_FREQUENCY", "STABLE_ARI",
           "ClusterResult",
           "cluster_features", "standardised", "choose_k", "fit_clusters", "cluster_stability",
           "cluster_profiles", "build_clusters", "cluster_tiers"]

#: Categories the category mix keeps by name, the largest by total net revenue; the rest
#: are pooled as 'other'.
TOP_CATEGORIES = 8

#: The category mix columns are named ``share_<category>``.
SHARE_PREFIX = "share_"

#: Features with a long right tail (a few customers with very many orders or much money):
#: on their raw scale those few would stretch the standardised axis and squeeze everyone
#: else together, so clusters would split outliers off instead of behaviours. They are
#: log-transformed (sign kept, for a negative clv_net) before scaling.
SKEWED_FEATURES = ("frequency", "monetary", "clv_net")

#: The words that name a cluster: feature -> (word when the cluster's mean is high, when low).
DESCRIPTORS = {
    "recency_days": ("lapsed", "recent"),
    "frequency": ("frequent", "infrequent"),
    "monetary": ("high-spend", "low-spend"),
    "tenure_days": ("long-standing", "new"),
    "p_alive": ("likely active", "likely gone"),
    "clv_net": ("high-CLV", "low-CLV"),
}

#: A feature names a cluster when the cluster's mean of the standardised feature is at least
#: this far from 0 (the mean of all customers), in standard deviations.
NAME_Z = 0.5

#: At most this many words of :data:`DESCRIPTORS` in a name: the furthest from average.
NAME_WORDS = 3

#: A cluster is "mostly <category>" when the category is at least this share of its
#: members' net revenue on average.
MOSTLY_SHARE = 0.5

#: A cluster whose mean number of orders is at most this is named "one-timers".
ONE_TIMER_FREQUENCY = 1.5

#: Mean adjusted Rand index from which the clusters are called stable (Hennig 2007,
#: "Cluster-wise assessment of cluster stability", takes 0.75-0.85 for the Jaccard index).
STABLE_ARI = 0.8

#: Customers k-means is fitted on at most (``segment.clusters.sample_size``).
SAMPLE_SIZE = 20_000

#: k-means and the silhouette run on one thread (OpenMP and BLAS): on a few thousand
#: customers threads gain little, and on a busy machine their waiting made the demo's
#: clustering 8 times slower (27 s instead of 3 s on 2 shared cores).
ONE_THREAD = 1

#: The columns read from ``customer_value`` and ``clv`` (``sql/cluster_features.sql``).
VALUE_COLUMNS = ("customer_id", "recency_days", "frequency", "monetary", "tenure_days")
CLV_COLUMNS = ("customer_id", "p_alive", "clv_net")


@dataclass
class ClusterResult:
    """What :func:`build_clusters` found, with what a notebook shows and charts.

    Attributes
    ----------
    features
        :func:`cluster_features`: the raw features, indexed by customer_id.
    labels
        Each customer's cluster number (1 = highest mean clv_net), indexed by customer_id.
    silhouettes
        :func:`choose_k`: k, silhouette, inertia for each k tried.
    k
        The k chosen: the highest silhouette.
    stability
        :func:`cluster_stability`: refit, adjusted_rand_index.
    profiles
        :func:`cluster_profiles`: cluster, name, customers, share_of_customers and the mean
        features.
    unscored
        Customers without a CLV estimate (missing from ``clv``), clustered with the median
        p_alive and a clv_net of 0.
    fitted_on
        Customers k was chosen, the stability checked and the clusters fitted on: all of
        them, or the seeded sample of :func:`build_clusters`.
    """

    features: pd.DataFrame
    labels: pd.Series
    silhouettes: pd.DataFrame
    k: int
    stability: pd.DataFrame
    profiles: pd.DataFrame
    unscored: int
    fitted_on: int

    @property
    def ari_mean(self) -> float:
        """Mean adjusted Rand index of the bootstrap refits against the clusters."""
        return float(self.stability["adjusted_rand_index"].mean())

    @property
    def ari_min(self) -> float:
        """Lowest adjusted Rand index of the bootstrap refits."""
        return float(self.stability["adjusted_rand_index"].min())

    def summary(self) -> str:
        """The clusters and their stability in a sentence, for the notebook to print."""
        silhouette = self.silhouettes.set_index("k").loc[self.k, "silhouette"]
        tried = self.silhouettes["k"]
        verdict = "stable" if self.ari_mean >= STABLE_ARI else "not stable"
        return (f"{self.k} clusters of {len(self.labels):,} customers (k = {tried.min()}-"
                f"{tried.max()} tried, best silhouette {silhouette:.3f}); {verdict}: "
                f"refitted on {len(self.stability)} bootstrap resamples, they agree with these "
                f"clusters by a mean adjusted Rand index of {self.ari_mean:.2f} (lowest "
                f"{self.ari_min:.2f}; 1 = the same clusters, 0 = chance; stable from "
                f"{STABLE_ARI:g}). Customers without a CLV estimate: {self.unscored:,}."
                + (f" k, the stability and the clusters come from a seeded random "
                   f"{self.fitted_on:,} of the customers; everyone is in their nearest "
                   f"cluster." if self.fitted_on < len(self.labels) else ""))


def cluster_features(con: duckdb.DuckDBPyConnection,
                     top_categories: int = TOP_CATEGORIES) -> pd.DataFrame:
    """The raw behavioural features of every customer in ``customer_value``.

    Reads ``customer_value`` (customer_id, recency_days, frequency, monetary, tenure_days),
    ``clv`` (customer_id, p_alive, clv_net) and, when it has rows, ``customer_categories``
    (customer_id, category, net_revenue).

    Parameters
    ----------
    con
        The run's warehouse.
    top_categories
        Categories kept by name in the category mix (the rest are 'other').

    Returns
    -------
    DataFrame
        Indexed by customer_id (sorted): recency_days, frequency, monetary (0 for a customer
        with returns only), tenure_days, p_alive, clv_net, then, with a catalogue, one
        ``share_<category>`` column per category (largest first, 'other' last): the
        customer's share of net revenue in it, negative net revenue counted as 0. A
        customer with nothing bought in a category has shares of 0.

    Notes
    -----
    A customer missing from ``clv`` (the CLV model did not score them) keeps their row: their
    p_alive is the median of the scored customers and their clv_net 0 (as in ``segments``).

    Raises
    ------
    ValueError
        When a feature is still missing for a customer, naming the feature.
    """
    require_columns(con, "customer_value", VALUE_COLUMNS)
    require_columns(con, "clv", CLV_COLUMNS)
    features = query(con, "cluster_features").df().set_index("customer_id")
    if has_categories(con):
        mix = query(con, "category_mix", {"top_categories": top_categories}).df()
        categories = mix.drop_duplicates("category").sort_values("rank")["category"]
        shares = (mix.pivot(index="customer_id", columns="category", values="share")
                  .reindex(index=features.index, columns=categories).fillna(0.0))
        features = features.join(shares.add_prefix(SHARE_PREFIX))
    features.columns.name = None
    missing = features.isna().sum()
    if missing.any():
        raise ValueError(", ".join(f"{name} is missing for {count} customers"
                                   for name, count in missing[missing > 0].items()))
    return features


def _signed_log1p(values):
    """log(1 + |x|) with the sign of x: log1p for counts and money, defined below 0 too."""
    return np.sign(values) * np.log1p(np.abs(values))


def _scaler(columns, weigh_mix: bool = True) -> ColumnTransformer:
    """The features' preparation: the skewed ones (:data:`SKEWED_FEATURES`) log-transformed,
    then all standardised to mean 0 and standard deviation 1, so each counts alike.

    With ``weigh_mix``, the ``share_<category>`` columns are then divided by the square root
    of their number, so that the category mix as a whole weighs as much as one behavioural
    feature (its columns' variances add up to 1). Unweighted, eight categories outweighed
    the six behavioural features: on the demo, k-means split off one small cluster per
    category, with a silhouette of 0.18 and a bootstrap stability (adjusted Rand index) of
    0.77; weighted, 0.28 and 0.99.
    """
    skewed = [c for c in SKEWED_FEATURES if c in columns]
    mix = [c for c in columns if c.startswith(SHARE_PREFIX)]
    other = [c for c in columns if c not in skewed and c not in mix]
    log = FunctionTransformer(_signed_log1p, feature_names_out="one-to-one")
    prepare = ColumnTransformer(
        [("skewed", Pipeline([("log", log), ("scale", StandardScaler())]), skewed),
         ("other", StandardScaler(), other),
         ("mix", StandardScaler(), mix)],
        transformer_weights={"mix": 1 / np.sqrt(len(mix))} if mix and weigh_mix else None,
        verbose_feature_names_out=False)
    return prepare.set_output(transform="pandas")


def _kmeans(columns, k: int, seed: int) -> Pipeline:
    """Preparation and k-means together, so a refit on a resample rescales on it too."""
    return Pipeline([("prepare", _scaler(columns)),
                     ("kmeans", KMeans(n_clusters=k, n_init=10, random_state=seed))])


def standardised(features: pd.DataFrame, weigh_mix: bool = False) -> pd.DataFrame:
    """The features standardised (the skewed ones logged first), in their order.

    ``weigh_mix`` gives them as k-means sees them, the category mix weighing as one
    feature (:func:`_scaler`); without it, each column is in standard deviations from the
    mean of all customers (what cluster names are read from).
    """
    return _scaler(features.columns, weigh_mix).fit_transform(features)[list(features.columns)]


def _k_range(scaled: pd.DataFrame, k_min: int, k_max: int) -> range:
    """k_min..k_max, clipped to one less than the distinct customers (the silhouette needs a
    cluster with two of them)."""
    distinct = len(np.unique(scaled.to_numpy(), axis=0))
    if distinct <= k_min:
        raise TooLittleDataError(f"clustering into at least k_min = {k_min} clusters needs "
                                 f"{k_min + 1} customers with different features; there are "
                                 f"{distinct}")
    if distinct <= k_max:
        warnings.warn(f"only {distinct} customers with different features: k is tried from "
                      f"{k_min} to {distinct - 1} instead of {k_max}", UserWarning, stacklevel=3)
    return range(k_min, min(k_max, distinct - 1) + 1)


def choose_k(features: pd.DataFrame, k_min: int, k_max: int, seed: int,
             sample_size: int = 5000) -> pd.DataFrame:
    """Silhouette and inertia of k-means for each k from ``k_min`` to ``k_max``.

    Parameters
    ----------
    features
        One row per customer, numeric columns only (e.g. :func:`cluster_features`).
    k_min, k_max
        The range of k tried (``segment.clusters`` in the config). With fewer distinct
        customers than k_max + 1, k_max is lowered to their number - 1, with a warning.
    seed
        Seeds k-means and the silhouette's sample.
    sample_size
        Above this many customers the silhouette is computed on a random sample of them
        (the same for every k): its cost grows with the square of the customers.

    Returns
    -------
    DataFrame
        k, silhouette (mean silhouette coefficient, -1 to 1: higher means tighter, better
        separated clusters), inertia (within-cluster sum of squares, for an elbow chart).
        The best k has the highest silhouette (the smallest such k on a tie).

    Raises
    ------
    TooLittleDataError
        With k_min or fewer distinct customers.
    """
    scaled = standardised(features, weigh_mix=True)
    sample = sample_size if len(scaled) > sample_size else None
    rows = []
    with threadpool_limits(ONE_THREAD):
        for k in _k_range(scaled, k_min, k_max):
            kmeans = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(scaled)
            rows.append({"k": k, "silhouette": silhouette_score(
                scaled, kmeans.labels_, sample_size=sample, random_state=seed),
                         "inertia": kmeans.inertia_})
    return pd.DataFrame(rows)


def fit_clusters(features: pd.DataFrame, k: int, seed: int,
                 fit_on: pd.DataFrame | None = None) -> pd.Series:
    """Each customer's cluster, numbered 1..k from the highest mean clv_net down.

    Parameters
    ----------
    features
        One row per customer, numeric columns only (e.g. :func:`cluster_features`).
    k
        Clusters.
    seed
        Seeds k-means: the same seed gives the same clusters.
    fit_on
        Customers the preparation and k-means are fitted on (a sample of ``features``);
        every customer of ``features`` is then given its nearest cluster. None fits on all.

    Returns
    -------
    Series
        ``cluster`` (int), indexed like ``features``. Numbers go by mean ``clv_net``
        descending (when a column of that name exists), then by size descending, so they
        do not depend on the order k-means happens to find the clusters in.
    """
    with threadpool_limits(ONE_THREAD):
        model = _kmeans(features.columns, k, seed).fit(features if fit_on is None else fit_on)
        found = pd.Series(model.named_steps["kmeans"].labels_ if fit_on is None
                          else model.predict(features), index=features.index)
    order = pd.DataFrame({"size": found.value_counts()})
    order["clv_net"] = features["clv_net"].groupby(found).mean() if "clv_net" in features else 0
    order = order.sort_values(["clv_net", "size"], ascending=False, kind="stable")
    numbers = pd.Series(np.arange(1, k + 1), index=order.index)
    return found.map(numbers).rename("cluster")


def cluster_stability(features: pd.DataFrame, k: int, seed: int,
                      n_bootstrap: int = 20) -> pd.DataFrame:
    """How far the clusters hold when the customers are resampled: bootstrap refits.

    Each refit draws as many customers as there are, with replacement, refits the
    preparation and k-means on them, assigns every customer to the refitted clusters and
    compares with :func:`fit_clusters` on all customers.

    Parameters
    ----------
    features
        One row per customer, numeric columns only.
    k
        Clusters.
    seed
        Seeds the resamples and the refits (and the clusters compared with).
    n_bootstrap
        Refits (``segment.clusters.bootstrap``).

    Returns
    -------
    DataFrame
        refit (1..n_bootstrap), adjusted_rand_index: agreement of the refit's clusters with
        the clusters of all customers, 1 = the same partition, about 0 = chance
        (sklearn.metrics.adjusted_rand_score, which ignores how clusters are numbered).
    """
    reference = fit_clusters(features, k, seed)
    rng = np.random.default_rng(seed)
    rows = []
    with threadpool_limits(ONE_THREAD):
        for refit in range(1, n_bootstrap + 1):
            resample = rng.integers(0, len(features), len(features))
            model = _kmeans(features.columns, k, int(rng.integers(2**31))).fit(
                features.iloc[resample])
            rows.append({"refit": refit, "adjusted_rand_index": adjusted_rand_score(
                reference, model.predict(features))})
    return pd.DataFrame(rows)


def _category(column: str) -> str:
    category = column.removeprefix(SHARE_PREFIX)
    return "other categories" if category == "other" else category


def _cluster_name(z: pd.Series, means: pd.Series) -> str:
    """A cluster's name from its standardised means ``z`` and raw means ``means``.

    The words of :data:`DESCRIPTORS` for the features whose |z| >= :data:`NAME_Z`, the
    :data:`NAME_WORDS` furthest from 0, in the order of :data:`DESCRIPTORS`; then
    "one-timers" when the mean frequency is at most :data:`ONE_TIMER_FREQUENCY` (instead
    of "infrequent"), else "customers"; then, with a category mix, "; mostly <category>"
    when its mean share is at least :data:`MOSTLY_SHARE`, else "; more <category> than
    most" for the share with the highest z when at least :data:`NAME_Z`.
    """
    one_timers = "frequency" in means and means["frequency"] <= ONE_TIMER_FREQUENCY
    scores = {feature: z[feature] for feature in DESCRIPTORS
              if feature in z and abs(z[feature]) >= NAME_Z
              and not (one_timers and feature == "frequency")}
    strongest = sorted(scores, key=lambda feature: -abs(scores[feature]))[:NAME_WORDS]
    words = [DESCRIPTORS[feature][0 if scores[feature] > 0 else 1]
             for feature in DESCRIPTORS if feature in strongest]
    noun = "one-timers" if one_timers else "customers"
    name = f"{', '.join(words)} {noun}" if words else f"average {noun}"
    shares = [c for c in means.index if c.startswith(SHARE_PREFIX)]
    if shares:
        top_share = means[shares].idxmax()
        top_z = z[shares].idxmax()
        if means[top_share] >= MOSTLY_SHARE:
            name += f"; mostly {_category(top_share)}"
        elif z[top_z] >= NAME_Z:
            name += f"; more {_category(top_z)} than most"
    return name


def _unique(names: pd.Series) -> pd.Series:
    """Names made unique: a repeated name gets " (2)", " (3)" … in the order given."""
    repeat = names.groupby(names).cumcount() + 1
    return names.where(repeat == 1, names + " (" + repeat.astype(str) + ")")


def cluster_profiles(features: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """One row per cluster: its size, mean features and a name generated from them.

    Parameters
    ----------
    features
        One row per customer, numeric columns only (e.g. :func:`cluster_features`).
    labels
        Each customer's cluster (e.g. :func:`fit_clusters`), indexed like ``features``.

    Returns
    -------
    DataFrame
        cluster, name, customers, share_of_customers, then the mean of each raw
        feature, by cluster number. ``name`` is rule-based (:func:`_cluster_name`: the
        features whose standardised mean is at least :data:`NAME_Z` from average, the
        one-timer and category rules) and unique within the table (a repeated name gets
        " (2)"). E.g. "recent, frequent, high-spend customers; mostly Libri".
    """
    means = features.groupby(labels).mean()
    z = standardised(features).groupby(labels).mean()
    names = pd.Series([_cluster_name(z.loc[c], means.loc[c]) for c in means.index],
                      index=means.index)
    customers = labels.value_counts().reindex(means.index)
    profiles = pd.DataFrame({"name": _unique(names), "customers": customers,
                             "share_of_customers": customers / len(labels)}).join(means)
    return profiles.rename_axis("cluster").reset_index()


def build_clusters(con: duckdb.DuckDBPyConnection, k_min: int, k_max: int, seed: int,
                   n_bootstrap: int, sample_size: int = SAMPLE_SIZE) -> ClusterResult:
    """Cluster the customers, check the clusters' stability, name them, write ``clusters``.

    Reads ``customer_value``, ``clv`` and ``customer_categories`` (:func:`cluster_features`).

    Parameters
    ----------
    con
        The run's warehouse.
    k_min, k_max
        The range of k tried (``segment.clusters.k_min``, ``k_max``).
    seed
        ``segment.seed``: the same seed gives the same clusters.
    n_bootstrap
        Bootstrap refits of the stability check (``segment.clusters.bootstrap``).
    sample_size
        ``segment.clusters.sample_size``: above this many customers, k is chosen, the
        stability checked and the clusters fitted on a seeded random sample of this many,
        and every customer is then given its nearest cluster. A sample of tens of thousands
        places the centres as well as everyone does, and keeps the step's time flat as the
        base grows (the refits of every k and bootstrap are what costs).

    Returns
    -------
    ClusterResult
        Print ``result.summary()``.

    Notes
    -----
    Writes ``clusters``: customer_id, cluster (INTEGER, 1 = highest mean clv_net),
    cluster_name; one row per customer in ``customer_value``, ordered by customer_id.
    """
    features = cluster_features(con)
    sample = (features if len(features) <= sample_size
              else features.sample(n=sample_size, random_state=seed).sort_index())
    silhouettes = choose_k(sample, k_min, k_max, seed)
    k = int(silhouettes.loc[silhouettes["silhouette"].idxmax(), "k"])
    labels = fit_clusters(features, k, seed, fit_on=None if sample is features else sample)
    profiles = cluster_profiles(features, labels)
    names = profiles.set_index("cluster")["name"]
    write_table(con, "clusters", pd.DataFrame({
        "customer_id": labels.index, "cluster": labels.to_numpy(np.int32),
        "cluster_name": labels.map(names).to_numpy()}))
    unscored = scalar(con, "SELECT count(*) FROM customer_value AS v WHERE NOT EXISTS "
                           "(SELECT 1 FROM clv AS c WHERE c.customer_id = v.customer_id)")
    return ClusterResult(features=features, labels=labels, silhouettes=silhouettes, k=k,
                         stability=cluster_stability(sample, k, seed, n_bootstrap),
                         profiles=profiles, unscored=unscored, fitted_on=len(sample))


def cluster_tiers(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Customers per cluster and value tier: how behaviour cuts across value.

    Reads ``clusters`` (customer_id, cluster, cluster_name) and ``segments`` (customer_id,
    tier).

    Returns
    -------
    DataFrame
        One row per cluster (by number): cluster, cluster_name, then one column of customers
        per tier in :data:`helpers.config.TIERS` order (0 when none).
    """
    require_columns(con, "clusters", ("customer_id", "cluster", "cluster_name"))
    require_columns(con, "segments", ("customer_id", "tier"))
    counts = con.execute(
        "SELECT k.cluster, k.cluster_name, s.tier, count(*) AS customers "
        "FROM clusters AS k JOIN segments AS s USING (customer_id) "
        "GROUP BY ALL ORDER BY k.cluster").df()
    table = counts.pivot_table(index=["cluster", "cluster_name"], columns="tier",
                               values="customers", aggfunc="sum", fill_value=0)
    return (table.reindex(columns=list(TIERS), fill_value=0).astype("int64")
            .reset_index().rename_axis(columns=None))
