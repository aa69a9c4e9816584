-- headline: the customer base in a dozen figures, one row (the report's first table).
-- Reads: source_records, customers, transactions, customer_value, clv.
SELECT
  (SELECT count(*) FROM source_records) AS source_records,
  (SELECT count(*) FROM customers) AS customers,
  (SELECT count(*) FROM customer_value) AS buying_customers,
  (SELECT count(DISTINCT order_id) FROM transactions) AS orders,
  (SELECT sum(net_revenue) FROM customer_value) AS net_revenue,
  (SELECT sum(gross_margin) FROM customer_value) AS gross_margin,
  (SELECT sum(profit) FROM customer_value) AS profit,
  (SELECT sum(profit_12m) FROM customer_value) AS profit_last_12_months,
  (SELECT sum(clv_net) FROM clv) AS clv_next_horizon,
  (SELECT 100 * avg(p_alive) FROM clv) AS mean_p_alive
