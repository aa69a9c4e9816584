"""Benchmark: notebook 02's builders on 1, 3 and 10 million order lines: linear, under 4 GB.

For each size of ``--lines`` (customers: one per :data:`LINES_PER_CUSTOMER` lines):

1. **Data**, in a process of its own and not timed: :mod:`clv_bench`'s simulated order lines
   (``simulate``/``write_warehouse``: buy-till-you-die customers over three years, 1-4 lines
   a purchase day, some returns) in a run folder's warehouse, with the other tables notebook
   02 reads, small and with the registry's columns: ``customers`` (an acquisition channel and
   a customer type each, some channels missing), ``support_contacts`` (three in the three
   years for one customer in five) and ``marketing_spend`` (a month's spend per channel).
2. **Builders**, in a fresh process, as notebook 02 calls them on a connection opened as a run
   opens it (:func:`helpers.warehouse.connect`: one DuckDB thread): acquisition costs,
   ``customer_value``, ``equity_metrics`` and ``cohorts``, each timed; then the process's
   peak resident memory (``resource.getrusage``), which includes Python and its libraries.

It prints a Markdown table of seconds, seconds per million lines and peak memory per size,
and exits 1 when the time per line of the largest size is more than :data:`MAX_GROWTH` times
the smallest's (not linear) or a size's peak memory exceeds :data:`MAX_MEMORY_GB`.

    python benchmarks/differentiate_bench.py [--lines 1000000 3000000 10000000]
                                             [--period year] [--seed 1]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from clv_bench import AS_OF, HISTORY_DAYS, _create, write_warehouse

from helpers import differentiate
from helpers.config import RunConfig
from helpers.warehouse import connect, scalar

#: Targets (issue 9): time per line grows at most this much from the smallest size to the
#: largest, and no size takes more memory than this.
MAX_GROWTH = 1.5
MAX_MEMORY_GB = 4.0

LINES_PER_CUSTOMER = 10
CHANNELS = ("web", "store", "partner", "social")
#: One customer in this many has no acquisition channel, and one in SUPPORT_EVERY three
#: support contacts.
MISSING_CHANNEL_EVERY = 10
SUPPORT_EVERY = 5


def write_tables(folder: Path, lines: int, seed: int) -> None:
    """The order lines (:func:`clv_bench.write_warehouse`) and the small tables beside them."""
    customers = max(lines // LINES_PER_CUSTOMER, 1)
    write_warehouse(folder, customers, lines, seed)
    rng = np.random.default_rng(seed + 1)
    ids = pd.Series([f"C{i:0{len(str(customers - 1))}d}" for i in range(customers)])
    channel = pd.Series(np.array(CHANNELS, dtype=object)[rng.integers(0, len(CHANNELS),
                                                                      customers)])
    channel[rng.integers(0, MISSING_CHANNEL_EVERY, customers) == 0] = None
    people = pd.DataFrame({"customer_id": ids, "acquisition_channel": channel,
                           "customer_type": np.where(rng.random(customers) < 0.2, "business",
                                                     "private")})
    supported = ids[rng.integers(0, SUPPORT_EVERY, customers) == 0]
    contacts = pd.DataFrame({
        "customer_id": supported.repeat(3).to_numpy(),
        "contact_date": pd.Timestamp(AS_OF) - pd.to_timedelta(
            rng.integers(0, HISTORY_DAYS, 3 * len(supported)), unit="D"),
        "cost": np.round(rng.gamma(2.0, 5.0, 3 * len(supported)), 2)})
    months = pd.date_range(end=AS_OF, periods=HISTORY_DAYS // 30 + 1, freq="MS")
    spend = pd.DataFrame([(month, channel_name, float(rng.gamma(5.0, 2000.0)))
                          for month in months for channel_name in CHANNELS],
                         columns=["spend_date", "channel", "amount"])
    with connect(folder) as con:
        for name, frame, columns in (
                ("customers", people, "customer_id, acquisition_channel, customer_type"),
                ("support_contacts", contacts, "customer_id, contact_date, cost"),
                ("marketing_spend", spend, "spend_date, channel, amount")):
            _create(con, name)
            con.register("incoming", frame)
            con.execute(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM incoming")
            con.unregister("incoming")
        con.execute("UPDATE support_contacts SET source = 'desk'")
        con.execute("UPDATE marketing_spend SET source = 'ads'")


def run_builders(folder: Path, period: str, results) -> None:
    """Notebook 02's builders on ``folder``'s warehouse, each timed, and the peak memory."""
    cfg = RunConfig(client="bench", as_of=AS_OF, time_unit="week",
                    sources={"bench": {"kind": "transactions", "path": "bench.csv", "columns": {
                        "customer_key": "customer", "order_date": "date",
                        "amount": "amount"}}},
                    differentiate={"period": period})
    seconds = {}
    with connect(folder) as con:
        con.execute("SET enable_progress_bar = false")
        for builder in (differentiate.build_acquisition_costs,
                        differentiate.build_customer_value,
                        differentiate.build_equity_metrics, differentiate.build_cohorts):
            started = time.perf_counter()
            builder(con, cfg)
            seconds[builder.__name__] = time.perf_counter() - started
        lines = scalar(con, "SELECT count(*) FROM transactions")
    # ru_maxrss is in KiB on Linux
    results.put({"lines": lines, "seconds": seconds,
                 "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20})


def in_process(target, *args) -> None:
    """Run ``target(*args)`` in a fresh process (spawned: nothing inherited)."""
    process = multiprocessing.get_context("spawn").Process(target=target, args=args)
    process.start()
    process.join()
    if process.exitcode:
        raise RuntimeError(f"{target.__name__} failed (see above)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+",
                        default=[1_000_000, 3_000_000, 10_000_000],
                        help="sizes in order lines (default 1000000 3000000 10000000)")
    parser.add_argument("--period", choices=["month", "quarter", "year"], default="year",
                        help="differentiate.period of the run (default year)")
    parser.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    args = parser.parse_args()
    rows = []
    for lines in sorted(args.lines):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            started = time.perf_counter()
            in_process(write_tables, folder, lines, args.seed)
            print(f"{lines:,} lines simulated in {time.perf_counter() - started:.0f} s "
                  f"(not timed); load average {os.getloadavg()[0]:.2f}", flush=True)
            results = multiprocessing.get_context("spawn").Queue()
            in_process(run_builders, folder, args.period, results)
            rows.append(results.get())
    names = list(rows[0]["seconds"])
    print(f"\nNotebook 02's builders, periods of a {args.period}, one DuckDB thread:\n")
    print("| order lines | " + " | ".join(f"{n} (s)" for n in names)
          + " | total (s) | s per million lines | peak memory (GB) |")
    print("|---:|" + "---:|" * (len(names) + 3))
    for row in rows:
        total = sum(row["seconds"].values())
        row["per_million"] = total / row["lines"] * 1e6
        print(f"| {row['lines']:,} | " + " | ".join(f"{row['seconds'][n]:.1f}" for n in names)
              + f" | {total:.1f} | {row['per_million']:.2f} | {row['peak_gb']:.2f} |")
    growth = rows[-1]["per_million"] / rows[0]["per_million"]
    peak = max(row["peak_gb"] for row in rows)
    linear, small = growth <= MAX_GROWTH, peak <= MAX_MEMORY_GB
    print(f"\ntime per line, largest / smallest size: {growth:.2f} (target <= {MAX_GROWTH}): "
          f"{'meets' if linear else '**MISSES**'}")
    print(f"peak memory {peak:.2f} GB (target <= {MAX_MEMORY_GB:.0f} GB): "
          f"{'meets' if small else '**MISSES**'}")
    return 0 if linear and small else 1


if __name__ == "__main__":
    sys.exit(main())
