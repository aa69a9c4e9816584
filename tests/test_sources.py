"""The data contract: fatal problems stop with file and column; bad rows are set aside."""

import json

import pandas as pd
import pytest

from helpers.config import load_config
from helpers.sources import DataContractError, build_load_counts
from helpers.warehouse import read_table

SHOP_CSV = """acct,when,total,qty
A1,2025-01-05,10.50,1
A2,31/02/2025,5,1
,2025-01-05,5,1
A3,2025-01-06,abc,1
A3,2025-01-06,0,1
A4,2026-05-01,3,1
A5,2025-01-07 10:00:00,-4.00,-1
A6,2025-01-07 10:00:00,7,2
A6,2025-01-07 10:00:00,7,2
A7,2025-01-08,2,x
"""

# Expected by hand: row number in the file (header = row 1) → reason. Row 7 (A4) is dated
# after the as-of date but before today: excluded, neither accepted nor rejected.
EXPECTED_REJECTIONS = {
    3: "unparseable date in column 'when'",
    4: "missing customer key (column 'acct')",
    5: "non-numeric amount (column 'total')",
    6: "zero amount (column 'total')",
    10: "exact duplicate of row 9",
    11: "non-numeric quantity (column 'qty')",
}


def shop_config(write_config, tmp_path, csv=SHOP_CSV, **source_options):
    (tmp_path / "shop.csv").write_text(csv, encoding="utf-8")
    source = {"kind": "transactions", "path": "shop.csv",
              "columns": {"customer_key": "acct", "order_date": "when", "amount": "total",
                          "quantity": "qty"}, **source_options}
    return load_config(write_config({"client": "t", "as_of": "2025-12-31",
                                     "sources": {"shop": source}}))


def test_bad_rows_are_set_aside_with_reason_row_and_raw_values(write_config, tmp_path, con):
    cfg = shop_config(write_config, tmp_path)
    build_load_counts(con, cfg)
    counts = read_table(con, "load_counts").iloc[0]
    assert (counts.rows_in, counts.accepted, counts.excluded, counts.rejected) == (10, 3, 1, 6)
    rejected = con.execute("SELECT * FROM rejected_rows ORDER BY row_number").df()
    assert dict(zip(rejected.row_number, rejected.reason, strict=True)) == EXPECTED_REJECTIONS
    assert set(rejected.file) == {str(tmp_path / "shop.csv")}
    assert json.loads(rejected.raw[0]) == {"acct": "A2", "when": "31/02/2025", "total": "5",
                                           "qty": "1"}


def test_accepted_rows_are_typed_and_returns_kept(write_config, tmp_path, con):
    build_load_counts(con, shop_config(write_config, tmp_path))
    staged = con.execute("SELECT * FROM stage_shop ORDER BY _row").df()
    assert list(staged["_row"]) == [2, 8, 9]
    assert list(staged["amount"]) == [10.5, -4.0, 7.0]
    assert str(staged["order_date"][1].date()) == "2025-01-07"


def test_duplicates_can_be_kept_for_files_without_line_ids(write_config, tmp_path, con):
    build_load_counts(con, shop_config(write_config, tmp_path, duplicate_lines="keep"))
    counts = read_table(con, "load_counts").iloc[0]
    assert (counts.accepted, counts.excluded, counts.rejected) == (4, 1, 5)


def test_italian_csv_semicolon_decimal_comma_day_first(write_config, tmp_path, con):
    csv = "card;day;amount\nLC1;05/03/2024;1.234,50\nLC2;31/04/2024;3,10\n"
    cfg = shop_config(write_config, tmp_path, csv=csv, delimiter=";", decimal=",",
                      date_format="%d/%m/%Y")
    cfg.sources["shop"].columns.clear()
    cfg.sources["shop"].columns.update(customer_key="card", order_date="day", amount="amount")
    build_load_counts(con, cfg)
    staged = con.execute("SELECT customer_key, order_date, amount FROM stage_shop").fetchall()
    assert [(key, str(day), amount) for key, day, amount in staged] == [
        ("LC1", "2024-03-05", 1234.5)]
    assert con.execute("SELECT row_number FROM rejected_rows").fetchall() == [(3,)]


def test_missing_file_names_the_file(write_config, tmp_path, con):
    cfg = shop_config(write_config, tmp_path)
    (tmp_path / "shop.csv").unlink()
    with pytest.raises(DataContractError, match=r"shop\.csv: file not found"):
        build_load_counts(con, cfg)


def test_missing_mapped_column_names_file_column_and_role(write_config, tmp_path, con):
    cfg = shop_config(write_config, tmp_path, csv="acct,date,total,qty\nA1,2025-01-01,1,1\n")
    with pytest.raises(DataContractError) as error:
        build_load_counts(con, cfg)
    message = str(error.value)
    assert "shop.csv" in message and "'when' (role order_date)" in message


def test_file_without_rows_is_fatal(write_config, tmp_path, con):
    cfg = shop_config(write_config, tmp_path, csv="acct,when,total,qty\n")
    with pytest.raises(DataContractError, match="no data rows"):
        build_load_counts(con, cfg)


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_excel_and_parquet_sources(write_config, tmp_path, con, fmt):
    frame = pd.DataFrame({"acct": ["A1", "A2", None], "when": ["2025-01-05", "2025-02-01", "x"],
                          "total": ["10.5", "0", "3"], "qty": ["1", "1", "1"]})
    path = tmp_path / f"shop.{fmt}"
    frame.to_excel(path, index=False) if fmt == "xlsx" else frame.to_parquet(path)
    cfg = shop_config(write_config, tmp_path, path=f"shop.{fmt}")
    build_load_counts(con, cfg)
    counts = read_table(con, "load_counts").iloc[0]
    assert (counts.rows_in, counts.accepted, counts.rejected) == (3, 1, 2)
    reasons = con.execute("SELECT row_number, reason FROM rejected_rows ORDER BY 1").fetchall()
    assert reasons == [(3, "zero amount (column 'total')"),
                       (4, "missing customer key (column 'acct')")]
