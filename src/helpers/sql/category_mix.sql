-- category_mix: each customer's share of net revenue per category, the top $top_categories
-- categories by total net revenue and 'other' for the rest (a query, not stored:
-- helpers.segment.clusters.cluster_features pivots it into the clusters' features). A return
-- beyond what was bought counts 0.
-- Reads: customer_categories.
-- Parameters: $top_categories.
WITH bought AS (
    SELECT customer_id, category, GREATEST(net_revenue, 0) AS revenue
    FROM customer_categories
),
ranked AS (
    SELECT category, ROW_NUMBER() OVER (ORDER BY SUM(revenue) DESC, category) AS rank
    FROM bought
    GROUP BY category
),
grouped AS (
    SELECT
        b.customer_id,
        CASE WHEN r.rank <= $top_categories THEN b.category ELSE 'other' END AS category,
        LEAST(r.rank, $top_categories + 1) AS rank,
        b.revenue
    FROM bought AS b
    JOIN ranked AS r ON r.category = b.category
)
SELECT
    customer_id,
    category,
    MIN(rank) AS rank,
    -- NULL when the customer returned all they bought: no mix to speak of
    SUM(revenue) / NULLIF(SUM(SUM(revenue)) OVER (PARTITION BY customer_id), 0) AS share
FROM grouped
GROUP BY customer_id, category
ORDER BY customer_id, rank
