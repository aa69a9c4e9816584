"""Identify: one customer database from several source systems (notebook 01).

The same person appears as a CRM contact, a web-shop account and a loyalty card, typed
differently each time. This module standardises the identifying fields (names, emails,
phones, addresses), links source records that belong together, and gives each linked group
one ``customer_id``:

* ``source_records`` — one row per customer key per source, its fields as written and
  standardised (``record_keys``: every email and phone it used);
* ``customer_xref``  — every source record → its ``customer_id`` (nothing is dropped), with
  the rule that linked it; ids stay the same across runs;
* ``customers``      — one golden record per customer, each field with the source it came from;
* ``transactions``   — every accepted order line, now carrying the ``customer_id`` (a source
  keyed by another's customer keys is linked through that source);
* ``support_contacts`` — support tickets, linked through the source they reference;
* ``marketing_spend``, ``survey_answers`` and ``survey_ratings``, ``campaign_exposure`` —
  spend per channel and period, satisfaction surveys, and who a campaign treated or held
  out, the last two linked like support tickets (empty when the config has no such source).

Records are linked transitively (if A shares an email with B and B a phone with C, all three
are one customer) by shared emails and phones, by the pairs the probabilistic model of
:mod:`helpers.matching` scores above ``identity.match_threshold``, and by a reviewer's
decisions.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import RATING_PREFIX, ROLES, RunConfig
from helpers.errors import DataContractError
from helpers.standardise import phone_function
from helpers.tables import stage_column_type, table
from helpers.warehouse import (
    build_table,
    on_all_cores,
    query,
    require_columns,
    require_tables,
    scalar,
    sql_literal,
    sql_text,
    table_names,
    write_table,
)

__all__ = ["build_source_records", "build_customer_xref", "build_customers",
           "build_transactions", "build_support_contacts", "build_marketing_spend",
           "build_survey_answers", "build_campaign_exposure", "reconcile",
           "match_summary", "records_per_customer", "largest_customers", "golden_sources",
           "reconciliation", "rejection_reasons", "profile_sources"]

#: Identifying roles carried from the staged sources into ``source_records`` (a contact
#: list's roles, which an order line may carry too), and the order date that dates them.
IDENTITY_ROLES = (*ROLES["customers"]["required"], *ROLES["customers"]["optional"],
                  "order_date")


#: Rejection reasons grouped into kinds ("exact duplicate of row 17" and "… of row 90" are
#: one kind), per source.
REJECTION_REASONS_SQL = """
SELECT source, regexp_replace(reason, ' of row [0-9]+$', '') AS reason, count(*) AS rows,
       min(row_number) AS first_row
FROM rejected_rows
GROUP BY 1, 2
ORDER BY source, rows DESC, reason
"""


def _staged_union(cfg: RunConfig, kind: str, roles: tuple[str, ...]) -> str:
    """UNION ALL of the ``stage_<source>`` tables of every source of ``kind``: columns
    source, _row and ``roles`` (typed NULL where a source does not map a role)."""
    parts = []
    for name, source in cfg.sources.items():
        if source.kind != kind:
            continue
        picked = [role if role in source.columns else
                  f"CAST(NULL AS {stage_column_type(role)}) AS {role}" for role in roles]
        parts.append(f"SELECT '{name}' AS source, _row, {', '.join(picked)} FROM stage_{name}")
    if not parts:  # no source of this kind: an empty relation with the same columns
        typed = [f"CAST(NULL AS {stage_column_type(r)}) AS {r}" for r in ("_row", *roles)]
        parts.append(f"SELECT CAST(NULL AS VARCHAR) AS source, {', '.join(typed)} WHERE false")
    return " UNION ALL ".join(parts)


def build_source_records(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``source_records`` and ``record_keys``: every source record, standardised.

    Each identifying field is kept as the source wrote it and standardised beside it
    (``sql/identity_rows.sql``, ``sql/source_records.sql``): names folded to lower-case ASCII
    words without titles (``name_std``, and ``name_sorted`` whatever the order of first and
    last name), emails trimmed and lower-cased, phones in E.164 read in
    ``identity.default_region`` by the phonenumbers library (:mod:`helpers.standardise`),
    addresses with abbreviations spelled out, cities, postcodes; NULL when absent or invalid.
    A source ``linked_to`` another has no records of its own: its rows carry that source's
    keys.

    Reads the ``stage_<source>`` tables of the customers and transactions sources: columns
    ``_row``, ``customer_key``, ``order_date`` (transactions) and whichever identity roles
    each maps (name or first_name/last_name, email, phone, address, city, postcode,
    birth_date, customer_type, acquisition_channel, signup_date). Returns the number of
    source records.
    """
    union = " UNION ALL ".join(_staged_union(cfg, kind, IDENTITY_ROLES)
                               for kind in ("customers", "transactions"))
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_identities AS {union}")
    linked = [name for name, source in cfg.sources.items() if source.linked_to]
    # text, counts and the last row's values (rows are numbered): the same on any number of
    # threads; on 10 M order lines these queries take 48 s on one
    with on_all_cores(con):
        with phone_function(con):
            build_table(con, "identity_rows", {"linked_sources": linked,
                                               "region": cfg.identity.default_region},
                        temporary=True)
        count = build_table(con, "source_records")
        build_table(con, "record_keys")
    con.execute("DROP TABLE identity_rows; DROP VIEW staged_identities")
    return count


def profile_sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source and identifying field: how often it is filled and how often it is usable.

    One row per (source, field) for name, email, phone, address, city, postcode and
    birth_date, with columns ``records`` (the source's records), ``completeness`` (share of
    them with a value), ``validity`` (share of those whose value standardises to a usable
    one, on any of the key's rows: an email that is an address, a phone that is a valid
    number…; NULL when no record has a value; a birth date is typed when loaded, so every
    one left is valid) and
    ``duplicate_records`` (for email and phone: records of the source sharing one with
    another record of the same source, a duplicate the source itself holds).

    Reads ``source_records`` (source, source_record_id, name, email, phone, address, city,
    postcode, birth_date, name_std, email_std, phone_e164, address_std, city_std,
    postcode_std) and ``record_keys`` (source_record_id, key_type, key_value);
    ``sql/source_profile.sql``.
    """
    require_columns(con, "source_records", (
        "source", "source_record_id", "name", "email", "phone", "address", "city", "postcode",
        "birth_date", "name_std", "email_std", "phone_e164", "address_std", "city_std",
        "postcode_std"))
    require_columns(con, "record_keys")
    return query(con, "source_profile").df()


#: Columns of ``match_pairs`` that decide which scored pairs link two records.
SCORED_PAIR_COLUMNS = ("source_record_id_l", "source_record_id_r", "match_probability",
                       "decision")


def build_customer_xref(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                        max_rounds: int = 50) -> int:
    """Group linked source records into customers with stable ids; write ``customer_xref``.

    Edges (``sql/identity_edges.sql``): records sharing a normalised email or phone, then
    the scored pairs of ``match_pairs`` from ``identity.match_threshold`` that no reviewer
    rejected, then the pairs a reviewer confirmed. Customers are the connected components,
    by label propagation (``sql/match_labels.sql``): each record starts with its own id as a
    label and repeatedly takes the smallest label around it, until nothing changes. Each round
    is one SQL statement over all records (the loop is over rounds, a handful, never over
    records).

    Ids (``sql/customer_id_claims.sql``, ``sql/customer_xref.sql``): with
    ``identity.previous_xref``, a customer keeps the previous id most of its records had; the
    others get new ids above the previous highest, in the order of their smallest
    source_record_id, so the same data gives the same ids.

    Reads ``source_records`` (source, customer_key, source_record_id), ``record_keys``
    (source_record_id, key_type, key_value) and, when notebook 01 scored pairs,
    ``match_pairs`` (source_record_id_l, source_record_id_r, match_probability, decision).
    Returns the number of customers.

    Raises
    ------
    DataContractError
        ``identity.previous_xref`` is missing, of an unknown format, or lacks the columns
        source_record_id and customer_id.
    """
    require_tables(con, "source_records", "record_keys")
    _load_previous_xref(con, cfg)  # first: a file that cannot be used stops before any work
    if "match_pairs" in table_names(con):
        require_columns(con, "match_pairs", SCORED_PAIR_COLUMNS)
        pairs = f"SELECT {', '.join(SCORED_PAIR_COLUMNS)} FROM match_pairs"
    else:  # no pair scored: the deterministic rules alone
        pairs = ("SELECT CAST(NULL AS VARCHAR) AS source_record_id_l, CAST(NULL AS VARCHAR) "
                 "AS source_record_id_r, CAST(NULL AS DOUBLE) AS match_probability, "
                 "CAST(NULL AS VARCHAR) AS decision WHERE false")
    con.execute(f"CREATE OR REPLACE TEMP VIEW scored_pairs AS {pairs}")
    build_table(con, "identity_edges", {"match_threshold": cfg.identity.match_threshold},
                temporary=True)
    con.execute("CREATE OR REPLACE TEMP TABLE labels AS "
                "SELECT source_record_id, source_record_id AS label FROM source_records")
    for _ in range(max_rounds):
        build_table(con, "match_labels", temporary=True)
        changed = scalar(con, "SELECT count(*) FROM match_labels n JOIN labels l "
                              "USING (source_record_id) WHERE n.label <> l.label")
        con.execute("CREATE OR REPLACE TEMP TABLE labels AS SELECT * FROM match_labels")
        if changed == 0:
            break
    else:
        raise RuntimeError(f"record linkage did not settle in {max_rounds} rounds")
    con.execute("CREATE OR REPLACE TEMP TABLE kept_customer_ids "
                "(anchor VARCHAR, customer_id VARCHAR)")
    # each round settles at least one claim, so this ends; a handful of rounds in practice
    while build_table(con, "customer_id_claims", temporary=True):
        con.execute("INSERT INTO kept_customer_ids SELECT * FROM customer_id_claims")
    build_table(con, "customer_xref")
    for name in ("labels", "match_labels", "identity_edges", "previous_xref",
                 "kept_customer_ids", "customer_id_claims"):
        con.execute(f"DROP TABLE {name}")
    con.execute("DROP VIEW scored_pairs")
    return scalar(con, "SELECT count(DISTINCT customer_id) FROM customer_xref")


def _load_previous_xref(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Temp table ``previous_xref`` (source_record_id, customer_id): the rows of the
    ``customer_xref`` that ``identity.previous_xref`` names (a CSV or Parquet file, or a run's
    warehouse.duckdb); no rows when it names none."""
    raw = cfg.identity.previous_xref
    if raw is None:
        write_table(con, "previous_xref", "SELECT CAST(NULL AS VARCHAR) AS source_record_id, "
                    "CAST(NULL AS VARCHAR) AS customer_id WHERE false", temporary=True)
        return
    path = cfg.resolve_path(raw)
    where = f"{path} (identity.previous_xref)"
    if not path.is_file():
        raise DataContractError(f"{where}: file not found")
    literal = sql_literal(str(path))
    suffix = path.suffix.lower()
    attached = False
    if suffix in (".duckdb", ".db"):
        current = scalar(con, "SELECT path FROM duckdb_databases() "
                              "WHERE database_name = current_database()")
        if current and Path(current).resolve() == path:  # notebook 01 re-run on its warehouse
            relation = "main.customer_xref"
        else:
            con.execute(f"ATTACH {literal} AS previous_run (READ_ONLY)")
            attached, relation = True, "previous_run.customer_xref"
    elif suffix in (".csv", ".parquet"):
        relation = (f"read_csv({literal}, all_varchar = true)" if suffix == ".csv"
                    else f"read_parquet({literal})")
    else:
        raise DataContractError(f"{where}: a previous customer_xref is read from a .csv, "
                                f".parquet or .duckdb file")
    try:
        try:
            columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}")
                       .fetchall()}
        except duckdb.Error as exc:  # its text may quote a line: name only its kind
            raise DataContractError(f"{where}: cannot read a customer_xref table from it "
                                    f"({type(exc).__name__})") from None
        missing = [c for c in ("source_record_id", "customer_id") if c not in columns]
        if missing:
            raise DataContractError(f"{where}: no column(s) {', '.join(missing)}; a "
                                    f"previous run's customer_xref has them")
        # one id per record, whatever the file repeats
        write_table(con, "previous_xref", f"SELECT CAST(source_record_id AS VARCHAR) AS "
                    f"source_record_id, min(CAST(customer_id AS VARCHAR)) AS customer_id "
                    f"FROM {relation} WHERE source_record_id IS NOT NULL AND customer_id IS "
                    f"NOT NULL GROUP BY 1", temporary=True)
    finally:
        if attached:
            con.execute("DETACH previous_run")


def build_customers(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``customers``: one golden record per customer_id (``sql/customers.sql``).

    Each field comes from the most preferred record of the customer that has it: source
    priority (the config's order of sources), then the most recent (last_seen), then the most
    complete (n_rows, then fewest empty fields), then the smallest source_record_id;
    ``<field>_source`` names the source that gave the value.

    Reads ``customer_xref`` (customer_id, source_record_id) and ``source_records``
    (source_record_id, source, name, email, phone, address, city, postcode, birth_date,
    customer_type, acquisition_channel, signup_date, last_seen, n_rows). Returns the number
    of customers.
    """
    require_tables(con, "customer_xref", "source_records")
    priority = pd.DataFrame({"source": list(cfg.sources), "priority": range(len(cfg.sources))})
    write_table(con, "source_priority", priority, temporary=True)
    count = build_table(con, "customers")
    con.execute("DROP TABLE source_priority")
    return count


#: Where each kind of source's accepted rows land, when not only in ``stage_<source>``.
LANDING_TABLES = {"transactions": "transactions", "support": "support_contacts",
                  "marketing": "marketing_spend", "survey": "survey_answers",
                  "campaign": "campaign_exposure"}


def _write_source_links(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> None:
    """Temp table ``source_links``: per source, key_source (the source whose customer keys its
    rows carry: the one it is ``linked_to``, else itself), file and source_rank (its place in
    the config)."""
    links = pd.DataFrame(
        [{"source": name, "key_source": source.linked_to or name,
          "file": str(cfg.source_path(name)), "source_rank": rank}
         for rank, (name, source) in enumerate(cfg.sources.items())],
        columns=["source", "key_source", "file", "source_rank"])
    write_table(con, "source_links", links, temporary=True)


def _reject_unlinked(con: duckdb.DuckDBPyConnection, staged: str) -> None:
    """Add to ``rejected_rows`` the rows of view ``staged`` (source, _row, customer_key) whose
    source is linked_to another that lacks their key (``sql/unlinked_rows.sql``); the ones a
    previous call added are replaced, so a builder can run twice."""
    con.execute(f"CREATE OR REPLACE TEMP VIEW keyed_rows AS "
                f"SELECT source, _row, customer_key FROM {staged}")
    # a staged row was accepted when loaded: if it is in rejected_rows, this step put it there
    con.execute("DELETE FROM rejected_rows AS r WHERE EXISTS (SELECT 1 FROM keyed_rows AS k "
                "WHERE k.source = r.source AND k._row = r.row_number)")
    con.execute(f"INSERT INTO rejected_rows {sql_text('unlinked_rows')}")
    con.execute("DROP VIEW keyed_rows")


def build_transactions(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``transactions``: every accepted order line with its customer_id.

    Reads the staged transaction sources (customer_key, order_date, amount, and optional
    order_id, quantity, product_id), ``customer_xref`` (source, customer_key, customer_id)
    and, when the config has one, the staged product catalogue (product_id, unit_cost,
    category) to give each line its cost of goods. A source ``linked_to`` another (orders
    keyed by the CRM's contact id) is linked through that source's records; a line whose key
    that source does not know goes to ``rejected_rows`` ("customer key not found in source
    'crm'"). See ``sql/transactions.sql``. Returns the number of lines.
    """
    require_tables(con, "customer_xref", "rejected_rows")
    lines = _staged_union(cfg, "transactions", ("customer_key", "order_id", "order_date",
                                                "amount", "quantity", "product_id"))
    products = _staged_union(cfg, "products", ("product_id", "unit_cost", "category"))
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_transactions AS {lines}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_products AS {products}")
    _write_source_links(con, cfg)
    count = build_table(con, "transactions")
    _reject_unlinked(con, "staged_transactions")
    con.execute("DROP VIEW staged_transactions; DROP VIEW staged_products; "
                "DROP TABLE source_links")
    return count


def _support_union(cfg: RunConfig) -> str:
    """The staged support sources as one relation: source, _row, customer_key, contact_date,
    cost (see ``sql/support_contacts.sql``)."""
    parts = []
    for name, source in cfg.sources.items():
        if source.kind != "support":
            continue
        # a mapped cost column is the ticket's own cost; otherwise the configured flat cost
        cost = ("coalesce(cost, 0)" if "cost" in source.columns
                else f"CAST({float(cfg.costs.cost_per_support_contact)!r} AS DOUBLE)")
        parts.append(f"SELECT '{name}' AS source, _row, customer_key, contact_date, "
                     f"{cost} AS cost FROM stage_{name}")
    if not parts:
        parts.append("SELECT CAST(NULL AS VARCHAR) AS source, CAST(NULL AS BIGINT) AS _row, "
                     "CAST(NULL AS VARCHAR) AS customer_key, CAST(NULL AS DATE) AS "
                     "contact_date, CAST(NULL AS DOUBLE) AS cost WHERE false")
    return " UNION ALL ".join(parts)


def build_support_contacts(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``support_contacts`` (customer_id, source, contact_date, cost).

    Each support source names (``linked_to``) the source whose customer keys its tickets
    carry. A ticket whose key that source does not know goes to ``rejected_rows``
    (``sql/unlinked_rows.sql``). The cost is the ticket's own cost column, else
    ``costs.cost_per_support_contact``. Reads the staged support sources (customer_key,
    contact_date, cost) and ``customer_xref`` (source, customer_key, customer_id).
    """
    require_tables(con, "customer_xref", "rejected_rows")
    return _land_staged(con, cfg, {"staged_support": _support_union(cfg)},
                        ("support_contacts",), keyed="staged_support")


def _land_staged(con: duckdb.DuckDBPyConnection, cfg: RunConfig, views: dict[str, str],
                 tables: tuple[str, ...], keyed: str | None) -> int:
    """Write ``tables`` (their ``sql/<table>.sql`` reads the temporary ``views``, name ->
    SELECT, and ``source_links``); then send the rows of view ``keyed`` whose key their
    linked source lacks to ``rejected_rows``. Returns the rows of the first table."""
    for name, select in views.items():
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select}")
    _write_source_links(con, cfg)
    counts = [build_table(con, table) for table in tables]
    if keyed:
        _reject_unlinked(con, keyed)
    for name in views:
        con.execute(f"DROP VIEW {name}")
    con.execute("DROP TABLE source_links")
    return counts[0]


def build_marketing_spend(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``marketing_spend`` (source, spend_date, channel, amount): every accepted row of
    the marketing sources, channels lower-cased (``sql/marketing_spend.sql``); empty when the
    config has none.

    Reads the staged marketing sources (period, channel, amount). Returns the number of rows.
    """
    union = _staged_union(cfg, "marketing", ("period", "channel", "amount"))
    return _land_staged(con, cfg, {"staged_marketing": union}, ("marketing_spend",),
                        keyed=None)


def _ratings_union(cfg: RunConfig) -> str:
    """The survey sources' non-empty driver ratings as one relation: source, _row,
    customer_key, driver, driver_rank (its place in the source's ``drivers``), rating."""
    parts = [f"SELECT '{name}' AS source, _row, customer_key, {sql_literal(driver)} AS driver, "
             f"{rank} AS driver_rank, {RATING_PREFIX}{driver} AS rating FROM stage_{name} "
             f"WHERE {RATING_PREFIX}{driver} IS NOT NULL"
             for name, source in cfg.sources.items() if source.kind == "survey"
             for rank, driver in enumerate(source.drivers)]
    if not parts:
        parts.append("SELECT CAST(NULL AS VARCHAR) AS source, CAST(NULL AS BIGINT) AS _row, "
                     "CAST(NULL AS VARCHAR) AS customer_key, CAST(NULL AS VARCHAR) AS driver, "
                     "CAST(NULL AS INTEGER) AS driver_rank, CAST(NULL AS DOUBLE) AS rating "
                     "WHERE false")
    return " UNION ALL ".join(parts)


def build_survey_answers(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``survey_answers`` (customer_id, source, source_row, response_date, nps, comment)
    and ``survey_ratings`` (customer_id, source, source_row, driver, rating).

    Each survey source names (``linked_to``) the source whose customer keys its answers carry;
    an answer whose key that source does not know goes to ``rejected_rows``, and its ratings
    with it (``sql/unlinked_rows.sql``). Reads the staged survey sources (customer_key,
    response_date, nps, comment, ``rating_<driver>`` per driver) and ``customer_xref``
    (source, customer_key, customer_id). Both tables are empty without a survey source.
    Returns the number of answers.
    """
    require_tables(con, "customer_xref", "rejected_rows")
    answers = _staged_union(cfg, "survey", ("customer_key", "response_date", "nps", "comment"))
    return _land_staged(con, cfg, {"staged_survey": answers,
                                   "staged_ratings": _ratings_union(cfg)},
                        ("survey_answers", "survey_ratings"), keyed="staged_survey")


def build_campaign_exposure(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``campaign_exposure`` (customer_id, source, campaign_id, exposure_date,
    exposure_group 'treated' or 'control').

    Each campaign source names (``linked_to``) the source whose customer keys its rows carry;
    a row whose key that source does not know goes to ``rejected_rows``
    (``sql/unlinked_rows.sql``). Reads the staged campaign sources (customer_key,
    campaign_id, exposure_date, exposure_group) and ``customer_xref`` (source, customer_key,
    customer_id). Empty without a campaign source. Returns the number of rows.
    """
    require_tables(con, "customer_xref", "rejected_rows")
    rows = _staged_union(cfg, "campaign", ("customer_key", "campaign_id", "exposure_date",
                                           "exposure_group"))
    return _land_staged(con, cfg, {"staged_campaign": rows}, ("campaign_exposure",),
                        keyed="staged_campaign")


def match_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Source records by the rule that linked them (``customer_xref.match_rule``)."""
    return con.execute("SELECT match_rule, count(*) AS source_records FROM customer_xref "
                       "GROUP BY match_rule ORDER BY source_records DESC, match_rule").df()


def records_per_customer(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """How many customers are made of 1, 2, 3… source records (``customer_xref``)."""
    return con.execute("""
        SELECT n_source_records, count(*) AS customers
        FROM (SELECT customer_id, count(*) AS n_source_records FROM customer_xref
              GROUP BY customer_id)
        GROUP BY n_source_records ORDER BY n_source_records
    """).df()


def largest_customers(con: duckdb.DuckDBPyConnection, n: int = 10) -> pd.DataFrame:
    """The ``n`` customers made of the most source records, where over-merging would show:
    per customer the records, the sources, and how many different names, emails and phones
    its records carry (counts only, never the values). Reads ``customer_xref``
    (customer_id, source_record_id) and ``source_records`` (source, name_sorted, email_std,
    phone_e164)."""
    require_columns(con, "customer_xref", ("customer_id", "source_record_id"))
    require_columns(con, "source_records",
                    ("source_record_id", "source", "name_sorted", "email_std", "phone_e164"))
    return con.execute("""
        SELECT x.customer_id, count(*) AS records,
               string_agg(DISTINCT r.source, ',' ORDER BY r.source) AS sources,
               count(DISTINCT r.name_sorted) AS different_names,
               count(DISTINCT r.email_std) AS different_emails,
               count(DISTINCT r.phone_e164) AS different_phones
        FROM customer_xref AS x JOIN source_records AS r USING (source_record_id)
        GROUP BY x.customer_id ORDER BY records DESC, different_names DESC, x.customer_id
        LIMIT ?""", [n]).df()


def golden_sources(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Where the golden records' fields came from: one row per field, one column per source
    with the customers whose value it gave, and ``none`` for customers no source gave one.

    Reads ``customers`` (its ``<field>_source`` columns).
    """
    require_tables(con, "customers")
    long = con.execute("""
        SELECT regexp_replace(field, '_source$', '') AS field, source, count(*) AS customers
        FROM (UNPIVOT (SELECT coalesce(COLUMNS('.*_source$'), 'none') FROM customers)
              ON COLUMNS(*) INTO NAME field VALUE source)
        GROUP BY ALL
    """).df()
    fields = [c.name.removesuffix("_source") for c in table("customers").columns
              if c.name.endswith("_source")]
    wide = long.pivot(index="field", columns="source", values="customers")
    sources = sorted(set(wide.columns) - {"none"}) + ["none"]
    return wide.reindex(index=fields, columns=sources).fillna(0).astype(int)


def reconcile(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Rewrite ``load_counts`` with the final counts (``sql/load_counts.sql``); check them.

    Reads ``load_counts`` (source, kind, file, rows_in, excluded) and ``rejected_rows``;
    accepted is rows_in − excluded − rejected. Raises if any source's accepted rows are not
    all in the warehouse (the kind's table of :data:`LANDING_TABLES`: ``transactions``,
    ``support_contacts``, ``marketing_spend``, ``survey_answers``, ``campaign_exposure``;
    else ``stage_<source>``), since that would mean a row was silently lost.
    Returns the number of sources.
    """
    count = build_table(con, "load_counts")
    landed = " UNION ALL ".join(
        f"SELECT '{name}' AS source, count(*) AS landed FROM "
        + (f"{LANDING_TABLES[source.kind]} WHERE source = '{name}'"
           if source.kind in LANDING_TABLES else f"stage_{name}")
        for name, source in cfg.sources.items())
    lost = con.execute(f"SELECT c.source, c.accepted, l.landed FROM load_counts AS c "
                       f"JOIN ({landed}) AS l USING (source) WHERE c.accepted <> l.landed "
                       f"ORDER BY c.source").fetchall()
    if lost:
        raise RuntimeError(f"row counts do not reconcile (source, expected, found): {lost}")
    return count


def reconciliation(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rows in, accepted, excluded (dated after as_of) and rejected per source, with a total
    row and a check column: rows_in = accepted + excluded + rejected.

    Reads ``load_counts`` (source, kind, rows_in, accepted, excluded, rejected).
    """
    require_tables(con, "load_counts")
    counts = con.execute("SELECT source, kind, rows_in, accepted, excluded, rejected "
                         "FROM load_counts ORDER BY source").df()
    total = pd.DataFrame([{"source": "total", "kind": "", **counts[
        ["rows_in", "accepted", "excluded", "rejected"]].sum().to_dict()}])
    counts = pd.concat([counts, total], ignore_index=True)
    counts["reconciles"] = counts["rows_in"] == (counts["accepted"] + counts["excluded"]
                                                 + counts["rejected"])
    return counts


def rejection_reasons(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rejected rows by source and kind of reason, with the first row of each kind."""
    require_tables(con, "rejected_rows")
    return con.execute(REJECTION_REASONS_SQL).df()
