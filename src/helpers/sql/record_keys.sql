-- record_keys: every distinct standardised email and phone each source record ever used
-- (a web account may type a different email at each checkout).
-- Reads: identity_rows (temporary, see identity_rows.sql).
SELECT DISTINCT source_record_id, 'email' AS key_type, email_std AS key_value
FROM identity_rows
WHERE email_std IS NOT NULL
UNION
SELECT DISTINCT source_record_id, 'phone', phone_e164
FROM identity_rows
WHERE phone_e164 IS NOT NULL
ORDER BY source_record_id, key_type, key_value
