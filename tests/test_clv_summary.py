"""Tests for helpers.clv.summary: calibration/holdout summaries and purchase tracking in
DuckDB, against hand-worked answers and lifetimes' definitions; zero-amount purchases."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from lifetimes.utils import summary_data_from_transaction_data

from helpers.clv.summary import (
    CALIBRATION_COLUMNS,
    calibration_end,
    calibration_holdout_summary,
    first_purchase_days,
    purchase_tracking,
    rfm_summary,
)
from helpers.config import KIT_ROOT, ConfigError, load_config
from helpers.warehouse import read_table

CAL_END = date(2024, 2, 15)
AS_OF = date(2024, 3, 31)
HOLDOUT = {"calibration_end": CAL_END}


def warehouse_with(log: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """In-memory warehouse whose ``transactions`` table has the columns the summaries read:
    customer_id, order_date (DATE), amount, from a frame of (customer_id, order_date, amount)."""
    con = duckdb.connect()
    con.register("log", log)
    con.execute("CREATE TABLE transactions AS SELECT customer_id, "
                "CAST(order_date AS DATE) AS order_date, amount, amount < 0 AS is_return "
                "FROM log")
    con.unregister("log")
    return con


def rows(*lines: tuple[str, str, float]) -> pd.DataFrame:
    return pd.DataFrame(lines, columns=["customer_id", "order_date", "amount"])


# --- calibration end ----------------------------------------------------------------------

def test_calibration_end_from_config(make_config):
    assert calibration_end(make_config(AS_OF, clv=HOLDOUT)) == CAL_END
    assert calibration_end(make_config(AS_OF, clv={"holdout_days": 31})) == date(2024, 2, 29)
    # calibration_end overrides holdout_days; holdout_days 0 alone means no holdout
    assert calibration_end(make_config(AS_OF, clv={"holdout_days": 0, **HOLDOUT})) == CAL_END
    assert calibration_end(make_config(AS_OF, clv={"holdout_days": 0})) is None


def test_no_holdout_is_a_clear_error(make_config):
    con = warehouse_with(rows(("A", "2024-01-01", 10.0)))
    cfg = make_config(AS_OF, clv={"holdout_days": 0})
    for summary in (calibration_holdout_summary, purchase_tracking, first_purchase_days):
        with pytest.raises(ConfigError, match="no holdout period.*holdout_days"):
            summary(con, cfg)


def test_calibration_end_must_be_before_as_of(write_config, tmp_path):
    config = yaml.safe_load((KIT_ROOT / "configs" / "cdnow_sample.yaml").read_text())
    config["clv"]["calibration_end"] = config["as_of"]
    with pytest.raises(ConfigError, match=r"calibration_end' \(1998-06-30\) must be before"):
        load_config(write_config(config))


# --- hand-worked calibration, holdout and tracking ----------------------------------------

HAND_LOG = rows(
    # A: one occasion worth 15 on 1 Jan; 20 Jan; a purchase fully returned on 10 Feb (no
    # occasion); holdout: 50 on 1 Mar (two lines), a return alone on 20 Mar (no occasion),
    # and a purchase after as_of (ignored).
    ("A", "2024-01-01", 10.0), ("A", "2024-01-01", 5.0), ("A", "2024-01-20", 20.0),
    ("A", "2024-02-10", 30.0), ("A", "2024-02-10", -30.0), ("A", "2024-03-01", 40.0),
    ("A", "2024-03-01", 10.0), ("A", "2024-03-20", -5.0), ("A", "2024-04-10", 100.0),
    # B: first buys on the calibration end itself (in the cohort); again on as_of (counts).
    ("B", "2024-02-15", 25.0), ("B", "2024-03-31", 12.0),
    # C: first buys the day after the calibration end: not in the cohort.
    ("C", "2024-02-16", 30.0), ("C", "2024-03-05", 8.0),
    # D: the first day nets to zero, so D starts on 1 Feb; nothing in the holdout.
    ("D", "2024-01-05", 20.0), ("D", "2024-01-05", -20.0), ("D", "2024-02-01", 30.0),
)
# Days: T_cal from the first purchase to 15 Feb; the holdout runs 16 Feb - 31 Mar (45 days,
# 2024 is a leap year).
HAND_CALIBRATION = pd.DataFrame({
    "customer_id": ["A", "B", "D"],
    "frequency_cal": [1, 0, 0],
    "recency_cal": [19.0, 0.0, 0.0],
    "T_cal": [45.0, 0.0, 14.0],
    "monetary_value_cal": [20.0, 0.0, 0.0],
    "frequency_holdout": [1, 1, 0],
    "monetary_value_holdout": [50.0, 12.0, 0.0],
    "duration_holdout": [45.0, 45.0, 45.0],
})


@pytest.mark.parametrize("time_unit, days", [("day", 1.0), ("week", 7.0)])
def test_calibration_holdout_summary_hand_computed(time_unit, days, make_config):
    cfg = make_config(AS_OF, time_unit, clv=HOLDOUT)
    summary = calibration_holdout_summary(warehouse_with(HAND_LOG), cfg)
    times = ["recency_cal", "T_cal", "duration_holdout"]
    expected = HAND_CALIBRATION.assign(**{c: HAND_CALIBRATION[c] / days for c in times})
    assert list(summary.columns) == list(CALIBRATION_COLUMNS)
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)


def test_purchase_tracking_hand_computed(make_config):
    cfg = make_config(AS_OF, clv=HOLDOUT)
    con = warehouse_with(HAND_LOG)
    tracking = purchase_tracking(con, cfg)
    # The cohort (A, B, D) starts on 1 Jan; 31 Mar is day 90, in period 12. Repeats: A on
    # 20 Jan (day 19) and 1 Mar (day 60), B on 31 Mar (day 90); C's repeat is outside.
    assert list(tracking.columns) == ["period", "period_start", "repeat_purchases"]
    assert list(tracking["period"]) == list(range(13))
    assert tracking["period_start"].iloc[1] == pd.Timestamp("2024-01-08")
    assert dict(tracking.loc[tracking["repeat_purchases"] > 0, ["period", "repeat_purchases"]]
                .itertuples(index=False)) == {2: 1, 8: 1, 12: 1}
    firsts = first_purchase_days(con, cfg)
    assert list(firsts.columns) == ["first_purchase", "customers"]
    assert list(firsts["first_purchase"]) == list(pd.to_datetime(
        ["2024-01-01", "2024-02-01", "2024-02-15"]))
    assert list(firsts["customers"]) == [1, 1, 1]


def test_empty_cohort_has_no_tracking_rows(make_config):
    con = warehouse_with(rows(("C", "2024-03-01", 10.0)))
    cfg = make_config(AS_OF, clv=HOLDOUT)
    assert purchase_tracking(con, cfg).empty and first_purchase_days(con, cfg).empty
    assert calibration_holdout_summary(con, cfg).empty


# --- against lifetimes' definitions -------------------------------------------------------

def random_log(seed: int = 5, n_rows: int = 1500) -> pd.DataFrame:
    """A seeded log over 2023-2024 with same-day repeat lines and same-day partial returns
    (every day nets positive, where lifetimes, which counts every day with a line, and the
    kit agree), and lines after as_of."""
    rng = np.random.default_rng(seed)
    log = pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in rng.integers(0, 150, n_rows)],
        "order_date": pd.Timestamp("2023-01-01")
        + pd.to_timedelta(rng.integers(0, 500, n_rows), unit="D"),
        "amount": rng.lognormal(3.0, 0.6, n_rows).round(2),
    })
    repeats = log.iloc[::5].assign(amount=lambda d: (0.5 * d["amount"]).round(2))
    returns = log.iloc[::8].assign(amount=lambda d: -(0.3 * d["amount"]).round(2))
    return pd.concat([log, repeats, returns], ignore_index=True)


def lifetimes_holdout(log: pd.DataFrame, cal_end: date, as_of: date) -> pd.DataFrame:
    """lifetimes' holdout columns computed directly: purchase days after cal_end up to as_of
    and their mean value (lifetimes averages lines; the kit, as everywhere, days)."""
    days = log.groupby(["customer_id", "order_date"], as_index=False)["amount"].sum()
    holdout = days[(days["order_date"] > pd.Timestamp(cal_end))
                   & (days["order_date"] <= pd.Timestamp(as_of))]
    return holdout.groupby("customer_id")["amount"].agg(["count", "mean"]).set_axis(
        ["frequency_holdout", "monetary_value_holdout"], axis=1)


def test_calibration_summary_matches_lifetimes(make_config):
    log = random_log()
    cal_end, as_of = date(2023, 12, 31), date(2024, 3, 31)
    con = warehouse_with(log)
    calibration_log = log[log["order_date"] <= pd.Timestamp(cal_end)]
    holdout = lifetimes_holdout(log, cal_end, as_of)
    # Weeks: lifetimes' freq='W' snaps dates to calendar weeks and counts whole weeks; the kit
    # uses exact fractional weeks (days / 7), as Fader-Hardie-Lee, which is lifetimes with
    # freq='D' and freq_multiplier=7.
    for time_unit, multiplier in (("day", 1), ("week", 7)):
        ours = calibration_holdout_summary(
            con, make_config(as_of, time_unit, clv={"calibration_end": cal_end}))
        ours = ours.set_index("customer_id")
        reference = summary_data_from_transaction_data(
            calibration_log, "customer_id", "order_date", monetary_value_col="amount",
            observation_period_end=cal_end.isoformat(), freq="D", freq_multiplier=multiplier)
        assert len(ours) == len(reference) > 100
        assert ours["frequency_cal"].sum() > 500 and ours["frequency_holdout"].sum() > 100
        pd.testing.assert_frame_equal(
            ours[["frequency_cal", "recency_cal", "T_cal", "monetary_value_cal"]],
            reference.loc[ours.index].set_axis(list(CALIBRATION_COLUMNS[1:5]), axis=1),
            check_dtype=False, check_names=False, check_index_type=False)
        expected = holdout.reindex(ours.index, fill_value=0)
        pd.testing.assert_frame_equal(ours[expected.columns], expected, check_dtype=False,
                                      check_names=False, check_index_type=False)
        assert (ours["duration_holdout"] == 91 / multiplier).all()
        # the calibration columns are rfm_summary's with as_of at the calibration end
        plain = rfm_summary(con, make_config(cal_end, time_unit)).set_index("customer_id")
        pd.testing.assert_frame_equal(
            ours[list(CALIBRATION_COLUMNS[1:5])],
            plain[["frequency", "recency", "T", "monetary_value"]].set_axis(
                list(CALIBRATION_COLUMNS[1:5]), axis=1), check_dtype=False)


# --- zero-amount purchases ----------------------------------------------------------------

ZERO_LOG = rows(
    # Z1: two $0 purchases, then 30: with zero lines kept, 2 repeats worth 0 and 30.
    ("Z1", "2024-01-10", 0.0), ("Z1", "2024-02-01", 0.0), ("Z1", "2024-02-20", 30.0),
    # Z2: a $0 line and a return: the day nets below zero, no purchase.
    ("Z2", "2024-01-10", 0.0), ("Z2", "2024-01-10", -5.0),
    # Z3: a $0 line with a purchase returned the same day: nets to zero, a purchase.
    ("Z3", "2024-01-10", 0.0), ("Z3", "2024-01-10", 5.0), ("Z3", "2024-01-10", -5.0),
    # Z4: a purchase returned the same day, no $0 line: no purchase, as ever.
    ("Z4", "2024-01-10", 5.0), ("Z4", "2024-01-10", -5.0),
)


def test_zero_amount_lines_are_purchases_when_they_reach_transactions(make_config):
    summary = rfm_summary(warehouse_with(ZERO_LOG), make_config(AS_OF, "day"))
    assert list(summary["customer_id"]) == ["Z1", "Z3"]
    assert list(summary["frequency"]) == [2, 0]
    assert list(summary["monetary_value"]) == [15.0, 0.0]
    assert list(summary["T"]) == [81.0, 81.0]


@pytest.mark.parametrize("mode, accepted, rejected, customers, frequency", [
    ("reject", 6, 4, ["Z1"], [0]),
    ("keep", 10, 0, ["Z1", "Z3"], [2, 0]),
])
def test_zero_amount_lines_keep_or_reject(mode, accepted, rejected, customers, frequency,
                                          write_config, tmp_path, identify_chain):
    csv = ZERO_LOG.to_csv(index=False)
    (tmp_path / "shop.csv").write_text(csv, encoding="utf-8")
    source = {"kind": "transactions", "path": "shop.csv", "zero_amount_lines": mode,
              "columns": {"customer_key": "customer_id", "order_date": "order_date",
                          "amount": "amount"}}
    cfg = load_config(write_config({"client": "t", "as_of": AS_OF.isoformat(),
                                    "time_unit": "day", "sources": {"shop": source}}))
    con = duckdb.connect()
    identify_chain(con, cfg)
    counts = read_table(con, "load_counts").iloc[0]
    assert (counts.accepted, counts.rejected) == (accepted, rejected)
    keys = con.execute("SELECT customer_id, customer_key FROM customer_xref").df()
    summary = rfm_summary(con, cfg).merge(keys, on="customer_id")
    assert list(summary["customer_key"]) == customers
    assert list(summary["frequency"]) == frequency


# --- the CDNOW sample through the kit -----------------------------------------------------

@pytest.fixture(scope="module")
def cdnow_sample(identify_chain):
    """The CDNOW sample loaded by the kit (configs/cdnow_sample.yaml) and read by pandas."""
    cfg = load_config(KIT_ROOT / "configs" / "cdnow_sample.yaml")
    con = duckdb.connect()
    identify_chain(con, cfg)
    raw = pd.read_csv(cfg.source_path("cdnow"), sep=r"\s+", header=None, dtype={0: str},
                      names=["customer_key", "sample_id", "date", "cds", "dollars"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d")
    return cfg, con, raw


def test_cdnow_sample_counts_zero_amount_purchases_as_lifetimes(cdnow_sample):
    cfg, con, raw = cdnow_sample
    counts = read_table(con, "load_counts").iloc[0]
    assert (counts.rows_in, counts.accepted, counts.rejected) == (6919, 6919, 0)
    summary = calibration_holdout_summary(con, cfg)
    keys = con.execute("SELECT customer_id, customer_key FROM customer_xref").df()
    summary = summary.merge(keys, on="customer_id").set_index("customer_key")
    cal_end = cfg.clv.calibration_end
    # lifetimes counts every day with a line, $0 ones included, as the papers do
    reference = summary_data_from_transaction_data(
        raw[raw["date"] <= pd.Timestamp(cal_end)], "customer_key", "date",
        monetary_value_col="dollars", observation_period_end=cal_end.isoformat(), freq="D",
        freq_multiplier=7)
    assert len(summary) == len(reference) == 2357
    assert summary["frequency_cal"].sum() == 2457
    pd.testing.assert_frame_equal(
        summary[list(CALIBRATION_COLUMNS[1:5])],
        reference.loc[summary.index].set_axis(list(CALIBRATION_COLUMNS[1:5]), axis=1),
        check_dtype=False, check_names=False)
    # weeks 40-78: 1,882 repeat purchases in the holdout, 39 weeks long
    assert summary["frequency_holdout"].sum() == 1882
    assert (summary["duration_holdout"] == 39.0).all()
    tracking = purchase_tracking(con, cfg)
    assert len(tracking) == 78 and tracking["repeat_purchases"].sum() == 2457 + 1882
    assert tracking["repeat_purchases"].iloc[39:].sum() == 1882
    assert first_purchase_days(con, cfg)["customers"].sum() == 2357
    # 8 customers' only purchase in the calibration period is $0.00
    zero_only = raw[(raw["date"] <= pd.Timestamp(cal_end))].groupby("customer_key")[
        "dollars"].max()
    assert (zero_only == 0).sum() == 8
    assert (summary.loc[zero_only.index[zero_only == 0], "frequency_cal"] == 0).all()


def test_cdnow_sample_without_zero_amount_purchases(write_config, identify_chain):
    config = yaml.safe_load((KIT_ROOT / "configs" / "cdnow_sample.yaml").read_text())
    config["sources"]["cdnow"]["zero_amount_lines"] = "reject"
    cfg = load_config(write_config(config))
    con = duckdb.connect()
    identify_chain(con, cfg)
    counts = read_table(con, "load_counts").iloc[0]
    assert (counts.accepted, counts.rejected) == (6911, 8)
    # the 8 customers whose only calibration purchase was $0 leave the calibration cohort
    assert len(calibration_holdout_summary(con, cfg)) == 2349
