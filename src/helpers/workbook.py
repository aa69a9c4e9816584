"""Excel workbooks whose bytes depend on their content only (the exports of notebooks 04-05).

openpyxl stamps the time of saving into the workbook; a rerun on the same inputs must write
the same file, so the run's as-of date stands in for it.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from openpyxl.xml.constants import ARC_CORE
from openpyxl.xml.functions import tostring

__all__ = ["write_workbook"]


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path, as_of: date) -> None:
    """Write ``sheets`` (sheet name → table, in order) to the xlsx ``path``, stamped ``as_of``.

    The file's bytes depend on its content only (:func:`_write_stamped`), so a rerun on the
    same inputs writes the same workbook.
    """
    workbook = io.BytesIO()
    with pd.ExcelWriter(workbook, engine="openpyxl") as writer:
        for name, table in sheets.items():
            table.to_excel(writer, sheet_name=name, index=False)
    stamp = datetime.combine(as_of, datetime.min.time())
    writer.book.properties.created = writer.book.properties.modified = stamp
    _write_stamped(workbook.getvalue(), tostring(writer.book.properties.to_tree()), path, stamp)


def _write_stamped(xlsx: bytes, core_properties: bytes, path: Path, stamp: datetime) -> None:
    """Write an xlsx whose bytes depend on its content only.

    openpyxl stamps the time of saving into the document properties (``docProps/core.xml``)
    and into every zip entry; here both are ``stamp``.
    """
    date_time = stamp.timetuple()[:6]
    with zipfile.ZipFile(io.BytesIO(xlsx)) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = core_properties if entry.filename == ARC_CORE else source.read(entry)
            target.writestr(zipfile.ZipInfo(entry.filename, date_time), data,
                            compress_type=zipfile.ZIP_DEFLATED)
