-- equity_metrics: the change in the customer base, one row per period and segment (seed 003,
-- "measuring customer equity"). Definitions in
-- helpers.differentiate.equity.build_equity_metrics.
-- Reads: report_periods (the periods, registered by the builder), customer_value
--   (first_purchase, acquisition_cost, rfm_segment), acquisition_costs (month, unallocated),
--   customers (acquisition_channel, customer_type), transactions, support_contacts.
-- Parameters: $as_of; $segment_by ('acquisition_channel', 'customer_type', 'rfm_segment' or
--   'none'); $net_new_days (a new customer who bought in the period's last this many days is
--   net new); $active_days (bought in the period or in this many days up to its end: active;
--   first transaction on or before its start and this many days before its end: existing);
--   $cost_per_order; $cost_per_day (cost_per_customer_per_year / 365).
WITH periods AS (
    SELECT
        CAST(period_start AS DATE) AS period_start,
        CAST(period_end AS DATE) AS period_end,
        period,
        -- the day a customer's first transaction must be on or before to be existing
        LEAST(CAST(period_start AS DATE),
              CAST(period_end AS DATE) - CAST($active_days AS INTEGER)) AS existing_by
    FROM report_periods
),
members AS (
    -- every customer on file, the period that acquired them and their segment
    SELECT
        v.customer_id,
        v.first_purchase,
        v.acquisition_cost,
        p.period_end AS acquired_in,
        COALESCE(CASE $segment_by
                     WHEN 'acquisition_channel' THEN NULLIF(lower(trim(c.acquisition_channel)), '')
                     WHEN 'customer_type' THEN NULLIF(lower(trim(c.customer_type)), '')
                     WHEN 'rfm_segment' THEN v.rfm_segment
                 END, 'unknown') AS segment
    FROM customer_value AS v
    LEFT JOIN customers AS c ON c.customer_id = v.customer_id
    JOIN periods AS p ON v.first_purchase > p.period_start AND v.first_purchase <= p.period_end
),
groups AS (
    -- each customer counts in 'All' and in their segment
    SELECT customer_id, 'All' AS segment FROM members
    UNION ALL
    SELECT customer_id, segment FROM members WHERE $segment_by <> 'none'
),
grid AS (
    SELECT p.period_start, p.period_end, p.period, p.existing_by, s.segment
    FROM periods AS p
    CROSS JOIN (SELECT DISTINCT segment FROM groups) AS s
),
day_periods AS (
    -- the period of each day with a transaction: a join on the day is much faster than a
    -- range join of every line
    SELECT d.order_date, p.period_end
    FROM (SELECT DISTINCT order_date FROM transactions WHERE order_date <= $as_of) AS d
    JOIN periods AS p ON d.order_date > p.period_start AND d.order_date <= p.period_end
),
customer_sales AS (
    -- one row per customer and period with a transaction
    SELECT
        dp.period_end,
        t.customer_id,
        SUM(t.amount) AS revenue,
        -- order ids are unique within a source only
        COUNT(DISTINCT CASE WHEN t.amount > 0 THEN t.source || ':' || t.order_id END) AS orders,
        MAX(CASE WHEN t.amount > 0 THEN t.order_date END) AS last_bought
    FROM transactions AS t
    JOIN day_periods AS dp ON dp.order_date = t.order_date
    GROUP BY dp.period_end, t.customer_id
),
sales AS (
    SELECT
        g.segment,
        s.period_end,
        COUNT(CASE WHEN m.acquired_in = s.period_end
                        AND DATE_DIFF('day', s.last_bought, s.period_end) < $net_new_days
                   THEN 1 END) AS net_new_customers,
        SUM(s.revenue) AS revenue,
        SUM(CASE WHEN m.acquired_in = s.period_end THEN s.revenue ELSE 0 END) AS revenue_new,
        SUM(CASE WHEN m.first_purchase <= p.existing_by THEN s.revenue ELSE 0 END)
            AS revenue_existing,
        SUM(s.orders) AS orders,
        SUM(CASE WHEN m.acquired_in = s.period_end THEN s.orders ELSE 0 END) AS orders_new,
        SUM(CASE WHEN m.first_purchase <= p.existing_by THEN s.orders ELSE 0 END)
            AS orders_existing
    FROM customer_sales AS s
    JOIN members AS m ON m.customer_id = s.customer_id
    JOIN groups AS g ON g.customer_id = s.customer_id
    JOIN periods AS p ON p.period_end = s.period_end
    GROUP BY g.segment, s.period_end
),
purchase_days AS (
    -- a purchase keeps its customer active until active_days later, and at least to the end
    -- of its period (active_until is the first day it no longer does)
    SELECT
        b.customer_id,
        b.order_date,
        GREATEST(b.order_date + CAST($active_days AS INTEGER), dp.period_end + 1) AS keeps_until
    FROM (SELECT DISTINCT customer_id, order_date FROM transactions
          WHERE amount > 0 AND order_date <= $as_of) AS b
    JOIN day_periods AS dp ON dp.order_date = b.order_date
),
spells AS (
    -- ... or until the customer's next purchase day, which takes over: a period end falls in
    -- at most one spell of a customer, the spell of their last purchase up to it
    SELECT
        customer_id,
        order_date AS active_from,
        LEAST(keeps_until, COALESCE(LEAD(order_date) OVER (PARTITION BY customer_id
                                                            ORDER BY order_date),
                                    keeps_until)) AS active_until
    FROM purchase_days
),
active AS (
    SELECT
        g.segment,
        p.period_end,
        COUNT(*) AS active_customers,
        COUNT(CASE WHEN m.first_purchase <= p.existing_by THEN 1 END)
            AS active_existing_customers
    FROM spells AS s
    JOIN periods AS p ON p.period_end >= s.active_from AND p.period_end < s.active_until
    JOIN members AS m ON m.customer_id = s.customer_id
    JOIN groups AS g ON g.customer_id = s.customer_id
    GROUP BY g.segment, p.period_end
),
acquired AS (
    -- the customers each period acquired, their acquisition cost and their days on file in
    -- it (from the first transaction's day on, both ends counted)
    SELECT
        g.segment,
        m.acquired_in AS period_end,
        COUNT(*) AS gross_new_customers,
        SUM(m.acquisition_cost) AS acquisition_cost,
        SUM(DATE_DIFF('day', m.first_purchase, m.acquired_in) + 1) AS days_on_file_new
    FROM members AS m
    JOIN groups AS g ON g.customer_id = m.customer_id
    GROUP BY g.segment, m.acquired_in
),
support AS (
    SELECT
        g.segment,
        p.period_end,
        SUM(s.cost) AS support_cost,
        SUM(CASE WHEN m.acquired_in = p.period_end THEN s.cost ELSE 0 END) AS support_cost_new,
        SUM(CASE WHEN m.first_purchase <= p.existing_by THEN s.cost ELSE 0 END)
            AS support_cost_existing
    FROM support_contacts AS s
    JOIN periods AS p ON s.contact_date > p.period_start AND s.contact_date <= p.period_end
    JOIN members AS m ON m.customer_id = s.customer_id
    JOIN groups AS g ON g.customer_id = s.customer_id
    GROUP BY g.segment, p.period_end
),
spend AS (
    -- marketing spend no customer could carry, in the period holding its month's first day
    SELECT p.period_end, SUM(a.unallocated) AS unallocated
    FROM acquisition_costs AS a
    JOIN periods AS p ON a.month > p.period_start AND a.month <= p.period_end
    GROUP BY p.period_end
),
counted AS (
    SELECT
        x.*,
        COALESCE(n.gross_new_customers, 0) AS gross_new_customers,
        n.acquisition_cost AS acquisition_cost_new,
        COALESCE(n.days_on_file_new, 0) AS days_on_file_new,
        CAST(SUM(COALESCE(n.gross_new_customers, 0)) OVER (
            PARTITION BY x.segment ORDER BY x.period_end) AS BIGINT) AS customers_to_date
    FROM grid AS x
    LEFT JOIN acquired AS n ON n.segment = x.segment AND n.period_end = x.period_end
),
measured AS (
    SELECT
        c.period_start,
        c.period_end,
        c.period,
        c.segment,
        c.gross_new_customers,
        COALESCE(a.net_new_customers, 0) AS net_new_customers,
        COALESCE(v.active_existing_customers, 0) AS active_existing_customers,
        COALESCE(v.active_customers, 0) AS active_customers,
        c.customers_to_date,
        COALESCE(a.revenue, 0) AS revenue,
        COALESCE(a.revenue_new, 0) AS revenue_new,
        COALESCE(a.revenue_existing, 0) AS revenue_existing,
        CAST(COALESCE(a.orders, 0) AS BIGINT) AS orders,
        CAST(COALESCE(a.orders_new, 0) AS BIGINT) AS orders_new,
        CAST(COALESCE(a.orders_existing, 0) AS BIGINT) AS orders_existing,
        -- unknown without marketing spend, and before its first month
        CASE WHEN c.period_end >= (SELECT MIN(month) FROM acquisition_costs)
             THEN COALESCE(c.acquisition_cost_new, 0)
                  + CASE WHEN c.segment = 'All' THEN COALESCE(d.unallocated, 0) ELSE 0 END
        END AS acquisition_cost,
        COALESCE(s.support_cost, 0) AS support_cost,
        COALESCE(s.support_cost_new, 0) AS support_cost_new,
        COALESCE(s.support_cost_existing, 0) AS support_cost_existing,
        -- days on file: a full period for the customers acquired before it
        c.days_on_file_new + (c.customers_to_date - c.gross_new_customers)
            * DATE_DIFF('day', c.period_start, c.period_end) AS days_on_file
    FROM counted AS c
    LEFT JOIN sales AS a ON a.segment = c.segment AND a.period_end = c.period_end
    LEFT JOIN active AS v ON v.segment = c.segment AND v.period_end = c.period_end
    LEFT JOIN support AS s ON s.segment = c.segment AND s.period_end = c.period_end
    LEFT JOIN spend AS d ON d.period_end = c.period_end
),
costed AS (
    SELECT
        *,
        support_cost + orders * $cost_per_order + days_on_file * $cost_per_day AS cost_to_serve
    FROM measured
)
SELECT
    period_start,
    period_end,
    period,
    segment,
    gross_new_customers,
    net_new_customers,
    active_existing_customers,
    active_customers,
    customers_to_date,
    CAST(active_customers AS DOUBLE) / NULLIF(customers_to_date, 0) AS share_active,
    revenue,
    revenue_new,
    revenue_existing,
    revenue_new / NULLIF(gross_new_customers, 0) AS revenue_per_new_customer,
    revenue_existing / NULLIF(active_existing_customers, 0) AS revenue_per_existing_customer,
    revenue / NULLIF(active_customers, 0) AS revenue_per_customer,
    orders,
    orders_new,
    orders_existing,
    CAST(orders AS DOUBLE) / NULLIF(active_customers, 0) AS purchase_frequency,
    acquisition_cost,
    acquisition_cost / NULLIF(gross_new_customers, 0) AS acquisition_cost_per_new_customer,
    support_cost,
    support_cost_new,
    support_cost_existing,
    cost_to_serve,
    cost_to_serve / NULLIF(customers_to_date, 0) AS cost_to_serve_per_customer
FROM costed
-- 'All' first, then the segments in alphabetical order
ORDER BY period_end, segment <> 'All', segment
