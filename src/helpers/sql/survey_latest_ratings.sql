-- survey_latest_ratings: the driver ratings of each respondent's latest answer, one row per
-- respondent and driver they rated (not stored: helpers.differentiate.satisfaction reads it).
-- Reads: survey_latest (temporary, sql/survey_latest.sql), survey_ratings.
SELECT l.customer_id,
       l.nps,
       r.driver,
       r.rating
FROM survey_latest AS l
JOIN survey_ratings AS r
  ON r.customer_id = l.customer_id AND r.source = l.source AND r.source_row = l.source_row
ORDER BY l.customer_id, r.driver
