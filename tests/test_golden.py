"""Customers from edges: stable ids, review decisions, golden records, linked_to orders.

Every case is small and worked by hand; the tables the builders read (source_records,
record_keys, match_pairs) are written directly, so the cases test clustering, ids and
survivorship alone, except the last two, which run notebook 01's steps on files.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from helpers import identify
from helpers.config import RunConfig, load_config
from helpers.errors import DataContractError
from helpers.warehouse import read_table, write_table

FIELDS = ("name", "email", "phone", "address", "city", "postcode", "birth_date",
          "customer_type", "acquisition_channel", "signup_date")


def config(tmp_path, **identity) -> RunConfig:
    """Sources crm, web, store in this order of priority; files are never read here."""
    columns = {"customer_key": "k", "order_date": "d", "amount": "a"}
    return RunConfig(
        client="t", as_of=date(2025, 12, 31), config_file=tmp_path / "config.yaml",
        sources={"crm": {"kind": "customers", "path": "crm.csv",
                         "columns": {"customer_key": "k"}},
                 "web": {"kind": "transactions", "path": "web.csv", "columns": columns},
                 "store": {"kind": "transactions", "path": "store.csv", "columns": columns}},
        identity=identity)


def records(con, rows: list[dict], keys: list[tuple[str, str, str]] = (),
            pairs: list[tuple] = ()) -> None:
    """Write source_records (rows: source_record_id plus any fields), record_keys
    (source_record_id, key_type, key_value) and, when given, match_pairs (l, r, probability,
    decision)."""
    frame = pd.DataFrame(rows)
    frame[["source", "customer_key"]] = frame.source_record_id.str.split(":", expand=True)
    for field in (*FIELDS, "last_seen"):
        if field not in frame:
            frame[field] = None
        if field in ("birth_date", "signup_date", "last_seen"):
            frame[field] = pd.to_datetime(frame[field]).dt.date
    frame["n_rows"] = frame.get("n_rows", pd.Series(1, index=frame.index)).fillna(1)
    write_table(con, "source_records", frame.astype({"n_rows": "int64"}))
    write_table(con, "record_keys", pd.DataFrame(
        list(keys), columns=["source_record_id", "key_type", "key_value"], dtype=str))
    if pairs:
        write_table(con, "match_pairs", pd.DataFrame(
            [(*pair, "review" if pair[3] else "model") for pair in pairs],
            columns=["source_record_id_l", "source_record_id_r", "match_probability",
                     "decision", "decided_by"]))


def xref(con) -> dict[str, tuple]:
    rows = con.execute("SELECT source_record_id, customer_id, match_rule, match_probability "
                       "FROM customer_xref").fetchall()
    return {record: rest for record, *rest in rows}


def ids(con) -> dict[str, str]:
    return dict(con.execute("SELECT source_record_id, customer_id FROM customer_xref")
                .fetchall())


# K1 shares an email with W1 and a phone with L1; W2 and L2 share a phone; K2 is alone.
RECORDS = [{"source_record_id": r} for r in
           ("crm:K1", "crm:K2", "web:W1", "web:W2", "store:L1", "store:L2")]
KEYS = [("crm:K1", "email", "mario@x.it"), ("web:W1", "email", "mario@x.it"),
        ("crm:K1", "phone", "+393471234567"), ("store:L1", "phone", "+393471234567"),
        ("web:W2", "phone", "+393339876543"), ("store:L2", "phone", "+393339876543")]
FIRST_RUN = {"crm:K1": "C0000001", "store:L1": "C0000001", "web:W1": "C0000001",
             "crm:K2": "C0000002", "store:L2": "C0000003", "web:W2": "C0000003"}


def test_shared_keys_link_records_with_their_rule_and_ids_ignore_row_order(tmp_path, con):
    records(con, RECORDS, KEYS)
    assert identify.build_customer_xref(con, config(tmp_path)) == 3
    assert xref(con) == {
        "crm:K1": ["C0000001", "email+phone", 1.0], "web:W1": ["C0000001", "email", 1.0],
        "store:L1": ["C0000001", "phone", 1.0], "crm:K2": ["C0000002", "single record", None],
        "store:L2": ["C0000003", "phone", 1.0], "web:W2": ["C0000003", "phone", 1.0]}
    # the same data in another order: the same ids (numbered by each customer's smallest id)
    records(con, RECORDS[::-1], KEYS[::-1])
    identify.build_customer_xref(con, config(tmp_path))
    assert ids(con) == FIRST_RUN


def test_new_records_leave_existing_customers_their_ids(tmp_path, con):
    records(con, RECORDS, KEYS)
    identify.build_customer_xref(con, config(tmp_path))
    con.execute(f"COPY customer_xref TO '{tmp_path / 'previous.csv'}'")
    # crm:A0 sorts first (it would take C0000001 in a fresh numbering), web:W3 joins Mario
    records(con, [*RECORDS, {"source_record_id": "crm:A0"}, {"source_record_id": "web:W3"},
                  {"source_record_id": "store:L3"}],
            [*KEYS, ("web:W3", "email", "mario@x.it")])
    identify.build_customer_xref(con, config(tmp_path, previous_xref="previous.csv"))
    assert ids(con) == FIRST_RUN | {"web:W3": "C0000001", "crm:A0": "C0000004",
                                    "store:L3": "C0000005"}


# A previous run's ids, against this run's groups (records sharing an email):
#   a1 a2 a3        were C5 C5 C9  -> merged: the majority's C5 (C9 retires)
#   b1 b2 | b3      were C2 C2 C2  -> split: the larger part keeps C2, b3 is new
#   c1 c2           were C3 C4     -> a tie: the smaller id, C3
#   d1 d2 | d3 d4 d5  were C7 C8 | C7 C7 C7 -> C7 to the part holding 3 of its records; d1 d2
#                                     try again and take C8
#   e1              new            -> new ids above the previous highest (C9), b3 before e1
PREVIOUS = {"crm:a1": 5, "crm:a2": 5, "crm:a3": 9, "crm:b1": 2, "crm:b2": 2, "crm:b3": 2,
            "crm:c1": 3, "crm:c2": 4, "crm:d1": 7, "crm:d2": 8, "crm:d3": 7, "crm:d4": 7,
            "crm:d5": 7}
GROUPS = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"], "c": ["c1", "c2"], "d": ["d1", "d2"],
          "dd": ["d3", "d4", "d5"]}
EXPECTED = {"a1": 5, "a2": 5, "a3": 5, "b1": 2, "b2": 2, "b3": 10, "c1": 3, "c2": 3,
            "d1": 8, "d2": 8, "d3": 7, "d4": 7, "d5": 7, "e1": 11}


@pytest.fixture
def previous_groups(tmp_path, con):
    records(con, [{"source_record_id": f"crm:{k}"} for k in EXPECTED],
            [(f"crm:{k}", "email", f"{group}@x.it")
             for group, keys in GROUPS.items() for k in keys])
    previous = pd.DataFrame({"source_record_id": list(PREVIOUS),
                             "customer_id": [f"C{n:07d}" for n in PREVIOUS.values()]})
    previous.to_parquet(tmp_path / "previous.parquet")
    with duckdb.connect(str(tmp_path / "previous.duckdb")) as other:
        write_table(other, "customer_xref", previous)


@pytest.mark.parametrize("file", ["previous.parquet", "previous.duckdb"])
def test_merged_and_split_customers_keep_the_majority_id(tmp_path, con, previous_groups,
                                                         file):
    identify.build_customer_xref(con, config(tmp_path, previous_xref=file))
    assert ids(con) == {f"crm:{k}": f"C{n:07d}" for k, n in EXPECTED.items()}


def test_a_rerun_on_its_own_warehouse_keeps_its_ids(tmp_path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        records(con, RECORDS, KEYS)
        identify.build_customer_xref(con, config(tmp_path))
        con.execute("UPDATE customer_xref SET customer_id = 'C0000042' "
                    "WHERE customer_id = 'C0000002'")
        identify.build_customer_xref(con, config(tmp_path, previous_xref="warehouse.duckdb"))
        assert ids(con) == FIRST_RUN | {"crm:K2": "C0000042"}


def test_a_previous_xref_that_cannot_be_used_is_named(tmp_path, con):
    records(con, RECORDS, KEYS)
    with pytest.raises(DataContractError, match=r"nope.csv \(identity.previous_xref\): file "
                                                r"not found"):
        identify.build_customer_xref(con, config(tmp_path, previous_xref="nope.csv"))
    (tmp_path / "ids.csv").write_text("record,customer_id\ncrm:K1,C0000001\n")
    with pytest.raises(DataContractError, match="no column.*source_record_id"):
        identify.build_customer_xref(con, config(tmp_path, previous_xref="ids.csv"))
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with pytest.raises(DataContractError, match="cannot read a customer_xref table"):
        identify.build_customer_xref(con, config(tmp_path, previous_xref="empty.duckdb"))


def test_review_decisions_add_and_remove_edges(tmp_path, con):
    records(con, [{"source_record_id": f"crm:{k}"} for k in "abcdefghij"],
            [("crm:i", "phone", "+39333"), ("crm:j", "phone", "+39333")],
            [("crm:a", "crm:b", 0.97, None),        # the model links them
             ("crm:a", "crm:i", 0.96, None),        # ... and a to i, who shares j's phone
             ("crm:c", "crm:d", 0.99, "no_match"),  # a reviewer says no: no edge
             ("crm:e", "crm:f", 0.30, "match"),     # a reviewer says yes: an edge
             ("crm:g", "crm:h", 0.90, None)])       # under match_threshold: for review
    identify.build_customer_xref(con, config(tmp_path))
    assert xref(con) == {
        "crm:a": ["C0000001", "model", 0.97], "crm:b": ["C0000001", "model", 0.97],
        "crm:i": ["C0000001", "phone", 1.0], "crm:j": ["C0000001", "phone", 1.0],
        "crm:c": ["C0000002", "single record", None],
        "crm:d": ["C0000003", "single record", None],
        "crm:e": ["C0000004", "review", 1.0], "crm:f": ["C0000004", "review", 1.0],
        "crm:g": ["C0000005", "single record", None],
        "crm:h": ["C0000006", "single record", None]}


def test_golden_record_fields_by_priority_recency_then_completeness(tmp_path, con):
    mario = [
        # crm is first in the config: its fields win even though its record is the oldest
        {"source_record_id": "crm:K1", "name": "Mario Rossi", "address": "Via Roma 1",
         "city": "Milano", "birth_date": "1980-01-02", "customer_type": "private",
         "acquisition_channel": "web", "signup_date": "2020-01-01", "last_seen": "2020-01-01"},
        # web: W2 is more recent than W1 (which has more rows): W2's email; only W1 has a
        # postcode
        {"source_record_id": "web:W1", "name": "M. Rossi", "email": "old@x.it",
         "postcode": "20100", "last_seen": "2024-01-01", "n_rows": 5},
        {"source_record_id": "web:W2", "name": "Mario R", "email": "new@x.it",
         "last_seen": "2025-06-01"},
        # store: as recent and as many rows: L2 has fewer empty fields
        {"source_record_id": "store:L1", "phone": "347 1", "city": "Roma",
         "last_seen": "2025-01-01", "n_rows": 3},
        {"source_record_id": "store:L2", "phone": "347 2", "name": "ROSSI MARIO",
         "address": "V. Roma 1", "last_seen": "2025-01-01", "n_rows": 3},
    ]
    anna = [  # more rows first (L3, L4 before L5), then the smaller id (L3 before L4)
        {"source_record_id": "store:L3", "phone": "111", "last_seen": "2025-01-01",
         "n_rows": 2},
        {"source_record_id": "store:L4", "phone": "222", "last_seen": "2025-01-01",
         "n_rows": 2},
        {"source_record_id": "store:L5", "phone": "333", "name": "Anna", "city": "Bari",
         "last_seen": "2025-01-01"},
    ]
    records(con, mario + anna,
            [(r["source_record_id"], "email", "mario@x.it") for r in mario]
            + [(r["source_record_id"], "email", "anna@x.it") for r in anna])
    identify.build_customer_xref(con, config(tmp_path))
    assert identify.build_customers(con, config(tmp_path)) == 2
    golden = read_table(con, "customers").set_index("customer_id")
    assert golden.loc["C0000001"].to_dict() == {
        "name": "Mario Rossi", "name_source": "crm",
        "email": "new@x.it", "email_source": "web",
        "phone": "347 2", "phone_source": "store",
        "address": "Via Roma 1", "address_source": "crm",
        "city": "Milano", "city_source": "crm",
        "postcode": "20100", "postcode_source": "web",
        "birth_date": pd.Timestamp("1980-01-02"), "birth_date_source": "crm",
        "customer_type": "private", "customer_type_source": "crm",
        "acquisition_channel": "web", "acquisition_channel_source": "crm",
        "signup_date": pd.Timestamp("2020-01-01"), "signup_date_source": "crm",
        "sources": "crm,store,web", "n_source_records": 5}
    anna = golden.loc["C0000002"]
    assert (anna["phone"], anna["name"], anna["city"], anna["phone_source"]) == (
        "111", "Anna", "Bari", "store")
    assert anna[["email", "email_source", "address_source"]].isna().all()
    # for the notebook: customers per field and source
    sources = identify.golden_sources(con)
    assert list(sources.columns) == ["crm", "store", "web", "none"]
    assert sources.loc[["name", "email", "phone", "postcode"]].values.tolist() == [
        [1, 1, 0, 0], [0, 0, 1, 1], [0, 2, 0, 0], [0, 0, 1, 1]]


# --- notebook 01's steps on files -----------------------------------------------------------

CRM = "id,name,email\nK1,Mario Rossi,mario@x.it\nK2,Anna Bianchi,anna@y.it\n"
WEB = "acct,mail,tel,day,total\nW1,MARIO@X.IT,347 123 4567,2025-03-01,20.00\n"
ORDERS = ("contact,day,total\nK1,2025-04-01,30.00\nK2,2025-04-02,12.50\n"
          "K404,2025-04-03,9.90\nK1,2025-05-01,15.00\n")


@pytest.fixture
def linked(write_config, tmp_path, con, identify_chain):
    """crm maps no phone and web no name (a source lacking a role); orders carry crm's keys."""
    for name, text in [("crm.csv", CRM), ("web.csv", WEB), ("orders.csv", ORDERS)]:
        (tmp_path / name).write_text(text, encoding="utf-8")
    cfg = load_config(write_config({
        "client": "t", "as_of": "2025-12-31",
        "sources": {
            "crm": {"kind": "customers", "path": "crm.csv",
                    "columns": {"customer_key": "id", "name": "name", "email": "email"}},
            "web": {"kind": "transactions", "path": "web.csv",
                    "columns": {"customer_key": "acct", "email": "mail", "phone": "tel",
                                "order_date": "day", "amount": "total"}},
            "orders": {"kind": "transactions", "path": "orders.csv", "linked_to": "crm",
                       "columns": {"customer_key": "contact", "order_date": "day",
                                   "amount": "total"}},
        },
        "identity": {"default_region": "IT"},
    }))
    return identify_chain(con, cfg)


def test_orders_keyed_by_crm_contacts_are_linked_through_the_crm(linked, con):
    assert con.execute("SELECT count(*) FROM source_records WHERE source = 'orders'"
                       ).fetchall() == [(0,)]
    rows = con.execute("SELECT source_row, customer_id, amount FROM transactions "
                       "WHERE source = 'orders' ORDER BY source_row").fetchall()
    mario, anna = (ids(con)[f"crm:{k}"] for k in ("K1", "K2"))
    assert rows == [(2, mario, 30.0), (3, anna, 12.5), (5, mario, 15.0)]
    assert ids(con)["web:W1"] == mario
    assert con.execute("SELECT source, row_number, reason FROM rejected_rows").fetchall() == [
        ("orders", 4, "customer key not found in source 'crm'")]
    identify.build_transactions(con, linked)  # run twice: the row is set aside once
    identify.reconcile(con, linked)
    counts = read_table(con, "load_counts").set_index("source")
    assert counts.loc["orders", ["rows_in", "accepted", "excluded", "rejected"]].tolist() == [
        4, 3, 0, 1]


def test_a_role_one_source_lacks_comes_from_another(linked, con):
    golden = con.execute("SELECT name, name_source, email, email_source, phone, phone_source, "
                         "sources FROM customers JOIN customer_xref USING (customer_id) "
                         "WHERE source_record_id = 'crm:K1'").fetchall()
    assert golden == [("Mario Rossi", "crm", "mario@x.it", "crm", "347 123 4567", "web",
                       "crm,web")]
