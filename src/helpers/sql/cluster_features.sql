-- cluster_features: the behavioural features of every customer in customer_value, before
-- any transformation, for the behavioural clusters (helpers.segment.clusters): RFMT, future
-- value and probability alive. The category mix is added from customer_categories when the
-- client has a catalogue (sql/category_mix.sql).
-- Reads: customer_value, clv.
-- Parameters: none.
SELECT
    v.customer_id,
    CAST(v.recency_days AS DOUBLE) AS recency_days,
    CAST(v.frequency AS DOUBLE) AS frequency,
    -- a customer with returns only has no order to average over: nothing spent per order
    COALESCE(v.monetary, 0) AS monetary,
    CAST(v.tenure_days AS DOUBLE) AS tenure_days,
    -- a customer the CLV model did not score is taken as neither likely active nor likely
    -- gone (the median), and as worth nothing more (as segments.future_value)
    COALESCE(c.p_alive, MEDIAN(c.p_alive) OVER ()) AS p_alive,
    COALESCE(c.clv_net, 0) AS clv_net
FROM customer_value AS v
LEFT JOIN clv AS c ON c.customer_id = v.customer_id
ORDER BY v.customer_id
