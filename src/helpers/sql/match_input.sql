-- match_input (temporary): each source record's standardised identifying fields as the
-- matching model compares them, with the parts it compares on their own, how common each
-- name is, and the keys the broad blocking rules pair records on.
-- Reads: source_records.
-- Parameters: $max_block (identity.max_block_records).
WITH fields AS (
    SELECT
        source_record_id,
        first_name_std,
        last_name_std,
        name_sorted,
        email_std,
        -- the user name and the domain: 'mario.rossi@libero.it' -> 'mario.rossi', 'libero.it'
        nullif(split_part(email_std, '@', 1), '') AS email_user,
        nullif(split_part(email_std, '@', 2), '') AS email_domain,
        phone_e164,
        -- the subscriber's digits: one number read with another country or trunk prefix
        right(phone_e164, 8) AS phone_tail,
        address_std,
        -- the first number of an address, most often the house number, and the rest
        nullif(regexp_extract(address_std, '[0-9]+'), '') AS house_number,
        nullif(trim(regexp_replace(address_std, '\s*[0-9]+\s*', ' ', 'g')), '') AS street,
        city_std,
        postcode_std,
        birth_date,
        left(first_name_std, 1) AS first_initial,
        left(last_name_std, 1) AS last_initial
    FROM source_records
)
SELECT
    *,
    -- Term frequencies: the share of the other records with the same name (splink's tf_
    -- columns, which it uses when the input has them). The record itself is left out: a
    -- name on the two records of one person only is rarer than a name on many records.
    term_frequency(name_sorted, count(*) OVER (PARTITION BY name_sorted), count(name_sorted) OVER ())
        AS tf_name_sorted,
    term_frequency(first_name_std, count(*) OVER (PARTITION BY first_name_std),
       count(first_name_std) OVER ()) AS tf_first_name_std,
    term_frequency(last_name_std, count(*) OVER (PARTITION BY last_name_std),
       count(last_name_std) OVER ()) AS tf_last_name_std,
    -- The keys the broad blocking rules pair records on. A key value shared by more than
    -- $max_block records (a common name, a big postcode) proposes pairs by the square of its
    -- records and says little about who is who: it is NULL (no pair), and those records are
    -- paired by their other rules only. This keeps the candidate pairs linear in the records.
    -- A key with a missing part is NULL, as the part's comparison would be.
    CASE WHEN count(*) OVER (PARTITION BY name_sorted) <= $max_block THEN name_sorted END
        AS name_block,
    CASE WHEN count(*) OVER (PARTITION BY birth_date) <= $max_block THEN birth_date END
        AS birth_date_block,
    CASE WHEN count(*) OVER (PARTITION BY address_std) <= $max_block THEN address_std END
        AS address_block,
    CASE WHEN count(*) OVER (PARTITION BY email_user) <= $max_block THEN email_user END
        AS email_user_block,
    CASE WHEN count(*) OVER (PARTITION BY phone_tail) <= $max_block THEN phone_tail END
        AS phone_tail_block,
    CASE WHEN last_name_std IS NOT NULL AND postcode_std IS NOT NULL
              AND first_initial IS NOT NULL
              AND count(*) OVER (PARTITION BY last_name_std, postcode_std, first_initial)
                  <= $max_block
         THEN [last_name_std, postcode_std, first_initial] END AS last_name_postcode_block,
    CASE WHEN first_name_std IS NOT NULL AND postcode_std IS NOT NULL
              AND last_initial IS NOT NULL
              AND count(*) OVER (PARTITION BY first_name_std, postcode_std, last_initial)
                  <= $max_block
         THEN [first_name_std, postcode_std, last_initial] END AS first_name_postcode_block,
    CASE WHEN postcode_std IS NOT NULL AND house_number IS NOT NULL AND last_initial IS NOT NULL
              AND count(*) OVER (PARTITION BY postcode_std, house_number, last_initial)
                  <= $max_block
         THEN [postcode_std, house_number, last_initial] END AS house_block,
    CASE WHEN postcode_std IS NOT NULL AND street IS NOT NULL AND last_initial IS NOT NULL
              AND count(*) OVER (PARTITION BY postcode_std, street, last_initial) <= $max_block
         THEN [postcode_std, street, last_initial] END AS street_block
FROM fields
ORDER BY source_record_id
