-- match_evaluation (one row, not a table): the customers of customer_xref measured against
-- the true people of a truth file, pair by pair (helpers.matching.evaluate).
-- Reads: customer_xref, truth_records (temporary: source, source_key, person_id),
--        source_records, record_keys, identity_review.
WITH measured AS (
    SELECT x.source_record_id, x.customer_id, t.person_id
    FROM customer_xref AS x
    JOIN truth_records AS t ON t.source = x.source AND t.source_key = x.customer_key
),
pair_counts AS (
    SELECT
        (SELECT sum(n * (n - 1) // 2) FROM (
            SELECT count(*) AS n FROM measured GROUP BY person_id)) AS true_pairs,
        (SELECT sum(n * (n - 1) // 2) FROM (
            SELECT count(*) AS n FROM measured GROUP BY customer_id)) AS linked_pairs,
        (SELECT sum(n * (n - 1) // 2) FROM (
            SELECT count(*) AS n FROM measured GROUP BY customer_id, person_id))
            AS correct_pairs
),
true_pairs AS (
    SELECT l.source_record_id AS id_l, r.source_record_id AS id_r,
           l.customer_id = r.customer_id AS linked
    FROM measured AS l
    JOIN measured AS r ON l.person_id = r.person_id AND l.source_record_id < r.source_record_id
),
name_only AS (
    -- both records have a name, and no other field is on both of them
    SELECT p.*
    FROM true_pairs AS p
    JOIN source_records AS l ON l.source_record_id = p.id_l
    JOIN source_records AS r ON r.source_record_id = p.id_r
    WHERE l.name_sorted IS NOT NULL AND r.name_sorted IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM record_keys AS kl JOIN record_keys AS kr
                      USING (key_type, key_value)
                      WHERE kl.source_record_id = p.id_l AND kr.source_record_id = p.id_r)
      AND (l.email_std IS NULL OR r.email_std IS NULL)
      AND (l.phone_e164 IS NULL OR r.phone_e164 IS NULL)
      AND (l.address_std IS NULL OR r.address_std IS NULL)
      AND (l.postcode_std IS NULL OR r.postcode_std IS NULL)
      AND (l.city_std IS NULL OR r.city_std IS NULL)
      AND (l.birth_date IS NULL OR r.birth_date IS NULL)
)
SELECT
    (SELECT count(*) FROM measured) AS records,
    (SELECT count(*) FROM customer_xref) - (SELECT count(*) FROM measured)
        AS records_without_truth,
    c.true_pairs,
    c.linked_pairs,
    c.correct_pairs,
    c.correct_pairs / nullif(c.linked_pairs, 0) AS precision,
    c.correct_pairs / nullif(c.true_pairs, 0) AS recall,
    2 * c.correct_pairs / nullif(c.linked_pairs + c.true_pairs, 0) AS f1,
    (SELECT count(*) FROM (SELECT customer_id FROM measured GROUP BY customer_id
                           HAVING count(DISTINCT person_id) > 1)) AS over_merged_customers,
    (SELECT count(*) FROM (SELECT person_id FROM measured GROUP BY person_id
                           HAVING count(DISTINCT customer_id) > 1)) AS split_people,
    (SELECT count(*) FROM name_only) AS name_only_true_pairs,
    (SELECT count(*) FROM name_only WHERE linked) AS name_only_linked,
    (SELECT count(*) FROM name_only AS n JOIN identity_review AS v
        ON v.source_record_id_l = n.id_l AND v.source_record_id_r = n.id_r)
        AS name_only_in_review
FROM pair_counts AS c
