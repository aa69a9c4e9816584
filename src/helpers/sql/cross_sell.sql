-- cross_sell: for each customer, the one category they have never bought that the categories
-- they did buy point to most strongly (category_affinity), with the category that drives it
-- and the margin it is expected to bring in a year. Customers without such a category get no
-- row. Definitions in helpers.segment.affinity.build_affinity.
-- Reads: customer_categories, category_affinity, customer_value (tenure_days).
-- Parameters: $days_per_year.
WITH buyer_years AS (
    SELECT
        c.category,
        c.gross_margin,
        -- years as customer as customer_value counts them, at least one: a few weeks'
        -- margin is not scaled up to a year
        GREATEST(CAST(v.tenure_days + 1 AS DOUBLE) / $days_per_year, 1) AS years
    FROM customer_categories AS c
    JOIN customer_value AS v ON v.customer_id = c.customer_id
),
margin_per_year AS (
    -- what the category's buyers earn the business on it in a year, on average
    SELECT category, AVG(gross_margin / years) AS margin_per_year
    FROM buyer_years
    GROUP BY category
),
candidates AS (
    SELECT
        own.customer_id,
        rule.consequent AS category,
        rule.antecedent AS because_of,
        rule.lift,
        rule.confidence
    FROM customer_categories AS own
    JOIN category_affinity AS rule ON rule.antecedent = own.category
    WHERE rule.trusted
      AND rule.lift > 1
      -- never a category the customer already buys
      AND NOT EXISTS (SELECT 1
                      FROM customer_categories AS bought
                      WHERE bought.customer_id = own.customer_id
                        AND bought.category = rule.consequent)
)
SELECT
    c.customer_id,
    c.category,
    c.because_of,
    c.lift,
    c.confidence,
    c.confidence * m.margin_per_year AS expected_value
FROM candidates AS c
JOIN margin_per_year AS m ON m.category = c.category
QUALIFY ROW_NUMBER() OVER (PARTITION BY c.customer_id
                           ORDER BY c.lift DESC, c.confidence DESC, c.category,
                                    c.because_of) = 1
ORDER BY c.customer_id
