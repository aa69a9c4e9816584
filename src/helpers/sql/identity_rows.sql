-- identity_rows (temporary): the identifying fields a customer key was written with, as
-- written and standardised (NULL when absent or not valid). One row per distinct set of
-- values per key (an account typing the same name on 40 order lines is standardised once) of
-- a customers or transactions source that is not linked_to another source (the rows of such
-- a source carry that source's keys, and are linked through them, not matched).
-- Reads: staged_identities, the temporary union of those sources' stage_<source> tables
--        (built per source by helpers.identify; a role a source lacks is NULL), and the SQL
--        function phone_e164(raw, region) that helpers.standardise lends the connection.
-- Parameters: $linked_sources (names of the sources linked_to another), $region
--        (identity.default_region: the country of phones written without their country code).
WITH staged AS (
    SELECT
        source, customer_key, name, first_name, last_name, email, phone, address, city,
        postcode, birth_date, customer_type, acquisition_channel, signup_date,
        phone_key(phone) AS phone_key,
        max(_row) AS _row,             -- the last row with these values
        max(order_date) AS order_date,
        count(*) AS n_rows
    FROM staged_identities
    WHERE NOT list_contains(CAST($linked_sources AS VARCHAR[]), source)
    GROUP BY source, customer_key, name, first_name, last_name, email, phone, address, city,
        postcode, birth_date, customer_type, acquisition_channel, signup_date
),
phones AS (
    -- the phonenumbers function is Python: it runs once per distinct number, not per row
    SELECT phone_key, phone_e164(phone_key, $region) AS phone_e164
    FROM (SELECT DISTINCT phone_key FROM staged WHERE phone_key IS NOT NULL)
),
named AS (
    SELECT
        *,
        -- a name split into first and last name is joined
        coalesce(name, nullif(trim(concat_ws(' ', first_name, last_name)), '')) AS full_name
    FROM staged
),
standardised AS (
    SELECT *, normalise_name(full_name) AS name_std
    FROM named
)
SELECT
    s.source,
    s.customer_key,
    s._row,
    s.source || ':' || s.customer_key AS source_record_id,
    s.full_name AS name,
    s.email,
    s.phone,
    s.address,
    s.city,
    s.postcode,
    s.birth_date,
    s.customer_type,
    s.acquisition_channel,
    s.signup_date,
    s.order_date,
    s.n_rows,
    -- first and last name from their own roles; from a name alone, its first word and the
    -- rest (in the order the source writes names: name_sorted does not depend on it)
    CASE WHEN s.first_name IS NOT NULL OR s.last_name IS NOT NULL
             THEN normalise_name(s.first_name)
         ELSE split_part(s.name_std, ' ', 1) END AS first_name_std,
    CASE WHEN s.first_name IS NOT NULL OR s.last_name IS NOT NULL
             THEN normalise_name(s.last_name)
         WHEN strpos(s.name_std, ' ') > 0 THEN substr(s.name_std, strpos(s.name_std, ' ') + 1)
    END AS last_name_std,
    s.name_std,
    normalise_email(s.email) AS email_std,
    p.phone_e164,
    normalise_address(s.address) AS address_std,
    normalise_words(s.city) AS city_std,
    normalise_postcode(s.postcode) AS postcode_std
FROM standardised AS s
LEFT JOIN phones AS p USING (phone_key)
