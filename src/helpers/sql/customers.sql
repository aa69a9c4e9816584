-- customers: one golden record per customer, each field with the source that gave it.
-- Reads: customer_xref, source_records, source_priority (temporary: each source's rank, 0 for
--        the first source in the config).
-- Survivorship: each field comes from the most preferred record that has it: the source
-- listed first in the config, then the record seen most recently (last_seen), then the most
-- complete (most rows, then fewest empty fields), then the smallest record id, so that the
-- choice never depends on row order.
WITH ranked AS (
    SELECT
        x.customer_id,
        r.*,
        row_number() OVER (
            PARTITION BY x.customer_id
            ORDER BY
                p.priority,
                r.last_seen DESC NULLS LAST,
                r.n_rows DESC,
                (r.name IS NULL)::INTEGER + (r.email IS NULL)::INTEGER
                    + (r.phone IS NULL)::INTEGER + (r.address IS NULL)::INTEGER
                    + (r.city IS NULL)::INTEGER + (r.postcode IS NULL)::INTEGER
                    + (r.birth_date IS NULL)::INTEGER + (r.customer_type IS NULL)::INTEGER
                    + (r.acquisition_channel IS NULL)::INTEGER
                    + (r.signup_date IS NULL)::INTEGER,
                r.source_record_id
        ) AS preference
    FROM customer_xref AS x
    JOIN source_records AS r USING (source_record_id)
    JOIN source_priority AS p ON p.source = r.source
)
SELECT
    customer_id,
    arg_min(name, preference) FILTER (WHERE name IS NOT NULL) AS name,
    arg_min(source, preference) FILTER (WHERE name IS NOT NULL) AS name_source,
    arg_min(email, preference) FILTER (WHERE email IS NOT NULL) AS email,
    arg_min(source, preference) FILTER (WHERE email IS NOT NULL) AS email_source,
    arg_min(phone, preference) FILTER (WHERE phone IS NOT NULL) AS phone,
    arg_min(source, preference) FILTER (WHERE phone IS NOT NULL) AS phone_source,
    arg_min(address, preference) FILTER (WHERE address IS NOT NULL) AS address,
    arg_min(source, preference) FILTER (WHERE address IS NOT NULL) AS address_source,
    arg_min(city, preference) FILTER (WHERE city IS NOT NULL) AS city,
    arg_min(source, preference) FILTER (WHERE city IS NOT NULL) AS city_source,
    arg_min(postcode, preference) FILTER (WHERE postcode IS NOT NULL) AS postcode,
    arg_min(source, preference) FILTER (WHERE postcode IS NOT NULL) AS postcode_source,
    arg_min(birth_date, preference) FILTER (WHERE birth_date IS NOT NULL) AS birth_date,
    arg_min(source, preference) FILTER (WHERE birth_date IS NOT NULL) AS birth_date_source,
    arg_min(customer_type, preference) FILTER (WHERE customer_type IS NOT NULL) AS customer_type,
    arg_min(source, preference) FILTER (WHERE customer_type IS NOT NULL) AS customer_type_source,
    arg_min(acquisition_channel, preference) FILTER (WHERE acquisition_channel IS NOT NULL)
        AS acquisition_channel,
    arg_min(source, preference) FILTER (WHERE acquisition_channel IS NOT NULL)
        AS acquisition_channel_source,
    arg_min(signup_date, preference) FILTER (WHERE signup_date IS NOT NULL) AS signup_date,
    arg_min(source, preference) FILTER (WHERE signup_date IS NOT NULL) AS signup_date_source,
    string_agg(DISTINCT source, ',' ORDER BY source) AS sources,
    count(*) AS n_source_records
FROM ranked
GROUP BY customer_id
ORDER BY customer_id
