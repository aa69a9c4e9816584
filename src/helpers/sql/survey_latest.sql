-- survey_latest: each respondent's latest survey answer up to as_of (a temporary step of
-- helpers.differentiate.satisfaction: NPS counts customers, not answers).
-- Reads: survey_answers.
-- Parameters: $as_of (NULL: every answer in the table).
--
-- Latest: the latest response_date; of answers on one day, the last in source name, then in
-- row of its file (a fixed rule: answers on one day are rare).
SELECT customer_id,
       source,
       source_row,
       response_date,
       nps
FROM survey_answers
WHERE CAST($as_of AS DATE) IS NULL OR response_date <= CAST($as_of AS DATE)
QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id
                           ORDER BY response_date DESC, source DESC, source_row DESC) = 1
ORDER BY customer_id
