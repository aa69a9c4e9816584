-- customer_xref: every source record and the customer it belongs to, with the rule that
-- linked it and the strength of that link.
-- Reads: source_records; labels (temporary: each record's settled group, named by its
--        smallest source_record_id, from match_labels.sql); identity_edges (temporary, see
--        identity_edges.sql); kept_customer_ids (temporary: the previous run's ids the groups
--        keep, from customer_id_claims.sql); previous_xref (temporary: the previous run's
--        source_record_id and customer_id, for its highest id).
-- The rule is the strongest kind of edge the record has: a shared email or phone, else a
-- reviewer's 'match', else the model; the probability is its strongest edge's (1 for a shared
-- key or a reviewer's 'match', NULL for a record linked to nothing).
-- A group without a previous id gets a new one above the previous run's highest, in the
-- order of its smallest source_record_id: the same data gives the same ids in every run.
WITH edge_ends AS (
    SELECT source_record_id_l AS source_record_id, rule, match_probability
    FROM identity_edges
    UNION ALL
    SELECT source_record_id_r, rule, match_probability
    FROM identity_edges
),
linked AS (
    SELECT
        source_record_id,
        bool_or(rule = 'email') AS by_email,
        bool_or(rule = 'phone') AS by_phone,
        bool_or(rule = 'review') AS by_review,
        max(match_probability) AS match_probability
    FROM edge_ends
    GROUP BY source_record_id
),
previous_last AS (
    SELECT coalesce(max(TRY_CAST(regexp_extract(customer_id, '^C([0-9]+)$', 1) AS BIGINT)), 0)
        AS last_number
    FROM previous_xref
),
new_ids AS (
    SELECT
        g.anchor,
        printf('C%07d', p.last_number + row_number() OVER (ORDER BY g.anchor)) AS customer_id
    FROM (SELECT DISTINCT label AS anchor FROM labels) AS g
    CROSS JOIN previous_last AS p
    WHERE g.anchor NOT IN (SELECT anchor FROM kept_customer_ids)
),
ids AS (
    SELECT anchor, customer_id FROM kept_customer_ids
    UNION ALL
    SELECT anchor, customer_id FROM new_ids
)
SELECT
    r.source,
    r.customer_key,
    r.source_record_id,
    i.customer_id,
    CASE
        WHEN k.by_email AND k.by_phone THEN 'email+phone'
        WHEN k.by_email THEN 'email'
        WHEN k.by_phone THEN 'phone'
        WHEN k.by_review THEN 'review'
        WHEN k.source_record_id IS NOT NULL THEN 'model'
        ELSE 'single record'
    END AS match_rule,
    k.match_probability
FROM source_records AS r
JOIN labels AS l USING (source_record_id)
JOIN ids AS i ON i.anchor = l.label
LEFT JOIN linked AS k USING (source_record_id)
ORDER BY i.customer_id, r.source_record_id
