"""Benchmark: identify 100,000 source records (notebook 01's identity steps) on this machine.

Makes a demo client of ``--customers`` people with ``cvkit demo-data`` (53,000 people give
about 100,000 source records), points configs/demo.yaml at it, loads the sources, then times
each identity step on a warehouse file opened as a run opens it (helpers.warehouse.connect:
one thread, for reproducible sums): standardise (source_records, record_keys), match
(match_pairs), cluster (customer_xref), golden records (customers), review queue
(identity_review). Prints the time of each step, the total against the 30-second target, and
the matching's precision and recall against the demo's truth.

    python benchmarks/identify_bench.py [--customers 53000] [--data DIR]

``--data`` keeps the generated files in DIR and reuses them on the next run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from helpers import identify, matching, sources
from helpers.config import DEMO_CONFIG, load_config
from helpers.warehouse import connect, scalar

#: Seconds within which 100,000 source records must be identified (issue 7).
TARGET_SECONDS = 30.0

STEPS = (
    ("standardise", identify.build_source_records),
    ("match", matching.build_match_pairs),
    ("cluster", identify.build_customer_xref),
    ("golden records", identify.build_customers),
    ("review queue", matching.build_identity_review),
)


def demo_config(data: Path, folder: Path) -> Path:
    """configs/demo.yaml with every file it names (sources, truth) taken from ``data``."""
    config = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    for source in config["sources"].values():
        source["path"] = str(data / Path(source["path"]).name)
    config["identity"]["truth"] = str(data / "truth" / "record_map.csv")
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=53_000, help="people (default 53000)")
    parser.add_argument("--data", type=Path, help="folder to keep and reuse the generated files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = args.data or scratch / "data"
        if not (data / "truth" / "record_map.csv").is_file():
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "helpers.cli", "demo-data", "--customers",
                            str(args.customers), "--out", str(data)], check=True,
                           stdout=subprocess.DEVNULL)
            print(f"{'demo data':>16}: {time.perf_counter() - started:6.1f} s "
                  f"({args.customers:,} people, not timed below)")
        cfg = load_config(demo_config(data, scratch))
        con = connect(scratch / "run")
        started = time.perf_counter()
        sources.build_load_counts(con, cfg)
        print(f"{'load sources':>16}: {time.perf_counter() - started:6.1f} s (not timed below)")
        total = 0.0
        for name, step in STEPS:
            started = time.perf_counter()
            step(con, cfg)
            took = time.perf_counter() - started
            total += took
            print(f"{name:>16}: {took:6.1f} s")
        records = scalar(con, "SELECT count(*) FROM source_records")
        verdict = "within" if total <= TARGET_SECONDS else "OVER"
        print(f"{'identify':>16}: {total:6.1f} s for {records:,} source records, {verdict} the "
              f"{TARGET_SECONDS:.0f} s target")
        scores = matching.evaluate(con, cfg).set_index("measure")["value"]
        print(f"{'against truth':>16}: precision {scores['precision']:.4f}, recall "
              f"{scores['recall']:.4f}, {int(scores['over_merged_customers'])} over-merged "
              f"customers, {int(scores['split_people'])} split people")
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
