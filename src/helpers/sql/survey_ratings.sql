-- survey_ratings: one row per driver rating of a survey answer in survey_answers; a driver
-- the respondent left empty has no row.
-- Reads: staged_ratings (temporary: source, _row, customer_key, driver, driver_rank (its
--        place in the source's drivers), rating; one row per non-empty rating),
--        source_links (temporary: key source and rank of each source), customer_xref.
-- The ratings of an answer with an unknown key are set aside with it (unlinked_rows.sql).
SELECT
    x.customer_id,
    s.source,
    s._row AS source_row,
    s.driver,
    s.rating
FROM staged_ratings AS s
JOIN source_links AS k USING (source)
JOIN customer_xref AS x ON x.source = k.key_source AND x.customer_key = s.customer_key
ORDER BY k.source_rank, s._row, s.driver_rank
