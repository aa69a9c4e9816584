"""Benchmark: do the 95% intervals of the fitted BG/NBD and Gamma-Gamma parameters cover the
demo generator's true values, seed after seed?

For each seed of ``--seeds`` the script writes the demo client (``--customers`` people) to a
temporary folder and fits BG/NBD (:func:`helpers.clv.fit_purchase_model`) and Gamma-Gamma
(:func:`helpers.clv.fit_spend_model`) on the whole history at seven levels. Each level adds
one feature of the demo data to the one before it, from data that follow the models to the
kit's real input, so that a level where the intervals stop covering the truth names the
feature that moves the estimates:

``model``
    lifetimes' own BG/NBD generator (``beta_geometric_nbd_model``) with the true r, alpha, a,
    b, as many customers as the seed has people, each observed for the age (T) of one of them;
    spend drawn from the true Gamma-Gamma. Data that follow the models: checks the estimator
    and its intervals.
``continuous``
    the simulation's own purchase occasions (re-drawn in process: :func:`simulate` is the
    generator's first step, so the same seed gives the same people), without the win-back
    campaign's extra ones, at their exact times, worth their true Gamma-Gamma spend.
``days``
    the same occasions dated to the day, as the sources hold them (the generator puts a
    person's purchases on distinct days), summarised by the kit's
    :func:`helpers.clv.rfm_summary`, as for every level below.
``+campaign``
    with the campaign's extra occasions, as the people really bought.
``lines``
    each occasion worth its order lines in whole cents instead of its exact spend (the
    generator prices an occasion's lines to add up to its spend).
``people``
    the order lines the kit accepts (``transactions``) mapped to the true persons through
    ``truth/record_map.csv``: adds returns, bad rows and duplicate lines, but no
    identification error.
``kit``
    the kit's own identified customers: the full chain of notebook 01.

It prints, as Markdown, one table per level (estimate and 95% interval of each parameter per
seed, ✗ where the interval misses the truth), then the coverage (seeds whose interval covers
the truth), the mean z-score ((log estimate − log truth) / its standard error: a shift of the
estimates, in standard errors, that one seed cannot show) and the mean relative error.

Five seeds of 5,000 people take about a minute and a half on two cores.

    python benchmarks/clv_coverage_bench.py [--seeds 1 2 3 4 5] [--customers 5000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml
from lifetimes.generate_data import beta_geometric_nbd_model

from helpers import identify, matching, sources
from helpers.clv import fit_purchase_model, fit_spend_model, rfm_summary, true_parameters
from helpers.clv.value import parameter_intervals
from helpers.config import DEMO_CONFIG, RunConfig, load_config
from helpers.demo_data import generate
from helpers.demo_data.dates import Calendar
from helpers.demo_data.simulation import simulate
from helpers.warehouse import connect

LEVELS = ("model", "continuous", "days", "+campaign", "lines", "people", "kit")
#: The parameters checked, BG/NBD's then Gamma-Gamma's, in the order of the tables.
PARAMETERS = ("r", "alpha", "a", "b", "p", "q", "v")
#: A level "covers" a parameter when the interval covers the truth in at least this share of
#: the seeds (issue 8: 4 of 5).
COVERAGE_TARGET = 0.8

#: The summary of occasions at their exact times ``t`` (days since the window start, the
#: first one the acquisition), observed until ``$end``: rfm_summary.sql without the days.
CONTINUOUS_SUMMARY = """
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       (MAX(t) - MIN(t)) / $days_per_unit AS recency,
       ($end - MIN(t)) / $days_per_unit AS T,
       COALESCE((SUM(amount) - ARG_MIN(amount, t)) / NULLIF(COUNT(*) - 1, 0), 0.0)
           AS monetary_value
FROM occasions
GROUP BY customer_id
ORDER BY customer_id
"""

#: The kit's order lines mapped to the people who really made them: each line's source key
#: (from the staged source it was read from) looked up in the truth's record map.
PEOPLE_TRANSACTIONS = """
CREATE OR REPLACE TABLE transactions AS
SELECT m.person_id AS customer_id, t.order_date, t.amount
FROM kit_transactions AS t
JOIN staged_keys AS s ON s.source = t.source AND s._row = t.source_row
JOIN record_map AS m ON m.source = s.source AND m.source_key = s.customer_key
"""


@dataclass(frozen=True)
class Fit:
    """One level's fits on one seed: estimates with their intervals and log-scale standard
    errors, by (model, parameter)."""

    level: str
    seed: int
    table: pd.DataFrame  # model, param, estimate, low, high, se_log


def seed_config(data: Path, folder: Path, seed: int) -> RunConfig:
    """configs/demo.yaml with every file it names (sources, truth) taken from ``data``."""
    config = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config["client"] = f"coverage_seed{seed}"
    for source in config["sources"].values():
        source["path"] = str(data / Path(source["path"]).name)
    config["identity"]["truth"] = str(data / "truth" / "record_map.csv")
    config["clv"]["truth"] = str(data / "truth" / "parameters.json")
    path = folder / f"seed{seed}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return load_config(path)


def fit_level(level: str, seed: int, summary: pd.DataFrame, cfg: RunConfig) -> Fit:
    """BG/NBD and Gamma-Gamma on a whole-history summary (frequency, recency, T,
    monetary_value), each parameter with its ``clv.interval_level`` interval."""
    parts = []
    for fit in (fit_purchase_model(summary, "bgnbd", cfg), fit_spend_model(summary, cfg)):
        intervals = parameter_intervals(fit.params, fit.covariance, cfg.clv.interval_level)
        intervals["se_log"] = np.sqrt(np.diag(fit.covariance.loc[fit.params.index,
                                                                 fit.params.index]))
        parts.append(intervals.assign(model=fit.model))
    return Fit(level, seed, pd.concat(parts, ignore_index=True))


def summary_of(frame: pd.DataFrame, cfg: RunConfig) -> pd.DataFrame:
    """:func:`rfm_summary` of ``frame`` (customer_id, order_date, amount) as ``transactions``."""
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions AS SELECT customer_id, order_date, amount "
                "FROM frame")
    summary = rfm_summary(con, cfg)
    con.close()
    return summary


def model_summary(ages_days: np.ndarray, truth: pd.Series, cfg: RunConfig,
                  seed: int) -> pd.DataFrame:
    """BG/NBD histories from lifetimes' generator and Gamma-Gamma mean spends, in model units.

    The generator runs in days (alpha per day), because it counts the distinct whole time units
    of the purchases as ``frequency``: in weeks it would merge purchases of the same week, in
    days it merges same-day ones as the kit's summary does.
    """
    days = float(cfg.days_per_unit)
    # lifetimes draws from numpy's global generator and takes no seed: seed that one
    np.random.seed(seed)
    bgnbd = beta_geometric_nbd_model(ages_days.astype(float), truth["r"],
                                     truth["alpha"] * days, truth["a"], truth["b"],
                                     size=len(ages_days))
    rng = np.random.default_rng(seed)
    x = bgnbd["frequency"].to_numpy()
    nu = rng.gamma(truth["q"], 1.0 / truth["v"], len(x))
    # the mean of x Gamma(p, nu) spends is Gamma(p x, x nu)
    spend = rng.gamma(truth["p"] * np.maximum(x, 1), 1.0 / (np.maximum(x, 1) * nu))
    return pd.DataFrame({"customer_id": bgnbd.index.astype(int), "frequency": x,
                         "recency": bgnbd["recency"].to_numpy() / days,
                         "T": bgnbd["T"].to_numpy() / days,
                         "monetary_value": np.where(x > 0, spend, 0.0)})


@dataclass(frozen=True)
class Simulated:
    """The simulation's purchase occasions: ``customer_id``, ``t`` (days since the window
    start), ``order_date``, ``spend`` (true Gamma-Gamma), ``lines`` (its order lines' total)
    and ``campaign_extra``; ``end``, the end of the last day, in days."""

    occasions: pd.DataFrame
    end: float


def simulated(data: Path) -> Simulated:
    """Re-draw the purchase occasions of the demo in ``data`` with its seed (:func:`simulate` is
    the generator's first step), checked against the occasions ``truth/parameters.json``
    counts."""
    run = pd.read_json(data / "truth" / "parameters.json", typ="series")
    cal = Calendar.ending(date.fromisoformat(run["as_of"]), int(run["years"]))
    world = simulate(np.random.default_rng(int(run["seed"])), int(run["customers"]), cal)
    occasions = world.occasions
    if len(occasions) != run["occasions"]["total"]:
        raise RuntimeError(f"re-drawn {len(occasions)} occasions, the truth counts "
                           f"{run['occasions']['total']}: the generator's first step changed")
    t = occasions["t"].to_numpy()
    cents = np.bincount(world.lines["occasion"], weights=world.lines["cents"],
                        minlength=len(occasions))
    return Simulated(pd.DataFrame({
        "customer_id": world.people["person_id"].to_numpy()[occasions["person"].to_numpy()],
        "t": t,
        "order_date": np.datetime64(cal.start) + np.floor(t).astype("timedelta64[D]"),
        "spend": occasions["spend"].to_numpy(),
        "lines": cents / 100,
        "campaign_extra": occasions["campaign_extra"].to_numpy()}), float(cal.n_days))


def continuous_summary(frame: pd.DataFrame, end: float, cfg: RunConfig) -> pd.DataFrame:
    """:data:`CONTINUOUS_SUMMARY` of ``frame`` (customer_id, t, amount) as ``occasions``."""
    con = duckdb.connect()
    con.execute("CREATE TABLE occasions AS SELECT customer_id, t, amount FROM frame")
    summary = con.execute(CONTINUOUS_SUMMARY, {"end": end,
                                               "days_per_unit": float(cfg.days_per_unit)}).df()
    con.close()
    return summary


def kit_chain(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Notebook 01's chain up to ``transactions``."""
    sources.build_load_counts(con, cfg)
    identify.build_source_records(con, cfg)
    matching.build_match_pairs(con, cfg)
    identify.build_customer_xref(con, cfg)
    identify.build_customers(con, cfg)
    identify.build_transactions(con, cfg)


def people_summary(con: duckdb.DuckDBPyConnection, cfg: RunConfig, data: Path
                   ) -> tuple[pd.DataFrame, float]:
    """The summary of the kit's ``transactions`` with each line given to its true person,
    and the share of lines that found one (all, unless the record map misses a key)."""
    stages = " UNION ALL ".join(
        f"SELECT '{name}' AS source, _row, customer_key FROM stage_{name}"
        for name, source in cfg.sources.items() if source.kind == "transactions")
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_keys AS {stages}")
    record_map = pd.read_csv(data / "truth" / "record_map.csv", dtype=str)
    con.register("record_map", record_map)
    con.execute("ALTER TABLE transactions RENAME TO kit_transactions")
    con.execute(PEOPLE_TRANSACTIONS)
    mapped = con.execute("SELECT (SELECT count(*) FROM transactions) / "
                         "(SELECT count(*) FROM kit_transactions)").fetchone()[0]
    return rfm_summary(con, cfg), float(mapped)


def run_seed(seed: int, customers: int, scratch: Path) -> tuple[list[Fit], pd.Series]:
    """Generate the demo for ``seed`` and fit every level on it; also the true parameters."""
    started = time.perf_counter()
    data = scratch / f"seed{seed}"
    generate(data, customers=customers, seed=seed)
    cfg = seed_config(data, scratch, seed)
    truth = true_parameters(cfg).set_index("metric")["true_value"]

    con = connect(scratch / f"run{seed}")
    kit_chain(con, cfg)
    identity = matching.evaluate(con, cfg).set_index("measure")["value"]
    kit = rfm_summary(con, cfg)
    people, mapped = people_summary(con, cfg, data)
    con.close()

    sim = simulated(data)
    bought = sim.occasions[~sim.occasions["campaign_extra"]]
    ages_days = np.rint(people["T"].to_numpy() * cfg.days_per_unit)
    summaries = {
        "model": model_summary(ages_days, truth, cfg, seed),
        "continuous": continuous_summary(bought.rename(columns={"spend": "amount"}), sim.end,
                                         cfg),
        "days": summary_of(bought.rename(columns={"spend": "amount"}), cfg),
        "+campaign": summary_of(sim.occasions.rename(columns={"spend": "amount"}), cfg),
        "lines": summary_of(sim.occasions.rename(columns={"lines": "amount"}), cfg),
        "people": people,
        "kit": kit,
    }
    fits = [fit_level(level, seed, summary, cfg) for level, summary in summaries.items()]
    repeats = {level: int(summary["frequency"].sum()) for level, summary in summaries.items()}
    print(f"seed {seed}: {time.perf_counter() - started:5.1f} s; {len(people):,} people, "
          f"{len(kit):,} kit customers ({int(identity['split_people'])} people split, "
          f"{int(identity['over_merged_customers'])} customers over-merged); {mapped:.2%} of "
          f"lines mapped to a person; {sim.occasions['campaign_extra'].sum():,} of "
          f"{len(sim.occasions):,} occasions from the campaign; repeat purchases "
          + ", ".join(f"{level} {n:,}" for level, n in repeats.items()), flush=True)
    return fits, truth


def results_frame(fits: list[Fit], truth: pd.Series) -> pd.DataFrame:
    """One row per level, seed and parameter: estimate, interval, truth, covered, z."""
    rows = pd.concat([f.table.assign(level=f.level, seed=f.seed) for f in fits],
                     ignore_index=True)
    rows["true"] = rows["param"].map(truth)
    rows["covered"] = (rows["low"] <= rows["true"]) & (rows["true"] <= rows["high"])
    rows["z"] = np.log(rows["estimate"] / rows["true"]) / rows["se_log"]
    return rows


def markdown(frame: pd.DataFrame) -> str:
    """A Markdown table of ``frame`` (index included), cells as they are."""
    frame = frame.reset_index()
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join(" --- " for _ in frame.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def number(value: float) -> str:
    return f"{value:.3g}"


def print_tables(rows: pd.DataFrame, seeds: list[int]) -> dict[str, list[str]]:
    """Print the per-level and coverage tables; return, for the ``people`` and ``kit``
    levels, the parameters that miss the coverage target."""
    order = list(PARAMETERS)
    rows = rows.assign(cell=[f"{number(e)} [{number(lo)}, {number(hi)}]" + ("" if c else " ✗")
                             for e, lo, hi, c in rows[["estimate", "low", "high", "covered"]]
                             .itertuples(index=False)])
    truth = rows.drop_duplicates("param").set_index("param")["true"].map(number)
    for level in LEVELS:
        table = (rows[rows["level"] == level].pivot(index="param", columns="seed",
                                                    values="cell")
                 .reindex(index=order, columns=seeds))
        table.columns = [f"seed {s}" for s in seeds]
        table.insert(0, "true", truth)
        print(f"\n### {level}: estimate [95% interval], ✗ where it misses the truth\n")
        print(markdown(table.rename_axis("parameter")))
    grouped = rows.groupby(["param", "level"])
    covered = grouped["covered"].sum().unstack().reindex(index=order, columns=list(LEVELS))
    print(f"\n### coverage: seeds (of {len(seeds)}) whose 95% interval covers the truth\n")
    print(markdown(covered.map(lambda k: f"{k}/{len(seeds)}").rename_axis("parameter")))
    mean_z = grouped["z"].mean().unstack().reindex(index=order, columns=list(LEVELS))
    print("\n### mean z: (log estimate - log truth) / standard error, averaged over the seeds"
          f" (its own standard error is about {1 / np.sqrt(len(seeds)):.2f})\n")
    print(markdown(mean_z.map(lambda z: f"{z:+.2f}").rename_axis("parameter")))
    shift = grouped.apply(lambda g: np.exp(np.log(g["estimate"] / g["true"]).mean()) - 1,
                          include_groups=False)
    print("\n### mean relative error of the estimates (geometric mean of estimate / truth,"
          " minus 1)\n")
    print(markdown(shift.unstack().reindex(index=order, columns=list(LEVELS))
                   .map(lambda s: f"{s:+.1%}").rename_axis("parameter")))
    needed = int(np.ceil(COVERAGE_TARGET * len(seeds)))
    return {level: [param for param in order if covered.loc[param, level] < needed]
            for level in ("people", "kit")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5],
                        help="generator seeds (default 1 2 3 4 5)")
    parser.add_argument("--customers", type=int, default=5000,
                        help="people per seed (default 5000, the demo's)")
    args = parser.parse_args()
    started = time.perf_counter()
    fits = []
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            seed_fits, truth = run_seed(seed, args.customers, Path(scratch))
            fits += seed_fits
    misses = print_tables(results_frame(fits, truth), args.seeds)
    took = timedelta(seconds=round(time.perf_counter() - started))
    print(f"\ntarget: every parameter covered in at least {COVERAGE_TARGET:.0%} of the seeds")
    for level, missed in misses.items():
        print(f"- {level} level: " + (f"MISS ({', '.join(missed)})" if missed else "meet"))
    print(f"{took} in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
