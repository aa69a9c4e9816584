-- transactions: every accepted order line, carrying its customer_id and cost of goods.
-- Reads: staged_transactions and staged_products (temporary unions of the staged sources of
--        each kind, built per source by helpers.identify), source_links (temporary: the source
--        whose customer keys each source's lines carry: itself, or the one it is linked_to),
--        customer_xref.
-- Lines of a linked source whose key that source does not know are set aside by
-- unlinked_rows.sql.
WITH lines AS (
    SELECT
        source,
        _row,
        customer_key,
        -- a source without order ids gets one order per customer key per day
        coalesce(order_id, customer_key || ':' || CAST(order_date AS VARCHAR)) AS order_id,
        order_date,
        amount,
        quantity,
        product_id
    FROM staged_transactions
)
SELECT
    x.customer_id,
    s.source,
    s._row AS source_row,
    s.order_id,
    s.order_date,
    s.amount,
    s.quantity,
    s.product_id,
    p.category,
    CASE WHEN p.unit_cost IS NOT NULL AND s.quantity IS NOT NULL
         THEN s.quantity * p.unit_cost END AS cost,
    s.amount < 0 AS is_return
FROM lines AS s
JOIN source_links AS k USING (source)
JOIN customer_xref AS x ON x.source = k.key_source AND x.customer_key = s.customer_key
LEFT JOIN staged_products AS p ON p.product_id = s.product_id
ORDER BY x.customer_id, s.order_date, s.source, s._row
