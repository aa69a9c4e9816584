"""Marketing spend, survey answers and campaign exposure: loaded, checked and reconciled like
every other source, on small files whose every row's fate is worked out by hand."""

from __future__ import annotations

import json
from datetime import date

import pytest

from helpers import identify
from helpers.config import ConfigError, load_config
from helpers.preflight import check_sources
from helpers.sources import run_day
from helpers.tables import table
from helpers.warehouse import read_table

CRM = "id,name\nK1,Anna Neri\nK2,Bruno Gialli\n"
SHOP = "acct,day,total\nK1,2025-03-01,10.00\n"
# row: fate (the header is row 1)
MARKETING = """month,channel,spend
2025-01, Search ,100.50
2025-02-15,email,0
2025-13,search,10
2025-03,social,-5
2025-03,,7
2025-04,social,abc
2026-01,search,50
2099-01,search,50
2025-04,Search,20
"""
# 2: kept, month -> its first day, channel trimmed and lower-cased; 3: a date is kept, zero
# spend is a figure; 4: no month 13; 5: negative; 6: no channel; 7: not a number; 8: after
# as_of: excluded; 9: after the run's day: rejected; 10: kept, 'Search' -> 'search'
SURVEY = """rid,contact,day,score,p,pr,note
R1,K1,2025-03-01,9,4,5,Great shop
R2,K2,2025-03-02,0,,3,
R3,K1,2025-03-03,11,4,4,Rude staff
R4,K1,2025-03-04,7.5,4,4,
R5,K1,2025-03-05,,4,4,
R6,K1,2025-03-06,8,abc,4,
R7,K404,2025-03-07,8,3,3,
R8,K2,2026-02-01,10,5,5,
R9,K2,2025-03-09,10.0,2.5,1,
"""
# 2: kept, two ratings; 3: kept, nps 0, problems empty (one rating), no comment; 4: nps 11;
# 5: nps 7.5; 6: nps empty; 7: rating 'abc'; 8: unknown contact; 9: after as_of: excluded;
# 10: kept, 10.0 is the whole number 10
CAMPAIGN = """camp,contact,grp,start
W1,K1, Treatment ,2025-02-01
W1,K2,HOLDOUT,2025-02-01
W1,K2,maybe,2025-02-01
W1,K404,test,2025-02-01
,K1,control,2025-02-01
W1,K1,control,2025-13-01
W2,K2,Control,2025-05-01
"""
# 2: treated; 3: control; 4: 'maybe'; 5: unknown contact; 6: no campaign; 7: no month 13;
# 8: control


def _sources(tmp_path, extra: dict) -> dict:
    for name, text in [("crm.csv", CRM), ("shop.csv", SHOP), ("marketing.csv", MARKETING),
                       ("survey.csv", SURVEY), ("campaign.csv", CAMPAIGN)]:
        (tmp_path / name).write_text(text, encoding="utf-8")
    return {
        "crm": {"kind": "customers", "path": "crm.csv",
                "columns": {"customer_key": "id", "name": "name"}},
        "shop": {"kind": "transactions", "path": "shop.csv", "linked_to": "crm",
                 "columns": {"customer_key": "acct", "order_date": "day", "amount": "total"}},
        **extra,
    }


SIDE_SOURCES = {
    "ads": {"kind": "marketing", "path": "marketing.csv",
            "columns": {"period": "month", "channel": "channel", "amount": "spend"}},
    "nps": {"kind": "survey", "path": "survey.csv", "linked_to": "crm",
            "columns": {"customer_key": "contact", "response_date": "day", "nps": "score",
                        "comment": "note"},
            "drivers": {"problems": "p", "price": "pr"}},
    "trial": {"kind": "campaign", "path": "campaign.csv", "linked_to": "crm",
              "columns": {"customer_key": "contact", "campaign_id": "camp",
                          "exposure_date": "start", "exposure_group": "grp"}},
}


def _run_01(con, cfg, identify_chain):
    identify_chain(con, cfg)
    built = {"marketing_spend": identify.build_marketing_spend(con, cfg),
             "survey_answers": identify.build_survey_answers(con, cfg),
             "campaign_exposure": identify.build_campaign_exposure(con, cfg)}
    identify.reconcile(con, cfg)
    return built


@pytest.fixture
def loaded(tmp_path, write_config, con, identify_chain):
    cfg = load_config(write_config({"client": "t", "as_of": "2025-12-31",
                                    "sources": _sources(tmp_path, SIDE_SOURCES)}))
    return cfg, _run_01(con, cfg, identify_chain)


def _customer(con, key):
    return con.execute("SELECT customer_id FROM customer_xref WHERE source = 'crm' "
                       "AND customer_key = ?", [key]).fetchall()[0][0]


def _rejected(con, source):
    return con.execute("SELECT row_number, reason FROM rejected_rows WHERE source = ? "
                       "ORDER BY row_number", [source]).fetchall()


def test_marketing_spend_lands_by_first_day_of_month_and_channel(loaded, con):
    cfg, built = loaded
    rows = con.execute("SELECT * FROM marketing_spend").fetchall()
    assert rows == [("ads", date(2025, 1, 1), "search", 100.5),
                    ("ads", date(2025, 2, 15), "email", 0.0),
                    ("ads", date(2025, 4, 1), "search", 20.0)]
    assert built["marketing_spend"] == 3
    assert _rejected(con, "ads") == [
        (4, "unparseable period in column 'month': write a month as YYYY-MM, or a date"),
        (5, "negative spend (column 'spend'): spend is 0 or more"),
        (6, "missing channel (column 'channel')"),
        (7, "non-numeric amount (column 'spend')"),
        (9, f"date in the future, after {run_day(cfg)} (column 'month')"),
    ]


def test_survey_answers_and_ratings_land_for_known_customers(loaded, con):
    _, built = loaded
    k1, k2 = _customer(con, "K1"), _customer(con, "K2")
    assert con.execute("SELECT * FROM survey_answers").fetchall() == [
        (k1, "nps", 2, date(2025, 3, 1), 9, "Great shop"),
        (k2, "nps", 3, date(2025, 3, 2), 0, None),
        (k2, "nps", 10, date(2025, 3, 9), 10, None),
    ]
    assert built["survey_answers"] == 3
    # an empty rating is no rating: answer 3 rates the price only
    assert con.execute("SELECT * FROM survey_ratings").fetchall() == [
        (k1, "nps", 2, "problems", 4.0), (k1, "nps", 2, "price", 5.0),
        (k2, "nps", 3, "price", 3.0),
        (k2, "nps", 10, "problems", 2.5), (k2, "nps", 10, "price", 1.0),
    ]
    assert _rejected(con, "nps") == [
        (4, "NPS score is not a whole number from 0 to 10 (column 'score')"),
        (5, "NPS score is not a whole number from 0 to 10 (column 'score')"),
        (6, "missing NPS score (column 'score')"),
        (7, "non-numeric rating of driver 'problems' (column 'p')"),
        (8, "customer key not found in source 'crm'"),
    ]


def test_campaign_groups_are_read_whatever_the_word(loaded, con):
    _, built = loaded
    k1, k2 = _customer(con, "K1"), _customer(con, "K2")
    assert con.execute("SELECT * FROM campaign_exposure").fetchall() == [
        (k1, "trial", "W1", date(2025, 2, 1), "treated"),
        (k2, "trial", "W1", date(2025, 2, 1), "control"),
        (k2, "trial", "W2", date(2025, 5, 1), "control"),
    ]
    assert built["campaign_exposure"] == 3
    assert _rejected(con, "trial") == [
        (4, "exposure group is neither treated nor control (column 'grp'): write treated "
            "(or treatment, test) or control (or holdout)"),
        (5, "customer key not found in source 'crm'"),
        (6, "missing campaign id (column 'camp')"),
        (7, "unparseable date in column 'start'"),
    ]


def test_counts_reconcile(loaded, con):
    counts = read_table(con, "load_counts").set_index("source")
    fields = ["kind", "rows_in", "accepted", "excluded", "rejected"]
    assert counts.loc["ads", fields].tolist() == ["marketing", 9, 3, 1, 5]
    assert counts.loc["nps", fields].tolist() == ["survey", 9, 3, 1, 5]
    assert counts.loc["trial", fields].tolist() == ["campaign", 7, 3, 0, 4]
    assert (counts.rows_in == counts.accepted + counts.excluded + counts.rejected).all()


def test_rejected_comments_stay_out_of_the_reasons(loaded, con):
    """Reasons (which reach the log) name columns and rules, never values, so a comment
    never does; the rejected row keeps it, so nothing is lost."""
    reasons = " ".join(r for (r,) in con.execute("SELECT reason FROM rejected_rows").fetchall())
    for value in ("Rude staff", "maybe", "abc", "7.5"):
        assert value not in reasons
    raw = con.execute("SELECT raw FROM rejected_rows WHERE source = 'nps' AND row_number = 4"
                      ).fetchall()[0][0]
    assert json.loads(raw)["note"] == "Rude staff"


def test_builders_run_twice_give_the_same_tables(loaded, con):
    cfg, built = loaded
    before = con.execute("SELECT * FROM rejected_rows ORDER BY source, row_number").fetchall()
    again = {"marketing_spend": identify.build_marketing_spend(con, cfg),
             "survey_answers": identify.build_survey_answers(con, cfg),
             "campaign_exposure": identify.build_campaign_exposure(con, cfg)}
    assert again == built
    assert con.execute("SELECT * FROM rejected_rows ORDER BY source, row_number").fetchall() \
        == before


def test_without_such_sources_the_four_tables_are_empty(tmp_path, write_config, con,
                                                        identify_chain):
    cfg = load_config(write_config({"client": "t", "as_of": "2025-12-31",
                                    "sources": _sources(tmp_path, {})}))
    assert _run_01(con, cfg, identify_chain) == {
        "marketing_spend": 0, "survey_answers": 0, "campaign_exposure": 0}
    for name in ("marketing_spend", "survey_answers", "survey_ratings", "campaign_exposure"):
        described = con.execute(f"DESCRIBE {name}").fetchall()
        assert [(c[0], c[1]) for c in described] == [
            (c.name, c.type) for c in table(name).columns], name
        assert con.execute(f"SELECT count(*) FROM {name}").fetchall() == [(0,)]


def test_preflight_reads_the_new_kinds(tmp_path, write_config):
    cfg = load_config(write_config({"client": "t", "as_of": "2025-12-31",
                                    "sources": _sources(tmp_path, SIDE_SOURCES)}))
    assert check_sources(cfg) == []
    (tmp_path / "survey.csv").write_text("rid,contact,day,score,p\nR1,K1,2025-03-01,9,4\n",
                                         encoding="utf-8")
    problems = check_sources(cfg)
    assert len(problems) == 1 and "'pr' (role rating_price) not found" in problems[0]


@pytest.mark.parametrize(("name", "change", "message"), [
    ("ads", {"drivers": {"x": "spend"}},
     "drivers: only a 'survey' source has driver ratings; remove 'drivers' from this "
     "'marketing' source"),
    ("trial", {"drivers": {"x": "grp"}}, "only a 'survey' source has driver ratings"),
    ("nps", {"linked_to": None},
     "a 'survey' source needs linked_to: the source whose customer_key its rows carry"),
    ("trial", {"linked_to": None}, "a 'campaign' source needs linked_to"),
    ("ads", {"linked_to": "crm"}, "a 'marketing' source holds spend per period and channel, "
                                  "with no customer key: remove linked_to"),
    ("nps", {"drivers": {"Price!": "pr"}}, "driver name(s) ['Price!'] must start with"),
    ("nps", {"linked_to": "ads"}, "nps.linked_to: a survey source cannot be linked to the "
                                  "marketing source 'ads'"),
])
def test_config_errors_are_refused_with_the_key(tmp_path, write_config, name, change, message):
    sources = {key: dict(value) for key, value in SIDE_SOURCES.items()}
    sources[name].update(change)
    sources[name] = {key: value for key, value in sources[name].items() if value is not None}
    path = write_config({"client": "t", "as_of": "2025-12-31",
                         "sources": _sources(tmp_path, sources)})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_missing_required_roles_are_named(tmp_path, write_config):
    sources = {"nps": {**SIDE_SOURCES["nps"], "columns": {"customer_key": "contact"}}}
    with pytest.raises(ConfigError, match=r"a 'survey' source must map the role\(s\) "
                                          r"\['response_date', 'nps'\]"):
        load_config(write_config({"client": "t", "as_of": "2025-12-31",
                                  "sources": _sources(tmp_path, sources)}))


def test_typed_cells_of_a_parquet_file(tmp_path, write_config, con, identify_chain):
    """Numbers and dates typed in the file are used as they are: a date period is kept, a
    null rating is no rating, an integer NPS of 11 is still out of range."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"month": pa.array([date(2025, 5, 17), date(2025, 6, 1)]),
                             "channel": ["social", "email"], "spend": [12.5, -1.0]}),
                   tmp_path / "ads.parquet")
    pq.write_table(pa.table({"contact": ["K1", "K2"],
                             "day": pa.array([date(2025, 3, 1), date(2025, 3, 2)]),
                             "score": pa.array([9, 11], pa.int64()),
                             "p": pa.array([None, 3.0], pa.float64())}),
                   tmp_path / "nps.parquet")
    sources = {"ads": {**SIDE_SOURCES["ads"], "path": "ads.parquet"},
               "nps": {**SIDE_SOURCES["nps"], "path": "nps.parquet",
                       "columns": {"customer_key": "contact", "response_date": "day",
                                   "nps": "score"}, "drivers": {"problems": "p"}}}
    cfg = load_config(write_config({"client": "t", "as_of": "2025-12-31",
                                    "sources": _sources(tmp_path, sources)}))
    _run_01(con, cfg, identify_chain)
    assert con.execute("SELECT spend_date, channel, amount FROM marketing_spend").fetchall() \
        == [(date(2025, 5, 17), "social", 12.5)]
    assert _rejected(con, "ads") == [(3, "negative spend (column 'spend'): spend is 0 or more")]
    assert con.execute("SELECT source_row, nps FROM survey_answers").fetchall() == [(2, 9)]
    assert con.execute("SELECT count(*) FROM survey_ratings").fetchall() == [(0,)]
    assert _rejected(con, "nps") == [
        (3, "NPS score is not a whole number from 0 to 10 (column 'score')")]
