"""New customers and look-alikes: what a customer is worth from what is known when they are
acquired (notebook 04).

A new customer has one purchase day: too little for the CLV models of notebook 03 to say more
than the average. What is known about them is how they were acquired (channel, customer
type, city: the golden record) and their first basket. Older customers show what such
customers went on to spend, so a scikit-learn model learns that from them:

* ``first_baskets`` (``sql/first_baskets.sql``): one row per customer with a purchase, the
  attributes and first basket, and ``first_year_value``, the gross spend of the 365 days
  after the first purchase day (repeat purchases only; NULL while the year is not over).
  It is revenue, not margin: the demo's truth (``acquisition.expected_first_year_spend``)
  counts spend, and margin would only scale it by the margin rate where no catalogue gives
  costs.
* The model is validated on a time split: the customers with a full first year who first
  bought before the split date train it, the latest ``holdout_share`` of them are the
  holdout. It must beat two naive estimates computed on the training customers, the overall
  mean and the mean of the customer's acquisition channel, on holdout MAE and RMSE; of the
  candidate models (:data:`MODELS`) the one with the smallest holdout RMSE is chosen (RMSE,
  as the estimate is an expected value, which is what a sum over customers or a comparison
  with an acquisition cost needs). It is refitted on every customer with a full year.
* ``early_value``: the estimate for each new customer (one purchase day, in the last 365
  days) and each prospect (a contact with no transaction, scored by the same models trained
  on the attributes alone).
* :func:`channel_profile`: the realised first-year value per channel or customer type, for
  marketing to find more customers like the best ones; :func:`profile_vs_truth` and
  :func:`truth_agreement` check it against a simulation's truth file.

A client whose customers have no acquisition attribute (CDNOW: a transaction log only) gets
``first_baskets`` and an empty ``early_value``, and a result saying why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import PoissonRegressor, RidgeCV
from sklearn.metrics import mean_absolute_error, root_mean_squared_error
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from helpers.warehouse import (
    build_table,
    query,
    read_table,
    require_columns,
    require_frame_columns,
    write_table,
)

__all__ = ["FIRST_YEAR_DAYS", "ATTRIBUTES", "FEATURE_SETS", "MODELS", "BASELINES",
           "ERROR_COLUMNS", "TRUTH_GROUPS", "NotEnoughHistoryError", "EarlyValueResult",
           "build_first_baskets", "has_acquisition_attributes", "holdout_split_date",
           "early_value_errors", "build_early_value", "channel_profile", "profile_vs_truth",
           "truth_agreement"]

#: Days of a customer's first year, after the first purchase day.
FIRST_YEAR_DAYS = 365

#: Training customers the early-value models fit on at most (``segment.early_value_sample_size``):
#: on 10 million order lines, fitting on all of them took 45 s of notebook 04's time.
SAMPLE_SIZE = 50_000

#: What the golden record says about how a customer was acquired (all known for prospects).
ATTRIBUTES = ("acquisition_channel", "customer_type", "city")

#: The two models' features, (categorical, numeric) columns of ``first_baskets``: new
#: customers are scored on their attributes and first basket, prospects (no basket) on their
#: attributes only. Numbers are log1p-transformed and standardised.
FEATURE_SETS = {
    "first basket": (ATTRIBUTES + ("first_source", "first_category"),
                     ("first_basket_value", "first_basket_lines", "first_basket_units",
                      "first_basket_categories")),
    "attributes only": (ATTRIBUTES, ()),
}

#: Every feature column, once.
_FEATURE_COLUMNS = tuple(dict.fromkeys(column for categorical, numeric in FEATURE_SETS.values()
                                       for column in categorical + numeric))

#: The candidate regressors, each after one-hot encoding and the numbers' transform. A
#: linear model on a log1p target was left out: it estimates a geometric mean, which on the
#: demo's holdout fell 60% short of the mean value.
MODELS = {
    "ridge": "RidgeCV: least squares on the value, L2 penalty chosen by leave-one-out",
    "poisson_glm": "PoissonRegressor: a log-linear model of the value (effects multiply), "
                   "lightly penalised",
    "gradient_boosting": "HistGradientBoostingRegressor with Poisson loss: shallow trees, "
                         "interactions included",
}

#: The naive estimates the model must beat, computed on the training customers.
BASELINES = ("overall mean", "channel mean")

#: The columns of :func:`early_value_errors`' table.
ERROR_COLUMNS = ("features", "predictor", "mae", "rmse", "spearman", "mean_predicted",
                 "mean_actual", "chosen")

#: Columns of ``early_value``, in order.
EARLY_VALUE_COLUMNS = ("customer_id", "status", "predicted_first_year_value",
                       "acquisition_channel", "customer_type")


class NotEnoughHistoryError(ValueError):
    """Too few customers have a full first year to train and validate an early-value model."""


@dataclass(frozen=True)
class EarlyValueResult:
    """What :func:`build_early_value` did.

    Attributes
    ----------
    errors
        :func:`early_value_errors` of both feature sets (empty when skipped).
    model, prospect_model
        The chosen regressor (a key of :data:`MODELS`) of new customers and of prospects;
        None when skipped.
    split_date
        First purchases from this day on are the holdout; None when skipped.
    train_customers, holdout_customers
        Customers with a full first year on each side of the split.
    sampled_customers
        How many of the training customers the models were fitted on: a seeded sample when
        they are more than the sample size; else all of them.
    new_customers, prospects
        Rows of ``early_value`` of each status.
    skipped
        Why no model was trained (no acquisition attributes, too little history); None when
        one was.
    """

    errors: pd.DataFrame
    model: str | None = None
    prospect_model: str | None = None
    split_date: date | None = None
    train_customers: int = 0
    holdout_customers: int = 0
    sampled_customers: int = 0
    new_customers: int = 0
    prospects: int = 0
    skipped: str | None = None

    @property
    def beats_baselines(self) -> bool:
        """Whether every chosen model has a smaller holdout MAE and RMSE than both
        baselines of its feature set (False when skipped)."""
        if self.skipped:
            return False
        for _, group in self.errors.groupby("features"):
            chosen = group[group["chosen"]].iloc[0]
            naive = group[group["predictor"].isin(BASELINES)]
            if (naive["mae"] <= chosen["mae"]).any() or (naive["rmse"] <= chosen["rmse"]).any():
                return False
        return True

    @property
    def summary(self) -> str:
        """What was done, in a sentence or two, for the notebook to print."""
        if self.skipped:
            return f"No early-value model: {self.skipped}"
        sampled = (f" (a seeded sample of {self.sampled_customers:,})"
                   if self.sampled_customers < self.train_customers else "")
        return (f"Trained on the {self.train_customers:,} customers whose first year ended "
                f"by {self.split_date}{sampled}, validated on the "
                f"{self.holdout_customers:,} from that day on; chosen: {self.model} "
                f"(first basket), {self.prospect_model} (attributes only). Scored "
                f"{self.new_customers:,} new customers and {self.prospects:,} prospects.")


def build_first_baskets(con: duckdb.DuckDBPyConnection, as_of: date,
                        year_days: int = FIRST_YEAR_DAYS) -> int:
    """Write ``first_baskets``: one row per customer with a purchase up to ``as_of``.

    Reads ``transactions`` (customer_id, source, order_date, amount, quantity, category) and
    ``customers`` (customer_id, acquisition_channel, customer_type, city).

    Parameters
    ----------
    con
        The run's warehouse.
    as_of
        The run's as-of date.
    year_days
        Length of the first year, in days after the first purchase day.

    Returns
    -------
    int
        Rows written.

    Notes
    -----
    Columns (``sql/first_baskets.sql``): customer_id, first_purchase (first day with a
    purchase line: an amount of 0 or more), acquisition_channel, customer_type, city
    (lower-case, 'unknown' when missing), first_source (the sources of the first day's
    lines, e.g. 'store' or 'store,webshop'), first_basket_value (gross), first_basket_lines,
    first_basket_units, first_basket_categories and first_category (NULL without a
    catalogue), days_observed (as_of - first_purchase), n_purchase_days (days with a
    purchase line), first_year_value (gross spend of days 1 .. year_days after the first
    purchase day; NULL when days_observed < year_days) and first_year_purchase_days (the
    repeat purchase days in it).
    """
    require_columns(con, "transactions", ("customer_id", "source", "order_date", "amount",
                                          "quantity", "category"))
    require_columns(con, "customers", ("customer_id",) + ATTRIBUTES)
    return build_table(con, "first_baskets", {"as_of": as_of, "year_days": year_days})


def has_acquisition_attributes(frame: pd.DataFrame) -> bool:
    """Whether any customer of ``frame`` has a known channel, customer type or city (a
    value other than 'unknown' in one of :data:`ATTRIBUTES`)."""
    require_frame_columns(frame, "first_baskets", ATTRIBUTES)
    return bool((frame[list(ATTRIBUTES)] != "unknown").to_numpy().any())


def holdout_split_date(first_purchase: pd.Series, holdout_share: float) -> date:
    """The day from which customers are the holdout: the latest ``holdout_share`` of them.

    Parameters
    ----------
    first_purchase
        The first purchase day of each customer with a full first year.
    holdout_share
        Share of customers to hold out, in (0, 1).

    Returns
    -------
    date
        The first purchase day of the customer at position ``floor((1 - share) * n)`` in
        date order: customers who first bought before it train, the others (at least
        ``share`` of them: a day is never cut in two) are the holdout.

    Raises
    ------
    NotEnoughHistoryError
        When every customer first bought on that day or later (nobody would train).
    """
    if not 0 < holdout_share < 1:
        raise ValueError(f"holdout_share must lie strictly between 0 and 1; got {holdout_share}")
    days = pd.to_datetime(first_purchase).sort_values().reset_index(drop=True)
    if days.empty:
        raise NotEnoughHistoryError("no customer has a full first year")
    split = days.iloc[int(np.floor((1 - holdout_share) * len(days)))]
    if split == days.iloc[0]:
        raise NotEnoughHistoryError(f"all {len(days)} customers with a full first year first "
                                    f"bought on or after {split.date()}: none is left to train")
    return split.date()


def _inputs(frame: pd.DataFrame, features: str) -> pd.DataFrame:
    """The feature columns of ``frame``: a missing category is 'unknown', a missing count 0."""
    categorical, numeric = FEATURE_SETS[features]
    inputs = frame[list(categorical + numeric)].copy()
    inputs[list(categorical)] = inputs[list(categorical)].fillna("unknown").astype(str)
    for column in numeric:
        inputs[column] = inputs[column].astype(float).fillna(0.0)
    return inputs


def _model(name: str, features: str, seed: int, min_frequency: int) -> Pipeline:
    """Candidate ``name`` of :data:`MODELS` behind the one-hot encoding of the categories
    (those of fewer than ``min_frequency`` training customers pooled) and the numbers'
    log1p and standardisation."""
    categorical, numeric = FEATURE_SETS[features]
    encode = [("categories", OneHotEncoder(handle_unknown="ignore", min_frequency=min_frequency,
                                           sparse_output=False), list(categorical))]
    if numeric:
        # basket values and counts are skewed: their logs are closer to linear in the value
        encode.append(("numbers", make_pipeline(FunctionTransformer(np.log1p),
                                                StandardScaler()), list(numeric)))
    regressor = {
        "ridge": lambda: RidgeCV(alphas=np.logspace(-2, 4, 13)),
        # the value's deviance is large next to the penalty: alpha 1 only steadies the fit
        "poisson_glm": lambda: PoissonRegressor(alpha=1.0, max_iter=1000),
        "gradient_boosting": lambda: HistGradientBoostingRegressor(
            loss="poisson", max_depth=3, learning_rate=0.05, max_iter=200, min_samples_leaf=40,
            l2_regularization=1.0, early_stopping=False, random_state=seed),
    }[name]()
    return Pipeline([("encode", ColumnTransformer(encode)), ("regressor", regressor)])


def training_sample(customers: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """A seeded sample of ``size`` of ``customers`` (in their order), or all when not more."""
    if len(customers) <= size:
        return customers
    return customers.sample(n=size, random_state=seed).sort_index()


def _one_thread() -> threadpool_limits:
    """Fit and predict on one thread (BLAS and OpenMP), as the warehouse runs on one
    (helpers.warehouse.connect): threads add up in an order that changes the last bits from
    run to run, and on a few thousand customers they cost more than they bring (a Poisson
    fit on the demo took 4 s on 2 busy cores, 0.1 s on one)."""
    return threadpool_limits(limits=1)


def _error_row(features: str, predictor: str, actual: np.ndarray,
               predicted: np.ndarray) -> dict:
    varies = np.ptp(predicted) > 0 and np.ptp(actual) > 0
    return {"features": features, "predictor": predictor,
            "mae": mean_absolute_error(actual, predicted),
            "rmse": root_mean_squared_error(actual, predicted),
            # a constant estimate ranks nobody (nor is a constant value ranked)
            "spearman": stats.spearmanr(actual, predicted).statistic if varies else np.nan,
            "mean_predicted": float(np.mean(predicted)), "mean_actual": float(np.mean(actual))}


def early_value_errors(full_year: pd.DataFrame, seed: int, holdout_share: float = 0.25,
                       min_customers: int = 200, min_frequency: int = 20,
                       year_days: int = FIRST_YEAR_DAYS, sample_size: int = SAMPLE_SIZE
                       ) -> tuple[pd.DataFrame, date, int, int]:
    """Holdout errors of the baselines and of every candidate model, on a time split.

    Parameters
    ----------
    full_year
        ``first_baskets`` rows with a full first year: first_purchase, first_year_value, and
        the columns of :data:`FEATURE_SETS` (acquisition_channel among them).
    seed
        Seed of the gradient boosting and of the training sample.
    holdout_share
        Share of the customers, latest first purchases, held out
        (:func:`holdout_split_date`).
    min_customers
        Fewest customers with a full first year to train and validate on.
    min_frequency
        Categories of fewer training customers are pooled into one.
    year_days
        Length of the first year: a customer trains only when their first year ended by the
        split date, so nothing after the split informs the model (customers in between are
        neither trained on nor held out).
    sample_size
        The models and baselines train on a seeded sample of this many training customers
        when there are more (on a large base, a fit on every customer takes minutes and
        changes the estimates little); the holdout is scored whole.

    Returns
    -------
    (DataFrame, date, int, int)
        The errors (:data:`ERROR_COLUMNS`: per feature set, the baselines then the models,
        with holdout MAE, RMSE, the Spearman correlation of estimate and value, the mean
        estimate and the mean value; ``chosen`` marks the model with the smallest RMSE), the
        split date, and the training and holdout customers.

    Raises
    ------
    NotEnoughHistoryError
        Fewer than ``min_customers`` customers, or fewer than half as many whose first year
        ended before the split.
    """
    require_frame_columns(full_year, "first_baskets",
                          ("first_purchase", "first_year_value", *_FEATURE_COLUMNS))
    if len(full_year) < min_customers:
        raise NotEnoughHistoryError(
            f"only {len(full_year)} customers have a full first year observed, and an "
            f"early-value model needs at least {min_customers} to train and validate on: "
            f"wait for more history")
    split = holdout_split_date(full_year["first_purchase"], holdout_share)
    first = pd.to_datetime(full_year["first_purchase"])
    # a strict backtest: training customers' whole first year lies before the split, so the
    # model never learns from a purchase made after the first holdout customer arrived
    train = full_year[first + pd.Timedelta(days=year_days) <= pd.Timestamp(split)]
    holdout = full_year[first >= pd.Timestamp(split)]
    if len(train) < min_customers // 2:
        raise NotEnoughHistoryError(
            f"only {len(train)} customers had a full first year before {split} (the first "
            f"holdout purchase), and an early-value model needs at least "
            f"{min_customers // 2} to train on: wait for more history")
    n_train = len(train)
    train = training_sample(train, sample_size, seed)
    actual = holdout["first_year_value"].to_numpy(float)
    overall = train["first_year_value"].mean()
    by_channel = train.groupby("acquisition_channel")["first_year_value"].mean()
    baselines = {"overall mean": np.full(len(holdout), overall),
                 # a channel new in the holdout gets the overall mean
                 "channel mean": holdout["acquisition_channel"].map(by_channel)
                 .fillna(overall).to_numpy(float)}
    rows = []
    for features in FEATURE_SETS:
        rows += [_error_row(features, name, actual, estimate)
                 for name, estimate in baselines.items()]
        for name in MODELS:
            with _one_thread():
                model = _model(name, features, seed, min_frequency).fit(
                    _inputs(train, features), train["first_year_value"])
                estimate = model.predict(_inputs(holdout, features))
            rows.append(_error_row(features, name, actual, estimate))
    errors = pd.DataFrame(rows)
    is_model = errors["predictor"].isin(MODELS)
    best = errors[is_model].groupby("features")["rmse"].idxmin()
    errors["chosen"] = errors.index.isin(best)
    return errors[list(ERROR_COLUMNS)], split, n_train, len(holdout)


def build_early_value(con: duckdb.DuckDBPyConnection, as_of: date, seed: int,
                      holdout_share: float = 0.25, year_days: int = FIRST_YEAR_DAYS,
                      min_customers: int = 200, min_frequency: int = 20,
                      sample_size: int = SAMPLE_SIZE) -> EarlyValueResult:
    """Write ``first_baskets`` and ``early_value``: the estimated first-year value of each new
    customer and prospect, from a model validated on a time split.

    Reads ``transactions`` and ``customers`` (:func:`build_first_baskets`; prospects through
    ``sql/prospects.sql``: customer_id, acquisition_channel, customer_type, city).

    Parameters
    ----------
    con
        The run's warehouse.
    as_of
        The run's as-of date.
    seed
        Seed of the gradient boosting and of the training samples (``segment.seed``).
    holdout_share, min_customers, min_frequency, sample_size
        See :func:`early_value_errors`; the final models train on a sample of the same size
        of every customer with a full first year.
    year_days
        Length of the first year (:func:`build_first_baskets`).

    Returns
    -------
    EarlyValueResult
        With ``skipped`` set, and ``early_value`` written empty, when no customer has an
        acquisition attribute or too few have a full first year (NotEnoughHistoryError's
        message).

    Notes
    -----
    ``early_value`` has one row per customer (ordered by customer_id):

    * status 'new': one purchase day (``n_purchase_days = 1``), less than ``year_days`` ago;
      estimated from their attributes and first basket, as at acquisition (the estimate
      does not use that they have not come back since: notebook 03's models do);
    * status 'prospect': no transaction up to ``as_of``; estimated from their attributes
      alone, as what their first year would be worth if they bought: a look-alike score,
      not a chance of buying.

    Columns: customer_id, status, predicted_first_year_value (gross revenue of the first
    year after the first purchase day), acquisition_channel, customer_type.
    """
    build_first_baskets(con, as_of, year_days)
    baskets = read_table(con, "first_baskets")
    prospects = query(con, "prospects", {"as_of": as_of}).df()
    empty = pd.DataFrame({"customer_id": pd.Series(dtype=str), "status": pd.Series(dtype=str),
                          "predicted_first_year_value": pd.Series(dtype=float),
                          "acquisition_channel": pd.Series(dtype=str),
                          "customer_type": pd.Series(dtype=str)})
    full_year = baskets[baskets["first_year_value"].notna()]
    skipped = None
    if not has_acquisition_attributes(baskets):
        skipped = ("no customer has an acquisition channel, customer type or city (the "
                   "golden record has none), so there is nothing known at acquisition to "
                   "learn from")
    else:
        try:
            errors, split, n_train, n_holdout = early_value_errors(
                full_year, seed, holdout_share, min_customers, min_frequency, year_days,
                sample_size)
        except NotEnoughHistoryError as refusal:
            skipped = str(refusal)
    if skipped:
        write_table(con, "early_value", empty)
        return EarlyValueResult(errors=pd.DataFrame(columns=list(ERROR_COLUMNS)),
                                skipped=skipped)
    chosen = errors[errors["chosen"]].set_index("features")["predictor"]
    new = baskets[(baskets["n_purchase_days"] == 1) & (baskets["days_observed"] < year_days)]
    fitted_on = training_sample(full_year, sample_size, seed)
    scored = []
    for features, status, customers in (("first basket", "new", new),
                                        ("attributes only", "prospect", prospects)):
        if customers.empty:
            continue
        with _one_thread():
            model = _model(chosen[features], features, seed, min_frequency).fit(
                _inputs(fitted_on, features), fitted_on["first_year_value"])
            estimate = model.predict(_inputs(customers, features))
        scored.append(customers[["customer_id", "acquisition_channel", "customer_type"]]
                      .assign(status=status, predicted_first_year_value=estimate))
    early_value = (pd.concat(scored)[list(EARLY_VALUE_COLUMNS)] if scored else empty
                   ).sort_values("customer_id").reset_index(drop=True)
    write_table(con, "early_value", early_value)
    return EarlyValueResult(errors=errors, model=chosen["first basket"],
                            prospect_model=chosen["attributes only"], split_date=split,
                            train_customers=n_train, holdout_customers=n_holdout,
                            sampled_customers=min(n_train, sample_size),
                            new_customers=len(new), prospects=len(prospects))


def channel_profile(first_baskets: pd.DataFrame, by: str = "acquisition_channel",
                    top_share: float = 0.2, level: float = 0.95) -> pd.DataFrame:
    """The realised first-year value of the customers each channel (or type, city …) brought.

    Parameters
    ----------
    first_baskets
        Needs customer_id, first_year_value and ``by``; customers without a full first
        year (first_year_value NULL) are left out.
    by
        The attribute to group by: acquisition_channel, customer_type, city, first_source …
    top_share
        The top customers by first-year value, in (0, 1): the best ``ceil(top_share * n)``
        (ties broken by customer_id).
    level
        Coverage of the mean's interval (Student t).

    Returns
    -------
    DataFrame
        One row per group, the most valuable first: ``by``, customers, mean_first_year_value,
        low, high (NaN for a group of one), share_in_top (share of the group's customers in
        the top), index (100 * the group's mean / the overall mean: 100 is average).
    """
    require_frame_columns(first_baskets, "first_baskets",
                          ("customer_id", "first_year_value", by))
    if not 0 < top_share < 1:
        raise ValueError(f"top_share must lie strictly between 0 and 1; got {top_share}")
    full = first_baskets[first_baskets["first_year_value"].notna()]
    if full.empty:
        raise NotEnoughHistoryError("no customer has a full first year observed")
    ranked = full.sort_values(["first_year_value", "customer_id"], ascending=[False, True])
    in_top = pd.Series(np.arange(len(ranked)) < np.ceil(top_share * len(ranked)),
                       index=ranked.index)
    groups = full.assign(in_top=in_top).groupby(by, sort=True).agg(
        customers=("customer_id", "size"), mean_first_year_value=("first_year_value", "mean"),
        sd=("first_year_value", "std"), share_in_top=("in_top", "mean"))
    half_width = (stats.t.ppf((1 + level) / 2, groups["customers"] - 1)
                  * groups["sd"] / np.sqrt(groups["customers"]))
    groups["low"] = groups["mean_first_year_value"] - half_width
    groups["high"] = groups["mean_first_year_value"] + half_width
    groups["index"] = 100 * groups["mean_first_year_value"] / full["first_year_value"].mean()
    return (groups.reset_index()
            .sort_values(["mean_first_year_value", by], ascending=[False, True])
            [[by, "customers", "mean_first_year_value", "low", "high", "share_in_top", "index"]]
            .reset_index(drop=True))


#: The truth file's groups (object "acquisition") of each attribute the demo draws from the
#: customers' true traits.
TRUTH_GROUPS = {"acquisition_channel": "by_channel", "customer_type": "by_customer_type"}


def profile_vs_truth(first_baskets: pd.DataFrame, truth_path: str | Path,
                     level: float = 0.95) -> pd.DataFrame:
    """The realised first-year value per channel and customer type beside a simulation's
    truth.

    Parameters
    ----------
    first_baskets
        As :func:`channel_profile` needs, with acquisition_channel and customer_type.
    truth_path
        The demo generator's ``truth/parameters.json`` (the config's ``clv.truth``): its
        ``acquisition`` object gives each group's ``expected_first_year_spend``, the mean of
        E[repeat purchases in 52 weeks] x spend per purchase over the group's people.
    level
        Coverage of the realised mean's interval.

    Returns
    -------
    DataFrame
        One row per attribute and group in both: attribute, group, customers,
        mean_first_year_value, low, high, true_value (expected_first_year_spend), covered
        (low <= true_value <= high). Groups the truth does not know (e.g. 'unknown':
        customers without a CRM record) are left out.

    Raises
    ------
    ValueError
        When the truth file has no ``acquisition`` object.
    """
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    if "acquisition" not in truth:
        raise ValueError(f"{truth_path} has no 'acquisition' object: it comes from a demo "
                         f"generator older than the acquisition channels' dependence on "
                         f"the customers' traits; run `make demo` again")
    parts = []
    for attribute, key in TRUTH_GROUPS.items():
        true_value = pd.Series({group: values["expected_first_year_spend"]
                                for group, values in truth["acquisition"][key].items()},
                               name="true_value")
        profile = channel_profile(first_baskets, attribute, level=level)
        parts.append(profile.rename(columns={attribute: "group"})
                     .merge(true_value, left_on="group", right_index=True, how="inner")
                     .assign(attribute=attribute))
    both = pd.concat(parts, ignore_index=True)
    both["covered"] = both["true_value"].between(both["low"], both["high"])
    return both[["attribute", "group", "customers", "mean_first_year_value", "low", "high",
                 "true_value", "covered"]]


def truth_agreement(comparison: pd.DataFrame) -> pd.DataFrame:
    """Whether the realised values order the groups as the truth does, per attribute.

    Parameters
    ----------
    comparison
        :func:`profile_vs_truth`: attribute, group, mean_first_year_value, true_value.

    Returns
    -------
    DataFrame
        One row per attribute: groups, spearman (rank correlation of realised and true
        values across the groups; with two groups, +1 or -1: whether the two are in the
        truth's order), same_order (the realised ranking is the truth's), same_best (the
        most valuable group is the truth's), covered (groups whose interval holds the
        truth).
    """
    require_frame_columns(comparison, "comparison",
                          ("attribute", "group", "mean_first_year_value", "true_value",
                           "covered"))
    rows = []
    for attribute, group in comparison.groupby("attribute", sort=False):
        realised = group["mean_first_year_value"].rank(method="average")
        true = group["true_value"].rank(method="average")
        rows.append({
            "attribute": attribute, "groups": len(group),
            "spearman": (stats.spearmanr(group["mean_first_year_value"], group["true_value"])
                         .statistic if len(group) > 1 else np.nan),
            "same_order": bool((realised == true).all()),
            "same_best": (group.loc[group["mean_first_year_value"].idxmax(), "group"]
                          == group.loc[group["true_value"].idxmax(), "group"]),
            "covered": int(group["covered"].sum())})
    return pd.DataFrame(rows)
