-- match_labels (temporary): one round of label propagation over shared keys.
-- Reads: record_keys, labels (temporary: source_record_id, label from the previous round).
-- Each record takes the smallest label among all records sharing an email or phone with it;
-- repeated until nothing changes, every connected group of records carries one label.
WITH key_labels AS (
    SELECT k.key_type, k.key_value, min(l.label) AS label
    FROM record_keys AS k
    JOIN labels AS l USING (source_record_id)
    GROUP BY k.key_type, k.key_value
)
SELECT l.source_record_id, least(l.label, coalesce(min(kl.label), l.label)) AS label
FROM labels AS l
LEFT JOIN record_keys AS k USING (source_record_id)
LEFT JOIN key_labels AS kl ON kl.key_type = k.key_type AND kl.key_value = k.key_value
GROUP BY l.source_record_id, l.label
