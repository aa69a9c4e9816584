-- campaign_customers: one customer of one campaign, the group they are compared in and the
-- window they are followed over (a temporary step of helpers.differentiate.initiatives).
-- Reads: campaign_exposure.
-- Parameters: $as_of, $window_days (differentiate.campaign_window_days; NULL: up to as_of).
--
-- * A customer listed more than once in one group of a campaign counts once, from their first
--   exposure date.
-- * A customer listed in both groups of a campaign (e.g. two source records of one person)
--   cannot be compared: in_both_groups, and left out of both (exposure_group is NULL).
-- * Every customer of a campaign is followed for the same number of days, window_days, from
--   their own exposure date, the exposure day being day 0: the configured window, else the
--   days from the campaign's latest exposure up to as_of (both included), so that nobody's
--   window is cut short. With a configured window, a customer exposed too late for their
--   window to end by as_of is left out (window_too_short).
-- followed: the customer is compared (neither of the above).
WITH listed AS (
    SELECT campaign_id,
           customer_id,
           COUNT(DISTINCT exposure_group) > 1 AS in_both_groups,
           MIN(exposure_group) AS exposure_group,
           MIN(exposure_date) AS exposure_date
    FROM campaign_exposure
    WHERE exposure_date <= CAST($as_of AS DATE)
    GROUP BY campaign_id, customer_id
),
windows AS (
    SELECT campaign_id,
           COALESCE(CAST($window_days AS INTEGER),
                    CAST(DATE_DIFF('day', MAX(exposure_date), CAST($as_of AS DATE)) + 1
                         AS INTEGER)) AS window_days
    FROM listed
    WHERE NOT in_both_groups
    GROUP BY campaign_id
),
judged AS (
    SELECT l.campaign_id,
           l.customer_id,
           CASE WHEN NOT l.in_both_groups THEN l.exposure_group END AS exposure_group,
           l.exposure_date,
           w.window_days,
           l.in_both_groups,
           NOT l.in_both_groups
               AND l.exposure_date + w.window_days - 1 > CAST($as_of AS DATE)
               AS window_too_short
    FROM listed AS l
    LEFT JOIN windows AS w USING (campaign_id)
)
SELECT *, NOT in_both_groups AND NOT window_too_short AS followed
FROM judged
ORDER BY campaign_id, customer_id
