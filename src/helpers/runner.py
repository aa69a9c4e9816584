"""Run the whole chain, notebooks 01→05, into one immutable report folder.

A run is written to a temporary folder beside its destination and published by renaming
it to ``<out>/<client>/<as_of>/`` only when every notebook has succeeded. A failed run
moves to ``<out>/<client>/failed/<as_of>-<time>/`` for inspection and never touches the
last good report.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path

import papermill
from nbconvert import HTMLExporter
from tqdm import tqdm

from helpers import warehouse
from helpers.config import KIT_ROOT, RunConfig, load_config

__all__ = ["NOTEBOOKS", "RunFailed", "run", "render_report", "sha256_of"]

NOTEBOOKS_DIR = KIT_ROOT / "notebooks"
NOTEBOOKS = ("01_identify.ipynb", "02_differentiate.ipynb", "03_clv.ipynb",
             "04_segment.ipynb", "05_report.ipynb")
REPORT_NOTEBOOK = "05_report.ipynb"
KERNEL_NAME = "cvkit"
#: The kernel's own log (a TCP notice at start, a KeyboardInterrupt at shutdown) is noise on
#: every successful run; cell errors still reach us through Papermill.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]

#: Packages whose versions decide the numbers; recorded in every manifest.
RECORDED_PACKAGES = ("cvkit", "pandas", "numpy", "scipy", "duckdb", "lifetimes", "autograd",
                     "scikit-learn", "seaborn", "matplotlib", "papermill", "nbconvert",
                     "pydantic", "pyyaml", "openpyxl", "pyarrow")

log = logging.getLogger("cvkit")


class _StepFailed(RuntimeError):
    """Internal: a step failed; carries the message for RunFailed."""


class RunFailed(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""

    def __init__(self, message: str, kept_at: Path):
        super().__init__(message)
        self.kept_at = kept_at


@dataclass
class NotebookTiming:
    notebook: str
    started: str
    finished: str
    seconds: float


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large inputs don't fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _git_commit() -> str | None:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=KIT_ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=KIT_ROOT, check=True, capture_output=True,
                               text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("-dirty" if dirty else "")


def _package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in RECORDED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def render_report(executed_notebook: Path, html_path: Path) -> None:
    """Write the executed report notebook as HTML without code cells or prompts."""
    exporter = HTMLExporter(template_name="lab", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_filename(str(executed_notebook))
    html_path.write_text(body, encoding="utf-8")


def _failure_message(notebook: str, exc: Exception) -> str:
    if isinstance(exc, papermill.PapermillExecutionError):
        return (f"notebook {notebook} failed in cell {exc.exec_count} "
                f"(cell index {exc.cell_index}): {exc.ename}: {exc.evalue}")
    return f"notebook {notebook} failed: {type(exc).__name__}: {exc}"


def _manifest(cfg: RunConfig, timings: list[NotebookTiming], run_dir: Path) -> dict:
    con = warehouse.connect(run_dir, read_only=True)
    try:
        load_counts = con.execute("SELECT * FROM load_counts ORDER BY source").df()
        tables = warehouse.row_counts(con)
    finally:
        con.close()
    return {
        "client": cfg.client,
        "as_of": cfg.as_of.isoformat(),
        "config_file": str(cfg.config_file),
        "config": cfg.model_dump(mode="json"),
        "inputs": {name: {"path": str(cfg.source_path(name)),
                          "sha256": sha256_of(cfg.source_path(name))} for name in cfg.sources},
        "packages": _package_versions(),
        "git_commit": _git_commit(),
        "notebooks": [t.__dict__ for t in timings],
        "started": timings[0].started,
        "finished": timings[-1].finished,
        "seconds": round(sum(t.seconds for t in timings), 2),
        "rows": {
            "in": int(load_counts["rows_in"].sum()),
            "accepted": int(load_counts["accepted"].sum()),
            "rejected": int(load_counts["rejected"].sum()),
            "by_source": load_counts[["source", "rows_in", "accepted", "rejected"]]
            .to_dict(orient="records"),
        },
        "tables": tables,
    }


def _log_to(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("cvkit", "papermill"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    return handler


def _detach_log(handler: logging.Handler) -> None:
    for name in ("cvkit", "papermill"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()


def run(config_path: str | Path, as_of: str | None = None, out: str | Path | None = None,
        kernel_name: str = KERNEL_NAME, progress: bool = True) -> Path:
    """Execute notebooks 01→05 on a config and publish the report folder.

    Parameters
    ----------
    config_path
        The run's YAML config (validated first: a bad key stops the run before any work).
    as_of
        ISO date overriding the config's ``as_of``.
    out
        Root folder for reports; default ``reports/`` in the kit's folder.
    kernel_name
        The Jupyter kernel that executes the notebooks.
    progress
        Show a progress bar naming the notebook that is running.

    Returns
    -------
    Path
        The published folder ``<out>/<client>/<as_of>/``.

    Raises
    ------
    helpers.config.ConfigError
        The config is invalid.
    RunFailed
        A notebook failed; the partial run is kept at ``RunFailed.kept_at``.
    """
    cfg = load_config(config_path, as_of)
    client_dir = (Path(out) if out else KIT_ROOT / "reports").resolve() / cfg.client
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S")
    final_dir = client_dir / cfg.as_of.isoformat()
    work_dir = client_dir / f".{cfg.as_of.isoformat()}.partial-{stamp}"
    work_dir.mkdir(parents=True)
    handler = _log_to(work_dir / "run.log")
    timings: list[NotebookTiming] = []
    parameters = {"config_path": str(cfg.config_file), "run_dir": str(work_dir),
                  "as_of": cfg.as_of.isoformat()}
    log.info("run of %s as of %s from %s", cfg.client, cfg.as_of, cfg.config_file)
    try:
        bar = tqdm(NOTEBOOKS, desc="cvkit", unit="notebook", disable=not progress,
                   file=sys.stderr)
        for notebook in bar:
            bar.set_description(notebook)
            log.info("notebook %s: start", notebook)
            started, clock = datetime.now(), time.perf_counter()
            try:
                papermill.execute_notebook(
                    str(NOTEBOOKS_DIR / notebook), str(work_dir / notebook),
                    parameters=parameters, kernel_name=kernel_name, cwd=str(NOTEBOOKS_DIR),
                    progress_bar=False, log_output=True, extra_arguments=KERNEL_ARGUMENTS,
                )
            except Exception as exc:
                raise _StepFailed(_failure_message(notebook, exc)) from exc
            timings.append(NotebookTiming(notebook, started.isoformat(timespec="seconds"),
                                          datetime.now().isoformat(timespec="seconds"),
                                          round(time.perf_counter() - clock, 2)))
            log.info("notebook %s: done in %.1f s", notebook, timings[-1].seconds)
        try:
            render_report(work_dir / REPORT_NOTEBOOK, work_dir / "report.html")
            manifest = _manifest(cfg, timings, work_dir)
        except Exception as exc:
            raise _StepFailed(f"writing the report failed: {type(exc).__name__}: {exc}") from exc
        (work_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str),
                                                encoding="utf-8")
        log.info("rows in %d = accepted %d + rejected %d", manifest["rows"]["in"],
                 manifest["rows"]["accepted"], manifest["rows"]["rejected"])
    except _StepFailed as exc:
        log.error(str(exc))
        failed_dir = client_dir / "failed" / f"{cfg.as_of.isoformat()}-{stamp}"
        failed_dir.parent.mkdir(parents=True, exist_ok=True)
        _detach_log(handler)
        work_dir.rename(failed_dir)
        raise RunFailed(f"{exc}\nthe failed run is kept at {failed_dir}; "
                        f"the last good report was not touched", failed_dir) from exc.__cause__
    finally:
        _detach_log(handler)
    _publish(work_dir, final_dir, stamp)
    return final_dir


def _publish(work_dir: Path, final_dir: Path, stamp: str) -> None:
    """Swap the finished run into place; the previous report is removed only afterwards."""
    previous = None
    if final_dir.exists():
        previous = final_dir.with_name(f".{final_dir.name}.previous-{stamp}")
        final_dir.rename(previous)
    work_dir.rename(final_dir)
    if previous is not None:
        shutil.rmtree(previous)
