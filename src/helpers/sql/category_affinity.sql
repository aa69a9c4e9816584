-- category_affinity: one row per ordered pair of distinct product categories (antecedent,
-- consequent): how many customers bought each and both, and the rule "antecedent ->
-- consequent"'s support, confidence and lift. A basket is a customer's whole history (every
-- category they ever bought), not one order: few customers buy two categories in one order.
-- Every pair is listed, pairs never bought together too (support, confidence and lift 0);
-- a pair fewer than $min_customers customers bought together is kept but not trusted, and
-- cross_sell never uses it. Definitions in helpers.segment.affinity.build_affinity.
-- Reads: customer_categories.
-- Parameters: $min_customers (segment.min_pair_customers).
WITH buyers AS (
    SELECT category, COUNT(*) AS customers
    FROM customer_categories
    GROUP BY category
),
everyone AS (
    SELECT COUNT(DISTINCT customer_id) AS customers
    FROM customer_categories
),
together AS (
    SELECT
        a.category AS antecedent,
        b.category AS consequent,
        COUNT(*) AS customers_both
    FROM customer_categories AS a
    JOIN customer_categories AS b
        ON b.customer_id = a.customer_id AND b.category <> a.category
    GROUP BY a.category, b.category
),
pairs AS (
    SELECT
        a.category AS antecedent,
        c.category AS consequent,
        a.customers AS customers_antecedent,
        c.customers AS customers_consequent,
        COALESCE(t.customers_both, 0) AS customers_both,
        CAST(e.customers AS DOUBLE) AS customers_all
    FROM buyers AS a
    JOIN buyers AS c ON c.category <> a.category
    CROSS JOIN everyone AS e
    LEFT JOIN together AS t ON t.antecedent = a.category AND t.consequent = c.category
)
SELECT
    antecedent,
    consequent,
    customers_antecedent,
    customers_consequent,
    customers_both,
    customers_both / customers_all AS support,
    CAST(customers_both AS DOUBLE) / customers_antecedent AS confidence,
    (CAST(customers_both AS DOUBLE) / customers_antecedent)
        / (customers_consequent / customers_all) AS lift,
    customers_both >= $min_customers AS trusted
FROM pairs
ORDER BY antecedent, consequent
