-- purchase_tracking: the calibration cohort's repeat purchases, week by week (not stored: the
-- clv builders read it for the weekly and cumulative tracking charts).
-- Reads: transactions, through the macro purchase_occasions (sql/purchase_occasions.sql:
--        one row per customer per purchase day up to as_of).
-- Parameters: $calibration_end, $as_of, $period_days (7: weeks).
--
-- The cohort is the customers whose first purchase is on or before calibration_end. Periods
-- are period_days long, counted from the cohort's first purchase day (period 0) to the one that
-- holds as_of (possibly shorter); every period is listed, with 0 repeat purchases
-- when none fell in it. A repeat purchase is any purchase day of a customer after the first.
WITH occasions AS (
    SELECT customer_id, purchase_date FROM purchase_occasions($as_of)
),
cohort AS (
    SELECT customer_id, MIN(purchase_date) AS first_purchase
    FROM occasions
    GROUP BY customer_id
    HAVING MIN(purchase_date) <= CAST($calibration_end AS DATE)
),
start AS (
    SELECT MIN(first_purchase) AS start_date FROM cohort
),
periods AS (
    SELECT UNNEST(CAST(range(0, CAST(FLOOR(DATE_DIFF('day', start_date, CAST($as_of AS DATE))
                                           / $period_days) AS INTEGER) + 1) AS INTEGER[]))
               AS period,
           start_date
    FROM start
    WHERE start_date IS NOT NULL
),
repeats AS (
    SELECT CAST(FLOOR(DATE_DIFF('day', s.start_date, o.purchase_date) / $period_days)
                AS INTEGER) AS period,
           COUNT(*) AS repeat_purchases
    FROM occasions AS o
    JOIN cohort AS c ON c.customer_id = o.customer_id AND o.purchase_date > c.first_purchase
    CROSS JOIN start AS s
    GROUP BY 1
)
SELECT p.period,
       CAST(p.start_date + $period_days * p.period AS DATE) AS period_start,
       COALESCE(r.repeat_purchases, 0) AS repeat_purchases
FROM periods AS p
LEFT JOIN repeats AS r USING (period)
ORDER BY p.period
