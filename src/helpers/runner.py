"""Run the whole chain, notebooks 01→05, into one immutable report folder.

A run first checks its config and opens every source (:func:`check`); only then does it take
the lock of its client and as-of date and write anything. It works in a hidden folder beside
its destination and publishes it by renaming it to ``<out>/<client>/<as_of>/`` only when every
notebook has succeeded; ``<out>/<client>/latest`` then points to it. A run that fails or is
interrupted (SIGINT, SIGTERM) moves to ``<out>/<client>/failed/<as_of>-<time>/`` with the
reason in its run.log, and never touches the last good report. Every way a run stops is a
:class:`RunFailed` carrying the exit code of ``cvkit`` (:mod:`helpers.errors`).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.resources
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import ClassVar

from jupyter_client.manager import AsyncKernelManager
from tqdm import tqdm

from helpers import warehouse
from helpers.config import KIT_ROOT, RunConfig, load_config
from helpers.errors import EXIT_BAD_CONFIG, EXIT_LOCKED, EXIT_RUN_FAILED, exit_code_for
from helpers.preflight import check_sources

__all__ = ["NOTEBOOKS", "LATEST", "FAILED", "RunFailed", "RunLock", "check", "run", "summary",
           "render_report", "sha256_of"]

NOTEBOOKS_DIR = KIT_ROOT / "notebooks"
NOTEBOOKS = ("01_identify.ipynb", "02_differentiate.ipynb", "03_clv.ipynb",
             "04_segment.ipynb", "05_report.ipynb")
REPORT_NOTEBOOK = "05_report.ipynb"
KERNEL_NAME = "cvkit"
#: The kernel's own log (a TCP notice at start, a KeyboardInterrupt at shutdown) is noise on
#: every successful run; cell errors still reach us through Papermill.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]

#: In ``<out>/<client>/``: the link to the last published run, and the failed runs' folder.
LATEST = "latest"
FAILED = "failed"
#: A published run's folder is its as-of date; a failed run's is ``<as_of>-<time>[-n]``.
PUBLISHED_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
FAILED_NAME = re.compile(r"\d{4}-\d{2}-\d{2}-\d{8}T\d{6}(-\d+)?")
STAMP_FORMAT = "%Y%m%dT%H%M%S"

#: Packages whose versions decide the numbers; recorded in every manifest.
RECORDED_PACKAGES = ("cvkit", "pandas", "numpy", "scipy", "duckdb", "lifetimes", "autograd",
                     "scikit-learn", "seaborn", "matplotlib", "papermill", "nbconvert",
                     "pydantic", "pyyaml", "openpyxl", "pyarrow")

log = logging.getLogger("cvkit")


class RunFailed(RuntimeError):
    """A run that stopped; the message says why and what became of the partial run.

    Attributes
    ----------
    exit_code : int
        What ``cvkit`` exits with (see :mod:`helpers.errors`; 128 + the signal's number
        when a signal stopped the run).
    kept_at : Path or None
        The partial run, ``failed/<as_of>-<time>/``; None when the run wrote nothing.
    """

    def __init__(self, message: str, exit_code: int, kept_at: Path | None = None):
        super().__init__(message)
        self.exit_code = exit_code
        self.kept_at = kept_at


class _Stop(Exception):
    """Internal: a step stopped the run; carries the reason and the exit code to RunFailed."""

    def __init__(self, reason: str, exit_code: int, interrupted: bool = False):
        super().__init__(reason)
        self.exit_code = exit_code
        self.interrupted = interrupted


@dataclass
class NotebookTiming:
    notebook: str
    started: str
    finished: str
    seconds: float


class RunLock:
    """The lock of one client and as-of date, ``<out>/<client>/.lock-<as_of>``.

    An ``flock``, so the operating system releases it when the process ends, however it ends:
    a killed run never blocks the next one. The file holds the holder's pid and start time,
    for the message of the run it keeps out. It is never deleted: unlinking a lock file races
    with a run that has just opened it.
    """

    def __init__(self, client_dir: Path, as_of: date | str):
        self.path = client_dir / f".lock-{as_of}"
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        since = datetime.now().isoformat(timespec="seconds")
        os.write(fd, f"pid {os.getpid()} since {since}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """``pid N since T``, as the holder wrote it."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or "pid unknown"
        except OSError:
            return "pid unknown"

    def release(self) -> None:
        """Let the lock go (closing the file releases the flock)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _KernelManager(AsyncKernelManager):
    """Papermill's kernel manager; hands every kernel it starts to the run's signal guard."""

    guard: ClassVar[_SignalGuard | None] = None

    async def start_kernel(self, **kwargs) -> None:
        await super().start_kernel(**kwargs)
        if _KernelManager.guard is not None:
            _KernelManager.guard.watch(self)


class _SignalGuard:
    """SIGINT and SIGTERM during a run: the kernel stops at once, the run at its next step.

    The handler raises nothing, since an exception could land inside Papermill's event loop
    (leaving its tasks and the kernel behind) or between the two renames that publish a run.
    It kills the running kernel, so that Papermill reports the notebook failed within a
    second, and :meth:`check`, called between steps, stops the run. Once publishing has begun
    a signal is ignored: the run is complete a moment later.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._kernel: AsyncKernelManager | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _SignalGuard:
        _KernelManager.guard = self
        if threading.current_thread() is threading.main_thread():  # only it may set handlers
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._on_signal)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        _KernelManager.guard = None

    def _on_signal(self, signum: int, frame) -> None:
        self.signum = self.signum or signum
        self._stop_kernel()

    def watch(self, kernel: AsyncKernelManager | None) -> None:
        """The kernel now running (None: none); stopped at once if a signal came already."""
        self._kernel = kernel
        self._stop_kernel()

    def _stop_kernel(self) -> None:
        # The provisioner's process, killed directly: a signal handler cannot await the
        # manager's own (async) shutdown. Kernels that are not local processes simply run on
        # to the end of their notebook, and the run stops there.
        process = getattr(getattr(self._kernel, "provisioner", None), "process", None)
        if self.signum and process is not None and process.poll() is None:
            process.kill()

    def check(self) -> None:
        """Stop the run (raise) if a signal has come."""
        if self.signum:
            name = signal.Signals(self.signum).name
            raise _Stop(f"run interrupted by {name}", 128 + self.signum, interrupted=True)


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


def render_report(executed_notebook: Path, html_path: Path, title: str) -> None:
    """Write the executed report notebook as HTML without code cells or prompts.

    ``title`` names the browser tab; the kit's stylesheet (``helpers/report.css``: a page
    width that fits a screen, A4 page breaks when printed) is added to the page's head.
    """
    import nbformat  # here: `cvkit check` should not wait seconds for nbconvert
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    notebook = nbformat.read(executed_notebook, as_version=4)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    css = importlib.resources.files("helpers").joinpath("report.css").read_text(encoding="utf-8")
    head_end = body.index("</head>")
    body = body[:head_end] + f"<style>\n{css}</style>\n" + body[head_end:]
    html_path.write_text(body, encoding="utf-8")


def check(config_path: str | Path, as_of: str | date | None = None) -> RunConfig:
    """Validate the config and open every source on a sample (``cvkit check``; every run
    does it first, before it writes anything).

    Raises
    ------
    helpers.config.ConfigError
        The config is invalid.
    RunFailed
        With exit code 2, listing every problem with the sources (file, column, row).
    """
    cfg = load_config(config_path, as_of)
    problems = check_sources(cfg)
    if problems:
        raise RunFailed(f"{len(problems)} problem(s) with the sources of {cfg.config_file}:\n  "
                        + "\n  ".join(problems), EXIT_BAD_CONFIG)
    return cfg


def _manifest(cfg: RunConfig, timings: list[NotebookTiming], run_dir: Path,
              run_seconds: float) -> dict:
    con = warehouse.connect(run_dir, read_only=True)
    try:
        load_counts = con.execute("SELECT * FROM load_counts ORDER BY source").df()
        tables = warehouse.row_counts(con)
    finally:
        con.close()
    if "excluded" not in load_counts:  # warehouses from before rows after as-of were counted
        load_counts["excluded"] = 0
    counts = ["rows_in", "accepted", "excluded", "rejected"]
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
        "run_seconds": round(run_seconds, 2),
        "rows": {
            "in": int(load_counts["rows_in"].sum()),
            **{name: int(load_counts[name].sum()) for name in counts[1:]},
            "by_source": load_counts[["source", *counts]].to_dict(orient="records"),
        },
        "tables": tables,
    }


def summary(manifest: dict, folder: Path) -> tuple[str, str | None]:
    """What a run says when it is done: one line for stdout, ending with the report's path,
    and, when rows were rejected, one line for stderr naming the sources and the export."""
    rows = manifest["rows"]
    done = (f"{manifest['client']} {manifest['as_of']}: "
            f"{manifest['tables'].get('customers', 0):,} customers; "
            f"{rows['accepted']:,} of {rows['in']:,} rows accepted, {rows['rejected']:,} "
            f"rejected, {rows['excluded']:,} excluded after as-of; "
            f"{manifest['run_seconds']:,.0f} s; "
            f"{folder / 'report.html'}")
    if not rows["rejected"]:
        return done, None
    by_source = sorted((s for s in rows["by_source"] if s["rejected"]),
                       key=lambda s: (-s["rejected"], s["source"]))
    return done, (f"{rows['rejected']:,} rows rejected ({rows['rejected'] / rows['in']:.1%}): "
                  + ", ".join(f"{s['source']} {s['rejected']:,}" for s in by_source)
                  + f"; see {folder / 'exports' / 'rejected_rows.csv'}")


def _log_to(path: Path) -> logging.Handler:
    # Papermill's logger too: nbclient reports a dead kernel there, and a logger with no
    # handler at all would print it on stderr. Cell outputs are never logged (log_output=False).
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    log.setLevel(logging.INFO)
    for name in ("cvkit", "papermill"):
        logging.getLogger(name).addHandler(handler)
    return handler


def _detach_log(handler: logging.Handler) -> None:
    for name in ("cvkit", "papermill"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()


def _keep_failed(folder: Path, client_dir: Path, name: str) -> Path:
    """Move a run that did not finish to ``failed/<name>/`` (``<name>-2``… when taken)."""
    target, n = client_dir / FAILED / name, 1
    target.parent.mkdir(exist_ok=True)
    while target.exists():
        n += 1
        target = client_dir / FAILED / f"{name}-{n}"
    folder.rename(target)
    return target


@contextmanager
def _work_folder(client_dir: Path, as_of: date, stamp: str) -> Iterator[Path]:
    """The run's hidden work folder, logging to its run.log; however the run stops before it
    is published, the folder moves to ``failed/`` and a RunFailed says why."""
    work_dir = client_dir / f".{as_of}.partial-{stamp}"
    work_dir.mkdir()
    handler = _log_to(work_dir / "run.log")
    try:
        yield work_dir
    except BaseException as exc:
        stop = exc if isinstance(exc, _Stop) else _Stop(f"{type(exc).__name__}: {exc}",
                                                        EXIT_RUN_FAILED)
        log.error(str(stop))
        _detach_log(handler)
        if not work_dir.exists():  # published already: pointing `latest` or --keep failed
            raise RunFailed(f"{stop} (after the report was published)", stop.exit_code) from exc
        kept = _keep_failed(work_dir, client_dir, f"{as_of}-{stamp}")
        message = (f"{stop}; the partial run is kept at {kept}" if stop.interrupted else
                   f"run failed: {stop}\nthe failed run is kept at {kept}")
        raise RunFailed(f"{message}; the last good report was not touched", stop.exit_code,
                        kept) from exc
    finally:
        _detach_log(handler)


def _recover(client_dir: Path, as_of: date, work_dir: Path) -> None:
    """Tidy what an earlier run of this date left when it was killed outright (SIGKILL, a
    power cut): holding the lock proves it is gone. Its work folder moves to ``failed/``; a
    report set aside while publishing is put back if its successor never arrived."""
    for stale in sorted(set(client_dir.glob(f".{as_of}.partial-*")) - {work_dir}):
        with open(stale / "run.log", "a", encoding="utf-8") as handle:
            handle.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} this run ended without "
                         f"finishing; moved to {FAILED}/ by the run of pid {os.getpid()}\n")
        kept = _keep_failed(stale, client_dir, f"{as_of}-{stale.name.rpartition('-')[2]}")
        log.warning("an earlier run of this date ended without finishing; kept at %s", kept)
    final_dir = client_dir / as_of.isoformat()
    for previous in client_dir.glob(f".{as_of}.previous-*"):
        if final_dir.exists():
            shutil.rmtree(previous)
        else:
            previous.rename(final_dir)
            log.warning("put back the last good report %s, set aside by a killed run", final_dir)


def _execute_notebook(notebook: str, work_dir: Path, parameters: dict, kernel_name: str,
                      guard: _SignalGuard) -> None:
    """Run one notebook into the work folder; a failure is a _Stop naming the notebook and
    cell, with the exit code of the error the cell raised."""
    import papermill  # here: `cvkit check` should not wait seconds for it

    try:
        papermill.execute_notebook(
            str(NOTEBOOKS_DIR / notebook), str(work_dir / notebook), parameters=parameters,
            kernel_name=kernel_name, cwd=str(NOTEBOOKS_DIR), progress_bar=False,
            log_output=False, extra_arguments=KERNEL_ARGUMENTS,
            kernel_manager_class=_KernelManager,
        )
    except papermill.PapermillExecutionError as exc:
        guard.check()
        raise _Stop(f"notebook {notebook} failed in cell {exc.exec_count} (cell index "
                    f"{exc.cell_index}): {exc.ename}: {exc.evalue}",
                    exit_code_for(exc.ename)) from exc
    except Exception as exc:
        guard.check()  # a kernel we stopped on a signal: the signal is the reason
        raise _Stop(f"notebook {notebook} failed: {type(exc).__name__}: {exc}",
                    EXIT_RUN_FAILED) from exc
    finally:
        guard.watch(None)


def _execute_notebooks(cfg: RunConfig, work_dir: Path, kernel_name: str, progress: bool,
                       guard: _SignalGuard) -> list[NotebookTiming]:
    """Notebooks 01→05 in order, each timed and logged; stops at the first failure."""
    parameters = {"config_path": str(cfg.config_file), "run_dir": str(work_dir),
                  "as_of": cfg.as_of.isoformat()}
    timings: list[NotebookTiming] = []
    # Frames of a bar are noise in a log or a cron mail: only on a terminal.
    bar = tqdm(NOTEBOOKS, desc="cvkit", unit="notebook", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    for notebook in bar:
        bar.set_description(notebook)
        guard.check()
        log.info("notebook %s: start", notebook)
        started, clock = datetime.now(), time.perf_counter()
        _execute_notebook(notebook, work_dir, parameters, kernel_name, guard)
        timings.append(NotebookTiming(notebook, started.isoformat(timespec="seconds"),
                                      datetime.now().isoformat(timespec="seconds"),
                                      round(time.perf_counter() - clock, 2)))
        log.info("notebook %s: done in %.1f s", notebook, timings[-1].seconds)
    guard.check()
    return timings


def _write_report(cfg: RunConfig, timings: list[NotebookTiming], work_dir: Path,
                  run_seconds: float) -> dict:
    """report.html and manifest.json into the work folder; returns the manifest."""
    try:
        render_report(work_dir / REPORT_NOTEBOOK, work_dir / "report.html",
                      f"Customer value report: {cfg.client}, {cfg.as_of}")
        manifest = _manifest(cfg, timings, work_dir, run_seconds)
    except Exception as exc:
        raise _Stop(f"writing the report failed: {type(exc).__name__}: {exc}",
                    EXIT_RUN_FAILED) from exc
    (work_dir / warehouse.MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, default=str),
                                          encoding="utf-8")
    return manifest


def _publish(work_dir: Path, final_dir: Path, stamp: str) -> None:
    """Swap the finished run into place; the previous report is removed only afterwards."""
    previous = None
    if final_dir.exists():
        previous = final_dir.with_name(f".{final_dir.name}.previous-{stamp}")
        final_dir.rename(previous)
        log.info("replacing the earlier report of %s", final_dir.name)
    work_dir.rename(final_dir)
    if previous is not None:
        shutil.rmtree(previous)


def _point_latest(client_dir: Path, final_dir: Path) -> None:
    """``<client>/latest`` → the run just published, replaced in one step (os.replace); the
    link is relative, so a reports folder can be moved or copied whole."""
    temporary = client_dir / f".{LATEST}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(final_dir.name)
    os.replace(temporary, client_dir / LATEST)


def _prune(client_dir: Path, keep: int) -> None:
    """Remove all but the ``keep`` newest published runs (by as-of date) and failed runs (by
    when they failed); never the run ``latest`` points to, nor a date a run is working on."""
    latest = (client_dir / LATEST).resolve()
    published = sorted(p for p in client_dir.iterdir()
                       if PUBLISHED_NAME.fullmatch(p.name) and p.is_dir() and not p.is_symlink())
    for folder in published[:-keep]:
        lock = RunLock(client_dir, folder.name)
        if folder.resolve() == latest or (lock.path.exists() and not lock.acquire()):
            continue
        try:
            shutil.rmtree(folder)
            log.info("--keep %d: removed %s", keep, folder)
        finally:
            lock.release()
    failed_root = client_dir / FAILED
    if failed_root.is_dir():
        failed = sorted((p for p in failed_root.iterdir() if FAILED_NAME.fullmatch(p.name)),
                        key=lambda p: p.name[len("YYYY-MM-DD-"):])
        for folder in failed[:-keep]:
            shutil.rmtree(folder)
            log.info("--keep %d: removed %s", keep, folder)


def _run_locked(cfg: RunConfig, client_dir: Path, kernel_name: str, progress: bool,
                keep: int | None, guard: _SignalGuard, clock: float) -> Path:
    """The run proper, under its lock: work folder, notebooks, report, publish, tidy up."""
    stamp = datetime.now().strftime(STAMP_FORMAT)
    final_dir = client_dir / cfg.as_of.isoformat()
    with _work_folder(client_dir, cfg.as_of, stamp) as work_dir:
        log.info("run of %s as of %s from %s, pid %d", cfg.client, cfg.as_of,
                 cfg.config_file, os.getpid())
        _recover(client_dir, cfg.as_of, work_dir)
        timings = _execute_notebooks(cfg, work_dir, kernel_name, progress, guard)
        manifest = _write_report(cfg, timings, work_dir, time.perf_counter() - clock)
        done, rejected = summary(manifest, final_dir)
        guard.check()  # the last moment a signal stops the run: publishing is not undone
        log.info(done)
        if rejected:
            log.warning(rejected)
        _publish(work_dir, final_dir, stamp)
        _point_latest(client_dir, final_dir)
        if keep:
            _prune(client_dir, keep)
    return final_dir


def run(config_path: str | Path, as_of: str | date | None = None,
        out: str | Path | None = None, kernel_name: str = KERNEL_NAME, progress: bool = True,
        keep: int | None = None) -> Path:
    """Execute notebooks 01→05 on a config and publish the report folder.

    Parameters
    ----------
    config_path
        The run's YAML config; it and every source are checked first (:func:`check`), so a
        problem stops the run before it writes anything.
    as_of
        A date (or ISO date string) overriding the config's ``as_of``.
    out
        Root folder for reports; default ``reports/`` in the kit's folder.
    kernel_name
        The Jupyter kernel that executes the notebooks.
    progress
        Show a progress bar naming the notebook that is running (only on a terminal).
    keep
        After publishing, keep only this many published runs and failed runs of the client
        (the newest; never the one ``latest`` points to); None keeps all.

    Returns
    -------
    Path
        The published folder ``<out>/<client>/<as_of>/``; ``<out>/<client>/latest`` now
        points to it.

    Raises
    ------
    helpers.config.ConfigError
        The config is invalid.
    RunFailed
        The run stopped; ``exit_code`` says why (2 sources, 4 locked, 1 or 3 a notebook,
        130/143 a signal) and ``kept_at`` where its partial run is.
    """
    clock = time.perf_counter()
    with _SignalGuard() as guard:
        cfg = check(config_path, as_of)
        client_dir = (Path(out) if out else KIT_ROOT / "reports").resolve() / cfg.client
        try:
            guard.check()
        except _Stop as exc:
            raise RunFailed(f"{exc} before it started; nothing was written",
                            exc.exit_code) from None
        lock = RunLock(client_dir, cfg.as_of)
        try:
            locked = lock.acquire()
        except OSError as exc:
            raise RunFailed(f"cannot write to {client_dir}: {exc}", EXIT_BAD_CONFIG) from None
        if not locked:
            raise RunFailed(f"{cfg.client} {cfg.as_of} is already running ({lock.holder()}); "
                            f"this run stopped without touching anything", EXIT_LOCKED)
        try:
            return _run_locked(cfg, client_dir, kernel_name, progress, keep, guard, clock)
        finally:
            lock.release()
