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
from helpers.warehouse import scalar, write_table

#: Email: trimmed and lower-cased; a value without '@' is not an email.
NORMALISED_EMAIL_SQL = """
CASE WHEN position('@' IN lower(trim(email))) > 1 THEN lower(trim(email)) END
"""

#: Phone: digits only, Italian international prefix (0039 / +39) removed; fewer than 6
#: digits is not a usable phone number.
NORMALISED_PHONE_SQL = """
CASE
  WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) < 6 THEN NULL
  WHEN regexp_replace(phone, '[^0-9]', '', 'g') LIKE '0039%'
    THEN substr(regexp_replace(phone, '[^0-9]', '', 'g'), 5)
  WHEN regexp_replace(phone, '[^0-9]', '', 'g') LIKE '39%'
       AND length(regexp_replace(phone, '[^0-9]', '', 'g')) = 12
    THEN substr(regexp_replace(phone, '[^0-9]', '', 'g'), 3)
  ELSE regexp_replace(phone, '[^0-9]', '', 'g')
END
"""

IDENTITY_FIELDS = ("name", "email", "phone", "address", "city", "postcode", "customer_type",
                   "acquisition_channel", "signup_date")

#: Golden record: each field from the highest-priority source that has it (sources in the
#: order of the config file), and within a source from the most recent record.
GOLDEN_RECORD_SQL = """
SELECT
  x.customer_id,
  {fields},
  string_agg(DISTINCT r.source, ',' ORDER BY r.source) AS sources,
  count(*) AS n_source_records
FROM customer_xref AS x
JOIN source_records AS r USING (source_record_id)
GROUP BY x.customer_id
ORDER BY x.customer_id
"""

TRANSACTIONS_SQL = """
SELECT
  x.customer_id,
  s.source,
  s._row AS source_row,
  s.order_id,
  s.order_date,
  s.amount,
  s.quantity,
  s.product_id,
  p.category,
  CASE WHEN p.unit_cost IS NOT NULL AND s.quantity IS NOT NULL
       THEN s.quantity * p.unit_cost END AS cost,
  s.amount < 0 AS is_return
FROM ({staged}) AS s
JOIN customer_xref AS x ON x.source = s.source AND x.customer_key = s.customer_key
LEFT JOIN ({products}) AS p ON p.product_id = s.product_id
ORDER BY x.customer_id, s.order_date, s.source, s._row
"""


def _staged_rows(cfg: RunConfig, kind: str, columns: tuple[str, ...]) -> str:
    """UNION ALL of the staged tables of every source of ``kind``, with ``columns``
    (NULL where a source does not map the role)."""
    parts = []
    for name, source in cfg.sources.items():
        if source.kind != kind:
            continue
        picked = [c if c in source.columns or c == "_row" else f"NULL AS {c}" for c in columns]
        parts.append(f"SELECT '{name}' AS source, {', '.join(picked)} FROM stage_{name}")
    return " UNION ALL ".join(parts)


def build_source_records(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``source_records``: one row per (source, customer_key) with normalised keys.

    Reads the ``stage_<source>`` tables of the customers and transactions sources (columns
    customer_key and whichever identity roles each maps). A name split into first_name and
    last_name is joined. Where a key's rows disagree (a web account typed differently at
    each checkout), the most recent row wins for display, while *every* distinct email and
    phone the key ever used is kept in ``record_keys`` for matching.
    """
    identity = ("_row", "customer_key", "first_name", "last_name") + IDENTITY_FIELDS
    rows = " UNION ALL ".join(
        part for part in (_staged_rows(cfg, "customers", identity),
                          _staged_rows(cfg, "transactions", identity)) if part
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE identity_rows AS
        SELECT source, customer_key, _row,
               source || ':' || customer_key AS source_record_id,
               coalesce(name, nullif(trim(concat_ws(' ', first_name, last_name)), '')) AS name,
               email, phone, address, city, postcode, customer_type, acquisition_channel,
               signup_date,
               {NORMALISED_EMAIL_SQL} AS email_norm,
               {NORMALISED_PHONE_SQL} AS phone_norm
        FROM ({rows})
    """)
    latest = ",\n".join(
        f"arg_max({f}, _row) FILTER (WHERE {f} IS NOT NULL) AS {f}"
        for f in IDENTITY_FIELDS + ("email_norm", "phone_norm")
    )
    count = write_table(con, "source_records", f"""
        SELECT source, customer_key, source_record_id, {latest}, count(*) AS n_rows
        FROM identity_rows GROUP BY source, customer_key, source_record_id
        ORDER BY source, customer_key
    """)
    write_table(con, "record_keys", """
        SELECT DISTINCT source_record_id, 'email' AS key_type, email_norm AS key_value
        FROM identity_rows WHERE email_norm IS NOT NULL
        UNION
        SELECT DISTINCT source_record_id, 'phone', phone_norm
        FROM identity_rows WHERE phone_norm IS NOT NULL
    """)
    con.execute("DROP TABLE identity_rows")
    return count


def match_customers(con: duckdb.DuckDBPyConnection, max_rounds: int = 50) -> int:
    """Link source records sharing a normalised email or phone; write ``customer_xref``.

    Connected components by label propagation: each record starts with its own id as a
    label and repeatedly takes the smallest label among records sharing a key with it,
    until nothing changes. Each round is one SQL statement over all records (the loop is
    over rounds, a handful, never over records).

    Reads ``source_records`` (source_record_id) and ``record_keys`` (source_record_id,
    key_type, key_value). Returns the number of customers.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE labels AS "
                "SELECT source_record_id, source_record_id AS label FROM source_records")
    for _ in range(max_rounds):
        con.execute("""
            CREATE OR REPLACE TEMP TABLE next_labels AS
            WITH key_labels AS (
              SELECT k.key_type, k.key_value, min(l.label) AS label
              FROM record_keys AS k JOIN labels AS l USING (source_record_id)
              GROUP BY k.key_type, k.key_value
            )
            SELECT l.source_record_id, least(l.label, coalesce(min(kl.label), l.label)) AS label
            FROM labels AS l
            LEFT JOIN record_keys AS k USING (source_record_id)
            LEFT JOIN key_labels AS kl ON kl.key_type = k.key_type AND kl.key_value = k.key_value
            GROUP BY l.source_record_id, l.label
        """)
        changed = scalar(con, "SELECT count(*) FROM next_labels n JOIN labels l "
                              "USING (source_record_id) WHERE n.label <> l.label")
        con.execute("CREATE OR REPLACE TEMP TABLE labels AS SELECT * FROM next_labels")
        if changed == 0:
            break
    else:
        raise RuntimeError(f"record linkage did not settle in {max_rounds} rounds")
    write_table(con, "customer_xref", """
        WITH shared AS (
          SELECT k.source_record_id,
                 bool_or(k.key_type = 'email' AND n.records > 1) AS by_email,
                 bool_or(k.key_type = 'phone' AND n.records > 1) AS by_phone
          FROM record_keys AS k
          JOIN (SELECT key_type, key_value, count(*) AS records FROM record_keys
                GROUP BY key_type, key_value) AS n USING (key_type, key_value)
          GROUP BY k.source_record_id
        )
        SELECT r.source, r.customer_key, r.source_record_id,
               'C' || lpad(CAST(dense_rank() OVER (ORDER BY l.label) AS VARCHAR), 7, '0')
                 AS customer_id,
               CASE WHEN s.by_email AND s.by_phone THEN 'email+phone'
                    WHEN s.by_email THEN 'email'
                    WHEN s.by_phone THEN 'phone'
                    ELSE 'single record' END AS match_rule
        FROM source_records AS r
        JOIN labels AS l USING (source_record_id)
        LEFT JOIN shared AS s USING (source_record_id)
        ORDER BY customer_id, r.source_record_id
    """)
    con.execute("DROP TABLE labels; DROP TABLE next_labels")
    return scalar(con, "SELECT count(DISTINCT customer_id) FROM customer_xref")


def build_customers(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``customers``: one golden record per customer_id (see GOLDEN_RECORD_SQL).

    Reads ``customer_xref`` and ``source_records``.
    """
    priority = "CASE r.source " + " ".join(
        f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(cfg.sources)) + " END"
    fields = ",\n  ".join(
        f"arg_min(r.{f}, {priority} * 1000000000 - r.n_rows) FILTER (WHERE r.{f} IS NOT NULL)"
        f" AS {f}" for f in IDENTITY_FIELDS)
    return write_table(con, "customers", GOLDEN_RECORD_SQL.format(fields=fields))


def build_transactions(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``transactions``: every accepted order line with its customer_id.

    Reads the staged transaction sources (customer_key, order_date, amount, and optional
    order_id, quantity, product_id) and, when the config has one, the staged product
    catalogue (product_id, unit_cost, category) to give each line its cost of goods.
    A source without order ids gets one order per customer key per day.
    """
    staged = _staged_rows(cfg, "transactions",
                          ("_row", "customer_key", "order_id", "order_date", "amount",
                           "quantity", "product_id"))
    staged = (f"SELECT source, _row, customer_key, "
              f"coalesce(order_id, customer_key || ':' || CAST(order_date AS VARCHAR)) "
              f"AS order_id, order_date, amount, quantity, product_id FROM ({staged})")
    products = _staged_rows(cfg, "products", ("product_id", "unit_cost", "category"))
    if not products:
        products = ("SELECT CAST(NULL AS VARCHAR) AS product_id, CAST(NULL AS DOUBLE) "
                    "AS unit_cost, CAST(NULL AS VARCHAR) AS category WHERE false")
    return write_table(con, "transactions",
                       TRANSACTIONS_SQL.format(staged=staged, products=products))


def build_support_contacts(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``support_contacts`` (customer_id, source, contact_date, cost).

    Each support source names (``linked_to``) the source whose customer keys its tickets
    carry. A ticket whose key that source does not know goes to ``rejected_rows``.
    The cost is the ticket's own cost column, else ``costs.cost_per_support_contact``.
    """
    write_table(con, "support_contacts",
                "SELECT CAST(NULL AS VARCHAR) AS customer_id, CAST(NULL AS VARCHAR) AS source, "
                "CAST(NULL AS DATE) AS contact_date, CAST(NULL AS DOUBLE) AS cost WHERE false")
    for name, source in cfg.sources.items():
        if source.kind != "support":
            continue
        cost = "s.cost" if "cost" in source.columns else "CAST(? AS DOUBLE)"
        params = [] if "cost" in source.columns else [cfg.costs.cost_per_support_contact]
        con.execute(f"""
            INSERT INTO support_contacts
            SELECT x.customer_id, '{name}', s.contact_date, coalesce({cost}, 0)
            FROM stage_{name} AS s
            JOIN customer_xref AS x
              ON x.source = '{source.linked_to}' AND x.customer_key = s.customer_key
            ORDER BY s._row
        """, params)
        con.execute(f"""
            INSERT INTO rejected_rows
            SELECT '{name}', ?, s._row,
                   'customer key not found in source ''{source.linked_to}''',
                   json_object('customer_key', s.customer_key)
            FROM stage_{name} AS s
            WHERE NOT EXISTS (SELECT 1 FROM customer_xref AS x
                              WHERE x.source = '{source.linked_to}'
                                AND x.customer_key = s.customer_key)
            ORDER BY s._row
        """, [str(cfg.source_path(name))])
    return scalar(con, "SELECT count(*) FROM support_contacts")


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


def reconcile(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rewrite ``load_counts`` with final accepted/rejected counts and check they add up.

    Reads ``load_counts`` (source, kind, file, rows_in) and ``rejected_rows``; accepted is
    rows_in − rejected. Raises if any source's rows are unaccounted for, since that would
    mean a row was silently lost.
    """
    counts = con.execute("""
        SELECT c.source, c.kind, c.file, c.rows_in,
               c.rows_in - coalesce(r.rejected, 0) AS accepted,
               coalesce(r.rejected, 0) AS rejected
        FROM load_counts AS c
        LEFT JOIN (SELECT source, count(*) AS rejected FROM rejected_rows GROUP BY source) AS r
          USING (source)
        ORDER BY c.source
    """).df()
    write_table(con, "load_counts", counts)
    landed = {
        row.source: scalar(con, "SELECT count(*) FROM support_contacts WHERE source = ?",
                           [row.source]) if row.kind == "support"
        else scalar(con, f"SELECT count(*) FROM stage_{row.source}")
        for row in counts.itertuples()
    }
    lost = [(row.source, row.accepted, landed[row.source]) for row in counts.itertuples()
            if row.accepted != landed[row.source]]
    if lost:
        raise RuntimeError(f"row counts do not reconcile (source, expected, found): {lost}")
    return counts
