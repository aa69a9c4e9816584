"""Writing the files: CSV, chunked order-file CSV, XLSX and Parquet, all byte-reproducible.

Nothing here draws random numbers. CSVs use UTF-8 and ``\\n`` line ends; the XLSX carries no
trace of the current time, so the same data always gives the same bytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

from .parameters import CHUNK_ROWS, CRM_COLUMNS, PRODUCT_COLUMNS

__all__ = [
    "OrderFile",
    "Sources",
    "write_csv",
    "write_parquet",
    "write_sources",
    "write_xlsx",
]


class OrderFile:
    """An order file held as numbers, written as text in chunks.

    ``columns`` maps each output column to a function ``(rows) -> text array`` where ``rows``
    are row numbers of the clean table. Bad rows are applied on the way out: ``copies`` says
    how often each clean row is written (2 for an exact duplicate) and ``overrides`` replaces
    single cells, keyed by the final 0-based data row.
    """

    def __init__(self, name: str, n_clean: int, columns: dict, copies: np.ndarray,
                 overrides: dict[str, tuple[np.ndarray, np.ndarray]], bad_rows: pd.DataFrame,
                 n_purchase_lines: int, n_return_lines: int = 0) -> None:
        self.name = name
        self.columns = columns
        self.source_row = np.repeat(np.arange(n_clean), copies)
        self.overrides = overrides
        self.bad_rows = bad_rows
        self.n_rows = len(self.source_row)
        self.n_purchase_lines = n_purchase_lines
        self.n_return_lines = n_return_lines
        self.keys: dict[str, np.ndarray] = {}

    def write(self, path: Path, sep: str) -> int:
        """Write the file ``CHUNK_ROWS`` rows at a time; returns the number of data rows."""
        with open(path, "w", encoding="utf-8", newline="") as handle:
            for begin in range(0, max(self.n_rows, 1), CHUNK_ROWS):
                end = min(begin + CHUNK_ROWS, self.n_rows)
                pd.DataFrame(self._chunk(begin, end), columns=list(self.columns)).to_csv(
                    handle, sep=sep, index=False, header=begin == 0, lineterminator="\n"
                )
        return self.n_rows

    def _chunk(self, begin: int, end: int) -> dict[str, np.ndarray]:
        """Text of the final data rows ``begin:end``, bad cells included."""
        rows = self.source_row[begin:end]
        frame = {}
        for column, make_text in self.columns.items():
            text = np.asarray(make_text(rows), dtype=object)
            if column in self.overrides:
                positions, values = self.overrides[column]
                inside = (positions >= begin) & (positions < end)
                text = text.copy()
                text[positions[inside] - begin] = values[inside]
            frame[column] = text
        return frame


@dataclass
class Sources:
    """The source files' contents, ready to be written."""

    crm: pd.DataFrame
    web: OrderFile
    store: OrderFile
    catalogue: pd.DataFrame
    tickets: pd.DataFrame
    marketing: pd.DataFrame
    nps: pd.DataFrame
    campaign: pd.DataFrame


def write_sources(out: Path, sources: Sources, as_of: date) -> dict[str, int]:
    """Write every source file into ``out``; returns the data rows of each, keyed by name."""
    counts: dict[str, int] = {}
    counts["crm_contacts.csv"] = write_csv(sources.crm[CRM_COLUMNS], out / "crm_contacts.csv")
    counts["webshop_orders.csv"] = sources.web.write(out / "webshop_orders.csv", sep=",")
    counts["store_receipts.csv"] = sources.store.write(out / "store_receipts.csv", sep=";")
    counts["products.xlsx"] = write_xlsx(
        sources.catalogue[PRODUCT_COLUMNS], out / "products.xlsx", "catalogue", as_of
    )
    counts["support_tickets.parquet"] = write_parquet(sources.tickets,
                                                      out / "support_tickets.parquet")
    counts["marketing_spend.csv"] = write_csv(sources.marketing, out / "marketing_spend.csv")
    counts["nps_survey.csv"] = write_csv(sources.nps, out / "nps_survey.csv")
    counts["campaign.csv"] = write_csv(sources.campaign, out / "campaign.csv")
    return counts


def write_csv(frame: pd.DataFrame, path: Path) -> int:
    """Write a CSV (UTF-8, ``,``, ``\\n``, no index); returns the number of data rows."""
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return len(frame)


def write_parquet(frame: pd.DataFrame, path: Path) -> int:
    """Write a Parquet file with pyarrow; returns the number of rows."""
    frame.to_parquet(path, index=False, engine="pyarrow")
    return len(frame)


def write_xlsx(frame: pd.DataFrame, path: Path, sheet: str, as_of: date) -> int:
    """Write one sheet with openpyxl, with no trace of the current time.

    openpyxl stamps the save time into ``docProps/core.xml`` and into every zip entry; both
    are replaced by ``as_of`` so the same data gives the same bytes.
    """
    fixed = datetime(as_of.year, as_of.month, as_of.day)
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):  # ~150 products
        worksheet.append([v.item() if isinstance(v, np.generic) else v for v in row])
    workbook.properties.creator = "helpers.demo_data"
    workbook.properties.created = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    _restamp_zip(buffer.getvalue(), path, fixed)
    return len(frame)


def _restamp_zip(data: bytes, path: Path, fixed: datetime) -> None:
    """Copy the xlsx (a zip) to ``path`` with every save time replaced by ``fixed``."""
    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=fixed.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, content)
