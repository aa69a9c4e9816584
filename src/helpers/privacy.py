"""Privacy: how personal data appears in the report, the notebooks and the exports.

The config's ``pii:`` section sets one mode for the report (and for everything a run shows
about individual customers: the executed notebooks kept beside it) and one for the exports:

* ``keep`` — as the source wrote it;
* ``mask`` — enough to recognise a record, not to contact the person: ``m***@example.com``,
  ``M. R.``, ``+** *** *** **67``, address ``***``, a postcode's first 2 characters;
* ``hash`` — a stable token per value (the first 12 hex digits of sha256 of the client's name
  and the normalised value): one person has one token in every run of that client, so two
  files can still be joined on it without showing who is who.

The masks are DuckDB macros (``sql/macros.sql``: ``pii_name``, ``pii_email``, ``pii_phone``,
``pii_address``, ``pii_postcode``), applied inside the query that reads the rows: a million
customers are masked by DuckDB, never in a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from helpers.config import PII_MODES, RunConfig
from helpers.warehouse import require_columns, sql_literal, sql_text

__all__ = ["PII_MACROS", "PREVIEW_COLUMNS", "pii_expression", "projection", "raw_json_expression",
           "customer_preview"]

#: Personal roles (and the columns of ``customers`` named after them) and the macro of
#: ``sql/macros.sql`` that applies a privacy mode to each.
PII_MACROS = {"name": "pii_name", "first_name": "pii_name", "last_name": "pii_name",
              "email": "pii_email", "phone": "pii_phone", "address": "pii_address",
              "postcode": "pii_postcode", "comment": "pii_text"}

#: The text of one entry ``e`` of a raw row's JSON (see :func:`raw_json_expression`).
_ENTRY_TEXT = "e.value ->> '$'"

#: The columns of ``customers`` that :func:`customer_preview` shows.
PREVIEW_COLUMNS = ("customer_id", "name", "email", "phone", "city", "sources",
                   "n_source_records")


def pii_expression(role: str, value: str, mode: str, client: str) -> str:
    """SQL for one personal value under a privacy mode.

    Parameters
    ----------
    role
        A personal role, a key of :data:`PII_MACROS` (``name``, ``email``, ``phone`` …).
    value
        The SQL expression of the value, e.g. a column name.
    mode
        ``keep``, ``mask`` or ``hash``.
    client
        The client's name, part of every ``hash`` token.
    """
    if mode not in PII_MODES:
        raise ValueError(f"unknown privacy mode '{mode}': use {', '.join(PII_MODES)}")
    if mode == "keep":
        return value
    return f"{PII_MACROS[role]}({value}, {sql_literal(mode)}, {sql_literal(client)})"


def projection(columns: Sequence[str], mode: str, client: str) -> str:
    """The SELECT list of ``columns``, those named after a personal role under ``mode``.

    ``projection(["customer_id", "name"], "mask", "acme")`` is
    ``"customer_id, pii_name(name, 'mask', 'acme') AS name"``; the query running it needs
    the kit's macros (``sql/macros.sql``).
    """
    return ", ".join(f"{pii_expression(c, c, mode, client)} AS {c}"
                     if c in PII_MACROS and mode != "keep" else c for c in columns)


def raw_json_expression(cfg: RunConfig, mode: str) -> str:
    """SQL for ``rejected_rows.raw`` with the personal values under ``mode``.

    ``raw`` is the JSON object of a rejected input row under the file's own column names;
    the columns a source maps to a personal role (``cfg.sources[...].columns``) are the ones
    whose values change, and the key order and every other value are kept. A row whose
    fields could not be matched to the columns (a JSON array: a ragged CSV line) has every
    non-blank field starred, since any of them may be personal. Reads the ``rejected_rows``
    columns ``source`` and ``raw``.
    """
    if mode == "keep":
        return "raw"
    branches = []
    for name, source in cfg.sources.items():
        personal = {column: role for role, column in source.columns.items()
                    if role in PII_MACROS}
        if not personal:
            continue
        # e is one (column, JSON value) entry of the row; a mask is NULL only for a null or
        # blank value, which is kept as it was.
        cases = " ".join(
            f"WHEN {sql_literal(column)} THEN coalesce(to_json("
            f"{pii_expression(role, _ENTRY_TEXT, mode, cfg.client)}), e.value)"
            for column, role in personal.items())
        branches.append(
            f"WHEN {sql_literal(name)} THEN CAST(CASE json_type(CAST(raw AS JSON)) "
            f"WHEN 'OBJECT' THEN to_json(map_from_entries(list_transform("
            f"map_entries(CAST(CAST(raw AS JSON) AS MAP(VARCHAR, JSON))), lambda e: "
            f"struct_pack(key := e.key, value := CASE e.key {cases} ELSE e.value END)))) "
            f"ELSE to_json(list_transform(CAST(CAST(raw AS JSON) AS VARCHAR[]), lambda v: "
            f"CASE WHEN NULLIF(trim(v), '') IS NULL THEN v ELSE '***' END)) END AS VARCHAR)")
    return f"CASE source {' '.join(branches)} ELSE raw END" if branches else "raw"


def customer_preview(con: duckdb.DuckDBPyConnection, cfg: RunConfig, n: int = 5) -> pd.DataFrame:
    """The first ``n`` golden records, personal fields under the report's privacy mode.

    Reads ``customers`` (customer_id, name, email, phone, city, sources,
    n_source_records); the customers built from most source records come first.
    """
    require_columns(con, "customers", PREVIEW_COLUMNS)
    con.execute(sql_text("macros"))
    return con.execute(
        f"SELECT {projection(PREVIEW_COLUMNS, cfg.pii.report, cfg.client)} FROM customers "
        f"ORDER BY n_source_records DESC, customer_id LIMIT $n", {"n": n}).df()
