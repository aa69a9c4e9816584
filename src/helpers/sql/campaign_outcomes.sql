-- campaign_outcomes: each followed campaign customer's purchases, revenue and net revenue in
-- their window after exposure and in the equally long window before it (not stored: the
-- campaign-effect builder reads it, one row per customer, for the t intervals).
-- Reads: campaign_customers, campaign_days (temporary: sql/campaign_customers.sql,
--        sql/campaign_days.sql).
-- A customer with nothing in a window has 0 there: they count in their group's mean.
SELECT c.campaign_id,
       c.customer_id,
       c.exposure_group,
       COALESCE(SUM(d.purchases) FILTER (WHERE d.day >= 0), 0) AS purchases,
       COALESCE(SUM(d.revenue) FILTER (WHERE d.day >= 0), 0) AS revenue,
       COALESCE(SUM(d.net_revenue) FILTER (WHERE d.day >= 0), 0) AS net_revenue,
       COALESCE(SUM(d.purchases) FILTER (WHERE d.day < 0), 0) AS pre_purchases,
       COALESCE(SUM(d.revenue) FILTER (WHERE d.day < 0), 0) AS pre_revenue,
       COALESCE(SUM(d.net_revenue) FILTER (WHERE d.day < 0), 0) AS pre_net_revenue
FROM campaign_customers AS c
LEFT JOIN campaign_days AS d USING (campaign_id, customer_id)
WHERE c.followed
GROUP BY c.campaign_id, c.customer_id, c.exposure_group
ORDER BY c.campaign_id, c.customer_id
