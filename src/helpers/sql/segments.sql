-- segments: each customer's current value (profit of the last 12 months), profit to date,
-- future value (net CLV, with its interval) and value tier, with a sentence giving the reason.
-- The rules are documented in helpers.segment.tiers.build_segments; the first rule that fires
-- wins. helpers.segment.tiers.tier_sensitivity reruns this query with other thresholds.
-- Reads: customer_value, clv.
-- Parameters: $valuable_share, $growable_share, $growable_ratio, $currency, and the labels
--   $valuable_label, $growable_label, $ratio_label used in the reason sentences.
WITH base AS (
    SELECT
        v.customer_id,
        v.profit_12m AS current_value,
        -- notebook 02's below-zero basis: after acquisition cost where it is known
        COALESCE(v.profit_after_acquisition, v.profit) AS profit_to_date,
        -- no CLV estimate means no expected future value
        COALESCE(c.clv_net, 0) AS future_value,
        c.clv_low - c.expected_service_cost AS future_value_low,
        c.clv_high - c.expected_service_cost AS future_value_high,
        c.p_alive,
        v.rfmt_score
    FROM customer_value AS v
    LEFT JOIN clv AS c ON c.customer_id = v.customer_id
),
ranked AS (
    SELECT
        *,
        ROW_NUMBER() OVER (ORDER BY current_value DESC, customer_id) AS current_rank,
        ROW_NUMBER() OVER (ORDER BY future_value DESC, customer_id) AS future_rank,
        COUNT(*) OVER () AS n_customers
    FROM base
),
thresholds AS (
    -- the value of the ceil(share * n)-th best customer: ties with it are in the top share;
    -- rounding keeps e.g. 0.1 * 30 from becoming 3.0000000000000004 -> 4
    SELECT
        MAX(CASE WHEN current_rank = CEIL(ROUND($valuable_share * n_customers, 9))
                 THEN current_value END) AS valuable_threshold,
        MAX(CASE WHEN future_rank = CEIL(ROUND($growable_share * n_customers, 9))
                 THEN future_value END) AS growable_threshold
    FROM ranked
),
tiered AS (
    SELECT
        r.*,
        t.valuable_threshold,
        t.growable_threshold,
        $growable_ratio * CASE WHEN r.current_value > 0 THEN r.current_value ELSE 0 END
            AS growable_floor,
        CASE
            WHEN r.profit_to_date < 0 AND r.profit_to_date + r.future_value < 0
                THEN 'Below zero'
            WHEN r.current_value > 0 AND r.current_value >= t.valuable_threshold
                THEN 'Most valuable'
            WHEN r.future_value > 0 AND r.future_value >= t.growable_threshold
                 AND r.future_value
                     >= $growable_ratio * CASE WHEN r.current_value > 0
                                               THEN r.current_value ELSE 0 END
                THEN 'Most growable'
            ELSE 'Maintain'
        END AS tier
    FROM ranked AS r
    CROSS JOIN thresholds AS t
),
worded AS (
    -- money as text with two decimals, for the reason sentence
    SELECT
        *,
        money_text($currency, current_value) AS current_text,
        money_text($currency, profit_to_date) AS to_date_text,
        money_text($currency, future_value) AS future_text,
        money_text($currency, valuable_threshold) AS valuable_text,
        money_text($currency, growable_threshold) AS growable_text,
        money_text($currency, growable_floor) AS floor_text
    FROM tiered
)
SELECT
    customer_id,
    current_value,
    profit_to_date,
    future_value,
    future_value_low,
    future_value_high,
    p_alive,
    rfmt_score,
    tier,
    CASE tier
        WHEN 'Below zero' THEN
            'profit to date ' || to_date_text || ' < 0 and future value '
            || future_text || ' will not make it up'
        WHEN 'Most valuable' THEN
            'profit last 12m ' || current_text || ' in top ' || $valuable_label
            || ' (≥ ' || valuable_text || ')'
        WHEN 'Most growable' THEN
            'future value ' || future_text || ' in top ' || $growable_label
            || ' (≥ ' || growable_text || ') and ≥ ' || $ratio_label
            || ' × current (' || floor_text || ')'
        ELSE
            -- neither rule fired: show both, with the bars the customer did not clear
            'profit last 12m ' || current_text || ' (Most valuable: > 0 and ≥ '
            || valuable_text || '); future value ' || future_text
            || ' (Most growable: > 0, ≥ ' || growable_text || ' and ≥ ' || floor_text || ')'
    END AS tier_reason
FROM worded
ORDER BY customer_id
