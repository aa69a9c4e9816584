"""The ground truth: who every record really is, the people's true traits, the bad rows and
the true parameters (``truth/`` next to the source files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from .dates import Calendar, campaign_id
from .parameters import (
    ACQUISITION_TRAIT_EFFECTS,
    BAD_ROW_KINDS,
    BGNBD_A,
    BGNBD_ALPHA_WEEKS,
    BGNBD_B,
    BGNBD_R,
    BUSINESS_SHARE,
    BUSINESS_TRAIT_EFFECTS,
    BUYS_VIA,
    CAMPAIGN_RATE_UPLIFT,
    GG_GAMMA,
    GG_P,
    GG_Q,
    PERSON_COLUMNS,
)
from .simulation import World
from .writers import OrderFile, Sources, write_csv

__all__ = ["parameters", "persons_truth", "record_map", "write_truth"]


def write_truth(folder: Path, world: World, sources: Sources, cal: Calendar,
                run: dict) -> dict[str, int]:
    """Write ``persons.csv``, ``record_map.csv``, ``bad_rows.csv`` and ``parameters.json``.

    ``run`` holds the run's arguments, the first entries of ``parameters.json``. Returns the
    data rows of each file keyed by ``truth/<name>`` (``parameters.json`` counts as one row).
    """
    counts: dict[str, int] = {}
    counts["truth/persons.csv"] = write_csv(persons_truth(world.people, cal),
                                            folder / "persons.csv")
    records = record_map(world.people, world.crm, sources.web, sources.store)
    counts["truth/record_map.csv"] = write_csv(records, folder / "record_map.csv")
    bad_rows = pd.concat([sources.web.bad_rows, sources.store.bad_rows], ignore_index=True)
    counts["truth/bad_rows.csv"] = write_csv(bad_rows, folder / "bad_rows.csv")

    values = parameters(run, world, sources, bad_rows, cal)
    text = json.dumps(values, indent=2, ensure_ascii=False) + "\n"
    (folder / "parameters.json").write_text(text, encoding="utf-8")
    counts["truth/parameters.json"] = 1
    return counts


def persons_truth(people: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """One row per real person with their true traits (``PERSON_COLUMNS``)."""
    death_t = people["death_t"].to_numpy()
    dead = ~np.isnan(death_t)
    death_date = np.full(len(people), "", dtype=object)
    death_date[dead] = cal.format(np.floor(death_t[dead]).astype(np.int64), "%Y-%m-%d")
    truth = people.assign(
        lambda_per_week=np.round(people["lam"], 6),
        p_dropout=np.round(people["p"], 6),
        mean_spend=np.round(GG_P / people["nu"], 2),
        acquisition_date=cal.format(np.floor(people["t0"]).astype(np.int64), "%Y-%m-%d"),
        death_date=death_date,
        alive_at_as_of=people["alive"],
    )
    return truth[PERSON_COLUMNS]


def record_map(people: pd.DataFrame, crm: pd.DataFrame, web: OrderFile,
               store: OrderFile) -> pd.DataFrame:
    """Which person every CRM contact, web account and loyalty card belongs to."""
    person_id = people["person_id"].to_numpy()
    frames = [
        pd.DataFrame({"source": "crm", "source_key": crm["contact_id"].to_numpy(),
                      "person_id": person_id[crm["person"].to_numpy()]}),
        pd.DataFrame({"source": "webshop", "source_key": web.keys["source_key"],
                      "person_id": person_id[web.keys["person"]]}),
        pd.DataFrame({"source": "store", "source_key": store.keys["source_key"],
                      "person_id": person_id[store.keys["person"]]}),
    ]
    return pd.concat(frames).sort_values(["source", "source_key"], ignore_index=True)


def parameters(run: dict, world: World, sources: Sources, bad_rows: pd.DataFrame,
               cal: Calendar) -> dict:
    """Content of ``parameters.json``: the run, the true model parameters and the counts."""
    occasions, people = world.occasions, world.people
    return {
        **run,
        "bgnbd": {"r": BGNBD_R, "alpha": BGNBD_ALPHA_WEEKS, "a": BGNBD_A, "b": BGNBD_B,
                  "time_unit": "weeks"},
        "gamma_gamma": {"p": GG_P, "q": GG_Q, "gamma": GG_GAMMA,
                        "mean_spend_per_occasion": GG_P * GG_GAMMA / (GG_Q - 1)},
        "occasions": {
            "total": int(len(occasions)),
            "webshop": int(occasions["web"].sum()),
            "store": int((~occasions["web"]).sum()),
        },
        "lines": _line_counts(sources.web, sources.store, bad_rows),
        "people": {
            "alive_at_as_of": int(people["alive"].sum()),
            "with_crm_contact": int(people["has_crm"].sum()),
            "buys_via": {v: int((people["buys_via"] == v).sum()) for v in BUYS_VIA},
        },
        "campaign": _campaign_truth(world, cal),
        "acquisition": _acquisition_truth(people),
    }


def _line_counts(web: OrderFile, store: OrderFile, bad_rows: pd.DataFrame) -> dict:
    """Rows of the order files, and the bad rows of each kind per file."""
    return {
        "webshop_rows": web.n_rows,
        "webshop_purchase_lines": web.n_purchase_lines,
        "webshop_return_lines": web.n_return_lines,
        "store_rows": store.n_rows,
        "store_purchase_lines": store.n_purchase_lines,
        "total_rows": web.n_rows + store.n_rows,
        "bad_rows": {
            name: {kind: int((frame["kind"] == kind).sum()) for kind in BAD_ROW_KINDS}
            for name, frame in bad_rows.groupby("file", sort=True)
        },
    }


def _campaign_truth(world: World, cal: Calendar) -> dict:
    """The win-back campaign's true effect and the size of its groups.

    The effect on the treated is what their extra occasions added: every treated person's
    other purchases are the ones they would have made anyway, so the extra occasions' count
    and spend per treated person are the true average effect a treated-minus-control
    comparison estimates (spend before returns)."""
    campaign, extra = world.campaign, world.extra
    treated = int((campaign["group"] == "treated").sum())
    is_extra = world.occasions["campaign_extra"].to_numpy()[world.lines["occasion"].to_numpy()]
    extra_cents = int(world.lines["cents"].to_numpy()[is_extra].sum())
    return {
        "campaign_id": campaign_id(cal),
        "start_date": cal.iso(cal.campaign_start_day),
        "rate_uplift": CAMPAIGN_RATE_UPLIFT,
        "description": "treated people buy at (1 + rate_uplift) * lambda after start_date "
                       "while alive; dropout is unchanged",
        "treated": treated,
        "control": int((campaign["group"] == "control").sum()),
        "extra_occasions": int(len(extra)),
        "extra_purchases_per_treated": len(extra) / treated if treated else 0.0,
        "extra_revenue_per_treated": extra_cents / 100 / treated if treated else 0.0,
    }


def _acquisition_truth(people: pd.DataFrame) -> dict:
    """How the acquisition channel and the customer type depend on the true traits, and what
    that makes each group worth.

    Per group: people, the mean true purchase rate (per week), dropout probability and spend
    per purchase (GG_P / nu), and the expected gross spend of a person's first year,
    E[purchases in 52 weeks] x spend, with BG/NBD's E[X(t) | lambda, p] = (1 - exp(-lambda p
    t)) / p: what a model of early value should rank groups by.
    """
    spend = GG_P / people["nu"]
    first_year = (1 - np.exp(-people["lam"] * people["p"] * 52)) / people["p"] * spend
    frame = people.assign(spend=spend, first_year=first_year)

    def by(column: str) -> dict:
        groups = frame.groupby(column, sort=True)
        return {str(name): {"people": int(len(group)),
                            "mean_purchases_per_week": round(float(group["lam"].mean()), 4),
                            "mean_dropout_probability": round(float(group["p"].mean()), 4),
                            "mean_spend_per_purchase": round(float(group["spend"].mean()), 2),
                            "expected_first_year_spend": round(float(group["first_year"].mean()),
                                                               2)}
                for name, group in groups}

    return {
        "description": "channel and customer type are drawn after the traits, with log-odds "
                       "moved by the standardised traits (purchase rate, loyalty = minus the "
                       "log-odds of dropout, spend = minus log nu) times these effects; city "
                       "carries no information",
        "channel_effects": {c: dict(zip(("rate", "loyalty", "spend"), e, strict=True))
                            for c, e in ACQUISITION_TRAIT_EFFECTS.items()},
        "business_share": BUSINESS_SHARE,
        "business_effects": dict(zip(("rate", "loyalty", "spend"), BUSINESS_TRAIT_EFFECTS,
                                     strict=True)),
        "by_channel": by("acquisition_channel"),
        "by_customer_type": by("customer_type"),
    }
