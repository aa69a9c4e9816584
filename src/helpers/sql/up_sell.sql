-- up_sell: for each customer, the category they buy in which moving up one price band
-- (price_bands) is expected to bring the most margin in a year: their current band, the band
-- proposed and the expected value. Customers with no band below 'premium' in a banded
-- category, or no proposal worth more than 0, get no row. Definitions in
-- helpers.segment.affinity.build_affinity.
-- Reads: customer_categories, price_bands, transactions, customer_value (tenure_days).
-- Parameters: $as_of, $days_per_year.
WITH bands AS (
    SELECT
        category,
        band_rank,
        band,
        band_floor,
        band_ceiling,
        -- what one unit sold in the band earns, on average
        SUM(gross_margin) / SUM(units) AS unit_margin
    FROM price_bands
    GROUP BY category, band_rank, band, band_floor, band_ceiling
),
customer_bands AS (
    -- the band of what the customer pays for one unit on average; on a limit: the lower band
    SELECT
        c.customer_id,
        c.category,
        c.units,
        b.band_rank,
        b.band
    FROM customer_categories AS c
    JOIN bands AS b
        ON b.category = c.category
       AND (b.band_floor IS NULL OR c.mean_unit_price > b.band_floor)
       AND (b.band_ceiling IS NULL OR c.mean_unit_price <= b.band_ceiling)
),
bands_bought AS (
    SELECT DISTINCT t.customer_id, p.category, p.band_rank
    FROM transactions AS t
    JOIN price_bands AS p ON p.product_id = t.product_id AND p.category = t.category
    WHERE t.order_date <= $as_of AND t.amount > 0
),
uptake AS (
    -- of the category's buyers in a band, the share who also bought in the band above
    SELECT
        c.category,
        c.band_rank,
        AVG(CASE WHEN bought.customer_id IS NOT NULL THEN 1.0 ELSE 0.0 END) AS uptake_rate
    FROM customer_bands AS c
    LEFT JOIN bands_bought AS bought
        ON bought.customer_id = c.customer_id
       AND bought.category = c.category
       AND bought.band_rank = c.band_rank + 1
    GROUP BY c.category, c.band_rank
),
proposals AS (
    SELECT
        c.customer_id,
        c.category,
        c.band AS current_band,
        up.band AS proposed_band,
        -- years as customer as customer_value counts them, at least one (as cross_sell)
        c.units / GREATEST(CAST(v.tenure_days + 1 AS DOUBLE) / $days_per_year, 1)
            AS units_per_year,
        up.unit_margin - here.unit_margin AS unit_margin_gain,
        u.uptake_rate
    FROM customer_bands AS c
    JOIN customer_value AS v ON v.customer_id = c.customer_id
    JOIN bands AS here ON here.category = c.category AND here.band_rank = c.band_rank
    JOIN bands AS up ON up.category = c.category AND up.band_rank = c.band_rank + 1
    JOIN uptake AS u ON u.category = c.category AND u.band_rank = c.band_rank
)
SELECT
    customer_id,
    category,
    current_band,
    proposed_band,
    units_per_year,
    unit_margin_gain,
    uptake_rate,
    units_per_year * unit_margin_gain * uptake_rate AS expected_value
FROM proposals
WHERE units_per_year * unit_margin_gain * uptake_rate > 0
QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id
                           ORDER BY units_per_year * unit_margin_gain * uptake_rate DESC,
                                    category) = 1
ORDER BY customer_id
