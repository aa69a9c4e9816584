-- acquisition_costs: what acquiring customers cost, one row per month and channel with spend
-- or acquired customers. Definitions in helpers.differentiate.value.build_acquisition_costs.
-- Reads: marketing_spend, transactions (each customer's first transaction), customers
--   (acquisition_channel).
-- Parameters: $as_of.
WITH acquired AS (
    -- acquired in the month of the first transaction of any kind, as customer_value counts it
    SELECT
        t.customer_id,
        CAST(date_trunc('month', MIN(t.order_date)) AS DATE) AS month
    FROM transactions AS t
    WHERE t.order_date <= $as_of
    GROUP BY t.customer_id
),
acquisitions AS (
    SELECT
        a.month,
        attribute_or_unknown(c.acquisition_channel) AS channel,
        COUNT(*) AS customers_acquired
    FROM acquired AS a
    LEFT JOIN customers AS c ON c.customer_id = a.customer_id
    GROUP BY ALL
),
spend AS (
    SELECT
        CAST(date_trunc('month', spend_date) AS DATE) AS month,
        channel,
        SUM(amount) AS spend
    FROM marketing_spend
    WHERE spend_date <= $as_of
    GROUP BY ALL
),
cells AS (
    SELECT
        COALESCE(s.month, a.month) AS month,
        COALESCE(s.channel, a.channel) AS channel,
        COALESCE(s.spend, 0) AS spend,
        COALESCE(a.customers_acquired, 0) AS customers_acquired
    FROM spend AS s
    FULL JOIN acquisitions AS a ON a.month = s.month AND a.channel = s.channel
    -- months outside the spend data have no known acquisition cost: no rows
    WHERE COALESCE(s.month, a.month) BETWEEN (SELECT MIN(month) FROM spend)
                                         AND (SELECT MAX(month) FROM spend)
),
months AS (
    SELECT
        month,
        -- spend on channels that acquired nobody that month
        SUM(CASE WHEN customers_acquired = 0 THEN spend ELSE 0 END) AS unmatched_spend,
        bool_or(channel = 'unknown' AND customers_acquired > 0) AS has_unknown
    FROM cells
    GROUP BY month
),
allocated AS (
    SELECT
        c.month,
        c.channel,
        c.spend,
        c.customers_acquired,
        CASE WHEN c.customers_acquired = 0 AND m.has_unknown THEN c.spend ELSE 0 END AS pooled,
        CASE WHEN c.customers_acquired = 0 THEN 0
             WHEN c.channel = 'unknown' THEN c.spend + m.unmatched_spend
             ELSE c.spend END AS allocated,
        CASE WHEN c.customers_acquired = 0 AND NOT m.has_unknown THEN c.spend ELSE 0 END
            AS unallocated
    FROM cells AS c
    JOIN months AS m ON m.month = c.month
)
SELECT
    month,
    channel,
    spend,
    customers_acquired,
    pooled,
    allocated,
    unallocated,
    allocated / NULLIF(customers_acquired, 0) AS cost_per_customer
FROM allocated
ORDER BY month, channel
