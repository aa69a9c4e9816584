-- support_contacts: every support ticket whose customer key the linked source knows.
-- Reads: staged_support (temporary union of the staged support sources, each row with the
--        source its keys belong to, linked_to, and its cost), customer_xref.
-- Tickets with an unknown key are set aside by unlinked_support.sql.
SELECT
    x.customer_id,
    s.source,
    s.contact_date,
    s.cost
FROM staged_support AS s
JOIN customer_xref AS x ON x.source = s.linked_to AND x.customer_key = s.customer_key
ORDER BY s.source_rank, s._row
