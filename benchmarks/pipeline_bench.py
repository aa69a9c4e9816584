"""Benchmark: the whole pipeline (``cvkit run``) on about 1 and 10 million demo order lines.

For each size of ``--sizes`` (millions of order lines):

1. **Data.** The demo client's files (:func:`helpers.demo_data.generate`, through ``cvkit
   demo-data``), :data:`PEOPLE_PER_MILLION_LINES` people per million lines, in
   ``--data``/``<people>-people-seed<seed>/``; reused when its marker file
   :data:`COMPLETE_MARKER` (written last) is there. Beside them ``bench.yaml``: the demo
   config (``configs/demo.yaml``) with client ``bench_<size>m`` and its paths pointing there.
   Generating is not timed.
2. **Run.** ``cvkit run bench.yaml --out <--out> --no-progress`` in a process of its own,
   timed from start to exit (checks, five notebooks, report, publishing). Per notebook: the
   seconds of the run's ``manifest.json`` and the peak memory of its kernel. Memory: a thread
   samples the process tree under ``cvkit`` every :data:`POLL_SECONDS` (psutil); each
   notebook runs in a kernel of its own (``ipykernel_launcher``), so the k-th kernel seen is
   the k-th notebook. A kernel's peak is the largest of its resident set size (RSS) and its
   ``VmHWM`` (the kernel's own high-water mark of RSS, ``/proc/<pid>/status``) over the
   samples, so a peak between two samples counts too (only one in a kernel's last
   :data:`POLL_SECONDS` can be missed). The tree's peak is the largest sum of its processes'
   RSS at one sample (pages they share count twice). The slowest cells of the executed
   notebooks (Papermill's ``duration``) show where the time goes.
3. **Baselines**, in this process, on the run's ``transactions``, through a connection opened
   as a run opens it (:func:`helpers.warehouse.connect`): the floor, a bare DuckDB ``GROUP BY
   customer_id`` (count, sum, first and last date), against the kit's per-customer summary
   (:func:`helpers.clv.rfm_summary`, as notebook 03 calls it); both on every core and into
   pandas through Arrow, as :func:`helpers.clv.summary.on_purchase_occasions` runs the
   summary, best of ``--repeat``. Then lifetimes' ``summary_data_from_transaction_data`` on
   the same lines as a pandas frame (loading not timed; once: it is the slow one) and
   lifetimes' ``customer_lifetime_value`` against :func:`helpers.clv.value.discounted_clv`
   for the model the run chose, with its stored parameters (:mod:`clv_bench`'s functions).
   The summaries are compared, not required to agree: lifetimes counts a day with only a
   return as a purchase, the kit does not (``sql/purchase_occasions.sql``), and the demo's
   customers return on other days than they buy.

It prints, per size, a Markdown table of notebooks, seconds and kernel peaks, the slowest
cells and the baselines; then the targets (:data:`TARGET_RUN_SECONDS`,
:data:`TARGET_PEAK_GIB`, :data:`TARGET_SUMMARY_OVER_FLOOR` at every size; seconds per million
lines of each notebook and of the whole run from the smallest size to the largest at most
:data:`MAX_GROWTH` times, linear being about 1) with met or missed, the growth of the largest
run's slowest cells, and the machine. Exits 1 when a target is missed or a run fails. At 1
and 10 million lines it took 15 minutes on 2 cores (December 2026), the first time 4 more to
generate the data; the 10 million line run peaks at about 3.5 GiB.

    python benchmarks/pipeline_bench.py [--sizes 1 10] [--seed 1] [--repeat 3]
                                        [--data benchmarks/.data] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import yaml
from clv_bench import best_of, compare_clv, compare_summaries, load, stored_params, verdict
from lifetimes.utils import summary_data_from_transaction_data

from helpers import clv
from helpers.clv import value
from helpers.config import KIT_ROOT, load_config
from helpers.runner import NOTEBOOKS
from helpers.warehouse import MANIFEST_FILE, connect, on_all_cores, read_table

#: Targets (the "scale" issue), on this 2-core machine: the whole run under 5 minutes and
#: its kernels under 6 GiB at 10 million order lines (held at every size); the kit's summary
#: within 3 times the bare GROUP BY; seconds per million lines at most 1.5 times as many at
#: the largest size as at the smallest (as benchmarks/differentiate_bench.py).
TARGET_RUN_SECONDS = 300.0
TARGET_PEAK_GIB = 6.0
TARGET_SUMMARY_OVER_FLOOR = 3.0
MAX_GROWTH = 1.5

#: The demo makes about 12 order lines a person (5,000 people: about 60,000 lines).
PEOPLE_PER_MILLION_LINES = 82_000
DEMO_CONFIG = KIT_ROOT / "configs" / "demo.yaml"
#: configs/demo.yaml's paths start with this; the bench's config sits beside the files.
DEMO_DATA_PREFIX = "../data/demo/"
COMPLETE_MARKER = ".complete"
POLL_SECONDS = 0.2
KERNEL_COMMAND = "ipykernel_launcher"
SLOWEST_CELLS = 8
GIB = 1024 ** 3

FLOOR_SQL = """
    SELECT customer_id, count(*) AS lines, sum(amount) AS amount,
           min(order_date) AS first_date, max(order_date) AS last_date
    FROM transactions GROUP BY customer_id"""


# --- 1. data ----------------------------------------------------------------------------------

def demo_files(data_root: Path, millions: float, seed: int) -> Path:
    """The folder of the demo client's files for ``millions`` of order lines, generated by
    ``cvkit demo-data`` unless a complete one is cached; with ``bench.yaml`` written in it."""
    people = round(millions * PEOPLE_PER_MILLION_LINES)
    folder = data_root / f"{people}-people-seed{seed}"
    if not (folder / COMPLETE_MARKER).exists():
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("cvkit")), "demo-data",
                        "--customers", str(people), "--seed", str(seed), "--out", str(folder)],
                       check=True, stdout=subprocess.DEVNULL)
        (folder / COMPLETE_MARKER).touch()
        print(f"generated {people:,} people's files in {time.perf_counter() - started:.0f} s "
              f"(not timed below): {folder}")
    write_config(folder, f"bench_{millions:g}m")
    return folder


def write_config(folder: Path, client: str) -> Path:
    """``bench.yaml``: configs/demo.yaml with ``client`` and its paths into ``folder``."""
    config = yaml.safe_load(DEMO_CONFIG.read_text(encoding="utf-8"))
    config["client"] = client

    def local(node):
        if isinstance(node, dict):
            return {key: local(item) for key, item in node.items()}
        if isinstance(node, str) and node.startswith(DEMO_DATA_PREFIX):
            return node[len(DEMO_DATA_PREFIX):]
        return node

    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump(local(config), sort_keys=False), encoding="utf-8")
    return path


# --- 2. the run and its memory -----------------------------------------------------------------

def high_water_mark(pid: int) -> int:
    """A process's peak resident set size in bytes (``VmHWM``); 0 where /proc has none."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class TreeMemory:
    """Peak memory of a process and its descendants, sampled by a thread (see step 2)."""

    root: psutil.Process
    kernel_peaks: dict[int, int] = field(default_factory=dict)  # pid -> bytes, in start order
    tree_peak: int = 0
    _commands: dict[int, bool] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _is_kernel(self, process: psutil.Process) -> bool:
        if process.pid not in self._commands:
            self._commands[process.pid] = any(KERNEL_COMMAND in part
                                              for part in process.cmdline())
        return self._commands[process.pid]

    def sample(self) -> None:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0
        for process in processes:
            try:
                rss = process.memory_info().rss
                if self._is_kernel(process):
                    self.kernel_peaks[process.pid] = max(
                        self.kernel_peaks.get(process.pid, 0), rss,
                        high_water_mark(process.pid))
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
        self.tree_peak = max(self.tree_peak, total)

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.sample()

    def __enter__(self) -> TreeMemory:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Run:
    """One ``cvkit run``: its folder, manifest, wall seconds and memory."""

    folder: Path
    manifest: dict
    seconds: float
    memory: TreeMemory

    @property
    def lines(self) -> int:
        return self.manifest["tables"]["transactions"]

    def kernel_peak(self, notebook: str) -> int | None:
        """The peak of the notebook's kernel; None when the sampler did not see one kernel
        per notebook (then it cannot tell which is which)."""
        peaks = list(self.memory.kernel_peaks.values())
        return peaks[NOTEBOOKS.index(notebook)] if len(peaks) == len(NOTEBOOKS) else None


class PipelineFailed(RuntimeError):
    """A ``cvkit run`` that exited with an error; the message says when and the memory seen."""


def run_pipeline(config: Path, out: Path) -> Run:
    """``cvkit run config --out out --no-progress``, timed and its memory sampled; raises
    :class:`PipelineFailed` when the run fails."""
    cfg = load_config(config)
    started = time.perf_counter()
    process = subprocess.Popen([str(Path(sys.executable).with_name("cvkit")), "run",
                                str(config), "--out", str(out), "--no-progress"])
    with TreeMemory(psutil.Process(process.pid)) as memory:
        returncode = process.wait()
    seconds = time.perf_counter() - started
    client_dir = out / cfg.client
    if returncode:
        kernels = ", ".join(gib(peak) for peak in memory.kernel_peaks.values())
        raise PipelineFailed(
            f"cvkit run exited {returncode} after {seconds:.0f} s; kernel peaks (GiB, in "
            f"notebook order) {kernels}, process tree {gib(memory.tree_peak)} GiB; the partial "
            f"run is in {client_dir / 'failed'}")
    folder = client_dir / cfg.as_of.isoformat()
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return Run(folder, manifest, seconds, memory)


def cell_seconds(folder: Path) -> dict[tuple[str, int], tuple[float, str]]:
    """Seconds of each code cell of the run's executed notebooks (Papermill's ``duration``)
    and the cell's first line, keyed by notebook and cell index."""
    cells = {}
    for notebook in NOTEBOOKS:
        for index, cell in enumerate(nbformat.read(folder / notebook, as_version=4).cells):
            duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
            if cell.cell_type == "code" and duration:
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                cells[notebook, index] = (float(duration), first.strip()[:70])
    return cells


def slowest_cells(folder: Path, count: int) -> list[tuple[str, int, float, str]]:
    """The ``count`` slowest cells of :func:`cell_seconds`: notebook, index, seconds, line."""
    cells = [(*key, seconds, first) for key, (seconds, first) in cell_seconds(folder).items()]
    return sorted(cells, key=lambda cell: -cell[2])[:count]


# --- 3. baselines -----------------------------------------------------------------------------

def floor_summary(con) -> pd.DataFrame:
    """The bare GROUP BY of :data:`FLOOR_SQL`, run and fetched as the kit's summary is."""
    with on_all_cores(con):
        result = con.sql(FLOOR_SQL).to_arrow_table()
    return result.to_pandas(date_as_object=False)


def baselines(run: Run, repeat: int) -> dict:
    """Seconds of the floor, the kit's summary and lifetimes' on the run's warehouse, whether
    the two summaries agree, and both CLVs of the model the run chose (:func:`compare_clv`)."""
    cfg = load_config(run.manifest["config_file"])
    with connect(run.folder, read_only=True) as con:
        _, floor_seconds = best_of(repeat, floor_summary, con)
        ours, kit_seconds = best_of(repeat, clv.rfm_summary, con, cfg)
        fits = read_table(con, "model_fit")
        chosen = read_table(con, "model_comparison").query("chosen")["model"].iloc[0]
        lines = con.sql("SELECT customer_id, order_date, amount FROM transactions").df()
    reference, lifetimes_seconds = best_of(
        1, summary_data_from_transaction_data, lines, "customer_id", "order_date",
        monetary_value_col="amount", observation_period_end=cfg.as_of.isoformat(), freq="D",
        freq_multiplier=cfg.days_per_unit)
    del lines
    clv_row = compare_clv(ours, chosen, stored_params(fits, chosen, value.MODEL_PARAMS[chosen]),
                          stored_params(fits, "gamma_gamma", value.SPEND_PARAMS), cfg)
    return {"floor": floor_seconds, "kit": kit_seconds, "lifetimes": lifetimes_seconds,
            "summary_difference": compare_summaries(ours, reference), "model": chosen,
            "clv": clv_row}


# --- the report -------------------------------------------------------------------------------

def machine() -> str:
    """CPU model, cores and memory of this machine, from /proc."""
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo", encoding="ascii")
                if line.startswith("model name")), "unknown CPU")
    return (f"{cpu}, {os.cpu_count()} cores, {psutil.virtual_memory().total / GIB:.1f} GiB RAM, "
            f"Linux {os.uname().release}")


def gib(size: int | None) -> str:
    return "" if size is None else f"{size / GIB:.2f}"


def print_size(millions: float, run: Run, compared: dict) -> None:
    """The tables of one size: notebooks, slowest cells, baselines."""
    per_million = 1e6 / run.lines
    customers = run.manifest["tables"].get("customers", 0)
    notebooks_seconds = sum(n["seconds"] for n in run.manifest["notebooks"])
    print(f"\n## {millions:g} M: {run.lines:,} order lines, {customers:,} customers "
          f"({load()} after the run)\n")
    print("| notebook | seconds | s per M lines | kernel peak GiB |")
    print("|---|---:|---:|---:|")
    for timing in run.manifest["notebooks"]:
        print(f"| {timing['notebook']} | {timing['seconds']:.1f} | "
              f"{timing['seconds'] * per_million:.1f} | "
              f"{gib(run.kernel_peak(timing['notebook']))} |")
    kernels = max(run.memory.kernel_peaks.values(), default=None)
    print(f"| five notebooks | {notebooks_seconds:.1f} | {notebooks_seconds * per_million:.1f} "
          f"| {gib(kernels)} (largest) |")
    print(f"| checks, report.html, publishing | {run.seconds - notebooks_seconds:.1f} | | |")
    print(f"| whole run (`cvkit run`) | {run.seconds:.1f} | {run.seconds * per_million:.1f} | "
          f"{gib(run.memory.tree_peak)} (process tree) |")

    print("\nThe slowest cells:\n")
    print("| notebook | seconds | cell |")
    print("|---|---:|---|")
    for notebook, _, seconds, first in slowest_cells(run.folder, SLOWEST_CELLS):
        print(f"| {notebook} | {seconds:.1f} | `{first}` |")

    row = compared["clv"]
    model = clv.MODEL_NAMES[compared["model"]]
    print("\nBaselines on the run's transactions (best of the repeats, lifetimes' summary "
          "once):\n")
    print("| step | seconds | ratio | check |")
    print("|---|---:|---:|---|")
    print(f"| floor: DuckDB GROUP BY customer_id | {compared['floor']:.2f} | 1 | |")
    print(f"| kit summary: rfm_summary | {compared['kit']:.2f} | "
          f"{compared['kit'] / compared['floor']:.1f}x the floor | |")
    print(f"| lifetimes summary_data_from_transaction_data | {compared['lifetimes']:.1f} | "
          f"{compared['lifetimes'] / compared['kit']:.1f}x the kit's | "
          f"{compared['summary_difference'] or 'same summary'} |")
    print(f"| kit CLV ({model}): discounted_clv | {row['kit']:.2f} | | |")
    nan = f"; {row['nan']:,} NaN in lifetimes" if row["nan"] else ""
    print(f"| lifetimes customer_lifetime_value ({model}) | {row['lifetimes']:.1f} | "
          f"{row['lifetimes'] / row['kit']:.1f}x the kit's | max relative difference "
          f"{row['difference']:.1e}{nan} |")


def print_targets(runs: dict[float, Run], compared: dict[float, dict]) -> bool:
    """The targets at every size, the growth from the smallest size to the largest and the
    machine; True when every target is met."""
    met = []
    print("\n## Targets\n")
    print("| size | measure | value | target | result |")
    print("|---|---|---:|---|---|")
    for millions, run in runs.items():
        kernels = max(run.memory.kernel_peaks.values(), default=0)
        ratio = compared[millions]["kit"] / compared[millions]["floor"]
        for measure, shown, ok, target in (
                ("whole run seconds", f"{run.seconds:.0f}", run.seconds < TARGET_RUN_SECONDS,
                 f"< {TARGET_RUN_SECONDS:.0f}"),
                ("largest kernel peak GiB", gib(kernels), kernels < TARGET_PEAK_GIB * GIB,
                 f"< {TARGET_PEAK_GIB:g}"),
                ("process tree peak GiB", gib(run.memory.tree_peak),
                 run.memory.tree_peak < TARGET_PEAK_GIB * GIB, f"< {TARGET_PEAK_GIB:g}"),
                ("kit summary / floor", f"{ratio:.1f}", ratio <= TARGET_SUMMARY_OVER_FLOOR,
                 f"<= {TARGET_SUMMARY_OVER_FLOOR:g}")):
            met.append(ok)
            print(f"| {millions:g} M | {measure} | {shown} | {target} | {verdict(ok)} |")
    if len(runs) > 1:
        small, large = runs[min(runs)], runs[max(runs)]
        print(f"\nGrowth of seconds per million lines from {min(runs):g} M to {max(runs):g} M "
              f"(linear: about 1; target <= {MAX_GROWTH:g}):\n")
        print("| step | s per M lines, small | s per M lines, large | growth | result |")
        print("|---|---:|---:|---:|---|")
        steps = [(n["notebook"], n["seconds"], m["seconds"]) for n, m in
                 zip(small.manifest["notebooks"], large.manifest["notebooks"], strict=True)]
        for name, small_seconds, large_seconds in [*steps, ("whole run", small.seconds,
                                                            large.seconds)]:
            before = small_seconds * 1e6 / small.lines
            after = large_seconds * 1e6 / large.lines
            met.append(after / before <= MAX_GROWTH)
            print(f"| {name} | {before:.1f} | {after:.1f} | {after / before:.2f} | "
                  f"{verdict(met[-1])} |")
        print(f"\nGrowth over {MAX_GROWTH:g} in a notebook or the whole run misses. At the "
              f"small size a notebook's fixed cost (kernel start, imports, plots) hides what "
              f"grows; the slowest cells of the large run show it:\n")
        print("| notebook | cell | s, small | s, large | s per M lines, small | "
              "s per M lines, large | growth |")
        print("|---|---|---:|---:|---:|---:|---:|")
        before_cells = cell_seconds(small.folder)
        for notebook, index, seconds, first in slowest_cells(large.folder, SLOWEST_CELLS):
            earlier = before_cells.get((notebook, index), (float("nan"), ""))[0]
            before = earlier * 1e6 / small.lines
            after = seconds * 1e6 / large.lines
            print(f"| {notebook} | `{first}` | {earlier:.1f} | {seconds:.1f} | {before:.2f} | "
                  f"{after:.2f} | {after / before:.2f} |")
    print(f"\nMeasured on: {machine()}")
    return all(met)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10],
                        help="millions of order lines (default 1 10)")
    parser.add_argument("--seed", type=int, default=1, help="demo data seed (default 1)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the floor and the kit's summary; the fastest counts "
                             "(default 3)")
    parser.add_argument("--data", type=Path, default=KIT_ROOT / "benchmarks" / ".data",
                        help="cache of the generated files (default benchmarks/.data)")
    parser.add_argument("--out", type=Path,
                        help="root folder of the runs' reports (default: <data>/reports)")
    args = parser.parse_args()
    out = (args.out or args.data / "reports").resolve()
    runs: dict[float, Run] = {}
    compared: dict[float, dict] = {}
    for millions in sorted(args.sizes):
        folder = demo_files(args.data.resolve(), millions, args.seed)
        print(f"{millions:g} M: cvkit run on {folder}; {load()}", flush=True)
        try:
            runs[millions] = run_pipeline(folder / "bench.yaml", out)
        except PipelineFailed as failure:
            print(f"\n## {millions:g} M: {failure}")
            print_targets(runs, compared)
            return 1
        compared[millions] = baselines(runs[millions], args.repeat)
        print_size(millions, runs[millions], compared[millions])
    return 0 if print_targets(runs, compared) else 1


if __name__ == "__main__":
    sys.exit(main())
