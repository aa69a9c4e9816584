"""The table contract (helpers.tables), the SQL files and the package's module boundaries."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import tomllib
from datetime import date

import pytest

import helpers
from helpers.tables import TABLES, render_markdown
from helpers.warehouse import MissingColumnError, require_columns, sql_text, write_table

SQL_DIR = "src/helpers/sql"
MODULES = sorted(m.name for m in pkgutil.walk_packages(helpers.__path__, "helpers."))


def test_docs_tables_md_is_generated_from_the_registry(kit_root):
    written = (kit_root / "docs" / "tables.md").read_text(encoding="utf-8")
    assert written == render_markdown(), "docs/tables.md is stale: run `make docs`"


def test_every_registered_table_documents_each_column_once():
    for table in TABLES.values():
        names = table.column_names
        assert len(names) == len(set(names)), table.name
        assert table.stage in {"01_identify", "02_differentiate", "03_clv", "04_segment"}
        assert all(c.type and c.meaning for c in table.columns), table.name


def test_require_columns_reads_the_registry(con):
    write_table(con, "clv", "SELECT 'C1' AS customer_id")
    require_columns(con, "clv", ["customer_id"])
    with pytest.raises(MissingColumnError, match="'clv' has no column.*p_alive"):
        require_columns(con, "clv")  # all registered columns
    with pytest.raises(KeyError, match="not columns of 'clv'"):
        require_columns(con, "clv", ["customer_idd"])
    with pytest.raises(KeyError, match="not a registered warehouse table"):
        require_columns(con, "clvs", ["customer_id"])


def test_every_table_built_by_sql_has_its_file_with_a_header(kit_root):
    files = {p.stem: p for p in (kit_root / SQL_DIR).glob("*.sql")}
    for name in ("customer_value", "equity_metrics", "cohorts", "segments", "actions",
                 "source_records", "record_keys", "customer_xref", "customers", "transactions",
                 "support_contacts", "load_counts"):
        assert name in files, name
    for name, path in files.items():
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(f"-- {name}") or name == "macros" or \
            first.startswith("-- Support tickets"), f"{path.name} lacks its header comment"
        assert "Reads:" in path.read_text() or name == "macros", path.name


def test_sql_files_are_package_data(kit_root):
    pyproject = tomllib.loads((kit_root / "pyproject.toml").read_text())
    assert "sql/*.sql" in pyproject["tool"]["setuptools"]["package-data"]["helpers"]
    assert sql_text("customer_value").lstrip().startswith("-- customer_value")
    with pytest.raises(FileNotFoundError, match="sql/nope.sql"):
        sql_text("nope")


def _long_queries(source: str) -> list[int]:
    """Line numbers of string literals that are SQL queries of more than 15 lines."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip()
            if re.match(r"(?i)(SELECT|WITH|CREATE|INSERT)\b", text) and \
                    len(text.splitlines()) > 15:
                found.append(node.lineno)
    return found


def test_no_module_embeds_a_long_query(kit_root):
    offenders = {}
    for path in (kit_root / "src" / "helpers").rglob("*.py"):
        lines = _long_queries(path.read_text(encoding="utf-8"))
        if lines:
            offenders[str(path.relative_to(kit_root))] = lines
    assert not offenders, f"move these queries to src/helpers/sql/: {offenders}"


@pytest.mark.parametrize("name", MODULES)
def test_every_module_names_its_public_functions(name):
    module = importlib.import_module(name)
    assert hasattr(module, "__all__"), f"{name} has no __all__"
    for public in module.__all__:
        assert hasattr(module, public), f"{name}.__all__ names {public}, which it lacks"


@pytest.mark.parametrize("name", [m for m in MODULES if not m.startswith("helpers.display")])
def test_stage_modules_do_not_draw(kit_root, name):
    """Charts and styling live in helpers.display, which every notebook uses."""
    module = importlib.import_module(name)
    source = open(module.__file__, encoding="utf-8").read()
    assert "import matplotlib" not in source and "import seaborn" not in source, name


def test_notebooks_take_styling_from_display_not_report(kit_root):
    for path in sorted((kit_root / "notebooks").glob("0[1-4]_*.ipynb")):
        assert "helpers.report" not in path.read_text(encoding="utf-8"), path.name
    for path in sorted((kit_root / "notebooks").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert "write_table" not in text, f"{path.name} writes a table itself: call a builder"


# --- the macros, by hand --------------------------------------------------------------------

def test_other_macros(con):
    con.execute(sql_text("macros"))
    row = con.execute("SELECT normalise_email(' Mario.Rossi@Libero.IT '), normalise_email('@x'),"
                      " quarter_index(?), quarter_label(?), money_text('EUR', 1234.5)",
                      [date(2024, 5, 1), date(2024, 5, 1)]).fetchall()[0]
    assert row == ("mario.rossi@libero.it", None, 2024 * 4 + 1, "2024Q2", "EUR 1234.50")


def test_sql_literal_and_identifier_quote_what_a_client_may_write(con):
    from helpers.warehouse import sql_identifier, sql_literal

    assert sql_literal("D'Angelo") == "'D''Angelo'"
    assert sql_identifier('Net "EUR"') == '"Net ""EUR"""'
    con.execute(f"CREATE TABLE t AS SELECT {sql_literal(chr(39) + 'x')} AS {sql_identifier('a b')}")
    assert con.execute('SELECT "a b" FROM t').fetchall() == [("'x",)]
