"""Loading that keeps values right: the bad-input corpus, the issue's cases, the quality gates.

The corpus (tests/data/bad/cases.yaml) runs each damaged file through the loader; the tests
after it replay the cases reported in the issue, then check the data-quality gate and the
preflight check.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import sources
from helpers.config import ConfigError, load_config
from helpers.errors import DataQualityError
from helpers.identify import reconciliation
from helpers.preflight import check_sources
from helpers.sources import DataContractError, build_load_counts, check_quality, run_day
from helpers.warehouse import read_table, write_table

CORPUS = Path(__file__).parent / "data" / "bad"
MANIFEST = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
CASES = {case.get("id", case["file"]): case for case in MANIFEST["cases"]}
SHOP_COLUMNS = MANIFEST["defaults"]["source"]["columns"]


def corpus_config(write_config, case: dict):
    """The run config of one corpus case: one source named ``shop`` reading the case's file."""
    defaults = MANIFEST["defaults"]
    source = {**defaults["source"], **case.get("source", {}), "path": str(CORPUS / case["file"])}
    return load_config(write_config({
        "client": "t", "as_of": str(case.get("as_of", defaults["as_of"])),
        "timezone": case.get("timezone", defaults["timezone"]), "sources": {"shop": source}}))


def test_the_corpus_has_the_damage_the_issue_lists():
    assert len({case["file"] for case in CASES.values()}) >= 25
    assert all((CORPUS / case["file"]).is_file() for case in CASES.values())


#: Each case as read: by DuckDB's CSV reader; the CSV files also by it with blocks of 7 bytes
#: (a line over many blocks) and by the kit's splitter; the Parquet files a row at a time. All
#: must give the same result.
READINGS = [(name, "duckdb") for name in CASES] + [
    (name, reader) for name, case in CASES.items() if case["file"].endswith((".csv", ".txt"))
    for reader in ("small blocks", "splitter")] + [
    (name, "small blocks") for name, case in CASES.items() if case["file"].endswith(".parquet")]


@pytest.mark.parametrize(("name", "reader"), READINGS)
def test_corpus_case(name, reader, write_config, con, monkeypatch):
    case = CASES[name]
    if reader == "splitter":
        monkeypatch.setattr(sources, "_read_csv_in_duckdb", lambda con, source, path: None)
    elif reader == "small blocks":
        monkeypatch.setattr(sources, "SCAN_BYTES", 7)
        monkeypatch.setattr(sources, "SCAN_BATCH_LINES", 1)
        monkeypatch.setattr(sources, "PARQUET_BATCH_ROWS", 1)
    cfg = corpus_config(write_config, case)
    if "error" in case:
        with pytest.raises(DataContractError) as error:
            build_load_counts(con, cfg)
        message = str(error.value)
        assert case["file"] in message and "(source 'shop')" in message
        for part in case["error"]:
            assert part in message
        return
    build_load_counts(con, cfg)
    counts = read_table(con, "load_counts").iloc[0]
    assert counts[["rows_in", "accepted", "excluded", "rejected"]].to_dict() == case["counts"]
    assert counts.rows_in == counts.accepted + counts.excluded + counts.rejected

    rejected = con.execute("SELECT file, row_number, reason, raw FROM rejected_rows "
                           "ORDER BY row_number").df()
    today = str(run_day(cfg))
    expected = {row: reason.format(today=today) for row, reason in
                case.get("rejected", {}).items()}
    assert dict(zip(rejected.row_number, rejected.reason, strict=True)) == expected
    assert set(rejected.file) <= {str(CORPUS / case["file"])}
    for reason in rejected.reason:  # a reason names its column, unless the whole row is at fault
        assert "column" in reason or reason.startswith(("row has", "exact duplicate"))
    raws = dict(zip(rejected.row_number, rejected.raw, strict=True))
    for row, raw in case.get("raw", {}).items():
        assert json.loads(raws[row]) == raw

    staged = con.execute("SELECT * FROM stage_shop").df().set_index("_row")
    for row, values in case.get("staged", {}).items():
        for role, value in values.items():
            found = staged.loc[row, role]
            found = found.date() if isinstance(found, pd.Timestamp) else found
            assert (pd.isna(found) and value is None) or found == value, (row, role)


# ------------------------------------------------------------------------- the issue's cases


def shop_csv(tmp_path, write_config, text: str, **options):
    (tmp_path / "shop.csv").write_text(text, encoding="utf-8")
    source = {"kind": "transactions", "path": "shop.csv", "columns": SHOP_COLUMNS, **options}
    return load_config(write_config({"client": "t", "as_of": "2025-12-31",
                                     "sources": {"shop": source}}))


STORE = """acct;who;when;total;qty
A1;ROSSI MARIO;05/01/2025;10,50;1
A2;BIANCHI ANNA;06/01/2025;4,00;1
A3;VERDI LUCA;31/01/2025;7,00;2
"""


def test_a_store_file_without_date_format_stops_the_run_naming_source_and_reason(
        tmp_path, write_config, con):
    cfg = shop_csv(tmp_path, write_config, STORE, delimiter=";", decimal=",")
    build_load_counts(con, cfg)
    with pytest.raises(DataQualityError) as error:
        check_quality(con, cfg)
    message = str(error.value)
    assert "source 'shop'" in message and "3 of 3 rows rejected (100.0%)" in message
    assert "unparseable date in column 'when' (3 rows, e.g. row 2)" in message
    assert "all sources: 3 of 3 rows rejected" in message
    assert not any(name in message for name in ("ROSSI", "MARIO", "BIANCHI", "VERDI"))


def test_with_its_date_format_the_same_file_passes_the_gate(tmp_path, write_config, con):
    cfg = shop_csv(tmp_path, write_config, STORE, delimiter=";", decimal=",",
                   date_format="%d/%m/%Y")
    build_load_counts(con, cfg)
    check_quality(con, cfg)
    assert read_table(con, "load_counts").accepted.tolist() == [3]


def test_extra_field_on_line_2_rejects_that_row_only(tmp_path, write_config, con):
    lines = ["acct,who,when,total,qty"] + [f"A{i},N{i},2025-01-{i:02d},{i}.50,1"
                                           for i in range(1, 21)]
    lines[1] += ",EXTRA"
    build_load_counts(con, shop_csv(tmp_path, write_config, "\n".join(lines) + "\n"))
    assert con.execute("SELECT row_number, reason FROM rejected_rows").fetchall() == [
        (2, "row has 6 fields, the header has 5")]
    staged = con.execute("SELECT _row, customer_key, amount FROM stage_shop ORDER BY _row "
                         "LIMIT 2").fetchall()
    assert staged == [(3, "A2", 2.5), (4, "A3", 3.5)]  # no column shifted


def test_non_finite_amounts_are_rejected(tmp_path, write_config, con):
    text = "acct,who,when,total,qty\n" + "".join(
        f"A{i},N,2025-01-05,{amount},1\n" for i, amount in
        enumerate(["NaN", "inf", "-Infinity", "1e400", "12.5"]))
    build_load_counts(con, shop_csv(tmp_path, write_config, text))
    reasons = con.execute("SELECT row_number, reason FROM rejected_rows ORDER BY 1").fetchall()
    assert reasons == [(row, "non-numeric amount (column 'total')") for row in (2, 3, 4, 5)]
    assert con.execute("SELECT amount FROM stage_shop").fetchall() == [(12.5,)]


def test_amounts_too_large_to_add_up_to_the_cent_are_rejected(tmp_path, write_config, con):
    text = "acct,who,when,total,qty\n" + "".join(
        f"A{i},N,2025-01-05,{amount},1\n" for i, amount in
        enumerate(["1e13", "-2e20", "9999999999999.99", "1e300"]))
    build_load_counts(con, shop_csv(tmp_path, write_config, text))
    reasons = con.execute("SELECT row_number, reason FROM rejected_rows ORDER BY 1").fetchall()
    too_large = ("amount of 10,000,000,000,000 or more (column 'total'): too large for a sum "
                 "to be exact to the cent")
    assert reasons == [(2, too_large), (3, too_large), (5, too_large)]
    assert con.execute("SELECT amount FROM stage_shop").fetchall() == [(9999999999999.99,)]


def test_a_dot_in_a_decimal_comma_file_is_rejected_not_rescaled(tmp_path, write_config, con):
    text = "acct;who;when;total;qty\nA1;N;2025-01-05;32.70;1\nA2;N;2025-01-06;32,70;1\n"
    build_load_counts(con, shop_csv(tmp_path, write_config, text, delimiter=";", decimal=","))
    assert con.execute("SELECT row_number, reason, raw FROM rejected_rows").fetchall() == [
        (2, "amount does not use the decimal mark ',' (column 'total')",
         '{"acct":"A1","who":"N","when":"2025-01-05","total":"32.70","qty":"1"}')]
    assert con.execute("SELECT amount FROM stage_shop").fetchall() == [(32.7,)]


def test_rows_after_the_as_of_date_are_excluded_and_counted(tmp_path, write_config, con):
    text = ("acct,who,when,total,qty\nA1,N,2025-12-31,1,1\nA2,N,2026-01-01,2,1\n"
            "A3,N,2999-01-01,3,1\n")
    cfg = shop_csv(tmp_path, write_config, text)
    build_load_counts(con, cfg)
    counts = read_table(con, "load_counts").iloc[0]
    assert counts[["rows_in", "accepted", "excluded", "rejected"]].tolist() == [3, 1, 1, 1]
    assert con.execute("SELECT reason FROM rejected_rows").fetchall() == [
        (f"date in the future, after {run_day(cfg)} (column 'when')",)]
    table = reconciliation(con).set_index("source")  # accepted = in - excluded - rejected
    assert table.loc["total", ["accepted", "excluded"]].tolist() == [1, 1]
    assert table["reconciles"].all()


# ------------------------------------------------------------------------- the quality gate


def gate_config(write_config, quality=None, **shop_options):
    sources = {"shop": {"kind": "transactions", "path": "shop.csv", "columns": SHOP_COLUMNS,
                        **shop_options},
               "crm": {"kind": "customers", "path": "crm.csv",
                       "columns": {"customer_key": "id"}}}
    return load_config(write_config({"client": "t", "as_of": "2025-12-31", "sources": sources,
                                     **({"quality": quality} if quality else {})}))


def gate_counts(con, shop: tuple[int, int, int], crm: tuple[int, int, int]):
    """load_counts and rejected_rows for shop and crm, each (rows_in, excluded, rejected)."""
    write_table(con, "load_counts", pd.DataFrame({
        "source": ["shop", "crm"], "kind": ["transactions", "customers"],
        "file": ["shop.csv", "crm.csv"], "rows_in": [shop[0], crm[0]], "accepted": [0, 0],
        "excluded": [shop[1], crm[1]], "rejected": [shop[2], crm[2]]}))
    reasons = ["zero amount (column 'total')", "missing customer key (column 'acct')",
               "exact duplicate of row 2", "non-numeric quantity (column 'qty')"]
    write_table(con, "rejected_rows", pd.DataFrame({
        "source": ["shop"] * shop[2] + ["crm"] * crm[2], "file": "f",
        "row_number": range(10, 10 + shop[2] + crm[2]),
        "reason": [reasons[i % 4] for i in range(shop[2])]
        + ["missing customer key (column 'id')"] * crm[2], "raw": "{}"}))


def test_gate_passes_at_the_limit_and_excluded_rows_do_not_count(write_config, con):
    cfg = gate_config(write_config)
    gate_counts(con, shop=(120, 20, 5), crm=(1000, 0, 0))  # 5 of 100: exactly 5%
    check_quality(con, cfg)


def test_gate_names_the_source_count_share_and_top_three_reasons(write_config, con):
    cfg = gate_config(write_config)
    gate_counts(con, shop=(100, 0, 10), crm=(1000, 0, 0))
    with pytest.raises(DataQualityError) as error:
        check_quality(con, cfg)
    message = str(error.value)
    assert ("source 'shop' (shop.csv): 10 of 100 rows rejected (10.0%), more than the 5.0% "
            "allowed (quality.max_rejected_share); top reasons: missing customer key (column "
            "'acct') (3 rows, e.g. row 11); zero amount (column 'total') (3 rows, e.g. row 10)"
            "; exact duplicate (2 rows, e.g. row 12)") in message
    assert "all sources" not in message  # 10 of 1,100 is under 5%
    assert "non-numeric quantity" not in message


def test_a_source_can_have_its_own_limit(write_config, con):
    gate_counts(con, shop=(100, 0, 10), crm=(1000, 0, 0))
    check_quality(con, gate_config(write_config, max_rejected_share=0.2))
    with pytest.raises(DataQualityError, match=r"sources\.shop\.max_rejected_share"):
        check_quality(con, gate_config(write_config, max_rejected_share=0.01))


def test_the_run_as_a_whole_has_a_gate(write_config, con):
    gate_counts(con, shop=(100, 0, 4), crm=(100, 0, 4))  # each 4%, together 4%
    check_quality(con, gate_config(write_config, quality={"max_rejected_share": 0.05}))
    with pytest.raises(DataQualityError) as error:
        check_quality(con, gate_config(write_config, quality={"max_rejected_share": 0.03},
                                       max_rejected_share=0.5))
    message = str(error.value)
    assert "source 'crm'" in message and "source 'shop'" not in message
    assert "all sources: 8 of 200 rows rejected (4.0%), more than the 3.0% allowed" in message


@pytest.mark.parametrize(("section", "expected"), [
    ({"quality": {"max_rejected": 0.1}}, "unknown key 'quality.max_rejected' — did you mean "
                                         "'max_rejected_share'?"),
    ({"quality": {"max_rejected_share": 1.5}}, "'quality.max_rejected_share'"),
    ({"timezone": "Europe/Rom"}, "unknown time zone 'Europe/Rom'"),
])
def test_quality_and_timezone_are_checked_like_every_key(write_config, section, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(write_config({"client": "t", "as_of": "2025-12-31", **section, "sources": {
            "shop": {"kind": "transactions", "path": "shop.csv", "columns": SHOP_COLUMNS}}}))


def test_a_delimiter_must_be_one_ascii_byte(write_config):
    with pytest.raises(ConfigError, match="'sources.shop.delimiter': '::' cannot be"):
        load_config(write_config({"client": "t", "as_of": "2025-12-31", "sources": {
            "shop": {"kind": "transactions", "path": "shop.csv", "delimiter": "::",
                     "columns": SHOP_COLUMNS}}}))


# ------------------------------------------------------------------------- preflight


def test_preflight_reads_a_sample_with_the_same_reader(write_config):
    cfg = load_config(write_config({"client": "t", "as_of": "2025-12-31", "sources": {
        "shop": {"kind": "transactions", "path": str(CORPUS / "no_date_format.csv"),
                 "delimiter": ";", "decimal": ",", "columns": SHOP_COLUMNS},
        "book": {"kind": "transactions", "path": str(CORPUS / "missing_sheet.xlsx"),
                 "sheet": "Orders", "columns": SHOP_COLUMNS},
        "old": {"kind": "transactions", "path": str(CORPUS / "utf16_declared_utf8.csv"),
                "columns": SHOP_COLUMNS},
        "fine": {"kind": "transactions", "path": str(CORPUS / "ragged_rows.csv"),
                 "columns": SHOP_COLUMNS}}}))
    problems = check_sources(cfg)
    assert len(problems) == 3
    assert ("all 3 sample rows are rejected (source 'shop'): unparseable date in column "
            "'when', e.g. row 2") in problems[0]
    assert "missing_sheet.xlsx: no sheet 'Orders' (source 'book')" in problems[1]
    assert "set encoding: utf-16" in problems[2]


def test_preflight_samples_the_first_rows_of_a_long_file(tmp_path, write_config, con):
    rows = "".join(f"A{i},N,2025-01-05,{i % 7 + 1}.00,1\n" for i in range(40_000))
    cfg = shop_csv(tmp_path, write_config, "acct,who,when,total,qty\n" + rows
                   + 'A,"unclosed,2025-01-05,1.00,1\n')
    assert check_sources(cfg) == []  # the sample ends before the broken last line
    with pytest.raises(DataContractError, match="never closed"):
        build_load_counts(con, cfg)


def test_run_day_is_today_in_the_run_zone(make_config):
    assert abs(run_day(make_config()) - dt.date.today()) <= dt.timedelta(days=1)
