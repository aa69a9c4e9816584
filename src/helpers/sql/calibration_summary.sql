-- calibration_summary: the BTYD sufficient statistics of a calibration period and the repeat
-- purchases of the holdout period after it, per customer (not stored: the clv builders read
-- it to fit the models on the calibration period and validate them on the holdout).
-- Reads: transactions, through the macro purchase_occasions (sql/purchase_occasions.sql:
--        one row per customer per purchase day up to as_of, worth the day's net amount).
-- Parameters: $calibration_end (last day of the calibration period), $as_of (last day of the
--             holdout), $days_per_unit.
--
-- lifetimes' 'calibration_and_holdout_data' columns, for the customers whose first purchase
-- is on or before calibration_end: the '_cal' columns are rfm_summary's on the days up to
-- calibration_end (T_cal runs to calibration_end); 'frequency_holdout' counts the purchase
-- days after calibration_end up to as_of (all repeats: the first purchase came before);
-- 'monetary_value_holdout' is their mean value (0 without one); 'duration_holdout' is the
-- holdout's length. Times in model units (days / days_per_unit).
WITH occasions AS (
    SELECT customer_id, purchase_date, day_value,
           purchase_date <= CAST($calibration_end AS DATE) AS in_calibration
    FROM purchase_occasions($as_of)
)
SELECT customer_id,
       COUNT(CASE WHEN in_calibration THEN 1 END) - 1 AS frequency_cal,
       CAST(DATE_DIFF('day', MIN(purchase_date),
                      MAX(CASE WHEN in_calibration THEN purchase_date END)) AS DOUBLE)
           / $days_per_unit AS recency_cal,
       CAST(DATE_DIFF('day', MIN(purchase_date), CAST($calibration_end AS DATE)) AS DOUBLE)
           / $days_per_unit AS T_cal,
       -- the calibration days' value less the first day's, over the repeat days
       COALESCE((SUM(CASE WHEN in_calibration THEN day_value END)
                 - ARG_MIN(day_value, purchase_date))
                / NULLIF(COUNT(CASE WHEN in_calibration THEN 1 END) - 1, 0), 0.0)
           AS monetary_value_cal,
       COUNT(CASE WHEN NOT in_calibration THEN 1 END) AS frequency_holdout,
       COALESCE(AVG(CASE WHEN NOT in_calibration THEN day_value END), 0.0)
           AS monetary_value_holdout,
       CAST(DATE_DIFF('day', CAST($calibration_end AS DATE), CAST($as_of AS DATE)) AS DOUBLE)
           / $days_per_unit AS duration_holdout
FROM occasions
GROUP BY customer_id
HAVING MIN(purchase_date) <= CAST($calibration_end AS DATE)
ORDER BY customer_id
