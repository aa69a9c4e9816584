-- prospects: one row per customer with no transaction up to as_of (a CRM contact who never
-- bought), with what is known of them: their attributes, written as sql/first_baskets.sql
-- writes them (not stored: helpers.segment.early_value scores them into early_value).
-- Reads: customers (customer_id, acquisition_channel, customer_type, city), transactions.
-- Parameters: $as_of.
SELECT
    c.customer_id,
    attribute_or_unknown(c.acquisition_channel) AS acquisition_channel,
    attribute_or_unknown(c.customer_type) AS customer_type,
    attribute_or_unknown(c.city) AS city
FROM customers AS c
WHERE NOT EXISTS (
    SELECT 1 FROM transactions AS t
    WHERE t.customer_id = c.customer_id AND t.order_date <= $as_of
)
ORDER BY c.customer_id
