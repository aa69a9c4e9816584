"""Customer lifetime value: the BG/NBD purchase model and the Gamma-Gamma spend model.

Stage 03 of the kit. The notebook calls two builders:

* :func:`build_model_fit` — fits the models on :func:`rfm_summary` (one row of sufficient
  statistics per customer, computed in DuckDB from ``transactions``) with
  :func:`fit_bgnbd` and :func:`fit_gamma_gamma`, and writes ``model_fit``: the parameters
  and an in-sample check (:func:`model_fit_table`);
* :func:`build_clv` — rebuilds the fitted models from ``model_fit`` (:func:`fitted_models`)
  and writes ``clv``: probability alive, expected purchases and spend, discounted CLV,
  expected cost to serve and net CLV (:func:`score_customers`).

The charts are in :mod:`helpers.display`.

References: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way" (BG/NBD) and
"RFM and CLV: Using Iso-Value Curves for Customer Base Analysis" (Gamma-Gamma and CLV).
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter

from helpers.clv.fitting import (
    INDEPENDENCE_WARNING_CORRELATION,
    MIN_CUSTOMERS,
    MIN_REPEAT_CUSTOMERS,
    fit_bgnbd,
    fit_gamma_gamma,
    frequency_monetary_correlation,
    repeat_customers,
)
from helpers.clv.summary import SUMMARY_COLUMNS, TRANSACTION_COLUMNS, rfm_summary
from helpers.clv.value import CLV_COLUMNS, DAYS_PER_MONTH, LIFETIMES_FREQ, score_customers
from helpers.config import RunConfig
from helpers.warehouse import read_table, require_columns, require_frame_columns, write_table

__all__ = ["rfm_summary", "fit_bgnbd", "fit_gamma_gamma", "frequency_monetary_correlation",
           "score_customers", "model_fit_table", "fitted_models", "build_model_fit",
           "build_clv", "INDEPENDENCE_WARNING_CORRELATION", "MIN_CUSTOMERS",
           "MIN_REPEAT_CUSTOMERS", "SUMMARY_COLUMNS", "TRANSACTION_COLUMNS", "CLV_COLUMNS",
           "DAYS_PER_MONTH", "LIFETIMES_FREQ"]

#: The in-sample fit check compares customers with 0, 1, ..., 6 repeat purchases and 7 or more.
FIT_BUCKETS = 7


def _frequency_fit(summary: pd.DataFrame, bgf: BetaGeoFitter) -> list[tuple[str, str, float]]:
    """Actual vs BG/NBD-expected number of customers with 0..6 and 7+ repeat purchases."""
    customers_per_age = summary.groupby("T").size()
    # lifetimes' probability_of_n_purchases_up_to_time takes one scalar t, so evaluate it per
    # distinct age (one per first-purchase day, far fewer than customers) and weight by count.
    probabilities = np.array([
        [bgf.probability_of_n_purchases_up_to_time(age, n) for n in range(FIT_BUCKETS)]
        for age in customers_per_age.index
    ])
    expected = customers_per_age.to_numpy() @ probabilities
    expected = np.append(expected, len(summary) - expected.sum())
    actual = np.bincount(np.minimum(summary["frequency"].to_numpy(dtype=int), FIT_BUCKETS),
                         minlength=FIT_BUCKETS + 1)
    labels = [str(n) for n in range(FIT_BUCKETS)] + [f"{FIT_BUCKETS}plus"]
    rows = []
    for label, n_actual, n_expected in zip(labels, actual, expected, strict=True):
        rows.append(("bgnbd", f"customers_with_{label}_repeat_actual", float(n_actual)))
        rows.append(("bgnbd", f"customers_with_{label}_repeat_expected", float(n_expected)))
    return rows


def model_fit_table(summary: pd.DataFrame, bgf: BetaGeoFitter,
                    ggf: GammaGammaFitter) -> pd.DataFrame:
    """The ``model_fit`` table: parameters and in-sample checks of both models, long format.

    Metrics of model ``bgnbd``: ``r``, ``alpha``, ``a``, ``b``; ``log_likelihood`` (total over
    customers, without the penalizer, in model time units — lifetimes 0.11 has no
    ``log_likelihood_`` attribute, only a mean penalized value on rescaled time); ``n_customers``;
    ``repeat_purchases_actual`` / ``_expected`` (sum of frequency vs sum of E[X(T)]); and
    ``customers_with_K_repeat_actual`` / ``_expected`` for K = 0..6 and ``7plus``, the expected
    count being the sum over customers of P(X(T) = K), X(T) the repeat purchases in a
    customer's own observed time T.

    Metrics of model ``gamma_gamma``: ``p``, ``q``, ``v``, ``log_likelihood``,
    ``n_repeat_customers``, ``freq_monetary_corr`` (see
    :func:`frequency_monetary_correlation`).

    Parameters
    ----------
    summary
        The summary the models were fitted on: columns ``frequency``, ``recency``, ``T``,
        ``monetary_value``.
    bgf, ggf
        From :func:`fit_bgnbd` and :func:`fit_gamma_gamma`.

    Returns
    -------
    pandas.DataFrame
        Columns ``model``, ``metric``, ``value`` (float).
    """
    require_frame_columns(summary, "summary", SUMMARY_COLUMNS[1:])
    n = len(summary)
    frequency, recency, age = (summary[c].to_numpy(dtype=float)
                               for c in ("frequency", "recency", "T"))
    # The library's own likelihood (a static method), at the fitted parameters, unpenalized.
    bgnbd_log_likelihood = -n * BetaGeoFitter._negative_log_likelihood(
        np.log(bgf.params_[["r", "alpha", "a", "b"]].to_numpy()), frequency, recency, age,
        np.ones(n), 0.0)
    repeat = repeat_customers(summary)
    gg_log_likelihood = -len(repeat) * GammaGammaFitter._negative_log_likelihood(
        np.log(ggf.params_[["p", "q", "v"]].to_numpy()),
        repeat["frequency"].to_numpy(dtype=float), repeat["monetary_value"].to_numpy(dtype=float),
        np.ones(len(repeat)), 0.0)

    rows = [("bgnbd", name, value) for name, value in bgf.params_.items()]
    rows += [
        ("bgnbd", "log_likelihood", bgnbd_log_likelihood),
        ("bgnbd", "n_customers", n),
        ("bgnbd", "repeat_purchases_actual", frequency.sum()),
        ("bgnbd", "repeat_purchases_expected",
         np.sum(bgf.expected_number_of_purchases_up_to_time(age))),
    ]
    rows += _frequency_fit(summary, bgf)
    rows += [("gamma_gamma", name, value) for name, value in ggf.params_.items()]
    rows += [
        ("gamma_gamma", "log_likelihood", gg_log_likelihood),
        ("gamma_gamma", "n_repeat_customers", len(repeat)),
        ("gamma_gamma", "freq_monetary_corr", frequency_monetary_correlation(summary)),
    ]
    table = pd.DataFrame(rows, columns=["model", "metric", "value"])
    return table.astype({"model": str, "metric": str, "value": float})


def fitted_models(con: duckdb.DuckDBPyConnection) -> tuple[BetaGeoFitter, GammaGammaFitter]:
    """The BG/NBD and Gamma-Gamma models with the parameters stored in ``model_fit``.

    Reads ``model_fit`` (model, metric, value): metrics r, alpha, a, b of model ``bgnbd`` and
    p, q, v of ``gamma_gamma``. lifetimes' predictions use only ``params_``, so the models
    score exactly as the fitted ones did.
    """
    require_columns(con, "model_fit", ("model", "metric", "value"))
    stored = read_table(con, "model_fit").set_index(["model", "metric"])["value"]
    models = []
    for fitter, model, names in ((BetaGeoFitter(), "bgnbd", ["r", "alpha", "a", "b"]),
                                 (GammaGammaFitter(), "gamma_gamma", ["p", "q", "v"])):
        missing = [n for n in names if (model, n) not in stored.index]
        if missing:
            raise ValueError(f"model_fit has no {model} parameter(s) {missing}: "
                             f"run build_model_fit first")
        fitter.params_ = pd.Series([float(stored[(model, n)]) for n in names], index=names)
        models.append(fitter)
    bgf, ggf = models
    # lifetimes attaches ``predict`` inside ``fit``; Gamma-Gamma's CLV calls it on the BG/NBD
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    return bgf, ggf


def build_model_fit(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Fit BG/NBD and Gamma-Gamma on :func:`rfm_summary`; write ``model_fit``.

    Reads ``transactions`` (customer_id, order_date, amount). See :func:`fit_bgnbd`,
    :func:`fit_gamma_gamma` and :func:`model_fit_table`. Returns the rows written.
    """
    summary = rfm_summary(con, cfg)
    bgf = fit_bgnbd(summary, cfg)
    ggf = fit_gamma_gamma(summary, cfg)
    return write_table(con, "model_fit", model_fit_table(summary, bgf, ggf))


def build_clv(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Score every customer with the stored models; write ``clv`` (see :func:`score_customers`).

    Reads ``transactions`` (through :func:`rfm_summary`), ``model_fit`` (the parameters) and
    ``customer_value`` (customer_id, margin_rate, support_cost_per_year: each customer's own
    margin and support cost). Returns the rows written.
    """
    require_columns(con, "customer_value",
                    ("customer_id", "margin_rate", "support_cost_per_year"))
    bgf, ggf = fitted_models(con)
    value = con.execute("SELECT customer_id, margin_rate, support_cost_per_year "
                        "FROM customer_value").df().set_index("customer_id")
    scores = score_customers(rfm_summary(con, cfg), bgf, ggf, cfg,
                             margin_rate=value["margin_rate"],
                             support_cost_per_year=value["support_cost_per_year"])
    return write_table(con, "clv", scores)
