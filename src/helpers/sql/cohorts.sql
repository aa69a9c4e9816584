-- cohorts: the customers acquired in each period, followed in every period from their
-- acquisition to as_of (quiet periods show as zero, not as gaps). Definitions in
-- helpers.differentiate.equity.build_cohorts.
-- Reads: report_periods (the periods, registered by the builder), transactions,
--   customer_value (first_purchase).
-- Parameters: $as_of.
WITH periods AS (
    SELECT
        CAST(period_start AS DATE) AS period_start,
        CAST(period_end AS DATE) AS period_end,
        period,
        period_index
    FROM report_periods
),
members AS (
    SELECT v.customer_id, p.period_index AS cohort_index
    FROM customer_value AS v
    JOIN periods AS p ON v.first_purchase > p.period_start AND v.first_purchase <= p.period_end
),
sizes AS (
    SELECT cohort_index, COUNT(*) AS customers_in_cohort
    FROM members
    GROUP BY cohort_index
),
day_periods AS (
    -- the period of each day with a transaction: a join on the day is much faster than a
    -- range join of every line
    SELECT d.order_date, p.period_index
    FROM (SELECT DISTINCT order_date FROM transactions WHERE order_date <= $as_of) AS d
    JOIN periods AS p ON d.order_date > p.period_start AND d.order_date <= p.period_end
),
customer_periods AS (
    SELECT
        t.customer_id,
        dp.period_index,
        SUM(t.amount) AS revenue,
        MAX(CASE WHEN t.amount > 0 THEN 1 ELSE 0 END) AS bought
    FROM transactions AS t
    JOIN day_periods AS dp ON dp.order_date = t.order_date
    GROUP BY t.customer_id, dp.period_index
),
activity AS (
    SELECT
        m.cohort_index,
        c.period_index,
        SUM(c.bought) AS active_customers,
        SUM(c.revenue) AS revenue
    FROM customer_periods AS c
    JOIN members AS m ON m.customer_id = c.customer_id
    GROUP BY m.cohort_index, c.period_index
)
SELECT
    k.period AS cohort,
    k.period_end AS cohort_end,
    o.period,
    o.period_end,
    CAST(o.period_index - s.cohort_index AS INTEGER) AS periods_since_acquisition,
    s.customers_in_cohort,
    CAST(COALESCE(a.active_customers, 0) AS BIGINT) AS active_customers,
    CAST(COALESCE(a.active_customers, 0) AS DOUBLE) / s.customers_in_cohort AS retention_rate,
    COALESCE(a.revenue, 0) AS revenue,
    COALESCE(a.revenue, 0) / s.customers_in_cohort AS revenue_per_customer
FROM sizes AS s
JOIN periods AS k ON k.period_index = s.cohort_index
-- every period from the acquisition on
JOIN periods AS o ON o.period_index >= s.cohort_index
LEFT JOIN activity AS a ON a.cohort_index = s.cohort_index AND a.period_index = o.period_index
ORDER BY cohort_end, o.period_end
