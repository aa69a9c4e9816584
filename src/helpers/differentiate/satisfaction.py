"""Satisfaction: how likely customers are to recommend us, and what drives it (notebook 02).

The Net Promoter Score asks "how likely are you to recommend us?" on 0-10: promoters answer
9-10, passives 7-8, detractors 0-6, and ``NPS = % promoters - % detractors``, from -100 to
+100. The kit counts customers, not answers: each respondent's latest answer up to ``as_of``.

``satisfaction`` gives the NPS with its 95% interval overall and per group (RFM segment,
customer type; :func:`nps_by` for any other, such as the value tier), ``driver_ratings`` the
mean rating of each driver (problems, benefits, price, ...) per group, and ``nps_drivers``
which drivers separate promoters from detractors. Reads ``survey_answers`` and
``survey_ratings`` (written by 01 identify); the charts are in :mod:`helpers.display`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from helpers.config import RunConfig
from helpers.differentiate.initiatives import CONFIDENCE, welch_difference
from helpers.warehouse import (
    MissingColumnError,
    build_table,
    query,
    require_columns,
    require_frame_columns,
    require_tables,
    sql_identifier,
    write_table,
)

__all__ = ["NPS_BANDS", "SATISFACTION_BREAKDOWNS", "ALL", "nps_band", "nps_summary",
           "driver_means",
           "driver_separation", "latest_answers", "nps_by", "build_satisfaction"]

#: The NPS bands and the lowest score of each: 9-10 promoters, 7-8 passives, 0-6 detractors.
NPS_BANDS = {"promoter": 9, "passive": 7, "detractor": 0}

#: The groups ``satisfaction`` and ``driver_ratings`` break the respondents down by: (table,
#: column) joined on customer_id.
SATISFACTION_BREAKDOWNS = (("customer_value", "rfm_segment"), ("customers", "customer_type"))

#: The ``breakdown`` and ``segment`` of the rows about every respondent.
ALL = ("all", "All")

#: The group of a respondent with no row, or no value, in the breakdown's table.
UNKNOWN = "unknown"

#: The columns of the tables written, in order.
SATISFACTION_COLUMNS = ("breakdown", "segment", "respondents", "promoters", "passives",
                        "detractors", "share_promoters", "share_detractors", "nps", "nps_low",
                        "nps_high", "mean_score")
DRIVER_RATING_COLUMNS = ("breakdown", "segment", "driver", "ratings", "mean_rating")
NPS_DRIVER_COLUMNS = ("driver", "ratings", "mean_promoters", "mean_passives",
                      "mean_detractors", "separation", "separation_low", "separation_high",
                      "separation_p_value", "spearman", "spearman_p_value")


def nps_band(scores: Sequence[float] | pd.Series) -> np.ndarray:
    """Each 0-10 score's band: 'promoter' (9-10), 'passive' (7-8) or 'detractor' (0-6)."""
    score = np.asarray(scores, dtype=float)
    return np.where(score >= NPS_BANDS["promoter"], "promoter",
                    np.where(score >= NPS_BANDS["passive"], "passive", "detractor"))


def nps_summary(answers: pd.DataFrame, by: str | None = None,
                level: float = CONFIDENCE) -> pd.DataFrame:
    """NPS with its interval, overall or per value of ``by``.

    Parameters
    ----------
    answers
        One row per respondent: ``nps`` (0-10) and, when given, the ``by`` column.
    by
        The column to group by; None for one row about everyone (segment ``'All'``).
    level
        Coverage of the interval.

    Returns
    -------
    DataFrame
        Per group, sorted by segment: ``segment``, ``respondents``, ``promoters`` (9-10),
        ``passives`` (7-8), ``detractors`` (0-6), ``share_promoters`` and
        ``share_detractors`` (of the respondents), ``nps = 100 * (share_promoters -
        share_detractors)``, ``nps_low`` and ``nps_high`` and ``mean_score`` (mean 0-10).

    Notes
    -----
    Each respondent is a draw of a multinomial (promoter, passive, detractor), so the NPS
    estimate ``p_P - p_D`` has variance ``(p_P + p_D - (p_P - p_D)²) / n``; the interval is
    the normal one, ``nps ± z * 100 * sqrt(variance)``, cut to [-100, +100]. It is a fair
    guide from about 30 respondents; with fewer, read the counts.
    """
    require_frame_columns(answers, "answers", ("nps",) if by is None else ("nps", by))
    band = nps_band(answers["nps"])
    frame = pd.DataFrame({
        "segment": ALL[1] if by is None else answers[by].astype(str),
        "promoters": band == "promoter", "passives": band == "passive",
        "detractors": band == "detractor", "score": answers["nps"].astype(float)})
    result = frame.groupby("segment", sort=True).agg(
        respondents=("score", "size"), promoters=("promoters", "sum"),
        passives=("passives", "sum"), detractors=("detractors", "sum"),
        mean_score=("score", "mean")).reset_index()
    p_promoters = result["promoters"] / result["respondents"]
    p_detractors = result["detractors"] / result["respondents"]
    result["share_promoters"] = p_promoters
    result["share_detractors"] = p_detractors
    result["nps"] = 100 * (p_promoters - p_detractors)
    variance = (p_promoters + p_detractors - (p_promoters - p_detractors) ** 2) \
        / result["respondents"]
    half = 100 * stats.norm.ppf(0.5 + level / 2) * np.sqrt(variance)
    result["nps_low"] = (result["nps"] - half).clip(lower=-100)
    result["nps_high"] = (result["nps"] + half).clip(upper=100)
    return result[list(SATISFACTION_COLUMNS[1:])]


def driver_means(ratings: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Mean rating of each driver, overall or per value of ``by``.

    Parameters
    ----------
    ratings
        One row per respondent and driver they rated: ``driver``, ``rating`` and, when
        given, the ``by`` column.

    Returns
    -------
    DataFrame
        ``segment``, ``driver``, ``ratings`` (respondents who rated it), ``mean_rating``;
        sorted by segment and driver.
    """
    require_frame_columns(ratings, "ratings",
                          ("driver", "rating") if by is None else ("driver", "rating", by))
    frame = ratings.assign(segment=ALL[1] if by is None else ratings[by].astype(str))
    return (frame.groupby(["segment", "driver"], sort=True)
            .agg(ratings=("rating", "size"), mean_rating=("rating", "mean")).reset_index())


def driver_separation(ratings: pd.DataFrame, level: float = CONFIDENCE) -> pd.DataFrame:
    """Which drivers separate promoters from detractors: the rows of ``nps_drivers``.

    Parameters
    ----------
    ratings
        One row per respondent and driver they rated: ``driver``, ``rating`` and ``nps``
        (0-10).

    Returns
    -------
    DataFrame
        One row per driver, the most separating first (ties by driver): ``driver``,
        ``ratings``, ``mean_promoters``, ``mean_passives``, ``mean_detractors`` (mean rating
        in each band), ``separation = mean_promoters - mean_detractors`` with its Welch
        interval ``separation_low``, ``separation_high`` and p-value
        (:func:`~helpers.differentiate.initiatives.welch_difference`; NaN with fewer than 2
        promoters or detractors), and ``spearman``, the rank correlation of the rating with
        the 0-10 score over every respondent who rated the driver, with its p-value (NaN
        when either does not vary).

    Notes
    -----
    How to read it: a driver with a large separation whose interval stays clear of 0 and a
    clear positive correlation is one on which promoters and detractors see the company
    differently: the first place to look for what makes customers recommend it. A driver
    rated low by promoters and detractors alike (small separation) is a shared complaint
    that does not decide recommendation. It is an association in one survey, not proof that
    changing the driver changes the score.
    """
    require_frame_columns(ratings, "ratings", ("driver", "rating", "nps"))
    rows = []
    for driver, rated in ratings.assign(band=nps_band(ratings["nps"])).groupby("driver",
                                                                               sort=True):
        means = rated.groupby("band")["rating"].mean()
        separation = welch_difference(rated.loc[rated["band"] == "promoter", "rating"],
                                      rated.loc[rated["band"] == "detractor", "rating"], level)
        varies = rated["rating"].nunique() > 1 and rated["nps"].nunique() > 1
        rho = stats.spearmanr(rated["rating"], rated["nps"]) if varies else None
        rows.append({
            "driver": driver, "ratings": len(rated),
            "mean_promoters": means.get("promoter", np.nan),
            "mean_passives": means.get("passive", np.nan),
            "mean_detractors": means.get("detractor", np.nan),
            "separation": means.get("promoter", np.nan) - means.get("detractor", np.nan),
            "separation_low": separation["low"], "separation_high": separation["high"],
            "separation_p_value": separation["p_value"],
            "spearman": float(rho.statistic) if rho else np.nan,
            "spearman_p_value": float(rho.pvalue) if rho else np.nan})
    result = pd.DataFrame(rows, columns=list(NPS_DRIVER_COLUMNS))
    return result.sort_values(["separation", "driver"], ascending=[False, True],
                              na_position="last", ignore_index=True)


def latest_answers(con: duckdb.DuckDBPyConnection,
                   as_of: date | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each respondent's latest answer up to ``as_of``, and its driver ratings.

    Reads ``survey_answers`` (customer_id, source, source_row, response_date, nps) and
    ``survey_ratings`` (customer_id, source, source_row, driver, rating); see
    ``sql/survey_latest.sql`` for the rule. ``as_of`` None takes every answer in the table
    (notebook 01 has already left out the answers after the run's as_of).

    Returns
    -------
    (answers, ratings)
        ``answers``: customer_id, source, source_row, response_date, nps, one row per
        respondent; ``ratings``: customer_id, nps, driver, rating, one row per respondent
        and driver rated.
    """
    require_columns(con, "survey_answers",
                    ("customer_id", "source", "source_row", "response_date", "nps"))
    require_columns(con, "survey_ratings",
                    ("customer_id", "source", "source_row", "driver", "rating"))
    build_table(con, "survey_latest", {"as_of": as_of}, temporary=True)
    try:
        answers = con.execute("SELECT * FROM survey_latest ORDER BY customer_id").df()
        ratings = query(con, "survey_latest_ratings").df()
    finally:
        con.execute("DROP TABLE survey_latest")
    return answers, ratings


def _groups(con: duckdb.DuckDBPyConnection, table: str, column: str) -> pd.DataFrame:
    """``customer_id`` and ``column`` of ``table`` (any table with a customer_id)."""
    require_tables(con, table)
    present = list(con.table(table).columns)
    missing = [c for c in ("customer_id", column) if c not in present]
    if missing:
        raise MissingColumnError(f"table '{table}' has no column(s) {', '.join(missing)}; "
                                 f"it has {', '.join(sorted(present))}")
    return con.execute(f"SELECT customer_id, {sql_identifier(column)} AS _group "
                       f"FROM {sql_identifier(table)}").df()


def _with_group(frame: pd.DataFrame, groups: pd.DataFrame, name: str) -> pd.DataFrame:
    """``frame`` with column ``name``: each customer's group, :data:`UNKNOWN` when none."""
    merged = frame.merge(groups.drop_duplicates("customer_id"), on="customer_id", how="left")
    values = merged.pop("_group")
    merged[name] = values.where(values.notna(), UNKNOWN).astype(str)
    return merged


def nps_by(con: duckdb.DuckDBPyConnection, table: str, column: str,
           as_of: date | None = None) -> pd.DataFrame:
    """NPS per value of ``table.column``, e.g. ``nps_by(con, "segments", "tier")``.

    Parameters
    ----------
    con
        The run's warehouse, with ``survey_answers`` and ``survey_ratings``.
    table, column
        Any table with a ``customer_id`` and the column to group the respondents by; a
        respondent without a row or a value there is in group ``'unknown'``.
    as_of
        Answers after it are left out; None takes them all (:func:`latest_answers`).

    Returns
    -------
    DataFrame
        The columns of :func:`nps_summary`, one row per group.
    """
    answers, _ = latest_answers(con, as_of)
    return nps_summary(_with_group(answers, _groups(con, table, column), column), column)


def build_satisfaction(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                       breakdowns: Sequence[tuple[str, str]] = SATISFACTION_BREAKDOWNS) -> int:
    """Write ``satisfaction``, ``driver_ratings`` and ``nps_drivers``.

    Reads ``survey_answers`` and ``survey_ratings`` (:func:`latest_answers`, up to
    ``cfg.as_of``) and each breakdown's table: by default ``customer_value.rfm_segment`` and
    ``customers.customer_type``. All three tables are empty when no survey is loaded.

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of``.
    breakdowns
        (table, column) pairs to break the respondents down by, after everyone (``'all'``).

    Returns
    -------
    int
        Rows of ``satisfaction``: one for everyone, then one per group of each breakdown
        (:func:`nps_summary`); 0 without survey answers.

    Notes
    -----
    ``driver_ratings`` has the same rows per driver (:func:`driver_means`); ``nps_drivers``
    one row per driver over every respondent (:func:`driver_separation`).
    """
    answers, ratings = latest_answers(con, cfg.as_of)
    summaries = [nps_summary(answers).assign(breakdown=ALL[0])]
    means = [driver_means(ratings).assign(breakdown=ALL[0])]
    for table, column in breakdowns:
        groups = _groups(con, table, column)
        summaries.append(nps_summary(_with_group(answers, groups, column), column)
                         .assign(breakdown=column))
        means.append(driver_means(_with_group(ratings, groups, column), column)
                     .assign(breakdown=column))
    write_table(con, "driver_ratings",
                pd.concat(means, ignore_index=True)[list(DRIVER_RATING_COLUMNS)])
    write_table(con, "nps_drivers", driver_separation(ratings))
    return write_table(con, "satisfaction",
                       pd.concat(summaries, ignore_index=True)[list(SATISFACTION_COLUMNS)])
