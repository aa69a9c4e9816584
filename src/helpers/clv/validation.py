"""Validating the purchase models on a holdout period, comparing them and choosing one.

The models are fitted on a calibration period (see :func:`fit_purchase_model`) and asked to
predict each customer's repeat purchases in the holdout period that follows, which they have
not seen. Fader, Hardie & Lee (2005) judge a model this way: per customer (mean absolute and
root mean squared error), in total, by calibration frequency (do the heavy buyers of the
calibration period slow down as much as the model expects?) and week by week (the tracking
plot: the cohort's repeat purchases against the model's expectation, across both periods).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from helpers.clv.fitting import ModelFit
from helpers.config import RunConfig
from helpers.warehouse import require_frame_columns

__all__ = ["CAL_HOLDOUT_COLUMNS", "by_calibration_frequency", "choose_model",
           "expected_tracking", "holdout_predictions", "model_comparison"]

#: The calibration/holdout summary's columns the validation reads, in model time units.
CAL_HOLDOUT_COLUMNS = ("customer_id", "frequency_cal", "recency_cal", "T_cal",
                       "frequency_holdout", "duration_holdout")


def holdout_predictions(cal_holdout: pd.DataFrame, fit: ModelFit) -> pd.DataFrame:
    """Each customer's expected repeat purchases in the holdout beside the actual number.

    The expectation is conditional on the customer's calibration history: lifetimes'
    ``conditional_expected_number_of_purchases_up_to_time(duration_holdout, frequency_cal,
    recency_cal, T_cal)``, evaluated once per distinct history and holdout length.

    Parameters
    ----------
    cal_holdout
        One row per customer of the calibration cohort: :data:`CAL_HOLDOUT_COLUMNS`.
    fit
        A purchase model fitted on the calibration columns.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``frequency_cal``, ``frequency_holdout`` (actual) and
        ``predicted_holdout``, in the input's row order.
    """
    require_frame_columns(cal_holdout, "cal_holdout", CAL_HOLDOUT_COLUMNS)
    keys = ["frequency_cal", "recency_cal", "T_cal", "duration_holdout"]
    groups = cal_holdout.groupby(keys, sort=True)
    distinct = groups.size().index.to_frame(index=False)
    predicted = fit.fitter.conditional_expected_number_of_purchases_up_to_time(
        *(distinct[c].to_numpy(dtype=float) for c in
          ("duration_holdout", "frequency_cal", "recency_cal", "T_cal")))
    return pd.DataFrame({
        "customer_id": cal_holdout["customer_id"].to_numpy(),
        "frequency_cal": cal_holdout["frequency_cal"].to_numpy(),
        "frequency_holdout": cal_holdout["frequency_holdout"].to_numpy(dtype=float),
        "predicted_holdout": np.asarray(predicted, dtype=float)[groups.ngroup().to_numpy()],
    })


def model_comparison(cal_holdout: pd.DataFrame, fits: Sequence[ModelFit]) -> pd.DataFrame:
    """One row per purchase model: fit on the calibration period and errors on the holdout.

    Parameters
    ----------
    cal_holdout
        :data:`CAL_HOLDOUT_COLUMNS`, the customers the models were fitted on.
    fits
        Purchase models fitted on the calibration columns of ``cal_holdout``.

    Returns
    -------
    pandas.DataFrame
        ``model``, ``log_likelihood``, ``n_params``, ``bic`` (calibration period; lower BIC is
        better), ``holdout_mae`` and ``holdout_rmse`` (per customer, repeat purchases),
        ``holdout_actual_total``, ``holdout_predicted_total``, ``holdout_total_error``
        ((predicted − actual) / actual), and the fit's ``starts``, ``log_likelihood_spread``,
        ``penalizer`` and ``how``. In the order of ``fits``.
    """
    rows = []
    for fit in fits:
        predictions = holdout_predictions(cal_holdout, fit)
        error = predictions["predicted_holdout"] - predictions["frequency_holdout"]
        actual = float(predictions["frequency_holdout"].sum())
        predicted = float(predictions["predicted_holdout"].sum())
        rows.append({
            "model": fit.model, "log_likelihood": fit.log_likelihood, "n_params": fit.n_params,
            "bic": fit.bic, "holdout_mae": float(error.abs().mean()),
            "holdout_rmse": float(np.sqrt((error ** 2).mean())),
            "holdout_actual_total": actual, "holdout_predicted_total": predicted,
            "holdout_total_error": (predicted - actual) / actual if actual else np.nan,
            "starts": fit.starts, "log_likelihood_spread": fit.log_likelihood_spread,
            "penalizer": fit.penalizer, "how": fit.how,
        })
    return pd.DataFrame(rows)


def by_calibration_frequency(cal_holdout: pd.DataFrame, fit: ModelFit,
                             max_frequency: int = 7) -> pd.DataFrame:
    """Actual and predicted mean holdout purchases by calibration frequency (FHL 2005, fig. 4).

    Parameters
    ----------
    cal_holdout
        :data:`CAL_HOLDOUT_COLUMNS`.
    fit
        A purchase model fitted on the calibration columns.
    max_frequency
        Customers with this many calibration repeat purchases or more form the last group.

    Returns
    -------
    pandas.DataFrame
        ``frequency_cal`` (0 .. max_frequency, the last meaning "max_frequency or more"),
        ``customers``, ``actual_mean``, ``predicted_mean``; one row per group with customers.
    """
    predictions = holdout_predictions(cal_holdout, fit)
    group = np.minimum(predictions["frequency_cal"].to_numpy(dtype=int), max_frequency)
    table = predictions.groupby(group).agg(
        customers=("frequency_holdout", "size"), actual_mean=("frequency_holdout", "mean"),
        predicted_mean=("predicted_holdout", "mean"))
    return table.rename_axis("frequency_cal").reset_index()


def choose_model(comparison: pd.DataFrame, cfg: RunConfig) -> str:
    """The purchase model that scores customers.

    ``clv.purchase_model`` when it names a model; with 'auto', the model with the smallest
    holdout MAE per customer (the error the CLV figures inherit), an exact tie going to the
    smaller BIC and then to the model listed first. Without holdout errors (all NaN) that
    leaves the smallest BIC.

    Parameters
    ----------
    comparison
        From :func:`model_comparison`: ``model``, ``holdout_mae``, ``bic``.
    cfg
        Uses ``clv.purchase_model``.

    Raises
    ------
    ValueError
        If the chosen model is not in ``comparison``.
    """
    require_frame_columns(comparison, "comparison", ("model", "holdout_mae", "bic"))
    chosen = cfg.clv.purchase_model
    if chosen == "auto":
        ranked = comparison.sort_values(["holdout_mae", "bic"], kind="stable")
        chosen = str(ranked["model"].iloc[0])
    if chosen not in set(comparison["model"]):
        raise ValueError(f"the purchase model '{chosen}' was not compared: the comparison has "
                         f"{', '.join(comparison['model'])}")
    return chosen


def expected_tracking(fit: ModelFit, first_purchase_days: pd.DataFrame, periods: pd.DataFrame,
                      days_per_unit: float, *, observation_end: date | None = None
                      ) -> pd.DataFrame:
    """The cohort's expected repeat purchases per period, for the tracking plot.

    A customer who first bought on day b has made X(t) repeat purchases by day b + t; the
    cohort's expected cumulative repeat purchases by the last day L of a period are
    sum over first-purchase days b of customers(b) · E[X(L − b)], with lifetimes'
    unconditional ``expected_number_of_purchases_up_to_time``; the expectation per period is
    the difference between consecutive periods.

    Parameters
    ----------
    fit
        A purchase model (usually fitted on the calibration period).
    first_purchase_days
        ``first_purchase`` (date) and ``customers`` (int): the cohort by first-purchase day.
    periods
        ``period`` (int) and ``period_start`` (date) of consecutive 7-day periods.
    days_per_unit
        Days in the model's time unit (1 for days, 7 for weeks).
    observation_end
        Last day observed (the as-of date): a last period cut short by it is expected only up
        to it, as its actual purchases are counted.

    Returns
    -------
    pandas.DataFrame
        ``period``, ``expected_repeat_purchases``, ``expected_cumulative``, in period order.
    """
    require_frame_columns(first_purchase_days, "first_purchase_days",
                          ("first_purchase", "customers"))
    require_frame_columns(periods, "periods", ("period", "period_start"))
    periods = periods.sort_values("period")
    births = pd.to_datetime(first_purchase_days["first_purchase"]).to_numpy("datetime64[D]")
    customers = first_purchase_days["customers"].to_numpy(dtype=float)
    last_days = (pd.to_datetime(periods["period_start"]).to_numpy("datetime64[D]")
                 + np.timedelta64(6, "D"))
    if observation_end is not None:
        last_days = np.minimum(last_days, np.datetime64(observation_end, "D"))
    days = (last_days[:, None] - births[None, :]).astype(float)
    ages = np.maximum(days, 0.0) / days_per_unit
    expected = np.asarray(fit.fitter.expected_number_of_purchases_up_to_time(ages.ravel()),
                          dtype=float).reshape(ages.shape)
    cumulative = expected @ customers
    return pd.DataFrame({
        "period": periods["period"].to_numpy(),
        "expected_repeat_purchases": np.diff(cumulative, prepend=0.0),
        "expected_cumulative": cumulative,
    })
