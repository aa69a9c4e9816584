-- record_keys: every distinct normalised email and phone each source record ever used.
-- Reads: identity_rows (temporary, see identity_rows.sql).
SELECT DISTINCT source_record_id, 'email' AS key_type, email_norm AS key_value
FROM identity_rows
WHERE email_norm IS NOT NULL
UNION
SELECT DISTINCT source_record_id, 'phone', phone_norm
FROM identity_rows
WHERE phone_norm IS NOT NULL
ORDER BY source_record_id, key_type, key_value
