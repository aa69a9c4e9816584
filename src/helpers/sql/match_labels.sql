-- match_labels (temporary): one round of label propagation over the identity edges.
-- Reads: identity_edges (temporary, see identity_edges.sql), labels (temporary:
--        source_record_id, label from the previous round).
-- Each record takes the smallest label among itself, its neighbours and its label's own
-- record (a jump along the chain, so that long chains settle in few rounds); repeated until
-- nothing changes, every connected group of records carries its smallest source_record_id.
WITH neighbour_labels AS (
    SELECT e.source_record_id_l AS source_record_id, l.label
    FROM identity_edges AS e
    JOIN labels AS l ON l.source_record_id = e.source_record_id_r
    UNION ALL
    SELECT e.source_record_id_r, l.label
    FROM identity_edges AS e
    JOIN labels AS l ON l.source_record_id = e.source_record_id_l
    UNION ALL
    SELECT own.source_record_id, jump.label
    FROM labels AS own
    JOIN labels AS jump ON jump.source_record_id = own.label
)
SELECT l.source_record_id, least(l.label, coalesce(min(n.label), l.label)) AS label
FROM labels AS l
LEFT JOIN neighbour_labels AS n USING (source_record_id)
GROUP BY l.source_record_id, l.label
