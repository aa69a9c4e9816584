-- actions: one row per customer in segments: the action (retain, develop, win back,
-- maintain, reduce cost to serve), the concrete offer, the channel, the priority, the value at
-- stake and the budget, and one line a CRM user can read saying why. The rules are documented
-- in helpers.segment.actions.build_actions.
-- Reads: segments, customer_value, customers, clusters, cross_sell, up_sell, driver_segments
--   (each may be empty), action_rules (the config's segment.actions, registered by the
--   builder).
-- Parameters: $win_back_p_alive, $window_days (differentiate.current_value_days) and its
--   wording $window_label ('last 12 months'), $currency.
WITH base AS (
    SELECT
        s.customer_id,
        s.tier,
        s.current_value,
        s.profit_to_date,
        s.future_value,
        s.future_value_low,
        s.future_value_high,
        s.p_alive,
        v.rfm_segment,
        v.n_orders,
        v.n_orders_12m,
        v.tenure_days,
        CASE s.tier WHEN 'Most valuable' THEN 'retain'
                    WHEN 'Most growable' THEN 'develop'
                    WHEN 'Below zero' THEN 'reduce cost to serve'
                    ELSE 'maintain' END AS tier_action,
        -- rank among all customers by current value; ties share the better rank
        RANK() OVER (ORDER BY s.current_value DESC) AS profit_rank,
        COUNT(*) OVER () AS n_customers
    FROM segments AS s
    JOIN customer_value AS v ON v.customer_id = s.customer_id
),
acted AS (
    SELECT
        b.*,
        CASE WHEN b.tier = 'Below zero' THEN 'reduce cost to serve'
             -- the at-risk overlay; an unknown p_alive (no CLV estimate) is no risk signal
             WHEN b.p_alive < $win_back_p_alive THEN 'win back'
             ELSE b.tier_action END AS action,
        -- orders a year before the current window, for customers with that much history
        CASE WHEN b.tenure_days >= 2 * $window_days
             THEN (b.n_orders - b.n_orders_12m) * $window_days / (b.tenure_days - $window_days)
        END AS earlier_orders_per_window
    FROM base AS b
),
selling AS (
    -- each customer's best product offer: cross-sell or up-sell, the larger expected value
    SELECT customer_id, offer_type, category, because_of, current_band, proposed_band,
           expected_value
    FROM (
        SELECT customer_id, 'cross-sell' AS offer_type, category, because_of,
               NULL AS current_band, NULL AS proposed_band, expected_value
        FROM cross_sell
        UNION ALL
        SELECT customer_id, 'up-sell', category, NULL, current_band, proposed_band,
               expected_value
        FROM up_sell
    )
    QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id
                               ORDER BY expected_value DESC, offer_type, category) = 1
),
offered AS (
    SELECT
        a.*,
        r.treatment,
        r.budget_share,
        LEAST(r.priority, t.priority) AS priority,
        k.cluster,
        k.cluster_name,
        d.driver_group,
        d.weakest_driver,
        d.weakest_rating,
        -- value orients the relationship (the action); a stated concern orients the offer;
        -- else a product the customer is likely to want, for the actions that sell
        CASE WHEN a.action = 'reduce cost to serve' THEN 'standard'
             WHEN d.driver_group NOT IN ('no concern', 'not rated') THEN 'concern'
             WHEN a.action IN ('develop', 'maintain') AND p.offer_type IS NOT NULL
                 THEN p.offer_type
             ELSE 'standard' END AS offer_type,
        p.offer_type AS product_offer,
        p.category AS offer_category,
        p.because_of,
        p.current_band,
        p.proposed_band,
        p.expected_value AS product_value,
        r.offer AS standard_offer,
        d.offer AS concern_offer
    FROM acted AS a
    JOIN action_rules AS r ON r.action = a.action
    JOIN action_rules AS t ON t.action = a.tier_action
    LEFT JOIN clusters AS k ON k.customer_id = a.customer_id
    LEFT JOIN driver_segments AS d ON d.customer_id = a.customer_id
    LEFT JOIN selling AS p ON p.customer_id = a.customer_id
),
valued AS (
    SELECT
        o.*,
        CASE o.offer_type
            WHEN 'concern' THEN o.concern_offer
            WHEN 'cross-sell' THEN
                CASE o.action WHEN 'develop' THEN 'cross-sell: ' || o.offer_category
                     ELSE o.standard_offer || ' featuring ' || o.offer_category END
            WHEN 'up-sell' THEN
                CASE o.action WHEN 'develop'
                     THEN 'up-sell: ' || o.proposed_band || ' ' || o.offer_category
                     ELSE o.standard_offer || ' featuring ' || o.proposed_band || ' '
                          || o.offer_category END
            ELSE o.standard_offer END AS offer,
        CASE WHEN o.offer_type IN ('cross-sell', 'up-sell') THEN o.product_value END
            AS offer_value,
        -- what the action protects or wins: the expected future profit; for develop also what
        -- the product offer is expected to add; for a below-zero customer the loss still
        -- expected after their future profit
        CASE o.action
            WHEN 'reduce cost to serve' THEN -(o.profit_to_date + o.future_value)
            WHEN 'develop' THEN GREATEST(o.future_value, 0)
                 + CASE WHEN o.offer_type IN ('cross-sell', 'up-sell')
                        THEN o.product_value ELSE 0 END
            ELSE GREATEST(o.future_value, 0) END AS value_at_stake
    FROM offered AS o
)
SELECT
    v.customer_id,
    v.tier,
    v.cluster,
    v.cluster_name,
    v.rfm_segment,
    v.p_alive,
    v.future_value AS clv,
    v.future_value_low AS clv_low,
    v.future_value_high AS clv_high,
    v.action,
    v.treatment,
    v.offer,
    v.offer_type,
    v.offer_value,
    CASE WHEN NULLIF(TRIM(c.email), '') IS NOT NULL THEN 'email'
         WHEN NULLIF(TRIM(c.phone), '') IS NOT NULL THEN 'sms'
         ELSE 'store' END AS channel,
    v.priority,
    v.value_at_stake,
    v.budget_share * GREATEST(v.value_at_stake, 0) AS budget,
    CONCAT_WS('; ',
        CASE WHEN v.tier = 'Below zero'
                 THEN 'lost ' || money_text($currency, -v.profit_to_date)
                      || ' to date, future value ' || money_text($currency, v.future_value)
                      || ' will not make it up'
             WHEN v.tier = 'Most growable'
                 THEN 'future value ' || money_text($currency, v.future_value) || ' against '
                      || money_text($currency, v.current_value) || ' in the ' || $window_label
             WHEN v.current_value > 0 AND v.profit_rank <= 0.5 * v.n_customers
                 THEN 'top ' || CAST(CEIL(100.0 * v.profit_rank / v.n_customers) AS INTEGER)
                      || '% profit'
             ELSE 'profit in the ' || $window_label || ' '
                  || money_text($currency, v.current_value) END,
        CASE WHEN v.p_alive IS NULL THEN 'no CLV estimate'
             WHEN v.p_alive < $win_back_p_alive
                 THEN 'probably lapsing (P(alive) ' || printf('%.2f', v.p_alive) || ')' END,
        CASE WHEN v.n_orders_12m < 0.5 * v.earlier_orders_per_window
                 THEN 'purchase rate falling (' || v.n_orders_12m
                      || CASE v.n_orders_12m WHEN 1 THEN ' order' ELSE ' orders' END || ' in the '
                      || $window_label || ', ' || printf('%.1f', v.earlier_orders_per_window)
                      || ' per such period before)'
             WHEN v.n_orders_12m > 1.5 * v.earlier_orders_per_window AND v.earlier_orders_per_window > 0
                 THEN 'purchase rate rising (' || v.n_orders_12m
                      || CASE v.n_orders_12m WHEN 1 THEN ' order' ELSE ' orders' END || ' in the '
                      || $window_label || ', ' || printf('%.1f', v.earlier_orders_per_window)
                      || ' per such period before)' END,
        CASE v.offer_type
            WHEN 'cross-sell' THEN 'buys ' || v.because_of || ', never bought '
                                  || v.offer_category
            WHEN 'up-sell' THEN 'buys ' || v.current_band || ' ' || v.offer_category END,
        CASE WHEN v.offer_type = 'concern'
             THEN 'rates ' || v.weakest_driver || ' ' || printf('%g', v.weakest_rating) END
    ) AS reason
FROM valued AS v
LEFT JOIN customers AS c ON c.customer_id = v.customer_id
ORDER BY v.customer_id
