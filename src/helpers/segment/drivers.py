"""Satisfaction-driver segments: what each respondent is unhappy about, and what to offer.

Seed 002: value orients the relationship (the tier says how much to invest), satisfaction
drivers orient the offer (what the customer perceives as the problem says what to offer). A
respondent's *concern* is the driver they rate lowest, when that rating is at or below
``segment.driver_concern_at``; respondents with no driver that low have 'no concern'.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from helpers.config import TIERS, RunConfig
from helpers.differentiate.satisfaction import latest_answers, nps_summary
from helpers.warehouse import require_columns, table_names, write_table

__all__ = ["NO_CONCERN", "NOT_RATED", "has_survey", "driver_offer", "build_driver_segments",
           "driver_tier_table"]

#: The driver group of a respondent who rates no driver at or below the concern level.
NO_CONCERN = "no concern"
#: The driver group of a respondent whose answer rates no driver.
NOT_RATED = "not rated"


def has_survey(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the run loaded survey answers with driver ratings."""
    if not {"survey_answers", "survey_ratings"} <= set(table_names(con)):
        return False
    return con.execute("SELECT count(*) > 0 FROM survey_ratings").fetchone()[0]


def driver_offer(cfg: RunConfig, group: str) -> str:
    """The offer a driver group suggests: ``segment.driver_offers``, else a generic one."""
    if group == NOT_RATED:
        return ""
    return cfg.segment.driver_offers.get(group, f"address {group} first")


def build_driver_segments(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``driver_segments``: each respondent's weakest driver and driver group.

    Reads ``survey_answers`` and ``survey_ratings`` through
    :func:`helpers.differentiate.satisfaction.latest_answers` (each respondent's latest
    answer up to ``as_of``: customer_id, nps, driver, rating).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of`` and ``segment.driver_concern_at``.

    Returns
    -------
    int
        Rows written: one per respondent (0 without a survey).

    Notes
    -----
    Columns customer_id, nps, weakest_driver and weakest_rating (the lowest rating of the
    answer; a tie goes to the driver first in name order, a fixed rule), driver_group (the
    weakest driver when its rating is at or below ``driver_concern_at``, else
    :data:`NO_CONCERN`; :data:`NOT_RATED` when the answer rates no driver) and offer
    (:func:`driver_offer`).
    """
    answers, ratings = latest_answers(con, cfg.as_of)
    weakest = (ratings.sort_values(["customer_id", "rating", "driver"], kind="stable")
               .drop_duplicates("customer_id")
               .rename(columns={"driver": "weakest_driver", "rating": "weakest_rating"}))
    frame = answers[["customer_id", "nps"]].merge(
        weakest[["customer_id", "weakest_driver", "weakest_rating"]], on="customer_id",
        how="left")
    concern = frame["weakest_rating"] <= cfg.segment.driver_concern_at
    frame["driver_group"] = frame["weakest_driver"].where(concern, NO_CONCERN)
    frame.loc[frame["weakest_rating"].isna(), "driver_group"] = NOT_RATED
    frame["offer"] = frame["driver_group"].map(lambda group: driver_offer(cfg, group))
    return write_table(con, "driver_segments", frame.sort_values("customer_id"))


def driver_tier_table(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """Driver groups crossed with value tiers: who they are, how they score, what to offer.

    Reads ``driver_segments`` (customer_id, nps, driver_group, offer) and ``segments``
    (customer_id, tier); a respondent without a tier (no purchase) is left out.

    Returns
    -------
    DataFrame
        One row per tier (in :data:`TIERS` order) and driver group (largest first):
        tier, driver_group, respondents, share_of_tier (of the tier's respondents), nps,
        nps_low, nps_high, mean_score, and offer: the offer the group suggests. The tier's
        action (the relationship) is in the playbook; this table orients the offer within
        it.
    """
    require_columns(con, "driver_segments", ("customer_id", "nps", "driver_group", "offer"))
    require_columns(con, "segments", ("customer_id", "tier"))
    respondents = con.execute(
        "SELECT d.customer_id, d.nps, d.driver_group, d.offer, s.tier "
        "FROM driver_segments AS d JOIN segments AS s USING (customer_id) "
        "ORDER BY d.customer_id").df()
    respondents["cell"] = respondents["tier"] + "\t" + respondents["driver_group"]
    table = nps_summary(respondents, by="cell")
    table[["tier", "driver_group"]] = table["segment"].str.split("\t", expand=True)
    table["share_of_tier"] = (table["respondents"]
                              / table.groupby("tier")["respondents"].transform("sum"))
    table["offer"] = table["driver_group"].map(lambda group: driver_offer(cfg, group))
    table["tier_order"] = table["tier"].map({tier: i for i, tier in enumerate(TIERS)})
    table = table.sort_values(["tier_order", "respondents", "driver_group"],
                              ascending=[True, False, True], ignore_index=True)
    return table[["tier", "driver_group", "respondents", "share_of_tier", "nps", "nps_low",
                  "nps_high", "mean_score", "offer"]]
