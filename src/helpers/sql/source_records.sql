-- source_records: one row per customer key per source, its identifying fields as the source
-- wrote them and standardised for matching.
-- Reads: identity_rows (temporary, see identity_rows.sql).
-- Where a key's rows disagree (a web account typed differently at each checkout), the most
-- recent row that has a value wins, for each field and each standardised field (so a key's
-- last valid email is kept when its last email is not one); every email and phone a key ever
-- used is kept in record_keys for matching.
SELECT
    source,
    customer_key,
    source_record_id,
    arg_max(name, _row) FILTER (WHERE name IS NOT NULL) AS name,
    arg_max(email, _row) FILTER (WHERE email IS NOT NULL) AS email,
    arg_max(phone, _row) FILTER (WHERE phone IS NOT NULL) AS phone,
    arg_max(address, _row) FILTER (WHERE address IS NOT NULL) AS address,
    arg_max(city, _row) FILTER (WHERE city IS NOT NULL) AS city,
    arg_max(postcode, _row) FILTER (WHERE postcode IS NOT NULL) AS postcode,
    arg_max(birth_date, _row) FILTER (WHERE birth_date IS NOT NULL) AS birth_date,
    arg_max(customer_type, _row) FILTER (WHERE customer_type IS NOT NULL) AS customer_type,
    arg_max(acquisition_channel, _row) FILTER (WHERE acquisition_channel IS NOT NULL)
        AS acquisition_channel,
    arg_max(signup_date, _row) FILTER (WHERE signup_date IS NOT NULL) AS signup_date,
    arg_max(first_name_std, _row) FILTER (WHERE first_name_std IS NOT NULL) AS first_name_std,
    arg_max(last_name_std, _row) FILTER (WHERE last_name_std IS NOT NULL) AS last_name_std,
    arg_max(name_std, _row) FILTER (WHERE name_std IS NOT NULL) AS name_std,
    sorted_words(arg_max(name_std, _row) FILTER (WHERE name_std IS NOT NULL)) AS name_sorted,
    arg_max(email_std, _row) FILTER (WHERE email_std IS NOT NULL) AS email_std,
    arg_max(phone_e164, _row) FILTER (WHERE phone_e164 IS NOT NULL) AS phone_e164,
    arg_max(address_std, _row) FILTER (WHERE address_std IS NOT NULL) AS address_std,
    arg_max(city_std, _row) FILTER (WHERE city_std IS NOT NULL) AS city_std,
    arg_max(postcode_std, _row) FILTER (WHERE postcode_std IS NOT NULL) AS postcode_std,
    -- orders date a key's activity; a contact list's only date is the signup
    coalesce(max(order_date), max(signup_date)) AS last_seen,
    CAST(sum(n_rows) AS BIGINT) AS n_rows
FROM identity_rows
GROUP BY source, customer_key, source_record_id
ORDER BY source, customer_key
