-- prospects: one row per customer with no transaction up to as_of (a CRM contact who never
-- bought), with what is known of them: their attributes, written as sql/first_baskets.sql
-- writes them (not stored: helpers.segment.early_value scores them into early_value).
-- Reads: customers (customer_id, acquisition_channel, customer_type, city), transactions.
-- Parameters: $as_of.
SELECT
    c.customer_id,
    COALESCE(NULLIF(lower(trim(c.acquisition_channel)), ''), 'unknown') AS acquisition_channel,
    COALESCE(NULLIF(lower(trim(c.customer_type)), ''), 'unknown') AS customer_type,
    COALESCE(NULLIF(lower(trim(c.city)), ''), 'unknown') AS city
FROM customers AS c
WHERE NOT EXISTS (
    SELECT 1 FROM transactions AS t
    WHERE t.customer_id = c.customer_id AND t.order_date <= $as_of
)
ORDER BY c.customer_id
