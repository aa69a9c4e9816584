-- purchase_history: for a few chosen customers, one row per calendar day from their first
-- purchase to as_of, with the BTYD statistics as they stood at the end of that day (not
-- stored: helpers.clv.history turns it into the probability-alive history).
-- Reads: purchase_occasions($as_of), the table macro of sql/purchase_occasions.sql: one row
--        per customer per purchase day up to as_of, the occasions rfm_summary counts.
-- Parameters: $as_of, $days_per_unit, $customer_ids (a list of customer ids).
--
-- On each day: 'frequency' = occasions so far minus the first, 'recency' = first to latest
-- occasion so far and 't' = first occasion to this day, both in model time units — so the
-- last row of a customer equals its rfm_summary row (frequency, recency, T). 'purchase'
-- flags the days with an occasion.
WITH purchase_days AS (
    SELECT customer_id, purchase_date
    FROM purchase_occasions($as_of)
    WHERE list_contains($customer_ids, customer_id)
),
first_purchases AS (
    SELECT customer_id, MIN(purchase_date) AS first_purchase
    FROM purchase_days
    GROUP BY customer_id
),
calendar AS (
    SELECT customer_id, first_purchase,
           UNNEST(CAST(generate_series(first_purchase, CAST($as_of AS DATE), INTERVAL 1 DAY)
                       AS DATE[])) AS day
    FROM first_purchases
),
marked AS (
    SELECT calendar.customer_id, calendar.first_purchase, calendar.day,
           purchase_days.purchase_date IS NOT NULL AS purchase
    FROM calendar
    LEFT JOIN purchase_days
           ON purchase_days.customer_id = calendar.customer_id
          AND purchase_days.purchase_date = calendar.day
)
SELECT customer_id,
       day AS date,
       CAST(DATE_DIFF('day', first_purchase, day) AS DOUBLE) / $days_per_unit AS t,
       SUM(CASE WHEN purchase THEN 1 ELSE 0 END) OVER so_far - 1 AS frequency,
       CAST(DATE_DIFF('day', first_purchase,
                      MAX(CASE WHEN purchase THEN day END) OVER so_far) AS DOUBLE)
           / $days_per_unit AS recency,
       purchase
FROM marked
WINDOW so_far AS (PARTITION BY customer_id ORDER BY day
                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
ORDER BY customer_id, date
