"""Preflight: open every source of a config before anything runs (``cvkit check``).

A scheduled run should learn that a file is missing, a column is misspelled or a date
layout is wrong in seconds, before a run folder exists, not inside notebook 01. Each
source is opened and a sample of its rows is staged into an in-memory warehouse with the
same rules as a real run, so a sample in which *every* row fails (a date layout that does not
fit, say) is reported with the reason and an example.
"""

from __future__ import annotations

import codecs

import duckdb
import openpyxl

from helpers.config import RunConfig
from helpers.errors import DataContractError
from helpers.sources import stage_source

__all__ = ["SAMPLE_ROWS", "check_sources"]

#: Data rows read from each source by the preflight check.
SAMPLE_ROWS = 500

#: Encodings suggested, in order, when a file is not in the one the config declares.
ENCODING_HINTS = ("utf-8", "utf-16", "cp1252", "latin-1")


def _encoding_problem(path, encoding: str) -> str | None:
    """A message when the file's first megabyte does not decode as ``encoding``."""
    head = path.read_bytes()[:1 << 20]
    try:
        codecs.decode(head, encoding)
        return None
    except LookupError:
        return f"{path}: unknown encoding '{encoding}'"
    except UnicodeDecodeError as exc:
        fits = next((e for e in ENCODING_HINTS if e != encoding and _decodes(head, e)), None)
        hint = f"; it reads as {fits}: set encoding: {fits}" if fits else ""
        return (f"{path}: not valid {encoding} at byte {exc.start} "
                f"({head[max(exc.start - 10, 0):exc.start + 10]!r}){hint}")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        codecs.decode(data, encoding)
    except UnicodeDecodeError:
        return False
    return True


def _file_problem(cfg: RunConfig, name: str) -> str | None:
    """Problems found without parsing: missing file, unknown format, encoding, sheet."""
    source, path = cfg.sources[name], cfg.source_path(name)
    where = f"(source '{name}')"
    if not path.is_file():
        return f"{path}: file not found {where}"
    if source.file_format not in ("csv", "xlsx", "parquet"):
        return (f"{path}: cannot tell the file's format from its name {where}; "
                f"add format: csv, xlsx or parquet")
    if source.file_format == "csv":
        return _encoding_problem(path, source.encoding)
    if source.file_format == "xlsx" and isinstance(source.sheet, str):
        try:
            sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
        except Exception as exc:  # the reader's message is the useful part
            return f"{path}: cannot open as xlsx {where}: {exc}"
        if source.sheet not in sheets:
            return f"{path}: no sheet '{source.sheet}' {where}; the sheets are {sheets}"
    return None


def _sample_problem(cfg: RunConfig, name: str) -> str | None:
    """Stage a sample in memory; a message when it cannot be read or every row fails."""
    con = duckdb.connect()
    try:
        counts = stage_source(con, cfg, name, limit=SAMPLE_ROWS)
        if counts["rows_in"] and counts["accepted"] == 0:
            reason, row = con.execute(
                "SELECT reason, min(row_number) FROM rejected_rows GROUP BY reason "
                "ORDER BY count(*) DESC, reason LIMIT 1").fetchall()[0]
            return (f"{cfg.source_path(name)}: all {counts['rows_in']} sample rows are "
                    f"rejected (source '{name}'): {reason}, e.g. row {row}")
    except DataContractError as exc:
        return str(exc)
    finally:
        con.close()
    return None


def check_sources(cfg: RunConfig) -> list[str]:
    """Open every source of ``cfg`` and stage a sample of it; the problems found.

    Returns
    -------
    list of str
        One message per source with a problem, each naming the file, and the column or row
        where there is one; empty when every source can be loaded.
    """
    problems = []
    for name in cfg.sources:
        problem = _file_problem(cfg, name) or _sample_problem(cfg, name)
        if problem:
            problems.append(problem)
    return problems
