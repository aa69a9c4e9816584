"""Seeded, weighted, robust fits of the BTYD purchase models and the Gamma-Gamma spend model."""

from __future__ import annotations

import contextlib
import io
import re
from datetime import date

import autograd
import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value
from lifetimes.generate_data import beta_geometric_nbd_model
from lifetimes.utils import ConvergenceError
from scipy.optimize import minimize

from helpers.clv import fitting
from helpers.clv.fitting import (
    ModelFit,
    fit_purchase_model,
    fit_spend_model,
    pareto_nbd_log_likelihood,
)
from helpers.errors import TooLittleDataError

CAL_END = date(1997, 9, 30)
#: Fader, Hardie & Lee (2005) "Counting your customers the easy way" (BG/NBD, and the
#: Pareto/NBD they compare it with) and Fader & Hardie (2013) "The Gamma-Gamma model of
#: monetary value", all on the CDNOW sample's 39-week calibration period.
PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.44},
}
PUBLISHED_LOG_LIKELIHOOD = {"bgnbd": -9582.4, "pareto_nbd": -9595.0}
LIFETIMES = {"bgnbd": BetaGeoFitter, "mbgnbd": ModifiedBetaGeoFitter}


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    """lifetimes' CDNOW summary: 2,357 customers, weeks, calibration to 1997-09-30, with the
    mean spend over repeat purchases (FHL's zbar) as monetary_value."""
    summary = load_cdnow_summary_data_with_monetary_value().reset_index()
    # the spend file rounds recency and T to 2 decimals as the summary file does
    pd.testing.assert_frame_equal(
        summary[["frequency", "recency", "T"]].reset_index(drop=True),
        load_cdnow_summary()[["frequency", "recency", "T"]], check_dtype=False)
    return summary


@pytest.fixture(scope="module")
def cfg(make_config):
    return make_config(CAL_END, "week")


@pytest.fixture(scope="module")
def cdnow_fits(cdnow, cfg) -> dict[str, ModelFit]:
    fits = {m: fit_purchase_model(cdnow, m, cfg) for m in ("bgnbd", "pareto_nbd", "mbgnbd")}
    fits["gamma_gamma"] = fit_spend_model(cdnow, cfg)
    return fits


# --- published estimates and the result's contents ------------------------------------------

@pytest.mark.parametrize("model", ["bgnbd", "pareto_nbd", "gamma_gamma"])
def test_cdnow_reproduces_published_estimates(cdnow_fits, model):
    fit = cdnow_fits[model]
    for name, value in PUBLISHED[model].items():
        assert fit.params[name] == pytest.approx(value, rel=0.005), name
    if model in PUBLISHED_LOG_LIKELIHOOD:
        assert fit.log_likelihood == pytest.approx(PUBLISHED_LOG_LIKELIHOOD[model], abs=0.05)
    assert fit.how.startswith("Converged from 5 of 5 starting points")
    assert fit.penalizer == 0 and fit.starts == 5 and 0 <= fit.log_likelihood_spread < 1e-6


def test_model_fit_fields(cdnow_fits, cdnow):
    fit = cdnow_fits["bgnbd"]
    names = ["r", "alpha", "a", "b"]
    assert list(fit.params.index) == names
    assert list(fit.covariance.index) == list(fit.covariance.columns) == names
    assert fit.n_customers == len(cdnow) == 2357 and fit.n_params == 4
    assert fit.bic == pytest.approx(4 * np.log(2357) - 2 * fit.log_likelihood)
    pd.testing.assert_series_equal(
        fit.standard_errors, fit.params * np.sqrt(np.diag(fit.covariance)), check_names=False)
    # the fitter predicts with the estimates and lifetimes' summary shows the right errors
    assert isinstance(fit.fitter, BetaGeoFitter)
    pd.testing.assert_series_equal(fit.fitter.params_, fit.params)
    assert fit.fitter.predict == fit.fitter.conditional_expected_number_of_purchases_up_to_time
    np.testing.assert_allclose(fit.fitter.summary["se(coef)"], fit.standard_errors)
    assert cdnow_fits["gamma_gamma"].n_customers == (cdnow["frequency"] > 0).sum() == 946


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_log_likelihood_is_the_total_over_customers_in_caller_units(cdnow_fits, cdnow, model):
    """Fitted on unique rows with weights, the log-likelihood is the plain sum over all
    customers of lifetimes' per-customer likelihood, in weeks."""
    fit = cdnow_fits[model]
    columns = [cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    if model == "pareto_nbd":
        total = ParetoNBDFitter._conditional_log_likelihood(fit.params.to_numpy(), *columns).sum()
    else:
        total = -len(cdnow) * LIFETIMES[model]._negative_log_likelihood(
            np.log(fit.params.to_numpy()), *columns, np.ones(len(cdnow)), 0.0)
    assert fit.log_likelihood == pytest.approx(total, rel=1e-10)


# --- weights ------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "pareto_nbd", "gamma_gamma"])
def test_weighted_unique_rows_equal_an_unweighted_fit_on_all_rows(cdnow_fits, cdnow, model):
    """BG/NBD, MBG/NBD and Gamma-Gamma divide the weighted sum by the weights' sum: the same
    objective as the mean over all customers. The Pareto/NBD divides by the weights' *mean*
    (the total over all customers, times unique rows / customers): the same maximum with no
    penalizer. lifetimes' own unweighted fits on the 2,357 rows land on the kit's estimates."""
    fit = cdnow_fits[model]
    if model == "gamma_gamma":
        repeat = cdnow[cdnow["frequency"] > 0]
        unique = repeat.groupby(["frequency", "monetary_value"]).size().reset_index(name="w")
        log_params = np.log(fit.params.to_numpy())
        one = GammaGammaFitter._negative_log_likelihood
        assert one(log_params, unique["frequency"], unique["monetary_value"], unique["w"], 0.0) \
            == pytest.approx(one(log_params, repeat["frequency"], repeat["monetary_value"],
                                 np.ones(len(repeat)), 0.0), rel=1e-12)
        plain = lifetimes_minimum(one, (repeat["frequency"].to_numpy(dtype=float),
                                        repeat["monetary_value"].to_numpy(dtype=float),
                                        np.ones(len(repeat)), 0.0), 3)
    else:
        unique = cdnow.groupby(["frequency", "recency", "T"]).size().reset_index(name="w")
        rows = [unique[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
        everyone = [cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
        if model == "pareto_nbd":
            nll, params = ParetoNBDFitter._negative_log_likelihood, fit.params.to_numpy()
            scale = len(unique) / len(cdnow)
            plain = ParetoNBDFitter().fit(*everyone, initial_params=np.ones(4), tol=1e-12,
                                          maxiter=20000).params_[fit.params.index].to_numpy()
        else:
            nll, params = LIFETIMES[model]._negative_log_likelihood, np.log(fit.params.to_numpy())
            scale = 1.0
            plain = lifetimes_minimum(nll, (*everyone, np.ones(len(cdnow)), 0.0), 4)
        assert nll(params, *rows, unique["w"].to_numpy(), 0.0) == pytest.approx(
            scale * nll(params, *everyone, np.ones(len(cdnow)), 0.0), rel=1e-12)
    assert len(unique) < len(cdnow) / 2
    np.testing.assert_allclose(fit.params, plain, rtol=1e-6)


def lifetimes_minimum(nll, args: tuple, n_params: int) -> np.ndarray:
    """The parameters minimising lifetimes' own objective ``nll`` (of log parameters) on
    ``args``, by BFGS from log parameters 0 with autograd's gradient, as lifetimes fits.

    lifetimes raises when BFGS reports 'precision loss' (its issue #396), which depends on
    the CPU's floating point; here the minimum is accepted when the gradient is zero in
    substance instead, so the reference does not change with the machine.
    """
    result = minimize(autograd.value_and_grad(nll), np.zeros(n_params), args=args, jac=True,
                      method="BFGS", options={"gtol": 1e-10, "maxiter": 10_000})
    assert np.abs(result.jac).max() < 1e-7, result
    return np.exp(result.x)


# --- standard errors ----------------------------------------------------------------------------

def test_covariance_is_the_inverse_hessian_in_caller_units(cdnow_fits, cdnow):
    """The fit runs on time rescaled to max T = 1; in log parameters that only shifts log alpha,
    so the Hessian (central differences of autograd's gradient) is the caller's: compare with
    autograd's exact Hessian of the total log-likelihood in weeks. The kit's is taken before
    the last Newton step, within 1e-3 standard errors of the estimates: equal to 1e-4."""
    fit = cdnow_fits["bgnbd"]
    columns = [cdnow[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    total = lambda log_params: len(cdnow) * BetaGeoFitter._negative_log_likelihood(  # noqa: E731
        log_params, *columns, np.ones(len(cdnow)), 0.0)
    hessian = autograd.hessian(total)(np.log(fit.params.to_numpy()))
    np.testing.assert_allclose(fit.covariance, np.linalg.inv(hessian), rtol=1e-4)


@pytest.mark.parametrize("model", ["bgnbd", "gamma_gamma"])
def test_standard_errors_match_lifetimes_diagonal(cdnow_fits, cdnow, model):
    """lifetimes' variance_matrix_ is params**2 * inv(hessian) elementwise: right on the
    diagonal when its time rescaling is 1 (so data with max T = 1; Gamma-Gamma has no time)."""
    fit = cdnow_fits[model]
    if model == "gamma_gamma":
        repeat = cdnow[cdnow["frequency"] > 0]
        # lifetimes' default tolerance: a tighter one ends in 'precision loss' on some CPUs
        plain = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
        expected = fit.standard_errors
    else:
        max_t = cdnow["T"].max()
        plain = BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"] / max_t,
                                    cdnow["T"] / max_t)
        assert plain._scale == 1.0
        # in units of max T, alpha and its standard error shrink by max T; the rest stay
        expected = fit.standard_errors / pd.Series({"r": 1, "alpha": max_t, "a": 1, "b": 1})
    np.testing.assert_allclose(plain.standard_errors_[expected.index], expected, rtol=1e-4)


# --- the multi-start ----------------------------------------------------------------------------

def test_multistart_is_seeded_and_leaves_numpy_global_state_alone(cdnow, make_config):
    """lifetimes' ParetoNBDFitter draws its start from numpy's global state; the kit passes its
    own seeded starts, so two runs agree exactly and the global state is not touched."""
    cfg = make_config(CAL_END, "week", clv={"fit_starts": 3, "seed": 7})
    before = np.random.get_state()[1].copy()
    first = fit_purchase_model(cdnow, "pareto_nbd", cfg)
    second = fit_purchase_model(cdnow, "pareto_nbd", cfg)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    pd.testing.assert_series_equal(first.params, second.params, rtol=0, atol=0)
    assert first.how == second.how and first.starts == 3
    assert first.how.startswith("Converged from 3 of 3 starting points")
    other = fit_purchase_model(cdnow, "pareto_nbd", make_config(
        CAL_END, "week", clv={"fit_starts": 3, "seed": 8}))
    np.testing.assert_allclose(other.params, first.params, rtol=1e-6)


def test_starts_run_on_a_sample_of_large_data(monkeypatch, cdnow, cdnow_fits, cfg):
    """Above MULTISTART_SAMPLE customers the starts run on a seeded sample and the best is
    refined on everyone: the same estimates as starts run on everyone."""
    monkeypatch.setattr(fitting, "MULTISTART_SAMPLE", 500)
    for model in ("bgnbd", "pareto_nbd"):
        sampled = fit_purchase_model(cdnow, model, cfg)
        np.testing.assert_allclose(sampled.params, cdnow_fits[model].params, rtol=1e-6)
        np.testing.assert_allclose(sampled.covariance, cdnow_fits[model].covariance, rtol=1e-3)
        assert "random 500 of the 2,357 customers" in sampled.how


# --- robustness ---------------------------------------------------------------------------------

def test_bfgs_stopping_short_is_accepted_when_converged_in_substance(monkeypatch, cdnow, cfg,
                                                                     cdnow_fits):
    """With a gradient tolerance it cannot reach, BFGS reports 'precision loss' as lifetimes
    does (its issue #396); the Newton check finds the estimates at the maximum and keeps them."""
    monkeypatch.setattr(fitting, "_BFGS_GTOL", 1e-14)
    fit = fit_purchase_model(cdnow, "bgnbd", cfg)
    # how many of the 5 starts stop short depends on the CPU's floating point
    assert re.search(r"BFGS stopped short from [1-5] of them", fit.how)
    assert "precision loss" in fit.how and "converged in substance" in fit.how
    np.testing.assert_allclose(fit.params, cdnow_fits["bgnbd"].params, rtol=1e-7)


def _lifetimes_convergence_failure() -> pd.DataFrame:
    """420 customers of up to a year's age from lifetimes' own BG/NBD generator (seed 25,
    r=0.25, alpha=4, a=0.8, b=2.5) on which plain ``BetaGeoFitter().fit`` raises
    ConvergenceError: BFGS stops with 'precision loss' at a gradient of 1e-5 while a and b
    grow without limit (this sample shows no spread in the dropout probability)."""
    state = np.random.get_state()
    try:
        np.random.seed(25)  # lifetimes' generator draws from numpy's global state
        ages = np.random.default_rng(25).integers(1, 53, 420).astype(float)
        return beta_geometric_nbd_model(ages, 0.25, 4.0, 0.8, 2.5, size=420)
    finally:
        np.random.set_state(state)


def test_small_file_lifetimes_cannot_fit_fits_with_default_settings(cfg):
    summary = _lifetimes_convergence_failure()
    with contextlib.redirect_stdout(io.StringIO()), pytest.raises(ConvergenceError):
        BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    fit = fit_purchase_model(summary, "bgnbd", cfg)
    assert fit.penalizer == 1e-6
    assert "a and b grew without limit" in fit.how and "penalizer of 1e-06" in fit.how
    assert np.all(np.isfinite(fit.params)) and np.all(np.linalg.eigvalsh(fit.covariance) > 0)
    # the purchase process, which the data do pin down, is near the generator's
    assert fit.params["r"] == pytest.approx(0.25, rel=0.15)
    assert fit.params["alpha"] == pytest.approx(4.0, rel=0.15)


@pytest.mark.parametrize("model", ["bgnbd", "pareto_nbd"])
def test_hopeless_histories_stop_with_a_sentence(make_config, model):
    """Every customer with the same history identifies nothing: no start, optimiser or
    penalizer reaches a maximum, and the run stops saying so rather than returning numbers."""
    same = pd.DataFrame({"frequency": [1] * 100, "recency": [5.0] * 100, "T": [10.0] * 100})
    cfg = make_config(CAL_END, "week", clv={"fit_starts": 1})
    name = fitting.MODEL_NAMES[model]
    with pytest.raises(TooLittleDataError,
                       match=f"the {name} model could not be fitted to these 100 customers"):
        fit_purchase_model(same, model, cfg)


def test_too_few_customers_and_bad_histories(cfg):
    few = pd.DataFrame({"frequency": [1] * 19, "recency": [5.0] * 19, "T": [10.0] * 19})
    with pytest.raises(TooLittleDataError, match="19 customers bought"):
        fit_purchase_model(few, "mbgnbd", cfg)
    bad = pd.DataFrame({"frequency": [1] * 30, "recency": [11.0] * 30, "T": [10.0] * 30})
    with pytest.raises(ValueError, match="recency vector are larger than T"):
        fit_purchase_model(bad, "bgnbd", cfg)
    with pytest.raises(ValueError, match="unknown purchase model 'bgbb'"):
        fit_purchase_model(bad, "bgbb", cfg)


def test_gamma_gamma_with_undefined_mean_spend_is_an_error(cfg):
    rng = np.random.default_rng(5)
    heavy = pd.DataFrame({"frequency": rng.integers(1, 5, 300),
                          "monetary_value": np.round(rng.pareto(0.8, 300) * 20 + 1, 2)})
    with pytest.raises(ValueError, match=r"q = 0\.\d+ <= 1"):
        fit_spend_model(heavy, cfg)


def test_pareto_likelihood_equals_lifetimes():
    """The kit's Pareto/NBD likelihood (hypergeometric terms once per distinct pair) is
    lifetimes' ``_conditional_log_likelihood``, on both branches (alpha < beta and >), with
    recency = T and with no repeat purchase."""
    rng = np.random.default_rng(0)
    age = rng.uniform(0.5, 100, 400).round(1)
    frequency = rng.integers(0, 30, 400)
    recency = np.where(frequency > 0, (age * rng.uniform(0, 1, 400)).round(1), 0.0)
    recency[:20] = age[:20] * (frequency[:20] > 0)
    for params in ([0.55, 10.6, 0.61, 11.7], [0.3, 40.0, 1.5, 5.0], [2.0, 3.0, 0.4, 3.0]):
        np.testing.assert_allclose(
            pareto_nbd_log_likelihood(params, frequency, recency, age),
            ParetoNBDFitter._conditional_log_likelihood(params, frequency, recency, age),
            rtol=1e-9)
