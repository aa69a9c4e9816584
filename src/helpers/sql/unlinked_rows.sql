-- unlinked_rows: rows keyed by another source's customer key (linked_to) that the linked
-- source does not know, as rejected_rows.
-- Reads: keyed_rows (temporary: source, _row, customer_key of the staged support, survey,
--        campaign or transactions rows being linked), source_links (temporary: each
--        source's key_source, file and rank in the config), customer_xref.
SELECT
    s.source,
    k.file,
    s._row AS row_number,
    'customer key not found in source ''' || k.key_source || '''' AS reason,
    json_object('customer_key', s.customer_key) AS raw
FROM keyed_rows AS s
JOIN source_links AS k USING (source)
WHERE k.key_source <> s.source
  AND NOT EXISTS (
    SELECT 1 FROM customer_xref AS x
    WHERE x.source = k.key_source AND x.customer_key = s.customer_key
)
ORDER BY k.source_rank, s._row
