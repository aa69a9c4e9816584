-- source_profile: per source and identifying field, how often the field is filled
-- (completeness), how often a value standardises to a usable one (validity), and for emails
-- and phones how many records share one with another record of the same source.
-- Reads: source_records, record_keys.
WITH fields AS (
    SELECT
        source,
        unnest([
            {'field': 'name', 'position': 1, 'raw': name IS NOT NULL,
             'std': name_std IS NOT NULL},
            {'field': 'email', 'position': 2, 'raw': email IS NOT NULL,
             'std': email_std IS NOT NULL},
            {'field': 'phone', 'position': 3, 'raw': phone IS NOT NULL,
             'std': phone_e164 IS NOT NULL},
            {'field': 'address', 'position': 4, 'raw': address IS NOT NULL,
             'std': address_std IS NOT NULL},
            {'field': 'city', 'position': 5, 'raw': city IS NOT NULL,
             'std': city_std IS NOT NULL},
            {'field': 'postcode', 'position': 6, 'raw': postcode IS NOT NULL,
             'std': postcode_std IS NOT NULL},
            -- typed when loaded: a birth date that is not a date is already empty
            {'field': 'birth_date', 'position': 7, 'raw': birth_date IS NOT NULL,
             'std': birth_date IS NOT NULL}
        ], max_depth := 2)
    FROM source_records
),
shared_keys AS (
    -- each key with the records of one source that used it
    SELECT r.source, k.key_type, k.source_record_id,
           count(*) OVER (PARTITION BY r.source, k.key_type, k.key_value) AS holders
    FROM record_keys AS k
    JOIN source_records AS r USING (source_record_id)
),
duplicates AS (
    SELECT source, key_type AS field,
           count(DISTINCT source_record_id) FILTER (WHERE holders > 1) AS duplicate_records
    FROM shared_keys
    GROUP BY source, key_type
)
SELECT
    f.source,
    f.field,
    count(*) AS records,
    avg(f.raw::INTEGER) AS completeness,
    sum(f.std::INTEGER) / NULLIF(sum(f.raw::INTEGER), 0) AS validity,
    CASE WHEN f.field IN ('email', 'phone') THEN coalesce(any_value(d.duplicate_records), 0)
    END AS duplicate_records
FROM fields AS f
LEFT JOIN duplicates AS d USING (source, field)
GROUP BY f.source, f.field, f.position
ORDER BY f.source, f.position
