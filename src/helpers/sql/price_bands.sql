-- price_bands: one row per product of a category with at least 3 products: its mean unit
-- price and margin, and its price band within the category ('entry', 'mid', 'premium': the
-- category's products in three equal-sized groups by mean unit price) with the band's price
-- limits, which place a customer's mean unit price in a band. Products are priced from what
-- was paid (positive lines up to as_of), not from a list price. Definitions in
-- helpers.segment.affinity.build_affinity.
-- Reads: transactions.
-- Parameters: $as_of, $gross_margin_rate (lines without a catalogue cost).
WITH products AS (
    SELECT
        category,
        product_id,
        -- a line without quantity counts 1, as in customer_categories
        SUM(COALESCE(quantity, 1)) AS units,
        SUM(amount) / SUM(COALESCE(quantity, 1)) AS unit_price,
        SUM(amount - COALESCE(cost, amount * (1 - $gross_margin_rate))) AS gross_margin
    FROM transactions
    WHERE order_date <= $as_of
      AND amount > 0
      AND category IS NOT NULL
      AND product_id IS NOT NULL
    GROUP BY category, product_id
),
tiled AS (
    SELECT
        *,
        NTILE(3) OVER (PARTITION BY category ORDER BY unit_price, product_id) AS band_rank,
        COUNT(*) OVER (PARTITION BY category) AS category_products
    FROM products
),
banded AS (
    SELECT * FROM tiled WHERE category_products >= 3
),
band_edges AS (
    SELECT category, band_rank, MIN(unit_price) AS cheapest, MAX(unit_price) AS dearest
    FROM banded
    GROUP BY category, band_rank
),
band_ceilings AS (
    -- a band ends halfway between its dearest product and the next band's cheapest
    SELECT
        e.category,
        e.band_rank,
        (e.dearest + next_band.cheapest) / 2 AS ceiling_price
    FROM band_edges AS e
    JOIN band_edges AS next_band
        ON next_band.category = e.category AND next_band.band_rank = e.band_rank + 1
)
SELECT
    b.category,
    b.product_id,
    b.units,
    b.unit_price,
    b.gross_margin,
    b.gross_margin / b.units AS unit_margin,
    b.band_rank,
    CASE b.band_rank WHEN 1 THEN 'entry' WHEN 2 THEN 'mid' ELSE 'premium' END AS band,
    below.ceiling_price AS band_floor,
    here.ceiling_price AS band_ceiling
FROM banded AS b
LEFT JOIN band_ceilings AS below
    ON below.category = b.category AND below.band_rank = b.band_rank - 1
LEFT JOIN band_ceilings AS here
    ON here.category = b.category AND here.band_rank = b.band_rank
ORDER BY b.category, b.unit_price, b.product_id
