"""Fitting the BTYD purchase model and the Gamma-Gamma spend model with lifetimes."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import ConvergenceError

from helpers.config import RunConfig
from helpers.errors import TooLittleDataError
from helpers.warehouse import require_frame_columns

__all__ = ["INDEPENDENCE_WARNING_CORRELATION", "MIN_CUSTOMERS", "MIN_REPEAT_CUSTOMERS",
           "fit_bgnbd", "fit_gamma_gamma", "frequency_monetary_correlation", "repeat_customers"]

logger = logging.getLogger(__name__)

#: |Pearson r| between frequency and spend among repeat customers above which the Gamma-Gamma
#: independence assumption is reported as doubtful (FHL 2005 found 0.11 on CDNOW).
INDEPENDENCE_WARNING_CORRELATION = 0.3

#: Fewest customers with a purchase, and fewest of them with a repeat purchase, the models are
#: fitted on. Below that the parameters are not identified: lifetimes fails with a singular
#: matrix or returns values that mean nothing, so the run stops and says so instead.
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10


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
    repeat = repeat_customers(summary)
    return float(repeat["frequency"].corr(repeat["monetary_value"]))


def repeat_customers(summary: pd.DataFrame) -> pd.DataFrame:
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
    repeat = repeat_customers(summary)
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

