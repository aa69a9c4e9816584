-- identity_review: the pairs a person should decide, both records side by side: scored from
-- the review threshold up to the match threshold, in two different customers, undecided.
-- Reads: match_pairs, customer_xref, source_records.
-- Parameters: $review_threshold, $match_threshold.
SELECT
    p.source_record_id_l,
    p.source_record_id_r,
    p.match_probability,
    p.match_weight,
    CAST(NULL AS VARCHAR) AS decision,
    xl.customer_id AS customer_id_l,
    xr.customer_id AS customer_id_r,
    p.blocking_rule,
    p.mw_name,
    p.mw_birth_date,
    p.mw_email,
    p.mw_phone,
    p.mw_location,
    l.name_std AS name_l,
    r.name_std AS name_r,
    l.email_std AS email_l,
    r.email_std AS email_r,
    l.phone_e164 AS phone_l,
    r.phone_e164 AS phone_r,
    l.address_std AS address_l,
    r.address_std AS address_r,
    l.postcode_std AS postcode_l,
    r.postcode_std AS postcode_r,
    l.city_std AS city_l,
    r.city_std AS city_r,
    l.birth_date AS birth_date_l,
    r.birth_date AS birth_date_r
FROM match_pairs AS p
JOIN customer_xref AS xl ON xl.source_record_id = p.source_record_id_l
JOIN customer_xref AS xr ON xr.source_record_id = p.source_record_id_r
JOIN source_records AS l ON l.source_record_id = p.source_record_id_l
JOIN source_records AS r ON r.source_record_id = p.source_record_id_r
WHERE p.decision IS NULL
  AND p.match_probability >= $review_threshold
  AND p.match_probability < $match_threshold
  AND xl.customer_id <> xr.customer_id
ORDER BY p.match_probability DESC, p.source_record_id_l, p.source_record_id_r
