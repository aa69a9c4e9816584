"""Row-count reconciliation and rejection summary on hand-made tables."""

import pandas as pd

from helpers.identify import reconciliation, rejection_reasons
from helpers.warehouse import write_table


def test_reconciliation_adds_a_total_and_flags_what_does_not_add_up(con):
    write_table(con, "load_counts", pd.DataFrame({
        "source": ["shop", "crm"], "kind": ["transactions", "customers"], "file": ["a", "b"],
        "rows_in": [10, 5], "accepted": [8, 4], "rejected": [2, 0]}))
    table = reconciliation(con).set_index("source")
    assert table.loc["total", ["rows_in", "accepted", "rejected"]].tolist() == [15, 12, 2]
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
