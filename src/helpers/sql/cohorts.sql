-- cohorts: acquisition-quarter cohorts followed quarter by quarter, from the quarter of
-- acquisition to the last quarter with any transaction (quiet quarters show as zero).
-- Reads: transactions, customer_value (first_purchase).
-- Parameters: $as_of.
WITH lines AS (
    SELECT
        customer_id,
        amount,
        quarter_index(order_date) AS quarter,
        quarter_label(order_date) AS period
    FROM transactions
    WHERE order_date <= $as_of
),
quarters AS (
    SELECT DISTINCT quarter, period FROM lines
),
members AS (
    SELECT
        customer_id,
        quarter_index(first_purchase) AS cohort_quarter,
        quarter_label(first_purchase) AS cohort
    FROM customer_value
),
sizes AS (
    SELECT cohort, cohort_quarter, COUNT(*) AS customers_in_cohort
    FROM members
    GROUP BY cohort, cohort_quarter
),
activity AS (
    SELECT
        m.cohort,
        l.quarter,
        COUNT(DISTINCT CASE WHEN l.amount > 0 THEN l.customer_id END) AS active_customers,
        SUM(l.amount) AS revenue
    FROM lines AS l
    JOIN members AS m ON m.customer_id = l.customer_id
    GROUP BY m.cohort, l.quarter
)
SELECT
    s.cohort,
    q.period,
    CAST(3 * (q.quarter - s.cohort_quarter) AS INTEGER) AS months_since_acquisition,
    s.customers_in_cohort,
    COALESCE(a.active_customers, 0) AS active_customers,
    COALESCE(a.revenue, 0) AS revenue,
    CAST(COALESCE(a.active_customers, 0) AS DOUBLE) / s.customers_in_cohort AS retention_rate
FROM sizes AS s
-- every quarter from acquisition on, so quiet quarters show as zero retention, not gaps
JOIN quarters AS q ON q.quarter >= s.cohort_quarter
LEFT JOIN activity AS a ON a.cohort = s.cohort AND a.quarter = q.quarter
ORDER BY s.cohort, q.period
