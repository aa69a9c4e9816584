"""The whole chain through Papermill: `cvkit run` on a small generated client.

One good run (the conftest's ``small_report``) is shared by the session: about a minute, and
test_reproducible.py compares a second run with it. The failure tests then check that a bad
run never touches it. Scheduled-run behaviour (lock, signals, latest, --keep) is in
test_runs.py.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
import yaml

from helpers.config import KIT_ROOT, TIERS, load_config
from helpers.demo_data import generate
from helpers.tables import STAGE_TABLE_PREFIX, TABLES, stage_column_type

NOTEBOOKS = ("01_identify", "02_differentiate", "03_clv", "04_segment", "05_report")


def cvkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "helpers.cli", *args], capture_output=True,
                          text=True, timeout=900)


def write_small_client(root: Path) -> dict:
    """A small demo client (400 people) in ``root/data`` and its config ``root/small.yaml``,
    as a consultant would set it up; returns the config."""
    generate(root / "data", customers=400, seed=7)
    config = yaml.safe_load((KIT_ROOT / "configs" / "demo.yaml").read_text())
    config["client"] = "small"
    for source in config["sources"].values():
        source["path"] = f"data/{Path(source['path']).name}"
    config["identity"]["truth"] = "data/truth/record_map.csv"
    config["clv"]["truth"] = "data/truth/parameters.json"
    (root / "small.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def run_small_client(root: Path, out: str, config: dict) -> Path:
    """`cvkit run` of the small client into ``root/out``; the report's folder."""
    result = cvkit("run", str(root / "small.yaml"), "--out", str(root / out), "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    folder = root / out / "small" / str(config["as_of"])
    assert len(result.stdout.splitlines()) == 1
    assert result.stdout.strip().endswith(f"; {folder / 'report.html'}")
    return folder


@pytest.fixture
def client(small_client):
    return small_client


@pytest.fixture
def report(small_report):
    return small_report


def test_every_output_file_is_written(report):
    for name in NOTEBOOKS:
        assert (report / f"{name}.ipynb").is_file()
    for name in ("report.html", "warehouse.duckdb", "manifest.json", "run.log",
                 "exports/customers.csv", "exports/rejected_rows.csv",
                 "exports/customer_value.xlsx", "exports/actions.csv",
                 "exports/actions.xlsx"):
        assert (report / name).stat().st_size > 0, name
    assert not list(report.parent.glob(".*partial*")), "temporary folder left behind"


def test_report_html_has_results_but_no_code(report):
    html = (report / "report.html").read_text()
    assert "Customer value report" in html and "Most valuable" in html
    assert "open_run(" not in html and "import " not in html


#: Tables the small client leaves empty, and what notebook 04 prints instead.
EMPTY_ON_SMALL_CLIENT = {"early_value": "customers had a full first year before"}


def test_every_table_is_written_and_filled(report):
    with duckdb.connect(str(report / "warehouse.duckdb"), read_only=True) as con:
        for table in TABLES:
            rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
            assert (rows == 0) == (table in EMPTY_ON_SMALL_CLIENT), table
        buyers = con.execute("SELECT count(*) FROM customer_value").fetchall()[0][0]
        scored = con.execute("SELECT count(*) FROM clv").fetchall()[0][0]
        tiered = con.execute("SELECT count(*) FROM segments").fetchall()[0][0]
        assert buyers == scored == tiered
        assert con.execute("SELECT count(*) FROM customers").fetchall()[0][0] < \
            con.execute("SELECT count(*) FROM source_records").fetchall()[0][0]
    segment = (report / "04_segment.ipynb").read_text()
    for reason in EMPTY_ON_SMALL_CLIENT.values():
        assert reason in segment


def test_every_customer_gets_one_action_and_the_exports_open(report):
    with duckdb.connect(str(report / "warehouse.duckdb"), read_only=True) as con:
        tiers = dict(con.execute("SELECT tier, count(*) FROM segments GROUP BY tier").fetchall())
        below_zero = con.execute(
            "SELECT count(*) FILTER (WHERE (tier = 'Below zero') <> (profit_to_date < 0 AND "
            "profit_to_date + future_value < 0)) FROM segments").fetchall()[0][0]
        per_customer = con.execute(
            "SELECT count(*), count(DISTINCT customer_id) FROM actions").fetchall()[0]
    assert sorted(tiers) == sorted(TIERS) and all(n > 0 for n in tiers.values())
    assert below_zero == 0
    assert per_customer == (sum(tiers.values()), sum(tiers.values()))
    book = openpyxl.load_workbook(report / "exports" / "actions.xlsx", read_only=True)
    rows = list(book["Actions"].values)
    assert rows[0][:2] == ("customer_id", "tier") and len(rows) == 1 + sum(tiers.values())
    exported = pd.read_csv(report / "exports" / "actions.csv")
    assert len(exported) == sum(tiers.values()) and exported["reason"].notna().all()


def test_manifest_records_inputs_versions_timings_and_reconciled_counts(report, client):
    manifest = json.loads((report / "manifest.json").read_text())
    rows = manifest["rows"]
    assert rows["in"] == rows["accepted"] + rows["excluded"] + rows["rejected"]
    assert rows["rejected"] > 0
    for source in rows["by_source"]:
        assert source["rows_in"] == source["accepted"] + source["excluded"] + source["rejected"]
    for entry in manifest["inputs"].values():
        assert entry["sha256"] == hashlib.sha256(Path(entry["path"]).read_bytes()).hexdigest()
    assert [n["notebook"] for n in manifest["notebooks"]] == [f"{n}.ipynb" for n in NOTEBOOKS]
    assert all(n["seconds"] > 0 for n in manifest["notebooks"])
    assert manifest["packages"]["lifetimes"] == "0.11.3"
    assert manifest["config"]["client"] == "small"
    assert manifest["tables"]["customers"] > 0


def test_a_misspelled_column_stops_before_any_folder_and_keeps_the_good_report(report, client):
    """Found by the preflight check in a second, not inside notebook 01 (which used to exit
    1 and leave a failed/ folder with a warehouse each time)."""
    root, config = client
    before = [(report / name).read_bytes() for name in ("manifest.json", "report.html")]
    broken = dict(config)
    broken["sources"] = json.loads(json.dumps(config["sources"]))
    broken["sources"]["webshop"]["columns"]["amount"] = "line_totale"
    path = root / "broken.yaml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False))

    result = cvkit("run", str(path), "--out", str(root / "reports"), "--no-progress")

    assert result.returncode == 2
    assert "webshop_orders.csv" in result.stderr and "'line_totale' (role amount)" in result.stderr
    assert "Traceback" not in result.stderr
    assert [(report / name).read_bytes() for name in ("manifest.json", "report.html")] == before
    assert not (root / "reports" / "small" / "failed").exists()


def test_a_misspelled_key_stops_before_any_work(client):
    root, config = client
    path = root / "typo.yaml"
    path.write_text(yaml.safe_dump({**config, "client": "typo", "curency": "EUR"}))
    result = cvkit("run", str(path), "--out", str(root / "reports"), "--no-progress")
    assert result.returncode == 2
    assert str(path) in result.stderr and "unknown key 'curency'" in result.stderr
    assert not (root / "reports" / "typo").exists()


def test_the_warehouse_matches_the_table_registry_exactly(report, client):
    """Every table and column the run wrote is registered in helpers.tables, with its type,
    and every registered table was written: adding one without registering it fails here."""
    root, _ = client
    cfg = load_config(root / "small.yaml")
    with duckdb.connect(str(report / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT table_name, column_name, data_type FROM "
                           "information_schema.columns WHERE table_schema = 'main' "
                           "ORDER BY table_name, ordinal_position").fetchall()
    written: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        written.setdefault(table, []).append((column, data_type))
    expected = {name: [(c.name, c.type) for c in table.columns]
                for name, table in TABLES.items()}
    for name, source in cfg.sources.items():
        roles = ["_row", *source.roles]
        expected[STAGE_TABLE_PREFIX + name] = [(r, stage_column_type(r)) for r in roles]
    assert sorted(written) == sorted(expected), "tables differ from helpers/tables.py"
    for table, columns in expected.items():
        assert written[table] == columns, f"{table}: columns differ from helpers/tables.py"


def test_the_cdnow_sample_reproduces_the_papers_through_the_whole_kit(tmp_path):
    """The CDNOW sample of Fader, Hardie & Lee (2005): a source with customer keys only, its $0
    lines kept as purchases, the models calibrated to 1997-09-30 and validated on the 39 weeks
    after it (weeks 40-78). The published estimates come out of the kit's own summary and fits,
    and notebook 03 prints the holdout comparison."""
    result = cvkit("run", str(KIT_ROOT / "configs" / "cdnow_sample.yaml"), "--out",
                   str(tmp_path), "--no-progress")
    assert result.returncode == 0, result.stderr[-3000:]
    folder = tmp_path / "cdnow_sample" / "1998-06-30"
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        estimates = dict(con.execute(
            "SELECT model || ' ' || metric, value FROM model_fit "
            "WHERE fitted_on = 'calibration' AND low IS NOT NULL").fetchall())
        holdout = con.execute("SELECT DISTINCT holdout_actual_total FROM model_comparison"
                              ).fetchall()
    published = {"bgnbd r": 0.243, "bgnbd alpha": 4.414, "bgnbd a": 0.793, "bgnbd b": 2.426,
                 "pareto_nbd r": 0.553, "pareto_nbd alpha": 10.578, "pareto_nbd s": 0.606,
                 "pareto_nbd beta": 11.669}
    for name, value in published.items():
        assert estimates[name] == pytest.approx(value, rel=0.005), name
    assert holdout == [(1882.0,)]
    notebook = (folder / "03_clv.ipynb").read_text()
    assert "holdout 1997-10-01 to 1998-06-30: 1,882 repeat purchases made" in notebook
    # the report renders without the data CDNOW lacks, and says so
    report = (folder / "report.html").read_text()
    for missing in ("No survey was loaded", "No campaign with a control group was loaded",
                    "No file of true identities was given"):
        assert missing in report, missing
    segment = (folder / "04_segment.ipynb").read_text()
    for skipped in ("No product categories (no catalogue)", "No early-value model"):
        assert skipped in segment, skipped
