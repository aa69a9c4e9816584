-- campaign_tracking: per campaign, group (control, treated) and week since exposure, the
-- followed customers' cumulative purchases, revenue and net revenue per customer.
-- Reads: campaign_customers, campaign_days (temporary: sql/campaign_customers.sql,
--        sql/campaign_days.sql).
--
-- Week w holds days 7w … 7w + 6 after each customer's own exposure (day 0 = the exposure
-- day), the last week cut at window_days; every week of the window is listed, also when
-- nobody bought in it. Per customer: divided by the group's followed customers, buyers or
-- not, so that the two groups compare.
WITH groups AS (
    SELECT campaign_id,
           exposure_group,
           MIN(window_days) AS window_days,
           COUNT(*) AS customers
    FROM campaign_customers
    WHERE followed
    GROUP BY campaign_id, exposure_group
),
weeks AS (
    SELECT campaign_id,
           exposure_group,
           window_days,
           customers,
           UNNEST(CAST(range(0, CAST(CEIL(window_days / 7) AS INTEGER)) AS INTEGER[])) AS week
    FROM groups
),
weekly AS (
    SELECT c.campaign_id,
           c.exposure_group,
           CAST(d.day // 7 AS INTEGER) AS week,
           SUM(d.purchases) AS purchases,
           SUM(d.revenue) AS revenue,
           SUM(d.net_revenue) AS net_revenue
    FROM campaign_days AS d
    JOIN campaign_customers AS c USING (campaign_id, customer_id)
    WHERE d.day >= 0
    GROUP BY c.campaign_id, c.exposure_group, CAST(d.day // 7 AS INTEGER)
),
cumulative AS (
    SELECT w.campaign_id,
           w.exposure_group,
           w.week,
           LEAST(7 * (w.week + 1), w.window_days) AS days_followed,
           w.customers,
           SUM(COALESCE(k.purchases, 0)) OVER running AS purchases,
           SUM(COALESCE(k.revenue, 0)) OVER running AS revenue,
           SUM(COALESCE(k.net_revenue, 0)) OVER running AS net_revenue
    FROM weeks AS w
    LEFT JOIN weekly AS k USING (campaign_id, exposure_group, week)
    WINDOW running AS (PARTITION BY w.campaign_id, w.exposure_group ORDER BY w.week)
)
SELECT campaign_id,
       exposure_group,
       week,
       CAST(days_followed AS INTEGER) AS days_followed,
       customers,
       purchases / customers AS purchases_per_customer,
       revenue / customers AS revenue_per_customer,
       net_revenue / customers AS net_revenue_per_customer
FROM cumulative
ORDER BY campaign_id, exposure_group, week
