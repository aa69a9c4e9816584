-- customer_categories: one row per customer and product category they bought (a positive
-- line up to as_of): what they bought of it, and at what prices. Cross-sell, up-sell and the
-- behavioural clusters' category mix read it. Lines without a category (no catalogue, or a
-- product missing from it) are left out.
-- Reads: transactions.
-- Parameters: $as_of, $gross_margin_rate (lines without a catalogue cost).
WITH lines AS (
    SELECT
        customer_id,
        category,
        order_date,
        amount,
        quantity,
        amount - COALESCE(cost, amount * (1 - $gross_margin_rate)) AS margin,
        -- order ids are unique within a source only
        CASE WHEN amount > 0 THEN source || ':' || order_id END AS purchase_key
    FROM transactions
    WHERE order_date <= $as_of AND category IS NOT NULL
)
SELECT
    customer_id,
    category,
    COUNT(DISTINCT purchase_key) AS orders,
    SUM(CASE WHEN amount > 0 THEN COALESCE(quantity, 1) ELSE 0 END) AS units,
    SUM(amount) AS net_revenue,
    SUM(margin) AS gross_margin,
    -- what the customer pays for one unit of the category (positive lines only)
    SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END)
        / SUM(CASE WHEN amount > 0 THEN COALESCE(quantity, 1) ELSE 0 END) AS mean_unit_price,
    MIN(CASE WHEN amount > 0 THEN order_date END) AS first_purchase,
    MAX(CASE WHEN amount > 0 THEN order_date END) AS last_purchase
FROM lines
GROUP BY customer_id, category
-- a category only returned was not bought within the data
HAVING COUNT(purchase_key) > 0
ORDER BY customer_id, category
