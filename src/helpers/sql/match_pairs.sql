-- match_pairs: the candidate pairs the matching model scored from the review threshold up,
-- and every pair a reviewer decided (the decision overrides the model).
-- Reads: match_predictions (temporary view of the scored pairs, helpers.matching),
--        blocking_rules (temporary: rule_order, rule), review_decisions (temporary:
--        source_record_id_l < source_record_id_r, decision), source_records.
-- Parameters: $review_threshold.
WITH decided AS (
    -- a decision about a record no longer in the sources has nothing to apply to
    SELECT d.*
    FROM review_decisions AS d
    WHERE d.source_record_id_l IN (SELECT source_record_id FROM source_records)
      AND d.source_record_id_r IN (SELECT source_record_id FROM source_records)
),
scored AS (
    SELECT p.*, b.rule AS blocking_rule
    FROM match_predictions AS p
    LEFT JOIN blocking_rules AS b USING (rule_order)
    WHERE p.match_probability >= $review_threshold
       OR EXISTS (SELECT 1 FROM decided AS d
                  WHERE d.source_record_id_l = p.source_record_id_l
                    AND d.source_record_id_r = p.source_record_id_r)
)
SELECT
    source_record_id_l,
    source_record_id_r,
    s.match_probability,
    s.match_weight,
    CASE WHEN d.decision IS NULL THEN 'model' ELSE 'review' END AS decided_by,
    d.decision,
    s.blocking_rule,
    s.mw_name,
    s.mw_birth_date,
    s.mw_email,
    s.mw_phone,
    s.mw_location
FROM scored AS s
FULL JOIN decided AS d USING (source_record_id_l, source_record_id_r)
ORDER BY source_record_id_l, source_record_id_r
