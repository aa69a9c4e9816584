"""Holdout validation of the purchase models: predictions, comparison, choice, tracking."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import lifetimes
import numpy as np
import pandas as pd
import pytest

from helpers.clv.fitting import fit_purchase_model
from helpers.clv.validation import (
    by_calibration_frequency,
    choose_model,
    expected_tracking,
    holdout_predictions,
    model_comparison,
)
from helpers.warehouse import MissingColumnError

CAL_END, OBS_END = date(1997, 9, 30), date(1998, 6, 30)
MODELS = ("bgnbd", "pareto_nbd", "mbgnbd")


@pytest.fixture(scope="module")
def purchase_days() -> pd.DataFrame:
    """CDNOW sample (lifetimes' CDNOW_sample.txt) as purchase days: customer, day; same-day
    lines merged and, as in the papers, $0 lines counted as purchases."""
    raw = pd.read_csv(Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt",
                      sep=r"\s+", header=None, names=["customer", "id2", "date", "cds", "usd"])
    raw["day"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return raw[["customer", "day"]].drop_duplicates().sort_values(["customer", "day"])


@pytest.fixture(scope="module")
def cal_holdout(purchase_days) -> pd.DataFrame:
    """lifetimes' calibration_and_holdout_data definitions, in weeks, computed directly."""
    cal_end, obs_end = pd.Timestamp(CAL_END), pd.Timestamp(OBS_END)
    first = purchase_days.groupby("customer")["day"].min()
    calibration = purchase_days[purchase_days["day"] <= cal_end].groupby("customer")["day"]
    holdout = purchase_days[purchase_days["day"] > cal_end].groupby("customer").size()
    return pd.DataFrame({
        "customer_id": first.index,
        "frequency_cal": calibration.size().reindex(first.index).to_numpy() - 1,
        "recency_cal": ((calibration.max() - first).dt.days / 7).to_numpy(),
        "T_cal": ((cal_end - first).dt.days / 7).to_numpy(),
        "frequency_holdout": holdout.reindex(first.index, fill_value=0).to_numpy(),
        "duration_holdout": (obs_end - cal_end).days / 7,
    })


@pytest.fixture(scope="module")
def fits(cal_holdout, make_config):
    cfg = make_config(OBS_END, "week", clv={"fit_starts": 2})
    return [fit_purchase_model(cal_holdout, m, cfg,
                               columns=("frequency_cal", "recency_cal", "T_cal"))
            for m in MODELS]


def test_cdnow_calibration_and_holdout(cal_holdout, fits):
    """The papers' split: 2,357 customers, 2,457 repeat purchases in weeks 1-39, 1,882 in
    weeks 40-78; the calibration fit is the published one."""
    assert len(cal_holdout) == 2357
    assert cal_holdout["frequency_cal"].sum() == 2457
    assert cal_holdout["frequency_holdout"].sum() == 1882
    assert fits[0].params["r"] == pytest.approx(0.243, rel=0.005)


def test_holdout_predictions_are_lifetimes_conditional_expectations(cal_holdout, fits):
    for fit in fits:
        predictions = holdout_predictions(cal_holdout, fit)
        assert list(predictions.columns) == ["customer_id", "frequency_cal",
                                             "frequency_holdout", "predicted_holdout"]
        expected = fit.fitter.conditional_expected_number_of_purchases_up_to_time(
            cal_holdout["duration_holdout"].to_numpy(), cal_holdout["frequency_cal"].to_numpy(),
            cal_holdout["recency_cal"].to_numpy(), cal_holdout["T_cal"].to_numpy())
        np.testing.assert_allclose(predictions["predicted_holdout"], expected, rtol=1e-12)
        pd.testing.assert_series_equal(predictions["customer_id"], cal_holdout["customer_id"])


def test_model_comparison(cal_holdout, fits):
    comparison = model_comparison(cal_holdout, fits)
    assert list(comparison["model"]) == list(MODELS)
    for fit, row in zip(fits, comparison.itertuples(), strict=True):
        error = (holdout_predictions(cal_holdout, fit)["predicted_holdout"]
                 - cal_holdout["frequency_holdout"])
        assert row.holdout_mae == pytest.approx(error.abs().mean())
        assert row.holdout_rmse == pytest.approx(np.sqrt((error ** 2).mean()))
        assert row.holdout_actual_total == 1882
        assert row.holdout_total_error == pytest.approx(
            (row.holdout_predicted_total - 1882) / 1882)
        assert (row.log_likelihood, row.bic, row.how) == (fit.log_likelihood, fit.bic, fit.how)
    # FHL (2005): BG/NBD and Pareto/NBD both predict about 1,650-1,670 of the 1,882
    totals = comparison.set_index("model")["holdout_predicted_total"]
    assert totals["bgnbd"] == pytest.approx(1653.4, abs=1)
    assert totals["pareto_nbd"] == pytest.approx(1665.5, abs=1)


def test_by_calibration_frequency(cal_holdout, fits):
    table = by_calibration_frequency(cal_holdout, fits[0])
    assert list(table.columns) == ["frequency_cal", "customers", "actual_mean", "predicted_mean"]
    assert list(table["frequency_cal"]) == list(range(8))
    assert table["customers"].sum() == 2357 and table["customers"].iloc[0] == 1411
    group = cal_holdout["frequency_cal"].clip(upper=7)
    np.testing.assert_allclose(
        table["actual_mean"], cal_holdout.groupby(group)["frequency_holdout"].mean())
    # FHL's figure 4: the one-time buyers' holdout purchases are predicted well
    assert table["predicted_mean"].iloc[0] == pytest.approx(table["actual_mean"].iloc[0],
                                                            rel=0.1)


def test_choose_model(make_config):
    comparison = pd.DataFrame({"model": ["bgnbd", "pareto_nbd", "mbgnbd"],
                               "holdout_mae": [0.8, 0.7, 0.7], "bic": [10.0, 12.0, 11.0]})
    assert choose_model(comparison, make_config(OBS_END, "week")) == "mbgnbd"  # tie: BIC
    assert choose_model(comparison.assign(bic=11.0), make_config(OBS_END, "week")) == \
        "pareto_nbd"  # full tie: the first listed
    assert choose_model(comparison.assign(holdout_mae=np.nan),
                        make_config(OBS_END, "week")) == "bgnbd"  # no holdout: BIC
    fixed = make_config(OBS_END, "week", clv={"purchase_model": "bgnbd"})
    assert choose_model(comparison, fixed) == "bgnbd"
    with pytest.raises(ValueError, match="'bgnbd' was not compared"):
        choose_model(comparison.iloc[1:], fixed)
    with pytest.raises(MissingColumnError, match="bic"):
        choose_model(comparison.drop(columns="bic"), fixed)


def test_expected_tracking(purchase_days, fits):
    """The cohort's expected repeat purchases per week are sum over customers of
    E[X(last day - first purchase)] differenced: grouped by first-purchase day they equal the
    customer-by-customer sum, and in the calibration weeks they track the actual purchases."""
    fit = fits[0]
    first = purchase_days.groupby("customer")["day"].min()
    cohort = first.value_counts().sort_index().rename_axis("first_purchase")
    cohort = cohort.reset_index(name="customers")
    periods = pd.DataFrame({"period": range(78),
                            "period_start": pd.date_range("1997-01-01", periods=78, freq="7D")})
    tracking = expected_tracking(fit, cohort, periods, 7.0, observation_end=OBS_END)
    assert list(tracking.columns) == ["period", "expected_repeat_purchases",
                                      "expected_cumulative"]
    last_days = periods["period_start"] + pd.Timedelta(days=6)
    ages = np.maximum((last_days.to_numpy()[:, None] - first.to_numpy()[None, :])
                      / np.timedelta64(7, "D"), 0.0)
    by_customer = fit.fitter.expected_number_of_purchases_up_to_time(ages).sum(axis=1)
    np.testing.assert_allclose(tracking["expected_cumulative"], by_customer, rtol=1e-10)
    np.testing.assert_allclose(tracking["expected_repeat_purchases"].cumsum(), by_customer)
    # by the end of week 39 the expected 2,494 against the actual 2,457 (FHL's figure 2)
    assert tracking["expected_cumulative"].iloc[38] == pytest.approx(2457, rel=0.02)
    # a last period cut short by the observation end is expected only up to it
    short = expected_tracking(fit, cohort, periods, 7.0, observation_end=date(1998, 6, 27))
    assert short["expected_cumulative"].iloc[-1] < tracking["expected_cumulative"].iloc[-1]
    pd.testing.assert_frame_equal(short.iloc[:-1], tracking.iloc[:-1])
