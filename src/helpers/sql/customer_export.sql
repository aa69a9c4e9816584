-- customer_export: one row per customer with everything the kit knows (exports/customers.csv
-- and the workbook's Customers sheet): who (customers), worth today (customer_value), worth
-- tomorrow (clv), tier and action. Customers without purchases (CRM contacts who never
-- bought) are kept, with empty value columns. Highest priority first; customer_id breaks ties,
-- so the order is the same in every run.
-- Personal fields follow the privacy mode $pii (keep, mask or hash; the config's
-- pii.exports) of client $client (part of every hash token).
-- Reads: customers, customer_value, clv, segments, actions.
SELECT c.customer_id,
       pii_name(c.name, $pii, $client) AS name,
       pii_email(c.email, $pii, $client) AS email,
       pii_phone(c.phone, $pii, $client) AS phone,
       c.city, c.customer_type, c.sources,
       v.first_purchase, v.last_purchase, v.n_orders, v.net_revenue, v.gross_margin,
       v.profit, v.profit_12m, v.rfm_cell, v.rfmt_score,
       k.p_alive, k.expected_purchases, k.clv, k.clv_net,
       s.tier, a.action, a.offer, a.channel, a.priority, a.reason
FROM customers AS c
LEFT JOIN customer_value AS v USING (customer_id)
LEFT JOIN clv AS k USING (customer_id)
LEFT JOIN segments AS s USING (customer_id)
LEFT JOIN actions AS a USING (customer_id)
ORDER BY a.priority NULLS LAST, k.clv_net DESC NULLS LAST, c.customer_id
