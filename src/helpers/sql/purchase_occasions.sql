-- purchase_occasions(as_of): a table macro, the purchase occasions every BTYD summary of
-- helpers.clv.summary stands on: one row per customer per calendar day with a purchase, up to
-- as_of, with columns customer_id, purchase_date and day_value. Called as
-- `FROM purchase_occasions($as_of)`; helpers.clv.summary defines it before each such query.
-- Reads: transactions.
--
-- Fader-Hardie convention: same-day lines merge into one occasion worth the day's net amount,
-- so a return nets out against that day's purchases. A day is a purchase when its net is
-- positive, or when it nets to zero and holds a line of amount 0 (such lines reach
-- transactions only from a source with zero_amount_lines: keep, where a $0 line is a real
-- purchase, e.g. CDNOW's); a day of returns only, or netting below zero, is none.
--
-- day_value is an exact DECIMAL sum (amounts to 4 decimals, as money types keep them; loading
-- refuses amounts of 1e13 or more, so every amount fits), and so is every sum the queries on
-- it take: exact sums do not depend on the order threads add them up in, so these queries may
-- run on all cores and still give the same result to the last bit.
CREATE OR REPLACE TEMP MACRO purchase_occasions(as_of) AS TABLE
    SELECT customer_id,
           CAST(order_date AS DATE) AS purchase_date,
           SUM(CAST(amount AS DECIMAL(18, 4))) AS day_value
    FROM transactions
    WHERE CAST(order_date AS DATE) <= CAST(as_of AS DATE)
    GROUP BY customer_id, CAST(order_date AS DATE)
    HAVING SUM(CAST(amount AS DECIMAL(18, 4))) > 0
        OR (SUM(CAST(amount AS DECIMAL(18, 4))) = 0
            AND COUNT(CASE WHEN amount = 0 THEN 1 END) > 0);
