"""Row-count reconciliation and rejection summary on hand-made tables."""

import pandas as pd

from helpers.identify import reconciliation, rejection_reasons
from helpers.report import data_quality_note
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


# The exports (export_tables, export_actions): tests/test_exports.py.
