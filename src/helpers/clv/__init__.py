"""Customer lifetime value: validated buy-till-you-die models, spend, CLV and its uncertainty.

Stage 03 of the kit. The notebook calls two builders:

* :func:`build_model_fit` — fits every purchase model of ``clv.purchase_models`` (BG/NBD,
  Pareto/NBD, modified BG/NBD) on the calibration period (:func:`calibration_holdout_summary`),
  validates them on the holdout that follows, chooses one (:func:`choose_model`), then fits
  it and the Gamma-Gamma spend model on the whole history (:func:`rfm_summary`). It writes
  ``model_fit`` (every parameter with its interval, likelihoods, fit checks), and the
  validation: ``model_comparison``, ``holdout_by_frequency`` and ``purchase_tracking``;
* :func:`build_clv` — rebuilds the chosen model from ``model_fit`` (:func:`fitted_models`)
  and writes ``clv`` (probability alive, expected purchases and spend, discounted CLV with its
  interval, cost to serve, net CLV; :func:`score_customers`, :func:`clv_intervals`) and
  ``customer_equity`` (total equity now, its interval, and if retention improved:
  :func:`loyalty_scenarios`).

The summaries are in :mod:`helpers.clv.summary`, the fits in :mod:`helpers.clv.fitting`, the
holdout checks in :mod:`helpers.clv.validation`, the scoring in :mod:`helpers.clv.value`, the
probability-alive history in :mod:`helpers.clv.history`, the charts in :mod:`helpers.display`.

References: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way" (BG/NBD) and
"RFM and CLV: Using Iso-Value Curves for Customer Base Analysis" (Gamma-Gamma and CLV);
Schmittlein, Morrison & Colombo (1987) (Pareto/NBD); Batislam, Denizel & Filiztekin (2007)
(MBG/NBD).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
from lifetimes.fitters import BaseFitter

from helpers.clv.fitting import (
    FITTERS,
    INDEPENDENCE_WARNING_CORRELATION,
    MIN_CUSTOMERS,
    MIN_REPEAT_CUSTOMERS,
    MODEL_NAMES,
    PARAMETER_NAMES,
    ModelFit,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_purchase_model,
    fit_spend_model,
    frequency_monetary_correlation,
)
from helpers.clv.history import alive_history, customers_to_follow
from helpers.clv.summary import (
    SUMMARY_COLUMNS,
    TRANSACTION_COLUMNS,
    calibration_end,
    calibration_holdout_summary,
    first_purchase_days,
    purchase_tracking,
    rfm_summary,
)
from helpers.clv.validation import (
    by_calibration_frequency,
    choose_model,
    expected_tracking,
    model_comparison,
)
from helpers.clv.value import (
    CLV_COLUMNS,
    DAYS_PER_MONTH,
    LIFETIMES_FREQ,
    clv_intervals,
    loyalty_scenarios,
    parameter_intervals,
    score_customers,
)
from helpers.config import RunConfig
from helpers.errors import TooLittleDataError
from helpers.tables import table
from helpers.warehouse import read_table, require_columns, require_frame_columns, write_table

__all__ = ["rfm_summary", "calibration_holdout_summary", "calibration_end", "fit_bgnbd",
           "fit_gamma_gamma", "fit_purchase_model", "fit_spend_model",
           "frequency_monetary_correlation", "score_customers", "clv_intervals",
           "loyalty_scenarios", "alive_history", "customers_to_follow", "model_fit_table",
           "FittedModels", "fitted_models", "lifetimes_fitter", "parameter_table",
           "true_parameters",
           "build_model_fit", "build_clv",
           "INDEPENDENCE_WARNING_CORRELATION", "MIN_CUSTOMERS", "MIN_REPEAT_CUSTOMERS",
           "SUMMARY_COLUMNS", "TRANSACTION_COLUMNS", "CLV_COLUMNS", "DAYS_PER_MONTH",
           "LIFETIMES_FREQ", "MODEL_NAMES", "FIT_BUCKETS", "CALIBRATION", "WHOLE_HISTORY"]

logger = logging.getLogger(__name__)

#: The in-sample fit check compares customers with 0, 1, ..., 6 repeat purchases and 7 or more.
FIT_BUCKETS = 7

#: ``model_fit.fitted_on`` of the fits on the calibration period and on the whole history.
CALIBRATION = "calibration"
WHOLE_HISTORY = "whole history"

_CALIBRATION_COLUMNS = ("frequency_cal", "recency_cal", "T_cal")


def _probability_of_n(fit: ModelFit, age: float, n: int) -> float:
    """P(X(age) = n): n repeat purchases by ``age`` for a customer who just made the first."""
    if fit.model == "pareto_nbd":
        # lifetimes' Pareto/NBD has only the conditional form; a customer of age 0 with no
        # repeat purchase has no history, so it is the unconditional one
        with np.errstate(invalid="ignore", divide="ignore"):  # lifetimes' logaddexp of -inf
            return float(fit.fitter.conditional_probability_of_n_purchases_up_to_time(
                n, age, 0.0, 0.0, 0.0))
    return float(fit.fitter.probability_of_n_purchases_up_to_time(age, n))


def _frequency_fit(summary: pd.DataFrame, fit: ModelFit) -> list[tuple[str, float]]:
    """Actual vs expected number of customers with 0..6 and 7+ repeat purchases."""
    customers_per_age = summary.groupby("T").size()
    # lifetimes takes one scalar age at a time, so evaluate per distinct age (one per
    # first-purchase day, far fewer than customers) and weight by the customers of that age
    probabilities = np.array([[_probability_of_n(fit, age, n) for n in range(FIT_BUCKETS)]
                              for age in customers_per_age.index])
    expected = customers_per_age.to_numpy() @ probabilities
    expected = np.append(expected, len(summary) - expected.sum())
    actual = np.bincount(np.minimum(summary["frequency"].to_numpy(dtype=int), FIT_BUCKETS),
                         minlength=FIT_BUCKETS + 1)
    labels = [str(n) for n in range(FIT_BUCKETS)] + [f"{FIT_BUCKETS}plus"]
    rows = []
    for label, n_actual, n_expected in zip(labels, actual, expected, strict=True):
        rows.append((f"customers_with_{label}_repeat_actual", float(n_actual)))
        rows.append((f"customers_with_{label}_repeat_expected", float(n_expected)))
    return rows


def _fit_rows(fit: ModelFit, fitted_on: str, level: float) -> list[dict]:
    """``model_fit`` rows of one fit: parameters with intervals, the log-parameter covariance,
    likelihood and BIC, and how the fit went."""
    intervals = parameter_intervals(fit.params, fit.covariance, level)
    rows = [{"metric": row.param, "value": row.estimate, "low": row.low, "high": row.high}
            for row in intervals.itertuples()]
    names = list(fit.params.index)
    rows += [{"metric": f"cov_log_{a}_log_{b}", "value": float(fit.covariance.loc[a, b])}
             for i, a in enumerate(names) for b in names[i:]]
    rows += [{"metric": metric, "value": float(value)} for metric, value in (
        ("log_likelihood", fit.log_likelihood), ("bic", fit.bic),
        ("n_customers", fit.n_customers), ("starts", fit.starts),
        ("log_likelihood_spread", fit.log_likelihood_spread), ("penalizer", fit.penalizer))]
    return [{"model": fit.model, "fitted_on": fitted_on, **row} for row in rows]


def model_fit_table(summary: pd.DataFrame, purchase_fits: list[ModelFit], spend: ModelFit,
                    cfg: RunConfig, calibration_fits: list[ModelFit] = ()) -> pd.DataFrame:
    """The ``model_fit`` table: every fitted model's parameters and checks, long format.

    Per fit (``fitted_on`` 'calibration' or 'whole history'): each parameter with its
    ``cfg.clv.interval_level`` interval (``low``, ``high``: from the normal approximation of
    its logarithm, :func:`parameter_intervals`); ``cov_log_X_log_Y``, the covariance of the
    log parameters (what the CLV intervals draw from); ``log_likelihood`` (total,
    unpenalized, model time units), ``bic``, ``n_customers``, ``starts``,
    ``log_likelihood_spread`` and ``penalizer``. Purchase models on the whole history add
    ``repeat_purchases_actual`` / ``_expected`` (sum of frequency vs sum of E[X(T)]) and
    ``customers_with_K_repeat_actual`` / ``_expected`` for K = 0..6 and ``7plus`` (expected:
    the sum over customers of P(X(T) = K)). Gamma-Gamma adds ``freq_monetary_corr`` (see
    :func:`frequency_monetary_correlation`).

    Parameters
    ----------
    summary
        The whole-history summary the fits were made on: ``frequency``, ``T``,
        ``monetary_value``.
    purchase_fits, spend
        Fits on ``summary`` (:func:`fit_purchase_model`, :func:`fit_spend_model`).
    cfg
        Uses ``clv.interval_level``.
    calibration_fits
        Fits on the calibration period, if any.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``fitted_on``, ``metric``, ``value``, ``low``, ``high``.
    """
    require_frame_columns(summary, "summary", ("frequency", "T", "monetary_value"))
    level = cfg.clv.interval_level
    rows = [row for fit in calibration_fits for row in _fit_rows(fit, CALIBRATION, level)]
    for fit in purchase_fits:
        rows += _fit_rows(fit, WHOLE_HISTORY, level)
        checks = [("repeat_purchases_actual", float(summary["frequency"].sum())),
                  ("repeat_purchases_expected", float(np.sum(
                      fit.fitter.expected_number_of_purchases_up_to_time(
                          summary["T"].to_numpy(dtype=float)))))]
        rows += [{"model": fit.model, "fitted_on": WHOLE_HISTORY, "metric": metric,
                  "value": value} for metric, value in checks + _frequency_fit(summary, fit)]
    rows += _fit_rows(spend, WHOLE_HISTORY, level)
    rows.append({"model": spend.model, "fitted_on": WHOLE_HISTORY,
                 "metric": "freq_monetary_corr",
                 "value": frequency_monetary_correlation(summary)})
    table = pd.DataFrame(rows, columns=["model", "fitted_on", "metric", "value", "low", "high"])
    return table.astype({"model": str, "fitted_on": str, "metric": str, "value": float,
                         "low": float, "high": float})


def _validation_tables(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                       ) -> tuple[list[ModelFit], pd.DataFrame | str, pd.DataFrame,
                                  pd.DataFrame]:
    """Fit each purchase model on the calibration period and check it on the holdout.

    Returns the calibration fits, ``model_comparison`` (without ``chosen``),
    ``holdout_by_frequency`` and ``purchase_tracking``. When the config has no holdout or the
    calibration period is too thin to fit on: no fits, the reason instead of the comparison,
    and empty tables.
    """
    tracking_columns = ["model", "period", "period_start", "repeat_purchases",
                        "expected_repeat_purchases", "expected_cumulative"]
    by_frequency_columns = ["model", "frequency_cal", "customers", "actual_mean",
                            "predicted_mean"]
    no_fits = (pd.DataFrame(columns=by_frequency_columns),
               pd.DataFrame(columns=tracking_columns))
    end = calibration_end(cfg)
    if end is None:
        return [], "Not validated: the config sets no holdout period (clv.holdout_days: 0).", \
            *no_fits
    cal_holdout = calibration_holdout_summary(con, cfg)
    try:
        fits = [fit_purchase_model(cal_holdout, model, cfg, columns=_CALIBRATION_COLUMNS)
                for model in cfg.clv.purchase_models]
    except TooLittleDataError as exc:
        return [], (f"Not validated: the calibration period up to {end} is too thin to fit "
                    f"on ({exc}); shorten clv.holdout_days to validate."), *no_fits
    comparison = model_comparison(cal_holdout, fits)
    by_frequency = pd.concat([by_calibration_frequency(cal_holdout, fit).assign(model=fit.model)
                              for fit in fits], ignore_index=True)[by_frequency_columns]
    actual = purchase_tracking(con, cfg)
    births = first_purchase_days(con, cfg)
    tracking = pd.concat([
        actual.merge(expected_tracking(fit, births, actual, cfg.days_per_unit,
                                       observation_end=cfg.as_of), on="period")
        .assign(model=fit.model) for fit in fits], ignore_index=True)[tracking_columns]
    return fits, comparison, by_frequency, tracking


def build_model_fit(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Fit, validate and choose the purchase model; fit the spend model; write the tables.

    1. Each model of ``clv.purchase_models`` is fitted on the calibration period and predicts
       each customer's repeat purchases in the holdout (:mod:`helpers.clv.validation`).
    2. The scoring model is ``clv.purchase_model``, or with 'auto' the smallest holdout MAE
       (without a usable holdout: the smallest BIC on the whole history).
    3. The chosen model and Gamma-Gamma are fitted on the whole history.

    Reads ``transactions`` (customer_id, order_date, amount). Writes ``model_fit``
    (:func:`model_fit_table`), ``model_comparison`` (one row per model: calibration
    likelihood and BIC, holdout errors, how the fit went, whether it scores customers),
    ``holdout_by_frequency`` and ``purchase_tracking`` (both empty without a holdout).
    Returns the rows of ``model_fit``.
    """
    calibration_fits, comparison, by_frequency, tracking = _validation_tables(con, cfg)
    summary = rfm_summary(con, cfg)
    if calibration_fits:
        chosen = choose_model(comparison, cfg)
        whole = [fit_purchase_model(summary, chosen, cfg)]
    else:
        # no holdout errors: every model is fitted on the whole history, compared by BIC
        whole = [fit_purchase_model(summary, model, cfg) for model in cfg.clv.purchase_models]
        why = comparison
        comparison = pd.DataFrame({
            "model": [fit.model for fit in whole], "holdout_mae": np.nan,
            "log_likelihood": [fit.log_likelihood for fit in whole],
            "n_params": [fit.n_params for fit in whole], "bic": [fit.bic for fit in whole],
            "starts": [fit.starts for fit in whole],
            "log_likelihood_spread": [fit.log_likelihood_spread for fit in whole],
            "penalizer": [fit.penalizer for fit in whole],
            "how": [f"{fit.how} {why}" for fit in whole]})
        chosen = choose_model(comparison, cfg)
        whole = [fit for fit in whole if fit.model == chosen]
    spend = fit_spend_model(summary, cfg)
    comparison = comparison.assign(chosen=comparison["model"] == chosen)
    logger.info("purchase model scoring customers: %s", MODEL_NAMES[chosen])
    write_table(con, "model_comparison", comparison.reindex(
        columns=list(table("model_comparison").column_names)))
    write_table(con, "holdout_by_frequency", by_frequency)
    write_table(con, "purchase_tracking", tracking)
    return write_table(con, "model_fit", model_fit_table(summary, whole, spend, cfg,
                                                         calibration_fits))


@dataclass(frozen=True)
class FittedModels:
    """The scoring models as stored in ``model_fit``: the chosen purchase model and
    Gamma-Gamma, each with parameters and the covariance of their logarithms."""

    purchase_model: str
    purchase_params: pd.Series
    purchase_cov: pd.DataFrame
    spend_params: pd.Series
    spend_cov: pd.DataFrame


def _stored(fits: pd.DataFrame, model: str) -> tuple[pd.Series, pd.DataFrame]:
    """Parameters and log-parameter covariance of ``model`` from ``model_fit`` rows."""
    names = list(PARAMETER_NAMES[model])
    values = fits[fits["model"] == model].set_index("metric")["value"]
    missing = [n for n in names if n not in values.index]
    if missing:
        raise ValueError(f"model_fit has no {model} parameter(s) {missing}: "
                         f"run build_model_fit first")
    cov = pd.DataFrame(index=names, columns=names, dtype=float)
    for i, a in enumerate(names):
        for b in names[i:]:
            cov.loc[a, b] = cov.loc[b, a] = values[f"cov_log_{a}_log_{b}"]
    return values[names].astype(float), cov


def fitted_models(con: duckdb.DuckDBPyConnection) -> FittedModels:
    """The scoring models stored by :func:`build_model_fit`.

    Reads ``model_comparison`` (model, chosen) for the purchase model and ``model_fit``
    (model, fitted_on, metric, value) for its whole-history parameters and covariance and
    Gamma-Gamma's; the scores then equal those of the fitted models.
    """
    require_columns(con, "model_fit", ("model", "fitted_on", "metric", "value"))
    require_columns(con, "model_comparison", ("model", "chosen"))
    comparison = read_table(con, "model_comparison")
    chosen = comparison.loc[comparison["chosen"].fillna(False).astype(bool), "model"]
    if len(chosen) != 1:
        raise ValueError("model_comparison marks no scoring model: run build_model_fit first")
    fits = read_table(con, "model_fit")
    fits = fits[fits["fitted_on"] == WHOLE_HISTORY]
    purchase_params, purchase_cov = _stored(fits, chosen.iloc[0])
    spend_params, spend_cov = _stored(fits, "gamma_gamma")
    return FittedModels(chosen.iloc[0], purchase_params, purchase_cov, spend_params, spend_cov)


def lifetimes_fitter(model: str, params: pd.Series) -> BaseFitter:
    """A lifetimes purchase model carrying ``params`` (for its charts and methods, which use
    only ``params_``)."""
    fitter = FITTERS[model]()
    fitter.params_ = params[list(PARAMETER_NAMES[model])].astype(float)
    return fitter


def build_clv(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Score every customer with the stored models; write ``clv`` and ``customer_equity``.

    ``clv``: :func:`score_customers` with ``clv_low`` and ``clv_high``, the
    ``clv.interval_level`` interval of ``clv`` from :func:`clv_intervals` (parameter
    uncertainty). ``customer_equity``: total equity (the sum of ``clv``) now, with its interval,
    and if dropout were lowered by each of ``clv.retention_steps`` (:func:`loyalty_scenarios`).

    Reads ``transactions`` (through :func:`rfm_summary`), ``model_fit`` and
    ``model_comparison`` (:func:`fitted_models`) and ``customer_value`` (customer_id,
    margin_rate, support_cost_per_year: each customer's own margin and support cost). Returns
    the rows of ``clv``.
    """
    require_columns(con, "customer_value",
                    ("customer_id", "margin_rate", "support_cost_per_year"))
    models = fitted_models(con)
    value = con.execute("SELECT customer_id, margin_rate, support_cost_per_year "
                        "FROM customer_value ORDER BY customer_id").df().set_index("customer_id")
    summary = rfm_summary(con, cfg)
    scores = score_customers(summary, models.purchase_model, models.purchase_params,
                             models.spend_params, cfg, margin_rate=value["margin_rate"],
                             support_cost_per_year=value["support_cost_per_year"])
    per_customer, total = clv_intervals(
        summary, models.purchase_model, models.purchase_params, models.purchase_cov,
        models.spend_params, models.spend_cov, cfg, margin_rate=value["margin_rate"])
    scores = scores.merge(per_customer, on="customer_id", how="left", validate="one_to_one")
    equity = loyalty_scenarios(summary, models.purchase_model, models.purchase_params,
                               models.spend_params, cfg, margin_rate=value["margin_rate"])
    now = equity["scenario"] == "now"
    equity["total_equity_low"] = np.where(now, total["low"], np.nan)
    equity["total_equity_high"] = np.where(now, total["high"], np.nan)
    equity.insert(0, "model", models.purchase_model)
    write_table(con, "customer_equity", equity)
    return write_table(con, "clv", scores)


def parameter_table(model_fit: pd.DataFrame, cfg: RunConfig) -> pd.DataFrame:
    """Every fitted parameter with its interval and, for a simulation, the truth beside it.

    Parameters
    ----------
    model_fit
        The ``model_fit`` table: ``model``, ``fitted_on``, ``metric``, ``value``, ``low``,
        ``high`` (parameters are the rows with an interval).
    cfg
        Uses ``clv.truth`` (see :func:`true_parameters`).

    Returns
    -------
    pandas.DataFrame
        ``model``, ``metric``, ``value``, ``low``, ``high``, ``fitted_on``; with a truth file
        also ``true_value`` and ``covered`` (the interval holds the truth; missing where the
        truth has no such parameter).
    """
    require_frame_columns(model_fit, "model_fit",
                          ("model", "fitted_on", "metric", "value", "low", "high"))
    parameters = model_fit[model_fit["low"].notna()]
    parameters = parameters[["model", "metric", "value", "low", "high", "fitted_on"]]
    truth = true_parameters(cfg)
    if truth is None:
        return parameters.reset_index(drop=True)
    parameters = parameters.merge(truth, on=["model", "metric"], how="left")
    covered = parameters["true_value"].between(parameters["low"], parameters["high"])
    return parameters.assign(covered=covered.where(parameters["true_value"].notna()))


def true_parameters(cfg: RunConfig) -> pd.DataFrame | None:
    """The simulation's true parameters named by ``clv.truth``, in the run's time unit.

    The file is JSON with a ``bgnbd`` object (r, alpha, a, b and ``time_unit``: 'days' or
    'weeks', the unit alpha is per) and a ``gamma_gamma`` object (p, q and v, or ``gamma`` for
    v) — the demo generator's ``truth/parameters.json``.

    Returns
    -------
    pandas.DataFrame or None
        Columns ``model``, ``metric``, ``true_value``; None when the config names no file.
    """
    if not cfg.clv.truth:
        return None
    truth = json.loads(cfg.resolve_path(cfg.clv.truth).read_text(encoding="utf-8"))
    bgnbd, spend = truth["bgnbd"], truth["gamma_gamma"]
    days_in_truth_unit = {"days": 1.0, "weeks": 7.0}[bgnbd.get("time_unit", "weeks")]
    rows = [("bgnbd", "r", bgnbd["r"]),
            # alpha is a scale of time: per truth unit -> per run unit
            ("bgnbd", "alpha", bgnbd["alpha"] * days_in_truth_unit / cfg.days_per_unit),
            ("bgnbd", "a", bgnbd["a"]), ("bgnbd", "b", bgnbd["b"]),
            ("gamma_gamma", "p", spend["p"]), ("gamma_gamma", "q", spend["q"]),
            ("gamma_gamma", "v", spend.get("v", spend.get("gamma")))]
    return pd.DataFrame(rows, columns=["model", "metric", "true_value"])
