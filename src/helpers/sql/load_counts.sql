-- load_counts: rows in, accepted, excluded and rejected per source file, after every stage of
-- 01 that sets rows aside (staging, then support tickets and linked_to orders whose customer
-- key the linked source lacks).
-- rows_in = accepted + excluded + rejected; excluded rows (dated after as_of) are counted
-- by staging only, rejected rows are those in rejected_rows.
-- Reads: load_counts (as staging wrote it: source, kind, file, rows_in, excluded), rejected_rows.
SELECT
    c.source,
    c.kind,
    c.file,
    c.rows_in,
    c.rows_in - c.excluded - coalesce(r.rejected, 0) AS accepted,
    c.excluded,
    coalesce(r.rejected, 0) AS rejected
FROM load_counts AS c
LEFT JOIN (
    SELECT source, count(*) AS rejected FROM rejected_rows GROUP BY source
) AS r USING (source)
ORDER BY c.source
