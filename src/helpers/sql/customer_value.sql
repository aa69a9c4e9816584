-- customer_value: one row per customer with a transaction up to as_of: what they are worth
-- today (revenue, margin, cost to serve, acquisition cost, profit; lifetime and the current
-- window) and their RFMT scores and RFM segment. The formulas are documented in
-- helpers.differentiate.value.build_customer_value.
-- Reads: transactions, support_contacts, customers (acquisition_channel), acquisition_costs,
--   rfm_segment_cells (registered by the builder: the segment of each R, F, M combination).
-- Parameters: $as_of, $window_days (differentiate.current_value_days), $start_12m (as_of -
--   $window_days), $days_per_year, $gross_margin_rate, $cost_per_order, $cost_per_year, and
--   the RFMT weights $w_recency, $w_frequency, $w_monetary, $w_tenure (normalised to sum 1).
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
            -- the fixed cost of the part of the window the customer was on file
            + $cost_per_year * LEAST(years_as_customer, $window_days / $days_per_year)
            AS cost_to_serve_12m
    FROM costed
),
scored AS (
    SELECT
        *,
        -- the fifth a customer's rank falls in, worst first (PERCENT_RANK runs from 0 for the
        -- worst to 1 for the best); tied customers share the score of where their group
        -- starts, so one-time buyers are F1 however many they are
        CAST(LEAST(5, 1 + FLOOR(5 * PERCENT_RANK() OVER (ORDER BY recency_days DESC)))
             AS INTEGER) AS r_score,
        CAST(LEAST(5, 1 + FLOOR(5 * PERCENT_RANK() OVER (ORDER BY n_orders))) AS INTEGER)
            AS f_score,
        CAST(LEAST(5, 1 + FLOOR(5 * PERCENT_RANK() OVER (ORDER BY monetary NULLS FIRST)))
             AS INTEGER) AS m_score,
        CAST(LEAST(5, 1 + FLOOR(5 * PERCENT_RANK() OVER (ORDER BY tenure_days))) AS INTEGER)
            AS t_score
    FROM valued
),
acquisition AS (
    SELECT
        s.customer_id,
        attribute_or_unknown(c.acquisition_channel)
            AS acquisition_channel,
        a.cost_per_customer AS acquisition_cost
    FROM scored AS s
    LEFT JOIN customers AS c ON c.customer_id = s.customer_id
    LEFT JOIN acquisition_costs AS a
        ON a.month = CAST(date_trunc('month', s.first_purchase) AS DATE)
       AND a.channel = attribute_or_unknown(c.acquisition_channel)
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
    acquisition_channel,
    acquisition_cost,
    gross_margin - support_cost - service_cost - acquisition_cost AS profit_after_acquisition,
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
        + $w_tenure * t_score AS rfmt_score,
    g.rfm_segment
FROM scored
JOIN acquisition USING (customer_id)
JOIN rfm_segment_cells AS g USING (r_score, f_score, m_score)
ORDER BY customer_id
