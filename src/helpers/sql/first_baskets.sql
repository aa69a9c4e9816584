-- first_baskets: one row per customer with a purchase up to as_of: what was known when they
-- were acquired, and what their first year turned out to be worth. A purchase line has a
-- positive amount, or amount 0 (such lines reach transactions only from a source whose free
-- items are real purchases, zero_amount_lines: keep); a return is none.
-- Known at acquisition: the golden record's acquisition_channel, customer_type and city
-- (trimmed, lower-case, 'unknown' when missing, as customer_value writes the channel) and
-- the first basket, every purchase line of the first purchase day in any source.
-- Realised: first_year_value, the gross spend (purchase lines; returns are not netted) of the
-- days 1 .. $year_days after the first purchase day, the first day itself left out: it is
-- the basket, a feature. So it counts repeat purchases times their spend, as the demo's
-- truth (acquisition.expected_first_year_spend) does. NULL while the year is not over
-- (days_observed < $year_days).
-- Reads: transactions, customers (acquisition_channel, customer_type, city).
-- Parameters: $as_of, $year_days (the length of the first year, 365).
WITH purchases AS (
    SELECT customer_id, source, order_date, amount, quantity, category
    FROM transactions
    WHERE amount >= 0 AND order_date <= $as_of
),
firsts AS (
    SELECT
        customer_id,
        MIN(order_date) AS first_purchase,
        COUNT(DISTINCT order_date) AS n_purchase_days
    FROM purchases
    GROUP BY customer_id
),
basket_lines AS (
    SELECT p.*
    FROM purchases AS p
    JOIN firsts AS f ON f.customer_id = p.customer_id AND p.order_date = f.first_purchase
),
baskets AS (
    SELECT
        customer_id,
        SUM(amount) AS first_basket_value,
        COUNT(*) AS first_basket_lines,
        -- a line without quantity is one unit
        SUM(COALESCE(quantity, 1)) AS first_basket_units,
        -- NULL, not 0, when no line has a category (no product catalogue)
        NULLIF(COUNT(DISTINCT category), 0) AS first_basket_categories,
        -- a customer who bought in two places on the first day has both: 'store,webshop'
        array_to_string(list_sort(list_distinct(list(source))), ',') AS first_source
    FROM basket_lines
    GROUP BY customer_id
),
category_spend AS (
    SELECT
        customer_id,
        category,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY SUM(amount) DESC, category)
            AS spend_rank
    FROM basket_lines
    WHERE category IS NOT NULL
    GROUP BY customer_id, category
),
first_years AS (
    SELECT
        p.customer_id,
        SUM(p.amount) AS repeat_spend,
        COUNT(DISTINCT p.order_date) AS repeat_days
    FROM purchases AS p
    JOIN firsts AS f ON f.customer_id = p.customer_id
    WHERE p.order_date > f.first_purchase
      AND p.order_date <= f.first_purchase + CAST($year_days AS INTEGER)
    GROUP BY p.customer_id
)
SELECT
    f.customer_id,
    f.first_purchase,
    attribute_or_unknown(c.acquisition_channel) AS acquisition_channel,
    attribute_or_unknown(c.customer_type) AS customer_type,
    attribute_or_unknown(c.city) AS city,
    b.first_source,
    b.first_basket_value,
    b.first_basket_lines,
    b.first_basket_units,
    b.first_basket_categories,
    -- the category the first basket spent most on (ties: the first by name)
    s.category AS first_category,
    DATE_DIFF('day', f.first_purchase, $as_of) AS days_observed,
    f.n_purchase_days,
    CASE WHEN DATE_DIFF('day', f.first_purchase, $as_of) >= $year_days
         THEN COALESCE(y.repeat_spend, 0) END AS first_year_value,
    CASE WHEN DATE_DIFF('day', f.first_purchase, $as_of) >= $year_days
         THEN COALESCE(y.repeat_days, 0) END AS first_year_purchase_days
FROM firsts AS f
JOIN baskets AS b ON b.customer_id = f.customer_id
LEFT JOIN category_spend AS s ON s.customer_id = f.customer_id AND s.spend_rank = 1
LEFT JOIN first_years AS y ON y.customer_id = f.customer_id
LEFT JOIN customers AS c ON c.customer_id = f.customer_id
ORDER BY f.customer_id
