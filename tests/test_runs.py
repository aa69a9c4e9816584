"""Scheduled runs that fail loudly and safely: preflight, lock, signals, latest, --keep.

Each case reproduces a way a cron job used to go wrong and checks the exit code, the message,
that nothing was published and that the last good report (``latest``) is byte-identical. One
successful run is shared by the module (about half a minute); the SIGTERM case starts a
second run and stops it in notebook 01 (a few seconds); the others stop before any notebook
or run a one-cell notebook.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import nbformat
import pytest
import yaml
from test_end_to_end import cvkit, write_small_client

from helpers import __version__, runner
from helpers.cli import main
from helpers.errors import EXIT_BAD_CONFIG, EXIT_BAD_DATA, EXIT_LOCKED
from helpers.warehouse import PublishedRunError, open_run

AS_OF = "2025-12-31"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A client whose reports folder already holds earlier runs, then one good scheduled run
    with ``--keep 1`` and no ``--no-progress`` (stderr is a pipe, as under cron).

    Before the run: published 2025-06-30 (``latest`` points to it) and 2026-03-31, and two
    failed runs. Returns (root, client folder, the run's CompletedProcess).
    """
    root = tmp_path_factory.mktemp("runs")
    write_small_client(root)
    client_dir = root / "reports" / "small"
    for name in ("2025-06-30", "2026-03-31"):
        (client_dir / name).mkdir(parents=True)
        (client_dir / name / "manifest.json").write_text("{}")
    (client_dir / "latest").symlink_to("2025-06-30")
    for name in ("2025-06-30-20250701T020000", "2025-12-31-20260101T020000"):
        (client_dir / "failed" / name).mkdir(parents=True)
    result = cvkit("run", str(root / "small.yaml"), "--out", str(root / "reports"), "--keep", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    return root, client_dir, result


def latest_bytes(client_dir: Path) -> tuple[str, bytes, bytes]:
    """Where ``latest`` points, and its manifest.json and report.html, byte for byte."""
    latest = client_dir / "latest"
    return (os.readlink(latest), (latest / "manifest.json").read_bytes(),
            (latest / "report.html").read_bytes())


def folders(client_dir: Path) -> list[str]:
    """Every file and folder under the client's folder (hidden ones too)."""
    return sorted(str(p.relative_to(client_dir)) for p in client_dir.rglob("*"))


def test_a_good_run_prints_one_summary_line_and_no_progress_frames(history):
    root, client_dir, result = history
    report = client_dir / AS_OF / "report.html"
    assert re.fullmatch(rf"small {AS_OF}: [\d,]+ customers; [\d,]+ of [\d,]+ rows accepted, "
                        rf"[\d,]+ rejected, [\d,]+ excluded after as-of; [\d,]+ s; "
                        rf"{re.escape(str(report))}\n", result.stdout)
    manifest = json.loads((client_dir / AS_OF / "manifest.json").read_text())
    rejected = manifest["rows"]["rejected"]
    assert rejected > 0
    # stderr is not a terminal: no bar frames, only the note on rejected rows
    assert result.stderr.startswith(f"cvkit: {rejected:,} rows rejected (")
    assert result.stderr.endswith(f"; see {client_dir / AS_OF / 'exports' / 'rejected_rows.csv'}\n")
    assert len(result.stderr.splitlines()) == 1 and "\r" not in result.stderr


def test_latest_moves_to_the_new_run_and_keep_prunes_the_rest(history):
    _, client_dir, _ = history
    assert os.readlink(client_dir / "latest") == AS_OF
    # --keep 1: the newest as-of (2026-03-31) and latest's run stay; 2025-06-30 goes
    assert (client_dir / "2026-03-31").is_dir() and (client_dir / AS_OF).is_dir()
    assert not (client_dir / "2025-06-30").exists()
    assert (client_dir / "failed" / "2025-12-31-20260101T020000").is_dir()
    assert not (client_dir / "failed" / "2025-06-30-20250701T020000").exists()
    assert not list(client_dir.glob(".*partial*")) and not list(client_dir.glob(".*previous*"))


def test_run_log_records_steps_and_summary_but_no_personal_data(history):
    root, client_dir, result = history
    log = (client_dir / AS_OF / "run.log").read_text()
    for notebook in runner.NOTEBOOKS:
        assert f"notebook {notebook}: start" in log
        assert re.search(rf"notebook {notebook}: done in [\d.]+ s", log)
    assert result.stdout.strip() in log
    assert "@" not in log and "Niccol" not in log  # no email, no name from the files


def test_a_second_run_of_the_same_date_exits_4_and_touches_nothing(history):
    root, client_dir, _ = history
    before, tree = latest_bytes(client_dir), folders(client_dir)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from pathlib import Path; from helpers.runner "
         "import RunLock; lock = RunLock(Path(sys.argv[1]), sys.argv[2]); "
         "print(lock.acquire(), flush=True); sys.stdin.read()", str(client_dir), AS_OF],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "True"
        result = cvkit("run", str(root / "small.yaml"), "--out", str(root / "reports"))
    finally:
        holder.communicate("")
    assert result.returncode == EXIT_LOCKED
    assert re.fullmatch(rf"cvkit: small {AS_OF} is already running \(pid {holder.pid} since "
                        rf"[\d\-T:]+\); this run stopped without touching anything\n",
                        result.stderr)
    assert result.stdout == ""
    assert latest_bytes(client_dir) == before and folders(client_dir) == tree


def kernels_of(pid: int) -> list[int]:
    """Kernel processes started by process ``pid`` (jupyter_client tells each its parent)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if f"JPY_PARENT_PID={pid}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds kernels in /proc")
def test_sigterm_stops_the_kernel_and_moves_the_partial_run_to_failed(history):
    root, client_dir, _ = history
    before = latest_bytes(client_dir)
    process = subprocess.Popen([sys.executable, "-m", "helpers.cli", "run",
                                str(root / "small.yaml"), "--out", str(root / "reports")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not kernels_of(process.pid) or not list(client_dir.glob(".*partial*/01_identify.ipynb")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)

    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 143
    failed = re.fullmatch(r"cvkit: run interrupted by SIGTERM; the partial run is kept at "
                          r"(\S+); the last good report was not touched\n", err)
    assert failed, err
    kept = Path(failed.group(1))
    assert kept.parent == client_dir / "failed" and kept.name.startswith(f"{AS_OF}-")
    assert "run interrupted by SIGTERM" in (kept / "run.log").read_text()
    assert out == "" and not kernels_of(process.pid)
    assert not list(client_dir.glob(".*partial*"))
    assert latest_bytes(client_dir) == before


def test_a_notebook_error_exits_with_its_code_and_stale_work_is_tidied(history, tmp_path,
                                                                       monkeypatch):
    """A DataQualityError raised in a cell exits 3 (helpers.errors), naming the notebook, cell
    and error; a work folder left by a run killed outright (SIGKILL) is moved to failed/."""
    root, client_dir, _ = history
    before = latest_bytes(client_dir)
    stale = client_dir / f".{AS_OF}.partial-20200101T000000"
    stale.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('run_dir = ""', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from helpers.errors import DataQualityError\n"
                                  "raise DataQualityError('too many rejected rows')"),
    ], metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "py"}})
    nbformat.write(notebook, tmp_path / runner.NOTEBOOKS[0])
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", tmp_path)

    with pytest.raises(runner.RunFailed) as failure:
        runner.run(root / "small.yaml", out=root / "reports", progress=False)

    assert failure.value.exit_code == EXIT_BAD_DATA
    message = str(failure.value)
    assert message.startswith(f"run failed: notebook {runner.NOTEBOOKS[0]} failed in cell ")
    assert "DataQualityError: too many rejected rows" in message
    assert failure.value.kept_at.parent == client_dir / "failed"
    assert (client_dir / "failed" / f"{AS_OF}-20200101T000000" / "run.log").is_file()
    assert not list(client_dir.glob(".*partial*"))
    assert latest_bytes(client_dir) == before


@pytest.fixture
def sources(tmp_path):
    """A copy of a small client's config and data in tmp_path, to break one thing at a time."""
    config = write_small_client(tmp_path)

    def write(change) -> Path:
        broken = copy.deepcopy(config)
        change(broken, tmp_path / "data")
        path = tmp_path / "broken.yaml"
        path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
        return path

    return write


def _reencode(data: Path, name: str, encoding: str) -> None:
    path = data / name
    path.write_bytes(path.read_text(encoding="utf-8").encode(encoding))


def _without_suffix(config: dict, data: Path) -> None:
    shutil.copy(data / "webshop_orders.csv", data / "webshop_orders")
    config["sources"]["webshop"]["path"] = "data/webshop_orders"


#: A way to break the small client, and what the message must name.
BROKEN = {
    "missing file": (lambda c, d: c["sources"]["crm"].update(path="data/crm_contact.csv"),
                     ("crm_contact.csv", "file not found")),
    "misspelled column": (lambda c, d: c["sources"]["store"]["columns"].update(amount="amout"),
                          ("store_receipts.csv", "'amout' (role amount) not found")),
    "wrong sheet": (lambda c, d: c["sources"]["catalogue"].update(sheet="Catalogue"),
                    ("products.xlsx", "no sheet 'Catalogue'")),
    "utf-16 file declared utf-8": (lambda c, d: _reencode(d, "crm_contacts.csv", "utf-16"),
                                   ("crm_contacts.csv", "not valid utf-8", "utf-16")),
    "latin-1 file declared utf-8": (lambda c, d: _reencode(d, "crm_contacts.csv", "latin-1"),
                                    ("crm_contacts.csv", "not valid utf-8")),
    "source named web-shop": (lambda c, d: c["sources"].update({"web-shop": c["sources"].pop(
        "webshop")}), ("source name 'web-shop'", "try 'web_shop'")),
    "file without a suffix": (_without_suffix,
                              ("webshop_orders:", "cannot tell the file's format")),
    "client ..": (lambda c, d: c.update(client=".."), ("'client'",)),
}


@pytest.mark.parametrize("case", BROKEN)
def test_bad_config_or_files_exit_2_before_any_folder_is_created(case, sources, tmp_path,
                                                                 capsys):
    change, expected = BROKEN[case]
    path = sources(change)
    out = tmp_path / "reports"
    for command in ("check", "run"):
        assert main([command, str(path), "--out", str(out)] if command == "run"
                    else [command, str(path)]) == EXIT_BAD_CONFIG
        captured = capsys.readouterr()
        assert all(text in captured.err for text in expected), captured.err
        assert captured.err.startswith("cvkit: ")
        assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists()


def test_check_says_ok_on_one_line(sources, capsys):
    path = sources(lambda c, d: None)
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out == (
        f"ok: 8 sources (crm, webshop, store, catalogue, support, marketing, survey, campaign) "
        f"of small as of {AS_OF} "
        f"open and stage a sample; {path}\n")


@pytest.mark.parametrize(("value", "days_ago"), [("today", 0), ("yesterday", 1),
                                                 ("Yesterday", 1)])
def test_as_of_today_and_yesterday_are_resolved(value, days_ago, sources, capsys):
    path = sources(lambda c, d: None)
    assert main(["check", str(path), "--as-of", value]) == 0
    assert f"as of {date.today() - timedelta(days=days_ago)} " in capsys.readouterr().out


def test_a_bad_as_of_names_the_option_not_the_config(sources, capsys):
    path = sources(lambda c, d: None)
    with pytest.raises(SystemExit) as stop:
        main(["run", str(path), "--as-of", "31/12/2025"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "argument --as-of: '31/12/2025' is not a date: give today, yesterday or YYYY-MM-DD" \
        in err
    assert str(path) not in err


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out == f"cvkit {__version__}\n"


def test_notebooks_on_their_own_refuse_a_published_run(history):
    root, client_dir, _ = history
    before = latest_bytes(client_dir)
    with pytest.raises(PublishedRunError, match=r"is a published run \(it has manifest.json\).*"
                                                r"leave run_dir empty .*or name a new folder"):
        open_run(str(root / "small.yaml"), str(client_dir / "latest"))
    assert latest_bytes(client_dir) == before
