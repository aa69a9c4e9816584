"""Write the binary and byte-exact files of the bad-input corpus (see cases.yaml).

The plain-text cases are committed as they are; these are the files an editor or git could
not be trusted to keep byte for byte: other encodings, byte-order marks, invalid bytes, CRLF
line ends, Parquet and Excel. Run from anywhere: ``python tests/data/bad/make_corpus.py``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["HERE", "write_corpus"]

HERE = Path(__file__).resolve().parent

SHOP = "acct,who,when,total,qty\n"
ACCENTED = (SHOP + "A1,Nicolò Pirrò,2025-01-05,10.50,1\n"
            "A2,José Müller,2025-02-01,5.00,1\n"
            "A3,Zoë Çelik,2025-03-01,7.25,2\n")


def _text_files() -> dict[str, bytes]:
    cp1252 = (SHOP + "A1,Nicolò “Nico” Pirrò,2025-01-05,10.50,1\n"
              "A2,Café € Bar,2025-02-01,5.00,1\n")
    invalid = (SHOP + "A1,Mario Rossi,2025-01-05,10.50,1\n").encode() + \
        "A2,Nicolò Pirrò,2025-02-01,5.00,1\n".encode("cp1252") + b"A3,Anna,2025-03-01,7,1\n"
    return {
        "latin1.csv": ACCENTED.encode("latin-1"),
        "cp1252.csv": cp1252.encode("cp1252"),
        "utf16.csv": ACCENTED.encode("utf-16"),
        "utf8_bom.csv": b"\xef\xbb\xbf" + ACCENTED.encode(),
        "invalid_utf8.csv": invalid,
        "utf16_declared_utf8.csv": ACCENTED.encode("utf-16"),
        "crlf_blank_lines.csv": (SHOP + "\nA1,Anna,2025-01-05,10.50,1\n\n   \n"
                                 "A2,Luca,2025-01-06,4.00,1\nA3,Bea,2025-01-07,x,1\n\n\n")
        .replace("\n", "\r\n").encode(),
    }


def _parquet_files() -> dict[str, pa.Table]:
    utc = pa.timestamp("us", tz="UTC")
    moments = [dt.datetime(2025, 1, 5, 23, 30, 0, 123456, tzinfo=dt.UTC),   # Rome: Jan 6th
               dt.datetime(2025, 3, 1, 10, 0, 0, 500000, tzinfo=dt.UTC),
               dt.datetime(2025, 12, 31, 22, 59, 59, 999000, tzinfo=dt.UTC),  # Rome: Dec 31st
               dt.datetime(2025, 12, 31, 23, 0, 0, tzinfo=dt.UTC)]             # Rome: Jan 1st
    zoned = pa.table({"acct": ["A1", "A2", "A3", "A4"], "when": pa.array(moments, utc),
                      "total": [10.5, 4.0, 7.25, 3.0], "qty": pa.array([1, 2, 1, 1], pa.int32())})
    naive = pa.table({
        "acct": ["B1", "B2", "B3"],
        "when": pa.array([dt.datetime(2025, 1, 5, 23, 30), dt.datetime(2025, 6, 1, 0, 0, 0, 1),
                          None], pa.timestamp("ns")),
        "signup": pa.array([dt.date(2024, 1, 1), None, dt.date(2024, 2, 1)], pa.date32()),
        "total": pa.array([Decimal("12.30"), Decimal("1234.50"), Decimal("1.00")],
                          pa.decimal128(10, 2)),
        "qty": pa.array([1, 3, 1], pa.int64())})
    nonfinite = pa.table({"acct": ["C1", "C2", "C3", "C4"],
                          "when": ["2025-01-05", "2025-01-06", "2025-01-07", "2025-01-08"],
                          "total": [float("nan"), float("inf"), float("-inf"), 9.5]})
    return {"tz_subsecond.parquet": zoned, "naive_timestamps.parquet": naive,
            "nonfinite.parquet": nonfinite}


def _workbook(rows: list[list], sheet: str = "Orders") -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = dt.datetime(2025, 1, 1)
    ws = book.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    return book


def _xlsx_files() -> dict[str, openpyxl.Workbook]:
    header = ["acct", "who", "when", "total", "qty"]
    typed = _workbook([
        header,
        ["A1", "Anna", dt.datetime(2025, 1, 5, 18, 45), 32.7, 1],    # typed date and number
        ["A2", "Luca", "05/03/2025", "32,70", "2"],                   # text in the file's ways
        ["A3", "Bea", dt.date(2025, 2, 1), "1.234,50", 3],
        ["A4", "Ugo", "06/03/2025", "32.70", 1],                      # rescaled if read as text
        ["A5", "Eva", dt.datetime(2026, 1, 10), 5, 1],                # after the as-of date
    ])
    blank_rows = _workbook([[], [], header, ["A1", "Anna", "2025-01-05", 10, 1], [],
                            ["A2", "Luca", "2025-01-06", 0, 1], [None, None, None, None, None]])
    return {"typed.xlsx": typed, "blank_rows.xlsx": blank_rows,
            "missing_sheet.xlsx": _workbook([header, ["A1", "Anna", "2025-01-05", 10, 1]],
                                            sheet="Sheet1")}


def write_corpus(folder: Path = HERE) -> list[Path]:
    """Write the generated files into ``folder``; return their paths."""
    written = []
    for name, data in _text_files().items():
        (folder / name).write_bytes(data)
        written.append(folder / name)
    for name, table in _parquet_files().items():
        pq.write_table(table, folder / name)
        written.append(folder / name)
    for name, book in _xlsx_files().items():
        book.save(folder / name)
        written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in write_corpus():
        print(path.name)
