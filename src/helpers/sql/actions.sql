-- actions: the treatment, offer, channel and priority for every customer in segments.
-- Reads: segments, customers, action_rules (helpers.segment.ACTION_RULES, registered by the
--   builder).
-- Parameters: $win_back_p_alive (below it, a customer not Below zero is won back).
WITH keyed AS (
    SELECT
        s.customer_id,
        s.tier,
        -- the at-risk overlay; an unknown p_alive (no CLV estimate) is not a risk signal
        CASE WHEN s.tier <> 'Below zero' AND s.p_alive < $win_back_p_alive
             THEN 'Win back' ELSE s.tier END AS rule,
        CASE WHEN NULLIF(TRIM(c.email), '') IS NOT NULL THEN 'email'
             WHEN NULLIF(TRIM(c.phone), '') IS NOT NULL THEN 'sms'
             ELSE 'store' END AS channel
    FROM segments AS s
    LEFT JOIN customers AS c ON c.customer_id = s.customer_id
)
SELECT k.customer_id, k.tier, r.treatment, r.offer, k.channel,
       -- an at-risk best customer is won back first of all, not after the growable ones
       LEAST(r.priority, t.priority) AS priority
FROM keyed AS k
JOIN action_rules AS r ON r.rule = k.rule
JOIN action_rules AS t ON t.rule = k.tier
ORDER BY k.customer_id
