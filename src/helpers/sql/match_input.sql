-- match_input (temporary): each source record's standardised identifying fields as the
-- matching model compares them, with the parts it compares on their own and how common
-- each name is.
-- Reads: source_records.
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
        birth_date
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
       count(last_name_std) OVER ()) AS tf_last_name_std
FROM fields
ORDER BY source_record_id
