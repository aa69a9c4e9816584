"""Same inputs and config, same outputs to the byte: `cvkit run` twice on a small generated
client gives the same warehouse (every table, every row in order, exact values) and the same
export files. Two full runs (one shared with test_end_to_end.py): about a minute each.
"""

from pathlib import Path

import duckdb
import pytest
from test_end_to_end import run_small_client


@pytest.fixture(scope="module")
def two_runs(small_client, small_report):
    """The small client (400 people): the session's shared run and a second one."""
    root, config = small_client
    return [small_report, run_small_client(root, "second", config)]


def tables(folder: Path) -> dict[str, str]:
    """Every table's rows, in stored order, as exact text (repr keeps every bit of a float
    and, unlike ==, finds NaN equal to NaN)."""
    with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
        names = [row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
            "ORDER BY table_name").fetchall()]
        return {name: [repr(row) for row in con.execute(f"SELECT * FROM {name}").fetchall()]
                for name in names}


def test_two_runs_write_the_same_warehouse(two_runs):
    first, second = (tables(folder) for folder in two_runs)
    assert sorted(first) == sorted(second)
    for name, rows in first.items():
        assert len(rows) == len(second[name]), name
        differing = [(a, b) for a, b in zip(rows, second[name], strict=True) if a != b]
        assert not differing, f"{name}: {len(differing)} rows differ, e.g. {differing[0]}"


def test_two_runs_write_the_same_exports_byte_for_byte(two_runs):
    first, second = (sorted(p.relative_to(folder) for p in (folder / "exports").rglob("*"))
                     for folder in two_runs)
    assert first == second and len(first) >= 3
    for name in first:
        assert (two_runs[0] / name).read_bytes() == (two_runs[1] / name).read_bytes(), name
