"""Tests for helpers.clv.value: the kit's vectorised CLV against lifetimes, intervals, loyalty."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from scipy.integrate import quad
from scipy.special import beta as beta_function

from helpers.clv import value

# lifetimes' Pareto/NBD, the reference here, overflows in pandas on extreme histories (and
# returns NaN there: see the tests below); those warnings are the reference's, not the kit's.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning:pandas.core.arraylike")

AS_OF = date(1997, 9, 30)
#: CDNOW's published estimates (weeks) for BG/NBD and Pareto/NBD; MBG/NBD's from lifetimes'
#: own fit of the CDNOW summary.
PARAMS = {
    "bgnbd": pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}),
    "pareto_nbd": pd.Series({"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}),
    "mbgnbd": pd.Series({"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}),
}
FITTERS = {"bgnbd": BetaGeoFitter, "pareto_nbd": ParetoNBDFitter,
           "mbgnbd": ModifiedBetaGeoFitter}
SPEND = pd.Series({"p": 6.25, "q": 3.74, "v": 15.44})
MODELS = list(PARAMS)
RTOL = 1e-6


def lifetimes_model(model: str, params: pd.Series | None = None):
    """A lifetimes fitter carrying ``params`` (its predictions use only ``params_``)."""
    fitter = FITTERS[model]()
    fitter.params_ = PARAMS[model] if params is None else params
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
    return fitter


def gamma_gamma(params: pd.Series = SPEND) -> GammaGammaFitter:
    fitter = GammaGammaFitter()
    fitter.params_ = params
    return fitter


def history_grid() -> pd.DataFrame:
    """Histories at the edges: no repeat purchase, hundreds of them, a last purchase at T or
    just before it, ages from 0 (a first purchase on the as-of day) to twenty years (weeks)."""
    rows = [(0, 0.0, 0.0)]
    for x in (0, 1, 2, 7, 40, 150, 300):
        for age in (0.15, 1.0, 39.0, 78.0, 1000.0):
            shares = (0.0,) if x == 0 else (0.01, 0.3, 0.999, 1.0)
            rows += [(x, share * age, age) for share in shares]
    grid = pd.DataFrame(rows, columns=["frequency", "recency", "T"])
    grid["monetary_value"] = np.where(grid["frequency"] > 0, 5 + grid.index % 13 * 7.5, 0.0)
    return grid


def population(n: int = 3000, seed: int = 5, days: bool = False) -> pd.DataFrame:
    """A seeded summary of BG/NBD customers over 78 weeks at day resolution (days or weeks)."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, 547, n)
    rate = rng.gamma(0.5, 1 / 4.0, n)
    drop = rng.beta(0.8, 2.5, n)
    bought = rng.poisson(rate * age / 7)
    x = np.minimum(bought, rng.geometric(drop))
    recency = np.where(x > 0, np.ceil(age * rng.beta(np.maximum(x, 1), bought - x + 1)), 0)
    spend = np.where(x > 0, rng.gamma(6.0, 5.0, n), 0.0).round(2)
    unit = 1 if days else 7
    return pd.DataFrame({"customer_id": [f"K{i:05d}" for i in range(n)], "frequency": x,
                         "recency": recency / unit, "T": age / unit, "monetary_value": spend})


def in_days(params: pd.Series) -> pd.Series:
    """Weekly parameters expressed per day: the rate scales alpha (and beta) by 7."""
    return params * pd.Series({"alpha": 7.0, "beta": 7.0}).reindex(params.index).fillna(1.0)


def alive_expectation(model: str, t: float, x: float, T: float) -> float:
    """E[X(t) | alive, x, T] from its definition, not lifetimes' closed forms: Pareto/NBD's
    E[lambda]·E[(1 − exp(−mu t)) / mu]; for BG/NBD and MBG/NBD the integral over the dropout
    probability p ~ Beta(a, b + x (+ 1)) of (1 − (1 + p·t/(alpha + T))^−(r+x)) / p."""
    if model == "pareto_nbd":
        r, alpha, s, beta = PARAMS[model]
        return ((r + x) / (alpha + T) * (beta + T) / (s - 1)
                * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)))
    r, alpha, a, b = PARAMS[model]
    second, u = b + x + (model == "mbgnbd"), t / (alpha + T)

    def purchases(p: float) -> float:
        return -np.expm1(-(r + x) * np.log1p(p * u)) / p if p > 0 else (r + x) * u

    integral, _ = quad(purchases, 0, 1, weight="alg", wvar=(a - 1, second - 1), epsabs=0,
                       epsrel=1e-11)
    return integral / beta_function(a, second)


def lifetimes_with_gaps_filled(model: str, t: float | None, grid: pd.DataFrame) -> np.ndarray:
    """lifetimes' P(alive) (t None) or E[X(t) | history] over ``grid``, where lifetimes returns
    NaN replaced by the answer from the definitions: Pareto/NBD customers with 150+ purchases
    whose last one was at T (its log-sum-exp overflows; they are alive, P = 1) and MBG/NBD's
    overflowing series (lifetimes has Euler's fallback for BG/NBD only)."""
    f, r, T = grid["frequency"], grid["recency"], grid["T"]
    fitter = lifetimes_model(model)
    alive = np.array(fitter.conditional_probability_alive(f, r, T), dtype=float)
    gaps = np.isnan(alive)
    assert model == "pareto_nbd" or not gaps.any()
    assert (grid.loc[gaps, "recency"] == grid.loc[gaps, "T"]).all()
    alive[gaps] = 1.0
    if t is None:
        return alive
    reference = np.array(fitter.conditional_expected_number_of_purchases_up_to_time(
        t, f, r, T), dtype=float)
    for i in np.flatnonzero(np.isnan(reference)):
        reference[i] = alive[i] * alive_expectation(model, t, f.iloc[i], T.iloc[i])
    return reference


def assert_close(ours, reference, rtol=RTOL):
    reference = np.asarray(reference, dtype=float)
    assert np.isfinite(reference).all()
    np.testing.assert_allclose(ours, reference, rtol=rtol, atol=0)


# --- the closed forms against lifetimes ------------------------------------------------------

@pytest.mark.parametrize("model", MODELS)
def test_p_alive_equals_lifetimes(model):
    grid = history_grid()
    f, r, T = grid["frequency"], grid["recency"], grid["T"]
    ours = value.p_alive(model, PARAMS[model], f, r, T)
    assert ours.shape == (len(grid),)
    assert_close(ours, lifetimes_with_gaps_filled(model, None, grid))
    if model == "bgnbd":
        assert (ours[grid["frequency"] == 0] == 1).all()


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("t", [1.0, 52.0, 520.0])
def test_expected_purchases_equals_lifetimes(model, t):
    grid = history_grid()
    f, r, T = grid["frequency"], grid["recency"], grid["T"]
    assert_close(value.expected_purchases(model, PARAMS[model], t, f, r, T),
                 lifetimes_with_gaps_filled(model, t, grid))


@pytest.mark.parametrize("model", MODELS)
def test_alive_expectation_matches_its_definition(model):
    """The closed forms (and Euler's fallback) against the integral they stand for."""
    for t, x, T in [(52.0, 0, 10.0), (52.0, 7, 39.0), (520.0, 40, 1.0), (4.345, 300, 78.0)]:
        ours = value.expected_purchases(model, PARAMS[model], t, x, T, T)  # alive: t_x = T
        alive = value.p_alive(model, PARAMS[model], x, T, T)
        assert ours / alive == pytest.approx(alive_expectation(model, t, x, T), rel=1e-8)


def test_bgnbd_overflowing_series_takes_lifetimes_fallback():
    """300 purchases in one week, ten years ahead: the hypergeometric series overflows and
    lifetimes switches to Euler's transformation; so does the kit."""
    bgf = lifetimes_model("bgnbd")
    ours = value.expected_purchases("bgnbd", PARAMS["bgnbd"], 520.0, 300, 0.9, 1.0)
    assert_close(ours, bgf.conditional_expected_number_of_purchases_up_to_time(
        520.0, 300, 0.9, 1.0))


def test_scalar_and_broadcast_inputs():
    params = PARAMS["bgnbd"]
    assert value.p_alive("bgnbd", params, 2, 10.0, 20.0).shape == (1,)
    matrix = value.expected_purchases("bgnbd", params, np.array([[1.0], [52.0]]),
                                      np.array([0, 3, 5]), np.array([0.0, 10.0, 20.0]), 30.0)
    assert matrix.shape == (2, 3) and (matrix[1] > matrix[0]).all()


def test_expected_spend_equals_lifetimes():
    grid = history_grid()
    reference = gamma_gamma().conditional_expected_average_profit(grid["frequency"],
                                                                  grid["monetary_value"])
    assert_close(value.expected_spend(SPEND, grid["frequency"], grid["monetary_value"]),
                 reference, rtol=1e-12)


def test_unknown_model_and_missing_parameter_are_named():
    with pytest.raises(ValueError, match="unknown purchase model 'bgf'"):
        value.p_alive("bgf", PARAMS["bgnbd"], 1, 1.0, 2.0)
    with pytest.raises(ValueError, match="pareto_nbd parameters lack s, beta"):
        value.p_alive("pareto_nbd", PARAMS["bgnbd"], 1, 1.0, 2.0)


# --- discounted CLV against lifetimes' customer_lifetime_value -------------------------------

@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("time_unit", ["week", "day"])
def test_discounted_clv_equals_lifetimes(model, time_unit):
    days = time_unit == "day"
    summary = pd.concat([population(days=days), history_grid().assign(
        recency=lambda d: d["recency"] * (7 if days else 1),
        T=lambda d: d["T"] * (7 if days else 1))], ignore_index=True)
    params = in_days(PARAMS[model]) if days else PARAMS[model]
    f, r, T, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
    reference = gamma_gamma().customer_lifetime_value(
        lifetimes_model(model, params), f, r, T, m, time=12, discount_rate=0.01,
        freq=value.LIFETIMES_FREQ[time_unit])
    ours = value.discounted_clv(model, params, SPEND, f, r, T, m, horizon_months=12,
                                monthly_discount_rate=0.01, time_unit=time_unit)
    assert np.isfinite(ours).all()
    # lifetimes' gaps (see lifetimes_with_gaps_filled): Pareto/NBD, many purchases, t_x = T
    gaps = ~np.isfinite(reference.to_numpy())
    assert gaps.sum() <= 10 and (r[gaps] == T[gaps]).all()
    assert model == "pareto_nbd" or not gaps.any()
    assert_close(ours[~gaps], reference[~gaps])


def test_discounted_clv_month_is_lifetimes_month():
    """lifetimes' month: 30 days, or 4.345 weeks; one month ahead = E[X(month)] × spend / 1.01."""
    params, f, r, T, m = PARAMS["bgnbd"], 3, 30.0, 40.0, 20.0
    one_month = value.discounted_clv("bgnbd", params, SPEND, f, r, T, m, horizon_months=1,
                                     monthly_discount_rate=0.01, time_unit="week")
    expected = (value.expected_purchases("bgnbd", params, 4.345, f, r, T)
                * value.expected_spend(SPEND, f, m) / 1.01)
    assert_close(one_month, expected, rtol=1e-12)


# --- score_customers -------------------------------------------------------------------------

COSTS = {"gross_margin_rate": 0.35, "cost_per_order": 2.0}


@pytest.mark.parametrize("model", MODELS)
def test_score_customers_with_each_model(model, make_config):
    summary = population(400)
    cfg = make_config(AS_OF, "week", costs=COSTS)
    margin = pd.Series({"K00003": 0.5, "nobody": 0.9})
    scores = value.score_customers(summary.iloc[::-1], model, PARAMS[model], SPEND, cfg,
                                   margin_rate=margin)
    assert list(scores.columns) == list(value.CLV_COLUMNS)
    assert scores["customer_id"].tolist() == sorted(summary["customer_id"])
    s = scores.set_index("customer_id")
    assert s.loc["K00003", "margin_rate"] == 0.5 and s.loc["K00004", "margin_rate"] == 0.35
    f, r, T, m = (summary[c] for c in ("frequency", "recency", "T", "monetary_value"))
    gross = gamma_gamma().customer_lifetime_value(
        lifetimes_model(model), f, r, T, m, time=12, discount_rate=1.1 ** (1 / 12) - 1,
        freq="W").to_numpy()
    assert_close(scores["clv"], gross * s["margin_rate"].to_numpy())
    horizon = 12 * value.DAYS_PER_MONTH / 7
    assert_close(scores["expected_purchases"], lifetimes_model(model)
                 .conditional_expected_number_of_purchases_up_to_time(horizon, f, r, T))
    assert_close(scores["p_alive"], lifetimes_model(model).conditional_probability_alive(f, r, T))
    np.testing.assert_allclose(s["clv_net"], s["clv"] - s["expected_service_cost"], rtol=1e-12)
    discount = (1.1 ** (1 / 12)) ** 6
    np.testing.assert_allclose(s["expected_service_cost"],
                               s["expected_purchases"] * 2.0 / discount, rtol=1e-12)


def test_score_customers_rejects_duplicate_customers(make_config):
    summary = population(5)
    with pytest.raises(ValueError, match="one row per customer_id"):
        value.score_customers(pd.concat([summary, summary]), "bgnbd", PARAMS["bgnbd"], SPEND,
                              make_config(AS_OF, "week"))


# --- parameter and CLV intervals -------------------------------------------------------------

def log_covariance(params: pd.Series, se: float) -> pd.DataFrame:
    """A covariance of log parameters: standard error ``se`` each, correlation 0.3."""
    k = len(params)
    corr = np.full((k, k), 0.3) + 0.7 * np.eye(k)
    return pd.DataFrame(corr * se**2, index=params.index, columns=params.index)


def test_parameter_intervals_are_log_normal():
    params = pd.Series({"r": 0.5, "alpha": 4.0})
    cov = pd.DataFrame([[0.01, 0.002], [0.002, 0.04]], index=["r", "alpha"],
                       columns=["r", "alpha"])
    table = value.parameter_intervals(params, cov, 0.95)
    assert list(table.columns) == ["param", "estimate", "low", "high"]
    z = 1.959963984540054
    np.testing.assert_allclose(table["low"], [0.5 * np.exp(-z * 0.1), 4 * np.exp(-z * 0.2)])
    np.testing.assert_allclose(table["high"] * table["low"], table["estimate"] ** 2)


def brute_force_draws(summary, model, params, cov, spend_cov, cfg):
    """CLV of every customer under each draw, one draw at a time with discounted_clv."""
    rng = np.random.default_rng(cfg.clv.seed)
    names = list(value.MODEL_PARAMS[model])
    draws = np.exp(rng.multivariate_normal(np.log(params[names]), cov.loc[names, names],
                                           size=cfg.clv.bootstrap_draws))
    spends = np.exp(rng.multivariate_normal(np.log(SPEND), spend_cov,
                                            size=cfg.clv.bootstrap_draws))
    ordered = summary.sort_values("customer_id")
    f, r, T, m = (ordered[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    return np.array([
        value.discounted_clv(model, pd.Series(draw, index=names),
                             pd.Series(spend, index=["p", "q", "v"]), f, r, T, m,
                             horizon_months=cfg.clv.horizon_months,
                             monthly_discount_rate=1.1 ** (1 / 12) - 1, time_unit="week")
        * cfg.costs.gross_margin_rate
        for draw, spend in zip(draws, spends, strict=True) if spend[1] > 1])


@pytest.mark.parametrize("model", MODELS)
def test_clv_intervals_equal_brute_force_bootstrap(model, make_config):
    """The vectorised bootstrap (tables per distinct pair, Chebyshev in age, chunks) gives the
    percentiles of scoring each draw one at a time."""
    summary = population(1500, seed=9)
    cfg = make_config(AS_OF, "week", costs=COSTS, clv={"bootstrap_draws": 60, "seed": 3})
    cov, spend_cov = log_covariance(PARAMS[model], 0.08), log_covariance(SPEND, 0.05)
    per_customer, total = value.clv_intervals(summary, model, PARAMS[model], cov, SPEND,
                                              spend_cov, cfg)
    brute = brute_force_draws(summary, model, PARAMS[model], cov, spend_cov, cfg)
    assert total["draws"] == len(brute) == 60
    low, high = np.quantile(brute, [0.025, 0.975], axis=0)
    assert per_customer["customer_id"].tolist() == sorted(summary["customer_id"])
    np.testing.assert_allclose(per_customer["clv_low"], low, rtol=1e-6)
    np.testing.assert_allclose(per_customer["clv_high"], high, rtol=1e-6)
    np.testing.assert_allclose(total[["low", "high"]],
                               np.quantile(brute.sum(axis=1), [0.025, 0.975]), rtol=1e-6)
    scores = value.score_customers(summary, model, PARAMS[model], SPEND, cfg)
    assert total["estimate"] == pytest.approx(scores["clv"].sum(), rel=1e-12)
    assert total["low"] < total["estimate"] < total["high"]
    inside = ((per_customer["clv_low"] <= scores["clv"])
              & (scores["clv"] <= per_customer["clv_high"]))
    assert inside.mean() > 0.95


def test_clv_intervals_collapse_without_uncertainty_and_are_seeded(make_config):
    summary = population(800, seed=4)
    cfg = make_config(AS_OF, "week", clv={"bootstrap_draws": 30})
    zero = log_covariance(PARAMS["mbgnbd"], 0.0)
    per_customer, total = value.clv_intervals(summary, "mbgnbd", PARAMS["mbgnbd"], zero, SPEND,
                                              log_covariance(SPEND, 0.0), cfg)
    scores = value.score_customers(summary, "mbgnbd", PARAMS["mbgnbd"], SPEND, cfg)
    np.testing.assert_allclose(per_customer["clv_low"], scores["clv"], rtol=1e-7)
    np.testing.assert_allclose(per_customer["clv_high"], scores["clv"], rtol=1e-7)
    assert total["low"] == pytest.approx(total["estimate"], rel=1e-7)
    cov = log_covariance(PARAMS["mbgnbd"], 0.1)
    first = value.clv_intervals(summary, "mbgnbd", PARAMS["mbgnbd"], cov, SPEND, zero.iloc[:3, :3]
                                .set_axis(list("pqv"), axis=0).set_axis(list("pqv"), axis=1), cfg)
    again = value.clv_intervals(summary, "mbgnbd", PARAMS["mbgnbd"], cov, SPEND, zero.iloc[:3, :3]
                                .set_axis(list("pqv"), axis=0).set_axis(list("pqv"), axis=1), cfg)
    pd.testing.assert_frame_equal(first[0], again[0])
    pd.testing.assert_series_equal(first[1], again[1])


def test_clv_intervals_leave_out_infinite_mean_spend(make_config):
    summary = population(200, seed=6)
    cfg = make_config(AS_OF, "week", clv={"bootstrap_draws": 100})
    wide_q = pd.DataFrame(np.diag([0.0, 1.0, 0.0]), index=list("pqv"), columns=list("pqv"))
    _, total = value.clv_intervals(summary, "bgnbd", PARAMS["bgnbd"],
                                   log_covariance(PARAMS["bgnbd"], 0.05), SPEND, wide_q, cfg)
    # log q ~ N(log 3.74, 1): P(q <= 1) = P(Z <= -1.32) ≈ 9%
    assert 75 <= total["draws"] < 100


def test_clv_intervals_say_what_is_wrong_with_the_covariance(make_config):
    summary = population(50)
    cfg = make_config(AS_OF, "week", clv={"bootstrap_draws": 20})
    cov = log_covariance(PARAMS["bgnbd"], 0.05)
    with pytest.raises(ValueError, match="bgnbd parameters has no row or column for b"):
        value.clv_intervals(summary, "bgnbd", PARAMS["bgnbd"], cov.drop(index="b"), SPEND,
                            log_covariance(SPEND, 0.05), cfg)
    with pytest.raises(ValueError, match="gamma_gamma parameters is not a valid matrix"):
        value.clv_intervals(summary, "bgnbd", PARAMS["bgnbd"], cov, SPEND,
                            log_covariance(SPEND, np.nan), cfg)


# --- the value of loyalty --------------------------------------------------------------------

def test_dropout_cut_per_model():
    bg = value.with_dropout_cut("bgnbd", PARAMS["bgnbd"], 0.1)
    a, b = PARAMS["bgnbd"]["a"], PARAMS["bgnbd"]["b"]
    assert bg["a"] + bg["b"] == pytest.approx(a + b)
    assert bg["a"] / (bg["a"] + bg["b"]) == pytest.approx(0.9 * a / (a + b))
    assert bg[["r", "alpha"]].tolist() == PARAMS["bgnbd"][["r", "alpha"]].tolist()
    pareto = value.with_dropout_cut("pareto_nbd", PARAMS["pareto_nbd"], 0.2)
    # mean dropout rate s / beta is 20% lower
    assert pareto["s"] / pareto["beta"] == pytest.approx(
        0.8 * PARAMS["pareto_nbd"]["s"] / PARAMS["pareto_nbd"]["beta"])
    pd.testing.assert_series_equal(value.with_dropout_cut("mbgnbd", PARAMS["mbgnbd"], 0.0),
                                   PARAMS["mbgnbd"])
    with pytest.raises(ValueError, match="dropout cut"):
        value.with_dropout_cut("bgnbd", PARAMS["bgnbd"], 1.0)


@pytest.mark.parametrize("model", MODELS)
def test_loyalty_scenarios(model, make_config):
    summary = population(1000, seed=8)
    cfg = make_config(AS_OF, "week", costs=COSTS)
    margin = pd.Series(0.5, index=summary["customer_id"][:100])
    table = value.loyalty_scenarios(summary, model, PARAMS[model], SPEND, cfg,
                                    margin_rate=margin)
    assert list(table.columns) == ["scenario", "dropout_cut", "total_equity", "gain",
                                   "gain_share"]
    assert table["scenario"].tolist() == ["now", "dropout -10%", "dropout -20%"]
    assert table["dropout_cut"].tolist() == [0.0, 0.1, 0.2]
    now = value.score_customers(summary, model, PARAMS[model], SPEND, cfg, margin_rate=margin)
    assert table["total_equity"].iloc[0] == pytest.approx(now["clv"].sum(), rel=1e-12)
    cut = value.score_customers(summary, model, value.with_dropout_cut(model, PARAMS[model], 0.2),
                                SPEND, cfg, margin_rate=margin)
    assert table["total_equity"].iloc[2] == pytest.approx(cut["clv"].sum(), rel=1e-12)
    assert 0 < table["gain"].iloc[1] < table["gain"].iloc[2]
    np.testing.assert_allclose(table["gain_share"], table["gain"] / table["total_equity"].iloc[0])
