"""The report's words and tables: generated from the figures, formatted, escaped."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pandas as pd
import pytest

from helpers import narrative
from helpers.config import load_config
from helpers.display import heading, report_table


@pytest.fixture(scope="module")
def small(small_report, small_client):
    """The session's small run: its warehouse (read-only) and config."""
    root, _ = small_client
    con = duckdb.connect(str(small_report / "warehouse.duckdb"), read_only=True)
    yield con, load_config(root / "small.yaml")
    con.close()


def number(text: str) -> float:
    return float(text.replace(",", "").replace("€", ""))


def test_the_summary_says_what_the_tables_hold(small):
    con, cfg = small
    sentences = narrative.executive_summary(con, cfg)
    assert len(sentences) == 6
    buyers, active = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE recency_days < 365) FROM customer_value"
    ).fetchall()[0]
    first = sentences[0]
    assert f"**{buyers:,} customers** have bought" in first and f"**{active:,} (" in first
    total, low, high = con.execute("SELECT total_equity, total_equity_low, total_equity_high "
                                   "FROM customer_equity WHERE scenario = 'now'").fetchall()[0]
    equity = re.search(r"is \*\*(€[\d,]+)\*\* \(95% interval (€[\d,]+) to (€[\d,]+)\)",
                       sentences[1])
    assert [number(g) for g in equity.groups()] == [round(total), round(low), round(high)]
    below = con.execute("SELECT count(*) FROM segments WHERE tier = 'Below zero'").fetchall()[0][0]
    assert f"For **{below:,} of them" in sentences[3]
    assert sentences[4].startswith("In the quarter to 31 December 2025, against the one before")
    assert sentences[5].startswith("**The data supports 3 decisions:** (1) ")


def test_decisions_are_the_largest_values_at_stake(small):
    con, cfg = small
    chosen = narrative.decisions(con, cfg)
    per_action = con.execute(
        "SELECT action, sum(value_at_stake) FROM actions WHERE action <> 'maintain' "
        "GROUP BY action ORDER BY 2 DESC LIMIT 3").fetchall()
    assert chosen["action"].tolist() == [a for a, _ in per_action]
    assert chosen["value_at_stake"].tolist() == pytest.approx([v for _, v in per_action])


def test_numbers_follow_the_locale(small):
    con, cfg = small
    italian = cfg.model_copy(update={"locale": "it"})
    table = narrative.period_table(con.execute("SELECT * FROM equity_metrics").df(), italian)
    revenue = table.set_index("measure").loc["Revenue per active customer"].iloc[-1]
    assert re.fullmatch(r"\d+,\d{2}\xa0€", revenue)  # Italian: decimal comma, € after
    assert list(table.columns[1:]) == sorted(table.columns[1:])  # oldest period first


def test_assumptions_are_the_config(small):
    _, cfg = small
    table = narrative.assumptions(cfg).set_index("assumption")["value"]
    assert table["Cost per order"] == "€3.50"  # the demo's cost, cents kept
    assert table["Gross margin rate"] == "40%"
    assert table["Most valuable"] == "top 20% by current value"
    assert table["Win back"] == "P(alive) < 0.5"
    assert table["CLV horizon"] == "12 months"


def test_report_tables_escape_data_and_write_headings_in_words():
    frame = pd.DataFrame({"cluster_name": ["<script>alert(1)</script>"], "customers": [1234],
                          "share_of_customers": [0.2], "clv_net": [1234.5],
                          "period_end": [date(2025, 12, 31)]})
    html = report_table(frame, "EUR", "en", money=["clv_net"],
                        percent=["share_of_customers"]).as_raw_html()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["&lt;script&gt;alert(1)&lt;/script&gt;", "1,234", "20.0%", "&#8364;1,234.50",
                     "2025-12-31"]
    assert heading("share_of_customers") == "Share of customers"
    assert heading("p_alive_mean") == "P(alive) mean"
    assert heading("n_orders_12m") == "N orders (12 months)"


def test_the_report_page_is_titled_and_styled(small_report):
    html = (small_report / "report.html").read_text()
    assert "<title>Customer value report: small, 2025-12-31</title>" in html
    assert "@media print" in html and "<h1" in html and "Customer value report: small" in html
    sections = re.findall(r'<h2 id="([^"]+)"', html)
    assert sections[:2] == ["Contents", "Executive-summary"]
    for anchor in re.findall(r'<a href="#([^"]+)"', html.split('id="Executive-summary"')[0]):
        assert anchor in sections, anchor


def test_notebook_tables_escape_data_text_too():
    from helpers.display import show

    html = show(pd.DataFrame({"category": ["<img src=x onerror=alert(1)>"], "n": [1]})).to_html()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
