-- support_contacts: every support ticket whose customer key the linked source knows.
-- Reads: staged_support (temporary union of the staged support sources, each row with its
--        cost), source_links (temporary: the source whose keys each source's rows carry, and
--        its rank in the config), customer_xref.
-- Tickets with an unknown key are set aside by unlinked_rows.sql.
SELECT
    x.customer_id,
    s.source,
    s.contact_date,
    s.cost
FROM staged_support AS s
JOIN source_links AS k USING (source)
JOIN customer_xref AS x ON x.source = k.key_source AND x.customer_key = s.customer_key
ORDER BY k.source_rank, s._row
