-- customer_id_claims (temporary): one round of handing the previous run's customer ids to
-- this run's customers, so that existing customers keep their ids.
-- Reads: labels (temporary: each source record's customer, named by its anchor, the smallest
--        source_record_id of its records), previous_xref (temporary: source_record_id,
--        customer_id of a previous run), kept_customer_ids (temporary: anchor, customer_id
--        handed out in earlier rounds).
-- A customer claims the previous id that most of its records had (ties: the smallest id); an
-- id claimed by several customers (a previous customer split) goes to the one holding most of
-- its records (ties: the smallest anchor). Pairs that choose each other keep the id; the rest
-- try again without the ids and customers settled, until no pair is left. Each round settles
-- at least the pair with most records, so the outcome never depends on row order.
WITH votes AS (
    SELECT l.label AS anchor, p.customer_id, count(*) AS records
    FROM labels AS l
    JOIN previous_xref AS p USING (source_record_id)
    WHERE l.label NOT IN (SELECT anchor FROM kept_customer_ids)
      AND p.customer_id NOT IN (SELECT customer_id FROM kept_customer_ids)
    GROUP BY l.label, p.customer_id
),
choices AS (
    SELECT
        anchor,
        customer_id,
        row_number() OVER (PARTITION BY anchor ORDER BY records DESC, customer_id)
            AS customer_choice,
        row_number() OVER (PARTITION BY customer_id ORDER BY records DESC, anchor) AS id_choice
    FROM votes
)
SELECT anchor, customer_id
FROM choices
WHERE customer_choice = 1 AND id_choice = 1
ORDER BY anchor
