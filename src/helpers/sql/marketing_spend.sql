-- marketing_spend: every accepted row of the marketing sources, the spend of one channel in
-- one period, for acquisition costs (spend of a channel and month / customers it acquired).
-- Reads: staged_marketing (temporary union of the staged marketing sources: source, _row,
--        period, channel, amount), source_links (temporary: each source's rank in the
--        config).
-- Channels are lower-cased so that 'Search' and 'search' are one channel.
SELECT
    s.source,
    s.period AS spend_date,
    lower(s.channel) AS channel,
    s.amount
FROM staged_marketing AS s
JOIN source_links AS k USING (source)
ORDER BY k.source_rank, s._row
