-- first_purchase_days: how many customers of the calibration cohort first bought on each day
-- (not stored: the expected tracking curve sums the model's E[X(t)] over these cohorts).
-- Reads: transactions, through the macro purchase_occasions (sql/purchase_occasions.sql).
-- Parameters: $calibration_end, $as_of.
WITH firsts AS (
    SELECT customer_id, MIN(purchase_date) AS first_purchase
    FROM purchase_occasions($as_of)
    GROUP BY customer_id
)
SELECT first_purchase, COUNT(*) AS customers
FROM firsts
WHERE first_purchase <= CAST($calibration_end AS DATE)
GROUP BY first_purchase
ORDER BY first_purchase
