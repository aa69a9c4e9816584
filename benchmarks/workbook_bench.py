"""Benchmark: the actions workbook of a million customers, against the cell-by-cell writer.

Builds, seeded, a table shaped like ``actions`` (the registry's columns, in
:mod:`helpers.tables`, with an order date and a boolean more: ids, text with now and then an
'&' or a formula, money as DOUBLE, percents, counts, NULL offers) of ``--rows`` rows in a
warehouse opened as a run opens it (one DuckDB thread), then writes the Actions sheet of
notebook 04's ``actions.xlsx`` (in the export's order) twice in this process: with
:func:`helpers.workbook.write_workbook`, and with the reference that writes one xlsxwriter
cell at a time (``write_cell_by_cell`` of ``tests/test_workbook_speed.py``, the kit's writer
before). It prints each one's seconds (wall and CPU), the workbook's size, the process's peak
memory after each (``resource.getrusage``: DuckDB, Arrow and Python together) and the ratio.

    python benchmarks/workbook_bench.py [--rows 970000] [--seed 1] [--no-baseline]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_workbook_speed import write_cell_by_cell  # noqa: E402

from helpers.tables import TABLES  # noqa: E402
from helpers.warehouse import connect, sql_identifier  # noqa: E402
from helpers.workbook import Sheet, write_workbook  # noqa: E402

AS_OF = date(2025, 12, 31)

#: Each column's values, from ``h`` and ``g``, two seeded hashes of the row number ``i``;
#: one row in 20 has an '&' in its offer and one in 50 a formula-like offer.
VALUES = {
    "customer_id": "'C' || lpad(CAST(i AS VARCHAR), 8, '0')",
    "tier": "['Most valuable', 'Most growable', 'Maintain', 'Below zero'][1 + h % 4]",
    "cluster": "CAST(h % 6 AS INTEGER)",
    "cluster_name": "['lapsed, likely gone, low-CLV customers', 'loyal big spenders', "
                    "'new and promising', 'occasional bargain hunters', 'steady regulars', "
                    "'one-off buyers'][1 + h % 6]",
    "rfm_segment": "['Champions', 'Loyal', 'At risk', 'Lost', 'New', 'Hibernating']"
                   "[1 + h // 7 % 6]",
    "p_alive": "g % 1000003 / 1000003.0",
    "clv": "h // 13 % 5000000 / 1000.0 - 200",
    "clv_low": "h // 13 % 5000000 / 1100.0 - 210",
    "clv_high": "h // 13 % 5000000 / 900.0 - 190",
    "action": "['retain', 'develop', 'maintain', 'win back', 'reduce cost to serve']"
              "[1 + h // 17 % 5]",
    "treatment": "'reactivate before they are gone: personal reminder with an offer'",
    "offer": "CASE WHEN g % 20 = 0 THEN 'free delivery & returns' WHEN g % 50 = 1 "
             "THEN '=HYPERLINK(\"x\")' ELSE ['reactivation voucher', 'loyalty perks', "
             "'self-service and digital-only contact'][1 + g // 3 % 3] END",
    "offer_type": "['standard', 'concern', 'cross-sell', 'up-sell'][1 + g // 11 % 4]",
    "offer_value": "CASE WHEN g % 4 = 0 THEN g // 5 % 100000 / 100.0 END",
    "channel": "['email', 'sms', 'store'][1 + g // 19 % 3]",
    "priority": "CAST(1 + h % 5 AS BIGINT)",
    "value_at_stake": "g // 23 % 10000000 / 997.0",
    "budget": "g // 29 % 1000000 / 991.0",
    "reason": "'profit in the last 12 months EUR ' || h // 31 % 100000 / 100.0 || "
              "'; probably lapsing (P(alive) 0.' || g % 100 || '); buys coffee, never bought "
              "grinders'",
    "last_order": "DATE '2023-01-01' + CAST(h % 1000 AS INTEGER)",
    "emailable": "g % 3 <> 0",
}


def write_actions(con, rows: int, seed: int) -> None:
    """The table ``actions``: the registry's columns (and ``last_order``, ``emailable``)."""
    registered = [column.name for column in TABLES["actions"].columns]
    assert set(registered) <= set(VALUES), "a registered column of actions has no values here"
    columns = ", ".join(f"{VALUES[name]} AS {sql_identifier(name)}" for name in VALUES)
    con.execute(f"CREATE TABLE actions AS SELECT {columns} FROM (SELECT i, "
                f"CAST(hash(i, {seed}) // 2 AS BIGINT) AS h, "
                f"CAST(hash(i, {seed + 1}) // 2 AS BIGINT) AS g FROM range({rows}) AS t(i))")


def timed(write, path: Path) -> dict:
    started, cpu = time.perf_counter(), time.process_time()
    write(path)
    # ru_maxrss is in KiB on Linux
    return {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu,
            "mb": path.stat().st_size / 1e6,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=970_000,
                        help="customers, one row each (default 970000)")
    parser.add_argument("--seed", type=int, default=1, help="data seed (default 1)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the cell-by-cell writer (minutes at a million rows)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        con = connect(folder)
        con.execute("SET enable_progress_bar = false")
        write_actions(con, args.rows, args.seed)
        rows = con.sql("SELECT * FROM actions ORDER BY priority, value_at_stake DESC, "
                       "customer_id")
        sheets = [Sheet("Actions", rows, full_list="actions.csv")]
        print(f"{args.rows:,} rows x {len(rows.columns)} columns; load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        results = {"write_workbook": timed(
            lambda path: write_workbook(path, sheets, AS_OF, "EUR"), folder / "fast.xlsx")}
        if not args.no_baseline:
            results["cell by cell (before)"] = timed(
                lambda path: write_cell_by_cell(path, sheets, "EUR"), folder / "before.xlsx")
        con.close()
    print("\n| writer | seconds | CPU seconds | cells per second | MB | peak memory so far (GB) |")
    print("|---|---:|---:|---:|---:|---:|")
    cells = args.rows * len(VALUES)
    for name, result in results.items():
        print(f"| {name} | {result['seconds']:.1f} | {result['cpu']:.1f} | "
              f"{cells / result['seconds']:,.0f} | {result['mb']:.0f} | "
              f"{result['peak_gb']:.2f} |")
    if len(results) == 2:
        before, after = results["cell by cell (before)"], results["write_workbook"]
        print(f"\n{before['seconds'] / after['seconds']:.1f} times faster "
              f"({before['cpu'] / after['cpu']:.1f} times less CPU); load average now "
              f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
