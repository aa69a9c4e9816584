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

import contextlib
import io
import logging
import warnings
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

from helpers.config import RunConfig
from helpers.errors import TooLittleDataError
from helpers.warehouse import (
    query,
    read_table,
    require_columns,
    require_frame_columns,
    write_table,
)

__all__ = ["rfm_summary", "fit_bgnbd", "fit_gamma_gamma", "frequency_monetary_correlation",
           "score_customers", "model_fit_table", "fitted_models", "build_model_fit",
           "build_clv"]

logger = logging.getLogger(__name__)

#: Average days in a calendar month (365.25 / 12): converts the horizon in months to time units.
DAYS_PER_MONTH = 30.4375

#: ``freq`` argument of lifetimes' ``customer_lifetime_value`` for each model time unit. It
#: names the unit T is measured in; lifetimes turns each month of ``time`` into 30 units for
#: 'D' and 4.345 units for 'W' (4.345 weeks = 30.4 days, so 'W' is right for weeks).
LIFETIMES_FREQ = {"day": "D", "week": "W"}

#: |Pearson r| between frequency and spend among repeat customers above which the Gamma-Gamma
#: independence assumption is reported as doubtful (FHL 2005 found 0.11 on CDNOW).
INDEPENDENCE_WARNING_CORRELATION = 0.3

#: Fewest customers with a purchase, and fewest of them with a repeat purchase, the models are
#: fitted on. Below that the parameters are not identified: lifetimes fails with a singular
#: matrix or returns values that mean nothing, so the run stops and says so instead.
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10

#: The in-sample fit check compares customers with 0, 1, ..., 6 repeat purchases and 7 or more.
FIT_BUCKETS = 7

TRANSACTION_COLUMNS = ("customer_id", "order_date", "amount")
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
CLV_COLUMNS = (
    "customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
    "expected_purchases", "expected_avg_spend", "margin_rate", "clv",
    "expected_service_cost", "clv_net",
)



def rfm_summary(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer, computed in DuckDB.

    Runs ``sql/rfm_summary.sql`` (see there for the Fader-Hardie conventions) on the warehouse.

    Parameters
    ----------
    con
        The run's warehouse; needs table ``transactions`` with columns ``customer_id``,
        ``order_date`` (DATE) and ``amount`` (DOUBLE, negative = return).
    cfg
        Uses ``as_of`` (later transactions are ignored) and ``days_per_unit``.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``frequency`` (repeat purchase days), ``recency`` and ``T``
        (time units), ``monetary_value`` (mean repeat day value), ``first_purchase`` and
        ``last_purchase`` (dates); one row per customer with a purchase, sorted by customer_id.
    """
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    params = {"as_of": cfg.as_of, "days_per_unit": float(cfg.days_per_unit)}
    return query(con, "rfm_summary", params).df()


def _fit_or_explain(model_name: str, n_customers: int, fit: Callable, *args, **kwargs) -> None:
    """Call a lifetimes ``fit``; turn a convergence failure or a singular information matrix
    (the data do not identify the parameters) into an explicit error."""
    # lifetimes prints scipy's optimizer report to stdout just before raising; keep it for
    # the error message rather than let it land in the notebook out of context.
    optimizer_report = io.StringIO()
    try:
        with contextlib.redirect_stdout(optimizer_report):
            fit(*args, **kwargs)
    except np.linalg.LinAlgError as exc:
        raise TooLittleDataError(
            f"the {model_name} model cannot be estimated from these {n_customers} customers: "
            f"their purchase histories are too alike or too few to tell its parameters apart "
            f"({exc})") from exc
    except ConvergenceError as exc:
        raise ConvergenceError(
            f"the {model_name} model did not converge on {n_customers} customers; try a larger "
            f"clv.penalizer_coef in the run config. Optimizer report:\n"
            f"{optimizer_report.getvalue()}"
        ) from exc


def _require_enough_customers(n_customers: int, n_repeat: int, model_name: str) -> None:
    """Stop with :class:`TooLittleDataError` below :data:`MIN_CUSTOMERS` customers or
    :data:`MIN_REPEAT_CUSTOMERS` repeat customers."""
    if n_customers < MIN_CUSTOMERS or n_repeat < MIN_REPEAT_CUSTOMERS:
        raise TooLittleDataError(
            f"too little data to fit the {model_name} model: {n_customers} customers bought up "
            f"to the as-of date and {n_repeat} of them more than once; the kit needs at least "
            f"{MIN_CUSTOMERS} customers and {MIN_REPEAT_CUSTOMERS} repeat customers to value "
            f"customers. Check the as-of date and that the transaction sources were loaded")


def fit_bgnbd(summary: pd.DataFrame, cfg: RunConfig) -> BetaGeoFitter:
    """Fit the BG/NBD model of repeat purchasing and dropout.

    Parameters
    ----------
    summary
        From :func:`rfm_summary`: columns ``customer_id``, ``frequency``, ``recency``, ``T``.
    cfg
        Uses ``clv.penalizer_coef``. lifetimes adds ``penalizer_coef * sum(params**2)`` to the
        *mean* negative log-likelihood per customer (with time rescaled so the oldest customer
        has T = 1), so even 0.001 visibly shrinks a and b; 0 gives the plain MLE.

    Returns
    -------
    lifetimes.BetaGeoFitter
        Fitted; ``params_`` holds r, alpha (per time unit), a, b.

    Raises
    ------
    lifetimes.utils.ConvergenceError
        If the optimizer does not converge, naming the number of customers.
    helpers.errors.TooLittleDataError
        Fewer than :data:`MIN_CUSTOMERS` customers or :data:`MIN_REPEAT_CUSTOMERS` repeat
        customers, or histories that do not identify the parameters.
    """
    require_frame_columns(summary, "summary", ("customer_id", "frequency", "recency", "T"))
    _require_enough_customers(len(summary), int((summary["frequency"] > 0).sum()), "BG/NBD")
    bgf = BetaGeoFitter(penalizer_coef=cfg.clv.penalizer_coef)
    _fit_or_explain("BG/NBD", len(summary), bgf.fit, summary["frequency"], summary["recency"],
                    summary["T"], index=summary["customer_id"])
    return bgf


def frequency_monetary_correlation(summary: pd.DataFrame) -> float:
    """Pearson correlation of frequency and monetary value among repeat customers.

    The Gamma-Gamma model assumes a customer's spend per purchase is independent of how often
    they buy; a correlation near 0 supports it.

    Parameters
    ----------
    summary
        Columns ``frequency`` and ``monetary_value``; customers with frequency > 0 and
        monetary_value > 0 count.

    Returns
    -------
    float
        NaN with fewer than two repeat customers or no variation.
    """
    require_frame_columns(summary, "summary", ("frequency", "monetary_value"))
    repeat = _repeat_customers(summary)
    return float(repeat["frequency"].corr(repeat["monetary_value"]))


def _repeat_customers(summary: pd.DataFrame) -> pd.DataFrame:
    """Customers the Gamma-Gamma model learns from: a repeat purchase of positive mean value."""
    return summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]


def fit_gamma_gamma(summary: pd.DataFrame, cfg: RunConfig) -> GammaGammaFitter:
    """Fit the Gamma-Gamma model of spend per purchase, on repeat customers.

    Checks the model's independence assumption (see :func:`frequency_monetary_correlation`):
    the correlation is logged, and a ``UserWarning`` is issued when its absolute value exceeds
    :data:`INDEPENDENCE_WARNING_CORRELATION`; the fit goes ahead either way.

    Parameters
    ----------
    summary
        From :func:`rfm_summary`: columns ``customer_id``, ``frequency``, ``monetary_value``.
        Only customers with frequency > 0 and monetary_value > 0 are used.
    cfg
        Uses ``clv.penalizer_coef``.

    Returns
    -------
    lifetimes.GammaGammaFitter
        Fitted; ``params_`` holds p, q, v.

    Raises
    ------
    lifetimes.utils.ConvergenceError
        If the optimizer does not converge, naming the number of repeat customers.
    helpers.errors.TooLittleDataError
        Too few customers or repeat customers (see :func:`fit_bgnbd`).
    ValueError
        If the fit gives q <= 1: the population mean spend
        v·p/(q−1) that one-time buyers are valued at is then not defined.
    """
    require_frame_columns(summary, "summary", ("customer_id", "frequency", "monetary_value"))
    repeat = _repeat_customers(summary)
    _require_enough_customers(len(summary), len(repeat), "Gamma-Gamma")
    correlation = frequency_monetary_correlation(summary)
    logger.info("Gamma-Gamma independence check: corr(frequency, monetary_value) = %.3f "
                "over %d repeat customers", correlation, len(repeat))
    if abs(correlation) > INDEPENDENCE_WARNING_CORRELATION:
        warnings.warn(
            f"frequency and monetary_value correlate (Pearson r = {correlation:.2f} over "
            f"{len(repeat)} repeat customers): the Gamma-Gamma model assumes spend per purchase "
            f"does not depend on purchase frequency, so expected spend and CLV may be biased",
            UserWarning, stacklevel=2,
        )
    ggf = GammaGammaFitter(penalizer_coef=cfg.clv.penalizer_coef)
    _fit_or_explain("Gamma-Gamma", len(repeat), ggf.fit, repeat["frequency"],
                    repeat["monetary_value"], index=repeat["customer_id"])
    if ggf.params_["q"] <= 1:
        raise ValueError(f"the Gamma-Gamma fit on {len(repeat)} repeat customers gave "
                         f"q = {ggf.params_['q']:.3f} <= 1, so the population mean spend is not "
                         f"defined; check monetary_value for outliers")
    return ggf


def _per_customer(values: pd.Series | None, customers: pd.Index, default: float,
                  name: str) -> pd.Series:
    """``values`` (indexed by customer_id) aligned to ``customers``; missing/NaN -> default."""
    if values is None:
        return pd.Series(default, index=customers, dtype=float)
    if not values.index.is_unique:
        raise ValueError(f"{name} must have one value per customer_id; "
                         f"duplicated: {values.index[values.index.duplicated()][:5].tolist()}")
    return values.reindex(customers).astype(float).fillna(default)


def score_customers(summary: pd.DataFrame, bgf: BetaGeoFitter, ggf: GammaGammaFitter,
                    cfg: RunConfig, margin_rate: pd.Series | None = None,
                    support_cost_per_year: pd.Series | None = None) -> pd.DataFrame:
    """The ``clv`` table: each customer's expected future purchases, spend, and value.

    Over a horizon of ``H = cfg.clv.horizon_months`` months, discounted monthly at
    ``d = (1 + cfg.clv.annual_discount_rate) ** (1/12) - 1``:

    - ``p_alive``: probability the customer has not dropped out (BG/NBD); always 1 for
      one-time buyers, since in BG/NBD a customer can only drop out right after a repeat
      purchase;
    - ``expected_purchases``: expected repeat purchases within H months, a month being
      :data:`DAYS_PER_MONTH` days (BG/NBD, conditional on the customer's history);
    - ``expected_avg_spend``: expected value per purchase (Gamma-Gamma); for one-time buyers
      the population mean, which is the model's answer when nothing is known;
    - ``clv``: lifetimes' ``GammaGammaFitter.customer_lifetime_value`` with ``time=H`` and
      ``discount_rate=d`` — the sum over months m = 1..H of the month's expected purchases
      times expected spend, divided by (1+d)**m — times ``margin_rate``: discounted expected
      gross margin. Note lifetimes' month is 30 days for ``freq='D'`` (so 12 months cover
      360 days) and 4.345 weeks for ``freq='W'`` (365 days), slightly shorter than the
      calendar months of ``expected_purchases``;
    - ``expected_service_cost``: (expected_purchases × ``cfg.costs.cost_per_order`` +
      p_alive × support cost per year × H/12) / (1+d)**(H/2), i.e. spread over the horizon
      and discounted as if paid at its middle;
    - ``clv_net`` = clv − expected_service_cost.

    Parameters
    ----------
    summary
        From :func:`rfm_summary`: columns ``customer_id``, ``frequency``, ``recency``, ``T``,
        ``monetary_value``; one row per customer.
    bgf, ggf
        From :func:`fit_bgnbd` and :func:`fit_gamma_gamma`.
    cfg
        Uses ``time_unit``, ``days_per_unit``, ``clv.horizon_months``,
        ``clv.annual_discount_rate``, ``costs.gross_margin_rate``, ``costs.cost_per_order``.
    margin_rate
        Gross margin rate per customer, indexed by customer_id (e.g. from product costs);
        customers absent or NaN get ``cfg.costs.gross_margin_rate``.
    support_cost_per_year
        Support cost per customer per year, indexed by customer_id; absent or NaN means 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``,
        ``p_alive``, ``expected_purchases``, ``expected_avg_spend``, ``margin_rate``, ``clv``,
        ``expected_service_cost``, ``clv_net``; sorted by customer_id.
    """
    require_frame_columns(summary, "summary", SUMMARY_COLUMNS)
    history = summary.set_index("customer_id")[list(SUMMARY_COLUMNS[1:])].sort_index()
    if not history.index.is_unique:
        raise ValueError("summary must have one row per customer_id; duplicated: "
                         f"{history.index[history.index.duplicated()][:5].tolist()}")
    frequency, recency, age, monetary = (history[c] for c in SUMMARY_COLUMNS[1:])
    horizon = cfg.clv.horizon_months
    monthly_rate = (1 + cfg.clv.annual_discount_rate) ** (1 / 12) - 1

    scores = history.copy()
    scores["p_alive"] = bgf.conditional_probability_alive(frequency, recency, age)
    scores["expected_purchases"] = bgf.conditional_expected_number_of_purchases_up_to_time(
        horizon * DAYS_PER_MONTH / cfg.days_per_unit, frequency, recency, age)
    scores["expected_avg_spend"] = ggf.conditional_expected_average_profit(frequency, monetary)
    scores["margin_rate"] = _per_customer(margin_rate, history.index,
                                          cfg.costs.gross_margin_rate, "margin_rate")
    discounted_revenue = ggf.customer_lifetime_value(
        bgf, frequency, recency, age, monetary, time=horizon, discount_rate=monthly_rate,
        freq=LIFETIMES_FREQ[cfg.time_unit])
    scores["clv"] = discounted_revenue * scores["margin_rate"]
    support = _per_customer(support_cost_per_year, history.index, 0.0, "support_cost_per_year")
    service_cost = (scores["expected_purchases"] * cfg.costs.cost_per_order
                    + scores["p_alive"] * support * horizon / 12)
    scores["expected_service_cost"] = service_cost / (1 + monthly_rate) ** (horizon / 2)
    scores["clv_net"] = scores["clv"] - scores["expected_service_cost"]
    return scores.reset_index()[list(CLV_COLUMNS)]


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
    repeat = _repeat_customers(summary)
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
