-- equity_metrics: the change in the customer base, one row per 12-month period (seed 003,
-- "measuring customer equity"). Definitions in helpers.differentiate.build_equity_metrics.
-- Reads: equity_periods (the periods, registered by the builder), transactions,
--   customer_value (first_purchase), support_contacts.
-- Parameters: $active_days (a new customer who bought this many days before the period end
--   is still there: net new).
WITH periods AS (
    SELECT CAST(period_start AS DATE) AS period_start, CAST(period_end AS DATE) AS period_end
    FROM equity_periods
),
lines AS (
    SELECT
        p.period_end,
        t.customer_id,
        t.amount,
        CASE WHEN t.amount > 0 THEN t.source || ':' || t.order_id END AS purchase_key,
        t.amount > 0 AND DATE_DIFF('day', t.order_date, p.period_end) < $active_days
            AS bought_near_end,
        -- everyone who transacts in a period first did so in it (new) or before it (existing:
        -- a customer for a year or more at the period end)
        v.first_purchase > p.period_start AS is_new
    FROM transactions AS t
    JOIN customer_value AS v ON v.customer_id = t.customer_id
    JOIN periods AS p ON t.order_date > p.period_start AND t.order_date <= p.period_end
),
buyers AS (
    SELECT
        period_end,
        customer_id,
        is_new,
        SUM(amount) AS revenue,
        COUNT(DISTINCT purchase_key) AS orders,
        MAX(CASE WHEN bought_near_end THEN 1 ELSE 0 END) AS active_at_end
    FROM lines
    GROUP BY period_end, customer_id, is_new
),
sales AS (
    SELECT
        period_end,
        COUNT(CASE WHEN is_new THEN 1 END) AS gross_new_customers,
        COUNT(CASE WHEN is_new AND active_at_end = 1 THEN 1 END) AS net_new_customers,
        COUNT(CASE WHEN NOT is_new AND orders > 0 THEN 1 END) AS active_existing_customers,
        SUM(CASE WHEN is_new THEN revenue ELSE 0 END) AS revenue_new,
        SUM(CASE WHEN NOT is_new THEN revenue ELSE 0 END) AS revenue_existing,
        CAST(SUM(CASE WHEN is_new THEN orders ELSE 0 END) AS BIGINT) AS orders_new,
        CAST(SUM(CASE WHEN NOT is_new THEN orders ELSE 0 END) AS BIGINT) AS orders_existing
    FROM buyers
    GROUP BY period_end
),
support AS (
    SELECT
        p.period_end,
        SUM(CASE WHEN v.first_purchase > p.period_start AND v.first_purchase <= p.period_end
                 THEN s.cost ELSE 0 END) AS support_cost_new,
        SUM(CASE WHEN v.first_purchase <= p.period_start THEN s.cost ELSE 0 END)
            AS support_cost_existing
    FROM support_contacts AS s
    JOIN customer_value AS v ON v.customer_id = s.customer_id
    JOIN periods AS p ON s.contact_date > p.period_start AND s.contact_date <= p.period_end
    GROUP BY p.period_end
)
SELECT
    p.period_start,
    p.period_end,
    COALESCE(a.gross_new_customers, 0) AS gross_new_customers,
    COALESCE(a.net_new_customers, 0) AS net_new_customers,
    COALESCE(a.active_existing_customers, 0) AS active_existing_customers,
    COALESCE(a.revenue_new, 0) AS revenue_new,
    COALESCE(a.revenue_existing, 0) AS revenue_existing,
    a.revenue_new / NULLIF(a.gross_new_customers, 0) AS revenue_per_new_customer,
    a.revenue_existing / NULLIF(a.active_existing_customers, 0)
        AS revenue_per_existing_customer,
    COALESCE(a.orders_new, 0) AS orders_new,
    COALESCE(a.orders_existing, 0) AS orders_existing,
    COALESCE(s.support_cost_new, 0) AS support_cost_new,
    COALESCE(s.support_cost_existing, 0) AS support_cost_existing
FROM periods AS p
LEFT JOIN sales AS a ON a.period_end = p.period_end
LEFT JOIN support AS s ON s.period_end = p.period_end
ORDER BY p.period_end
