"""Identify: one customer database from several source systems (notebook 01).

The same person appears as a CRM contact, a web-shop account and a loyalty card, typed
differently each time. This module standardises the identifying fields (email, phone),
links source records that share one, and gives each linked group one ``customer_id``:

* ``source_records`` — one row per customer key per source, with normalised keys;
* ``customer_xref``  — every source record → its ``customer_id`` (nothing is dropped);
* ``customers``      — one golden record per customer;
* ``transactions``   — every accepted order line, now carrying the ``customer_id``;
* ``support_contacts`` — support tickets, linked through the source they reference.

Matching here is exact on normalised email or phone, transitively (if A shares an email
with B and B a phone with C, all three are one customer). Probabilistic matching on names
and addresses is a later step.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.tables import stage_column_type
from helpers.warehouse import build_table, require_tables, scalar, sql_text, write_table

__all__ = ["build_source_records", "build_customer_xref", "build_customers",
           "build_transactions", "build_support_contacts", "reconcile", "keys_by_source",
           "match_summary", "records_per_customer", "reconciliation",
           "rejection_reasons"]

#: Identifying roles carried from the staged sources into ``source_records``.
IDENTITY_ROLES = ("customer_key", "first_name", "last_name", "name", "email", "phone",
                  "address", "city", "postcode", "customer_type", "acquisition_channel",
                  "signup_date")


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
    """Write ``source_records`` and ``record_keys`` (``sql/source_records.sql``).

    Reads the ``stage_<source>`` tables of the customers and transactions sources (columns
    ``customer_key`` and whichever identity roles each maps: name or first_name/last_name,
    email, phone, address, city, postcode, customer_type, acquisition_channel, signup_date).
    Returns the number of source records.
    """
    union = " UNION ALL ".join(_staged_union(cfg, kind, IDENTITY_ROLES)
                               for kind in ("customers", "transactions"))
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_identities AS {union}")
    build_table(con, "identity_rows", temporary=True)
    count = build_table(con, "source_records")
    build_table(con, "record_keys")
    con.execute("DROP TABLE identity_rows; DROP VIEW staged_identities")
    return count


def build_customer_xref(con: duckdb.DuckDBPyConnection, cfg: RunConfig,
                        max_rounds: int = 50) -> int:
    """Link source records sharing a normalised email or phone; write ``customer_xref``.

    Connected components by label propagation (``sql/match_labels.sql``): each record
    starts with its own id as a label and repeatedly takes the smallest label among records
    sharing a key with it, until nothing changes. Each round is one SQL statement over all
    records (the loop is over rounds, a handful, never over records).

    Reads ``source_records`` (source_record_id) and ``record_keys`` (source_record_id,
    key_type, key_value). Returns the number of customers.
    """
    require_tables(con, "source_records", "record_keys")
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
    build_table(con, "customer_xref")
    con.execute("DROP TABLE labels; DROP TABLE match_labels")
    return scalar(con, "SELECT count(DISTINCT customer_id) FROM customer_xref")


def build_customers(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``customers``: one golden record per customer_id (``sql/customers.sql``).

    Reads ``customer_xref`` and ``source_records``; each field comes from the first source
    in the config's order that has it.
    """
    priority = pd.DataFrame({"source": list(cfg.sources), "priority": range(len(cfg.sources))})
    write_table(con, "source_priority", priority, temporary=True)
    count = build_table(con, "customers")
    con.execute("DROP TABLE source_priority")
    return count


def build_transactions(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``transactions``: every accepted order line with its customer_id.

    Reads the staged transaction sources (customer_key, order_date, amount, and optional
    order_id, quantity, product_id) and, when the config has one, the staged product
    catalogue (product_id, unit_cost, category) to give each line its cost of goods.
    See ``sql/transactions.sql``.
    """
    lines = _staged_union(cfg, "transactions", ("customer_key", "order_id", "order_date",
                                                "amount", "quantity", "product_id"))
    products = _staged_union(cfg, "products", ("product_id", "unit_cost", "category"))
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_transactions AS {lines}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_products AS {products}")
    count = build_table(con, "transactions")
    con.execute("DROP VIEW staged_transactions; DROP VIEW staged_products")
    return count


def _support_union(cfg: RunConfig) -> str:
    """The staged support sources as one relation (see ``sql/support_contacts.sql``)."""
    parts = []
    for rank, (name, source) in enumerate(cfg.sources.items()):
        if source.kind != "support":
            continue
        # a mapped cost column is the ticket's own cost; otherwise the configured flat cost
        cost = ("coalesce(cost, 0)" if "cost" in source.columns
                else f"CAST({float(cfg.costs.cost_per_support_contact)!r} AS DOUBLE)")
        file = str(cfg.source_path(name)).replace("'", "''")
        parts.append(f"SELECT '{name}' AS source, {rank} AS source_rank, '{file}' AS file, "
                     f"'{source.linked_to}' AS linked_to, _row, customer_key, contact_date, "
                     f"{cost} AS cost FROM stage_{name}")
    if not parts:
        parts.append("SELECT CAST(NULL AS VARCHAR) AS source, 0 AS source_rank, "
                     "CAST(NULL AS VARCHAR) AS file, CAST(NULL AS VARCHAR) AS linked_to, "
                     "CAST(NULL AS BIGINT) AS _row, CAST(NULL AS VARCHAR) AS customer_key, "
                     "CAST(NULL AS DATE) AS contact_date, CAST(NULL AS DOUBLE) AS cost "
                     "WHERE false")
    return " UNION ALL ".join(parts)


def build_support_contacts(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``support_contacts`` (customer_id, source, contact_date, cost).

    Each support source names (``linked_to``) the source whose customer keys its tickets
    carry. A ticket whose key that source does not know goes to ``rejected_rows``
    (``sql/unlinked_support.sql``). The cost is the ticket's own cost column, else
    ``costs.cost_per_support_contact``.
    """
    require_tables(con, "customer_xref", "rejected_rows")
    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_support AS {_support_union(cfg)}")
    count = build_table(con, "support_contacts")
    con.execute(f"INSERT INTO rejected_rows {sql_text('unlinked_support')}")
    con.execute("DROP VIEW staged_support")
    return count


def keys_by_source(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: records, and how many carry a usable email and phone (``source_records``)."""
    return con.execute("""
        SELECT source, count(*) AS records, count(email_norm) AS with_email,
               count(phone_norm) AS with_phone
        FROM source_records GROUP BY source ORDER BY source
    """).df()


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


def reconcile(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Rewrite ``load_counts`` with the final counts (``sql/load_counts.sql``); check them.

    Reads ``load_counts`` (source, kind, file, rows_in, excluded) and ``rejected_rows``;
    accepted is rows_in − excluded − rejected. Raises if any source's accepted rows are not
    all in the warehouse (``stage_<source>``, or ``support_contacts`` for support sources),
    since that would mean a row was silently lost. Returns the number of sources.
    """
    count = build_table(con, "load_counts")
    landed = " UNION ALL ".join(
        f"SELECT '{name}' AS source, count(*) AS landed FROM "
        + ("support_contacts WHERE source = '" + name + "'" if source.kind == "support"
           else f"stage_{name}")
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
