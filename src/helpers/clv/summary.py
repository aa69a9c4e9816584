"""The per-customer sufficient statistics of the BTYD models, computed in DuckDB.

Every summary here stands on the same purchase occasions: the table macro
``purchase_occasions(as_of)`` of ``sql/purchase_occasions.sql``, one row per customer per
calendar day with a purchase, worth the day's net amount, as in Fader-Hardie-Lee.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pandas as pd

from helpers.config import ConfigError, RunConfig
from helpers.warehouse import on_all_cores, query, require_columns, sql_text

__all__ = ["TRANSACTION_COLUMNS", "SUMMARY_COLUMNS", "CALIBRATION_COLUMNS", "TRACKING_DAYS",
           "rfm_summary", "calibration_end", "calibration_holdout_summary",
           "purchase_tracking", "first_purchase_days", "on_purchase_occasions"]

TRANSACTION_COLUMNS = ("customer_id", "order_date", "amount")
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
#: lifetimes' ``calibration_and_holdout_data`` columns, with the customer id first.
CALIBRATION_COLUMNS = ("customer_id", "frequency_cal", "recency_cal", "T_cal",
                       "monetary_value_cal", "frequency_holdout", "monetary_value_holdout",
                       "duration_holdout")
#: Length in days of one period of :func:`purchase_tracking`.
TRACKING_DAYS = 7


def on_purchase_occasions(con: duckdb.DuckDBPyConnection, cfg: RunConfig, name: str,
                           params: dict) -> pd.DataFrame:
    """Run ``sql/<name>.sql``, which reads ``purchase_occasions($as_of)``, with ``params`` and
    ``$as_of`` = ``cfg.as_of``; the table macro is defined first.

    A macro, not a temporary table of the days: DuckDB then merges a customer's lines into
    days and the days into the customer's summary in one pipeline, without writing the days
    down (on 10 million order lines, about a second less). The result comes through Arrow:
    a million customers' ids reach pandas in a third of the time ``.df()`` takes; dates come
    as ``datetime64[ms]``. The query runs on every core: its sums are exact (see the macro),
    so the result does not depend on the threads' order; on 10 million order lines it takes
    a fifth less time on two cores.
    """
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    con.execute(sql_text("purchase_occasions"))
    with on_all_cores(con):  # the macro's sums are exact
        result = query(con, name, {**params, "as_of": cfg.as_of}).to_arrow_table()
    return result.to_pandas(date_as_object=False)


def rfm_summary(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """Frequency, recency, T and monetary value per customer, computed in DuckDB.

    Runs ``sql/rfm_summary.sql`` on the purchase occasions of ``sql/purchase_occasions.sql``
    (see there for the Fader-Hardie conventions: same-day lines merged, returns netted, $0
    lines counted when a source keeps them).

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
    return on_purchase_occasions(con, cfg, "rfm_summary",
                                  {"days_per_unit": float(cfg.days_per_unit)})


def calibration_end(cfg: RunConfig) -> date | None:
    """The last day of the calibration period, or None when the run has no holdout.

    ``clv.calibration_end`` when set, else ``as_of`` minus ``clv.holdout_days`` days; None
    when ``holdout_days`` is 0 and no calibration end is set.
    """
    if cfg.clv.calibration_end is not None:
        return cfg.clv.calibration_end
    if cfg.clv.holdout_days == 0:
        return None
    return cfg.as_of - timedelta(days=cfg.clv.holdout_days)


def _required_calibration_end(cfg: RunConfig) -> date:
    end = calibration_end(cfg)
    if end is None:
        raise ConfigError("this run has no holdout period (clv.holdout_days is 0 and "
                          "clv.calibration_end is not set), so there is nothing to validate "
                          "the models on: set clv.holdout_days, e.g. 182, or "
                          "clv.calibration_end")
    return end


def calibration_holdout_summary(con: duckdb.DuckDBPyConnection,
                                cfg: RunConfig) -> pd.DataFrame:
    """The BTYD statistics of the calibration period and the purchases of the holdout.

    lifetimes' ``calibration_and_holdout_data`` (broken on pandas 3), computed in DuckDB by
    ``sql/calibration_summary.sql`` on the same purchase occasions as :func:`rfm_summary`.
    One difference: lifetimes' ``monetary_value_holdout`` is the mean of the holdout's
    transaction lines, here it is the mean of its purchase days, as every other monetary
    value of the kit (lifetimes itself merges a day's lines for ``monetary_value_cal``).

    Parameters
    ----------
    con
        The run's warehouse; needs table ``transactions`` with columns ``customer_id``,
        ``order_date`` (DATE) and ``amount`` (DOUBLE, negative = return).
    cfg
        Uses ``as_of`` (the holdout's last day), ``days_per_unit`` and the calibration end
        (:func:`calibration_end`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CALIBRATION_COLUMNS`: ``frequency_cal``, ``recency_cal``, ``T_cal`` and
        ``monetary_value_cal`` as :func:`rfm_summary` would give with ``as_of`` at the
        calibration end; ``frequency_holdout`` (purchase days after the calibration end, up to
        ``as_of``), ``monetary_value_holdout`` (their mean value, 0 without one) and
        ``duration_holdout`` (days from calibration end to ``as_of``), times in model units.
        One row per customer whose first purchase is on or before the calibration end,
        sorted by customer_id.

    Raises
    ------
    helpers.config.ConfigError
        The run has no holdout (``clv.holdout_days`` is 0 and no ``clv.calibration_end``).
    """
    params = {"calibration_end": _required_calibration_end(cfg),
              "days_per_unit": float(cfg.days_per_unit)}
    return on_purchase_occasions(con, cfg, "calibration_summary", params)


def purchase_tracking(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """The calibration cohort's actual repeat purchases per week, for the tracking charts.

    Runs ``sql/purchase_tracking.sql``. The cohort is the customers whose first purchase is
    on or before the calibration end (:func:`calibration_end`); periods of
    :data:`TRACKING_DAYS` days run from the cohort's first purchase day to the one holding
    ``as_of``, across calibration and holdout.

    Parameters
    ----------
    con
        The run's warehouse; needs table ``transactions`` with columns ``customer_id``,
        ``order_date`` (DATE) and ``amount`` (DOUBLE).
    cfg
        Uses ``as_of`` and the calibration end.

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` (0, 1, ...), ``period_start`` (its first day) and
        ``repeat_purchases`` (the cohort's purchase days in the period that are not a
        customer's first); every period, in order. Empty when no customer bought by the
        calibration end.

    Raises
    ------
    helpers.config.ConfigError
        The run has no holdout.
    """
    params = {"calibration_end": _required_calibration_end(cfg), "period_days": TRACKING_DAYS}
    return on_purchase_occasions(con, cfg, "purchase_tracking", params)


def first_purchase_days(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """How many customers of the calibration cohort first bought on each day.

    The model's expected tracking curve is the sum over these day cohorts of customers times
    E[X(t - first purchase)]. Runs ``sql/first_purchase_days.sql``.

    Parameters
    ----------
    con
        The run's warehouse; needs table ``transactions`` with columns ``customer_id``,
        ``order_date`` (DATE) and ``amount`` (DOUBLE).
    cfg
        Uses ``as_of`` and the calibration end (:func:`calibration_end`).

    Returns
    -------
    pandas.DataFrame
        Columns ``first_purchase`` (date) and ``customers`` (count), one row per day on which
        a customer of the cohort first bought, in date order.

    Raises
    ------
    helpers.config.ConfigError
        The run has no holdout.
    """
    params = {"calibration_end": _required_calibration_end(cfg)}
    return on_purchase_occasions(con, cfg, "first_purchase_days", params)
