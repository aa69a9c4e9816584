-- customer_xref: every source record and the customer it belongs to, with the rule that
-- linked it.
-- Reads: source_records, record_keys, labels (temporary: the settled group label of each
--        record, from match_labels.sql).
WITH key_use AS (
    SELECT key_type, key_value, count(*) AS records
    FROM record_keys
    GROUP BY key_type, key_value
),
shared AS (
    -- which kinds of key this record shares with at least one other record
    SELECT
        k.source_record_id,
        bool_or(k.key_type = 'email' AND n.records > 1) AS by_email,
        bool_or(k.key_type = 'phone' AND n.records > 1) AS by_phone
    FROM record_keys AS k
    JOIN key_use AS n USING (key_type, key_value)
    GROUP BY k.source_record_id
)
SELECT
    r.source,
    r.customer_key,
    r.source_record_id,
    'C' || lpad(CAST(dense_rank() OVER (ORDER BY l.label) AS VARCHAR), 7, '0') AS customer_id,
    CASE
        WHEN s.by_email AND s.by_phone THEN 'email+phone'
        WHEN s.by_email THEN 'email'
        WHEN s.by_phone THEN 'phone'
        ELSE 'single record'
    END AS match_rule
FROM source_records AS r
JOIN labels AS l USING (source_record_id)
LEFT JOIN shared AS s USING (source_record_id)
ORDER BY customer_id, r.source_record_id
