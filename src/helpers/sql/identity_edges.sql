-- identity_edges (temporary): pairs of source records that belong to one customer, with the
-- rule that links them and its strength.
-- Reads: record_keys; scored_pairs (temporary: match_pairs' source_record_id_l,
--        source_record_id_r, match_probability and decision; empty when no pair was scored).
-- Deterministic rules first: records sharing a normalised email or phone are one customer.
-- A key shared by n records gives n - 1 edges, each record to the key's smallest record id:
-- the same groups as all n(n-1)/2 pairs, without the square of a household phone's records.
-- Then the model's pairs from $match_threshold that no reviewer rejected, and every pair a
-- reviewer confirmed (whatever the model said: a person's decision is certain, strength 1).
WITH key_anchors AS (
    SELECT
        source_record_id,
        key_type,
        min(source_record_id) OVER (PARTITION BY key_type, key_value) AS anchor
    FROM record_keys
)
SELECT DISTINCT
    anchor AS source_record_id_l,
    source_record_id AS source_record_id_r,
    key_type AS rule,
    CAST(1 AS DOUBLE) AS match_probability
FROM key_anchors
WHERE source_record_id <> anchor
UNION ALL
SELECT
    source_record_id_l,
    source_record_id_r,
    CASE WHEN decision = 'match' THEN 'review' ELSE 'model' END AS rule,
    CASE WHEN decision = 'match' THEN 1 ELSE match_probability END AS match_probability
FROM scored_pairs
WHERE decision = 'match'
   OR (match_probability >= $match_threshold AND decision IS DISTINCT FROM 'no_match')
