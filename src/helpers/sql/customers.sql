-- customers: one golden record per customer.
-- Reads: customer_xref, source_records, source_priority (temporary: each source's rank, 0 for
--        the first source in the config).
-- Survivorship: each field comes from the most preferred record that has it: the source
-- listed first in the config, then the record seen on most rows, then the smallest record id
-- (so that the choice never depends on row order).
WITH ranked AS (
    SELECT
        x.customer_id,
        r.*,
        row_number() OVER (
            PARTITION BY x.customer_id
            ORDER BY p.priority, r.n_rows DESC, r.source_record_id
        ) AS preference
    FROM customer_xref AS x
    JOIN source_records AS r USING (source_record_id)
    JOIN source_priority AS p ON p.source = r.source
)
SELECT
    customer_id,
    arg_min(name, preference) FILTER (WHERE name IS NOT NULL) AS name,
    arg_min(email, preference) FILTER (WHERE email IS NOT NULL) AS email,
    arg_min(phone, preference) FILTER (WHERE phone IS NOT NULL) AS phone,
    arg_min(address, preference) FILTER (WHERE address IS NOT NULL) AS address,
    arg_min(city, preference) FILTER (WHERE city IS NOT NULL) AS city,
    arg_min(postcode, preference) FILTER (WHERE postcode IS NOT NULL) AS postcode,
    arg_min(customer_type, preference) FILTER (WHERE customer_type IS NOT NULL) AS customer_type,
    arg_min(acquisition_channel, preference) FILTER (WHERE acquisition_channel IS NOT NULL)
        AS acquisition_channel,
    arg_min(signup_date, preference) FILTER (WHERE signup_date IS NOT NULL) AS signup_date,
    string_agg(DISTINCT source, ',' ORDER BY source) AS sources,
    count(*) AS n_source_records
FROM ranked
GROUP BY customer_id
ORDER BY customer_id
