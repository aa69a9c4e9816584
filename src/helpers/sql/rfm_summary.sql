-- rfm_summary: the per-customer sufficient statistics of the BTYD models (not stored: the
-- clv builders read it).
-- Reads: transactions, through the macro purchase_occasions (sql/purchase_occasions.sql:
--        one row per customer per purchase day up to as_of, worth the day's net amount).
-- Parameters: $as_of, $days_per_unit.
--
-- 'frequency' counts repeat occasions (the first one makes the customer, it is not a repeat);
-- recency and T are in model time units (days / days_per_unit, fractional weeks as in FHL);
-- 'monetary_value' is the mean value of the repeat occasions only, 0 for one-time buyers —
-- lifetimes' 'summary_data_from_transaction_data' definition: all days' value less the first
-- day's, over the repeat days (one pass, where averaging the days after the first would need
-- each customer's first day beside each of its days). Customers with no purchase day are
-- absent.
SELECT customer_id,
       COUNT(*) - 1 AS frequency,
       CAST(DATE_DIFF('day', MIN(purchase_date), MAX(purchase_date)) AS DOUBLE)
           / $days_per_unit AS recency,
       CAST(DATE_DIFF('day', MIN(purchase_date), CAST($as_of AS DATE)) AS DOUBLE)
           / $days_per_unit AS T,
       COALESCE((SUM(day_value) - ARG_MIN(day_value, purchase_date))
                / NULLIF(COUNT(*) - 1, 0), 0.0) AS monetary_value,
       MIN(purchase_date) AS first_purchase,
       MAX(purchase_date) AS last_purchase
FROM purchase_occasions($as_of)
GROUP BY customer_id
ORDER BY customer_id
