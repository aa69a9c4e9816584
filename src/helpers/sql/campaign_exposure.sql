-- campaign_exposure: every campaign row (a customer treated by a campaign, or held out as its
-- control) whose customer key the linked source knows.
-- Reads: staged_campaign (temporary union of the staged campaign sources: source, _row,
--        customer_key, campaign_id, exposure_date, exposure_group already 'treated' or
--        'control'), source_links (temporary: the source whose keys each source's rows
--        carry, and its rank in the config), customer_xref.
-- Rows with an unknown key are set aside by unlinked_rows.sql.
SELECT
    x.customer_id,
    s.source,
    s.campaign_id,
    s.exposure_date,
    s.exposure_group
FROM staged_campaign AS s
JOIN source_links AS k USING (source)
JOIN customer_xref AS x ON x.source = k.key_source AND x.customer_key = s.customer_key
ORDER BY k.source_rank, s._row
