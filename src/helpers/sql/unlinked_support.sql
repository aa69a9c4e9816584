-- Support tickets whose customer key the linked source does not know, as rejected_rows.
-- Reads: staged_support (temporary, see support_contacts.sql), customer_xref.
SELECT
    s.source,
    s.file,
    s._row AS row_number,
    'customer key not found in source ''' || s.linked_to || '''' AS reason,
    json_object('customer_key', s.customer_key) AS raw
FROM staged_support AS s
WHERE NOT EXISTS (
    SELECT 1 FROM customer_xref AS x
    WHERE x.source = s.linked_to AND x.customer_key = s.customer_key
)
ORDER BY s.source_rank, s._row
