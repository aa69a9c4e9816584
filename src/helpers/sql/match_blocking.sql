-- match_blocking: what each blocking rule adds to the candidate pairs the model compares.
-- Reads: blocking_rules (temporary: rule_order, rule, condition, reason; helpers.matching),
--        match_predictions (temporary view of the scored pairs, each with the order of the
--        first rule that found it).
-- Parameters: $all_pairs (n(n-1)/2: the pairs of n records without blocking).
WITH found AS (
    SELECT rule_order, count(*) AS pairs
    FROM match_predictions
    GROUP BY rule_order
)
SELECT
    b.rule_order,
    b.rule,
    b.condition,
    b.reason,
    coalesce(f.pairs, 0) AS pairs,
    CAST(sum(coalesce(f.pairs, 0)) OVER (ORDER BY b.rule_order) AS BIGINT) AS cumulative_pairs,
    CAST($all_pairs AS BIGINT) AS all_pairs
FROM blocking_rules AS b
LEFT JOIN found AS f USING (rule_order)
ORDER BY b.rule_order
