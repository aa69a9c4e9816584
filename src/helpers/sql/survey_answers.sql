-- survey_answers: every survey answer whose customer key the linked source knows.
-- Reads: staged_survey (temporary union of the staged survey sources: source, _row,
--        customer_key, response_date, nps, comment), source_links (temporary: the source
--        whose keys each source's rows carry, and its rank in the config), customer_xref.
-- Answers with an unknown key are set aside by unlinked_rows.sql.
SELECT
    x.customer_id,
    s.source,
    s._row AS source_row,
    s.response_date,
    CAST(s.nps AS INTEGER) AS nps,
    s.comment
FROM staged_survey AS s
JOIN source_links AS k USING (source)
JOIN customer_xref AS x ON x.source = k.key_source AND x.customer_key = s.customer_key
ORDER BY k.source_rank, s._row
