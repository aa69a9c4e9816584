-- rfm_summary: the per-customer sufficient statistics of the BTYD models (not stored: the
-- clv builders read it).
-- Reads: transactions.
-- Parameters: $as_of, $days_per_unit.
--
-- Fader-Hardie convention: one purchase occasion per customer per calendar day, worth the day's
-- net amount, so same-day orders merge and a return nets out against that day's purchases; a
-- day whose net is not positive is no purchase. Only days on or before as_of. 'frequency'
-- counts repeat occasions (the first one makes the customer, it is not a repeat); recency and T
-- are in model time units (days / days_per_unit, fractional weeks as in FHL); 'monetary_value'
-- is the mean value of the repeat occasions only, 0 for one-time buyers — lifetimes'
-- 'summary_data_from_transaction_data' definition. Customers with no positive day are absent.
WITH purchase_days AS (
    SELECT customer_id,
           CAST(order_date AS DATE) AS purchase_date,
           SUM(amount) AS day_value
    FROM transactions
    WHERE CAST(order_date AS DATE) <= CAST($as_of AS DATE)
    GROUP BY customer_id, CAST(order_date AS DATE)
    HAVING SUM(amount) > 0
),
with_first AS (
    SELECT customer_id, purchase_date, day_value,
           MIN(purchase_date) OVER (PARTITION BY customer_id) AS first_purchase
    FROM purchase_days
)
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       CAST(DATE_DIFF('day', MIN(purchase_date), MAX(purchase_date)) AS DOUBLE)
           / $days_per_unit AS recency,
       CAST(DATE_DIFF('day', MIN(purchase_date), CAST($as_of AS DATE)) AS DOUBLE)
           / $days_per_unit AS T,
       COALESCE(AVG(CASE WHEN purchase_date > first_purchase THEN day_value END), 0.0)
           AS monetary_value,
       MIN(purchase_date) AS first_purchase,
       MAX(purchase_date) AS last_purchase
FROM with_first
GROUP BY customer_id
ORDER BY customer_id
