-- source_records: one row per customer key per source, with its normalised matching keys.
-- Reads: identity_rows (temporary, see identity_rows.sql).
-- Where a key's rows disagree (a web account typed differently at each checkout), the most
-- recent row that has a value wins; every key ever used is kept in record_keys for matching.
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
    arg_max(customer_type, _row) FILTER (WHERE customer_type IS NOT NULL) AS customer_type,
    arg_max(acquisition_channel, _row) FILTER (WHERE acquisition_channel IS NOT NULL)
        AS acquisition_channel,
    arg_max(signup_date, _row) FILTER (WHERE signup_date IS NOT NULL) AS signup_date,
    arg_max(email_norm, _row) FILTER (WHERE email_norm IS NOT NULL) AS email_norm,
    arg_max(phone_norm, _row) FILTER (WHERE phone_norm IS NOT NULL) AS phone_norm,
    count(*) AS n_rows
FROM identity_rows
GROUP BY source, customer_key, source_record_id
ORDER BY source, customer_key
