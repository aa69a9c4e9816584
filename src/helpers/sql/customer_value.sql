-- customer_value: one row per customer with a transaction up to as_of: what they are worth
-- today (revenue, margin, cost to serve, profit; lifetime and the last 12 months) and their
-- RFMT scores. The formulas are documented in helpers.differentiate.build_customer_value.
-- Reads: transactions, support_contacts.
-- Parameters: $as_of, $start_12m (as_of - 365 days), $days_per_year, $gross_margin_rate,
--   $cost_per_order, $cost_per_year, and the RFMT weights $w_recency, $w_frequency,
--   $w_monetary, $w_tenure (normalised to sum 1).
WITH lines AS (
    SELECT
        customer_id,
        order_date,
        amount,
        -- a product catalogue gives the real cost; otherwise the configured margin applies
        COALESCE(cost, amount * (1 - $gross_margin_rate)) AS cost_of_goods,
        -- order ids are unique within a source only
        CASE WHEN amount > 0 THEN source || ':' || order_id END AS purchase_key,
        order_date > $start_12m AS in_12m
    FROM transactions
    WHERE order_date <= $as_of
),
sales AS (
    SELECT
        customer_id,
        -- the first row of any kind: a return proves a purchase made before the data starts
        MIN(order_date) AS first_purchase,
        -- a return is no sign of recent buying; all-return customers fall back to any row
        COALESCE(MAX(CASE WHEN amount > 0 THEN order_date END), MAX(order_date))
            AS last_purchase,
        COUNT(DISTINCT purchase_key) AS n_orders,
        SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS revenue,
        SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END) AS returns,
        SUM(amount) AS net_revenue,
        SUM(cost_of_goods) AS cost_of_goods,
        COUNT(DISTINCT CASE WHEN in_12m THEN purchase_key END) AS n_orders_12m,
        SUM(CASE WHEN in_12m AND amount > 0 THEN amount ELSE 0 END) AS revenue_12m,
        SUM(CASE WHEN in_12m THEN amount ELSE 0 END) AS net_revenue_12m,
        SUM(CASE WHEN in_12m THEN cost_of_goods ELSE 0 END) AS cost_of_goods_12m
    FROM lines
    GROUP BY customer_id
),
support AS (
    SELECT
        customer_id,
        SUM(cost) AS support_cost,
        SUM(CASE WHEN contact_date > $start_12m THEN cost ELSE 0 END) AS support_cost_12m
    FROM support_contacts
    WHERE contact_date <= $as_of
    GROUP BY customer_id
),
costed AS (
    SELECT
        s.*,
        COALESCE(p.support_cost, 0) AS support_cost,
        COALESCE(p.support_cost_12m, 0) AS support_cost_per_year,
        DATE_DIFF('day', s.first_purchase, $as_of) AS tenure_days,
        DATE_DIFF('day', s.last_purchase, $as_of) AS recency_days,
        -- years on the books count the first-purchase day, so nobody is served for free
        CAST(DATE_DIFF('day', s.first_purchase, $as_of) + 1 AS DOUBLE) / $days_per_year
            AS years_as_customer,
        CASE WHEN s.n_orders > 0 THEN s.net_revenue / s.n_orders END AS monetary
    FROM sales AS s
    LEFT JOIN support AS p ON p.customer_id = s.customer_id
),
valued AS (
    SELECT
        *,
        net_revenue - cost_of_goods AS gross_margin,
        n_orders * $cost_per_order + $cost_per_year * years_as_customer AS service_cost,
        net_revenue_12m - cost_of_goods_12m AS gross_margin_12m,
        support_cost_per_year + n_orders_12m * $cost_per_order
            + $cost_per_year * CASE WHEN years_as_customer < 1 THEN years_as_customer ELSE 1 END
            AS cost_to_serve_12m
    FROM costed
),
scored AS (
    SELECT
        *,
        -- CUME_DIST gives tied customers the same score; the best value sorts last (5)
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY recency_days DESC)) AS INTEGER) AS r_score,
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY n_orders)) AS INTEGER) AS f_score,
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY monetary NULLS FIRST)) AS INTEGER) AS m_score,
        CAST(CEIL(5 * CUME_DIST() OVER (ORDER BY tenure_days)) AS INTEGER) AS t_score
    FROM valued
)
SELECT
    customer_id,
    first_purchase,
    last_purchase,
    n_orders,
    revenue,
    returns,
    net_revenue,
    cost_of_goods,
    gross_margin,
    CASE WHEN net_revenue > 0 THEN gross_margin / net_revenue END AS margin_rate,
    support_cost,
    service_cost,
    gross_margin - support_cost - service_cost AS profit,
    n_orders_12m,
    revenue_12m,
    net_revenue_12m,
    gross_margin_12m,
    support_cost_per_year,
    cost_to_serve_12m,
    gross_margin_12m - cost_to_serve_12m AS profit_12m,
    recency_days,
    n_orders AS frequency,
    monetary,
    tenure_days,
    r_score,
    f_score,
    m_score,
    t_score,
    'R' || CAST(r_score AS VARCHAR) || 'F' || CAST(f_score AS VARCHAR)
        || 'M' || CAST(m_score AS VARCHAR) AS rfm_cell,
    $w_recency * r_score + $w_frequency * f_score + $w_monetary * m_score
        + $w_tenure * t_score AS rfmt_score
FROM scored
ORDER BY customer_id
