-- campaign_days: what each followed campaign customer bought on each day of their windows
-- before and after exposure (a temporary step of helpers.differentiate.initiatives); a day
-- without a transaction has no row.
-- Reads: campaign_customers (temporary, sql/campaign_customers.sql), transactions.
--
-- day counts from the exposure date: 0 is the exposure day (a purchase on it counts after
-- exposure), -1 the day before. The windows are days -window_days … -1 (before exposure) and
-- 0 … window_days - 1 (after).
-- purchases: orders with a positive amount, each on the day of its first positive line;
-- revenue: positive amounts; net_revenue: all amounts, a return deducted on its own day.
WITH lines AS (
    SELECT c.campaign_id,
           c.customer_id,
           DATE_DIFF('day', c.exposure_date, t.order_date) AS day,
           t.source,
           t.order_id,
           t.amount
    FROM campaign_customers AS c
    JOIN transactions AS t
      ON t.customer_id = c.customer_id
     AND t.order_date >= c.exposure_date - c.window_days
     AND t.order_date < c.exposure_date + c.window_days
    WHERE c.followed
),
orders AS (
    SELECT campaign_id, customer_id, MIN(day) AS day
    FROM lines
    WHERE amount > 0
    GROUP BY campaign_id, customer_id, source, order_id
),
order_days AS (
    SELECT campaign_id, customer_id, day, COUNT(*) AS purchases
    FROM orders
    GROUP BY campaign_id, customer_id, day
),
amounts AS (
    SELECT campaign_id,
           customer_id,
           day,
           COALESCE(SUM(amount) FILTER (WHERE amount > 0), 0) AS revenue,
           SUM(amount) AS net_revenue
    FROM lines
    GROUP BY campaign_id, customer_id, day
)
SELECT a.campaign_id,
       a.customer_id,
       CAST(a.day AS INTEGER) AS day,
       COALESCE(o.purchases, 0) AS purchases,
       a.revenue,
       a.net_revenue
FROM amounts AS a
LEFT JOIN order_days AS o USING (campaign_id, customer_id, day)
ORDER BY a.campaign_id, a.customer_id, a.day
