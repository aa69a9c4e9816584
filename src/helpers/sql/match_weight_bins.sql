-- match_weight_bins: how the match weights of all the candidate pairs are distributed, in
-- bins of half a weight (a bit of evidence is one weight).
-- Reads: match_predictions (temporary view of the scored pairs, helpers.matching).
SELECT
    floor(match_weight * 2) / 2 AS bin_start,
    floor(match_weight * 2) / 2 + 0.5 AS bin_end,
    count(*) AS pairs
FROM match_predictions
GROUP BY 1, 2
ORDER BY bin_start
