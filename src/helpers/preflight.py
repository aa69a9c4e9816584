"""Preflight: open every source of a config before anything runs (``cvkit check``).

A scheduled run should learn that a file is missing, in another encoding, a column is
misspelled or a date layout is wrong in seconds, before a run folder exists, not inside
notebook 01. Each source is opened and a sample of its rows is staged into an in-memory
warehouse with the same reader and rules as a real run (:func:`helpers.sources.stage_source`),
so a sample in which *every* row fails (a date layout that does not fit, say) is reported with
the reason and an example.
"""

from __future__ import annotations

import duckdb

from helpers.config import RunConfig
from helpers.errors import DataContractError
from helpers.sources import stage_source

__all__ = ["SAMPLE_ROWS", "check_sources"]

#: Data rows read from each source by the preflight check.
SAMPLE_ROWS = 500


def _sample_problem(cfg: RunConfig, name: str) -> str | None:
    """Stage a sample in memory; a message when it cannot be read or every row fails."""
    con = duckdb.connect()
    try:
        counts = stage_source(con, cfg, name, limit=SAMPLE_ROWS)
        if counts["rejected"] and counts["rejected"] == counts["rows_in"] - counts["excluded"]:
            reason, row = con.execute(
                "SELECT reason, min(row_number) FROM rejected_rows GROUP BY reason "
                "ORDER BY count(*) DESC, reason LIMIT 1").fetchall()[0]
            return (f"{cfg.source_path(name)}: all {counts['rejected']} sample rows are "
                    f"rejected (source '{name}'): {reason}, e.g. row {row}")
    except DataContractError as exc:
        return str(exc)
    finally:
        con.close()
    return None


def _named_file_problems(cfg: RunConfig) -> list[str]:
    """The files ``identity`` names (truth, previous_xref, review_decisions) and
    ``clv.truth`` must exist."""
    named = {"identity.truth": cfg.identity.truth,
             "identity.previous_xref": cfg.identity.previous_xref,
             "identity.review_decisions": cfg.identity.review_decisions,
             "clv.truth": cfg.clv.truth}
    return [f"{key}: no file {cfg.resolve_path(raw)}" for key, raw in named.items()
            if raw and not cfg.resolve_path(raw).is_file()]


def check_sources(cfg: RunConfig) -> list[str]:
    """Open every source of ``cfg`` and stage a sample of it; the problems found.

    Returns
    -------
    list of str
        One message per source with a problem, each naming the file, and the column or row
        where there is one (a missing file or sheet, a wrong encoding or delimiter, a mapped
        column not in the file, every sample row rejected), then one per missing file the
        ``identity`` and ``clv`` sections name; empty when everything can be loaded.
    """
    problems = [problem for name in cfg.sources if (problem := _sample_problem(cfg, name))]
    return problems + _named_file_problems(cfg)
