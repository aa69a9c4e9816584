"""Row-count reconciliation and rejection summary on hand-made tables."""

import hashlib
import json
import zipfile
from datetime import date

import pandas as pd
import pytest

from helpers.config import RunConfig
from helpers.identify import reconciliation, rejection_reasons
from helpers.report import data_quality_note, export_tables
from helpers.tables import TABLES
from helpers.warehouse import write_table


def test_reconciliation_adds_a_total_and_flags_what_does_not_add_up(con):
    write_table(con, "load_counts", pd.DataFrame({
        "source": ["shop", "crm"], "kind": ["transactions", "customers"], "file": ["a", "b"],
        "rows_in": [10, 5], "accepted": [7, 4], "excluded": [1, 0], "rejected": [2, 0]}))
    table = reconciliation(con).set_index("source")
    assert table.loc["total", ["rows_in", "accepted", "excluded", "rejected"]].tolist() == [
        15, 11, 1, 2]
    assert table["reconciles"].to_dict() == {"crm": False, "shop": True, "total": False}


def test_rejection_reasons_group_duplicates_of_different_rows(con):
    write_table(con, "rejected_rows", pd.DataFrame({
        "source": ["shop"] * 4, "file": ["a"] * 4, "row_number": [7, 12, 3, 9],
        "reason": ["exact duplicate of row 6", "exact duplicate of row 11",
                   "zero amount (column 'total')", "exact duplicate of row 1"],
        "raw": ["{}"] * 4}))
    reasons = rejection_reasons(con)
    assert reasons.values.tolist() == [["shop", "exact duplicate", 3, 7],
                                       ["shop", "zero amount (column 'total')", 1, 3]]


# ------------------------------------------------------------------ the data-quality note

def quality_tables(con, rejected: dict[str, dict[str, int]], excluded: dict[str, int] | None):
    """load_counts and rejected_rows for sources store, webshop and crm: ``rejected`` is
    source → reason → rows; ``excluded`` None means a load_counts without that column."""
    rows_in = {"store": 20_000, "webshop": 40_112, "crm": 5_000}
    reasons = [(source, reason) for source, kinds in rejected.items()
               for reason, n in kinds.items() for _ in range(n)]
    write_table(con, "rejected_rows", pd.DataFrame({
        "source": [s for s, _ in reasons], "file": ["f"] * len(reasons),
        "row_number": range(2, len(reasons) + 2), "reason": [r for _, r in reasons],
        "raw": ["{}"] * len(reasons)}, columns=["source", "file", "row_number", "reason", "raw"]))
    counts = pd.DataFrame({"source": list(rows_in), "kind": ["transactions"] * 3,
                           "file": ["f"] * 3, "rows_in": list(rows_in.values())})
    counts["rejected"] = [sum(rejected.get(s, {}).values()) for s in rows_in]
    if excluded is not None:
        counts["excluded"] = [excluded.get(s, 0) for s in rows_in]
    counts["accepted"] = counts["rows_in"] - counts["rejected"] - counts.get("excluded", 0)
    write_table(con, "load_counts", counts)


def test_the_note_counts_rejected_and_excluded_rows_with_the_top_reason(con):
    quality_tables(con, {
        "webshop": {"exact duplicate of row 9": 50, "zero amount (column 'total')": 12},
        "store": {"exact duplicate of row 3": 30, "unparseable date in column 'day'": 28}},
        excluded={"webshop": 12})
    assert data_quality_note(con) == (
        "**Data quality:** 120 of 65,112 input rows (0.2%) were set aside: 62 in webshop, "
        "58 in store (top reason: exact duplicate); 12 rows dated after the as-of date were "
        "left out. Every set-aside row is listed in exports/rejected_rows.csv.")


def test_the_note_reads_load_counts_without_an_excluded_column(con):
    quality_tables(con, {"store": {"zero amount (column 'total')": 1}}, excluded=None)
    assert data_quality_note(con) == (
        "**Data quality:** 1 of 65,112 input rows (under 0.1%) was set aside: 1 in store "
        "(top reason: zero amount (column 'total')). Every set-aside row is listed in "
        "exports/rejected_rows.csv.")


def test_the_note_on_excluded_rows_only_and_on_nothing_set_aside(con):
    quality_tables(con, {}, excluded={"crm": 1})
    assert data_quality_note(con) == (
        "**Data quality:** 1 of 65,112 input rows was dated after the as-of date and left "
        "out; no row was set aside.")
    quality_tables(con, {}, excluded={})
    assert data_quality_note(con) == ""


# ------------------------------------------------------------------ the exports

SHOP = {"kind": "transactions", "path": "data/shop.csv",
        "columns": {"customer_key": "acct", "order_date": "day", "amount": "total",
                    "name": "Nome Cliente", "email": "E-mail"}}
RAW_ROW = {"acct": "7", "Nome Cliente": "Mario Rossi", "E-mail": "Mario@X.it", "total": "0"}


@pytest.fixture
def warehouse(con, tmp_path):
    """Every registered table, empty, but for two customers and one rejected row."""
    for name, table in TABLES.items():
        columns = ", ".join(f"{c.name} {c.type}" for c in table.columns)
        con.execute(f"CREATE TABLE {name} ({columns})")
    con.execute("INSERT INTO customers (customer_id, name, email, phone, city, sources, "
                "n_source_records) VALUES ('C2', 'Anna Bianchi', NULL, '333 000 1122', "
                "'Roma', 'shop', 1), ('C1', 'Mario Rossi', 'mario@x.it', '+39 347 123 4567', "
                "'Milano', 'shop', 1)")
    con.execute("INSERT INTO load_counts (source, kind, file, rows_in, accepted, rejected) "
                "VALUES ('shop', 'transactions', 'f', 1, 0, 1)")
    con.execute("INSERT INTO rejected_rows VALUES ('shop', ?, 2, 'zero amount', ?)",
                [str(tmp_path / "data" / "shop.csv"), json.dumps(RAW_ROW)])
    return con


def sha12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_config(tmp_path, pii) -> RunConfig:
    return RunConfig(client="acme", as_of=date(2025, 12, 31), sources={"shop": SHOP}, pii=pii,
                     config_file=tmp_path / "acme.yaml")


def read_exports(paths):
    customers = pd.read_csv(paths["customers"], dtype=str, keep_default_na=False)
    rejected = pd.read_csv(paths["rejected_rows"], dtype=str, keep_default_na=False)
    sheets = pd.read_excel(paths["workbook"], sheet_name=None, dtype=str, na_filter=False)
    pd.testing.assert_frame_equal(sheets["Customers"], customers)
    pd.testing.assert_frame_equal(sheets["Rejected rows"], rejected)
    return customers, rejected


def test_exports_keep_personal_data_by_default(warehouse, tmp_path):
    paths = export_tables(warehouse, tmp_path / "run", run_config(tmp_path, {}))
    customers, rejected = read_exports(paths)
    assert customers[["customer_id", "name", "email", "phone"]].values.tolist() == [
        ["C1", "Mario Rossi", "mario@x.it", "+39 347 123 4567"],
        ["C2", "Anna Bianchi", "", "333 000 1122"]]
    assert json.loads(rejected.loc[0, "raw"]) == RAW_ROW
    assert rejected.loc[0, "file"] == "shop.csv"  # the name the client knows, not our path


@pytest.mark.parametrize("mode, name, email, raw_name", [
    ("mask", "M. R.", "m***@x.it", "M. R."),
    ("hash", sha12("acme:mario rossi"), sha12("acme:mario@x.it"), sha12("acme:mario rossi")),
])
def test_exports_mask_or_hash_customers_and_raw_rows(warehouse, tmp_path, mode, name, email,
                                                     raw_name):
    paths = export_tables(warehouse, tmp_path / "run", run_config(tmp_path, {"exports": mode}))
    customers, rejected = read_exports(paths)
    assert customers.loc[0, ["customer_id", "name", "email"]].tolist() == ["C1", name, email]
    raw = json.loads(rejected.loc[0, "raw"])
    assert raw["Nome Cliente"] == raw_name and raw["acct"] == "7"
    assert "Mario" not in paths["customers"].read_text()
    assert "Mario" not in paths["rejected_rows"].read_text()


def test_the_workbook_carries_the_as_of_date_not_the_time_it_was_written(warehouse, tmp_path):
    first = export_tables(warehouse, tmp_path / "run", run_config(tmp_path, {}))["workbook"]
    written = first.read_bytes()
    with zipfile.ZipFile(first) as book:
        assert {entry.date_time for entry in book.infolist()} == {(2025, 12, 31, 0, 0, 0)}
        core = book.read("docProps/core.xml").decode()
    assert core.count("2025-12-31T00:00:00Z") == 2  # created and modified
    again = export_tables(warehouse, tmp_path / "run", run_config(tmp_path, {}))["workbook"]
    assert again.read_bytes() == written
