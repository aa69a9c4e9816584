-- source_profile: per source and identifying field, how often the field is filled
-- (completeness), how often a value standardises to a usable one (validity), and for emails
-- and phones how many records share one with another record of the same source.
-- Reads: source_records, record_keys.
WITH fields AS (
    -- one row per record and identifying field: is it filled (raw), does it standardise (std)
    SELECT
        r.source,
        f.field,
        f.position,
        CASE f.field
            WHEN 'name' THEN r.name IS NOT NULL
            WHEN 'email' THEN r.email IS NOT NULL
            WHEN 'phone' THEN r.phone IS NOT NULL
            WHEN 'address' THEN r.address IS NOT NULL
            WHEN 'city' THEN r.city IS NOT NULL
            WHEN 'postcode' THEN r.postcode IS NOT NULL
            WHEN 'birth_date' THEN r.birth_date IS NOT NULL
        END AS raw,
        CASE f.field
            WHEN 'name' THEN r.name_std IS NOT NULL
            WHEN 'email' THEN r.email_std IS NOT NULL
            WHEN 'phone' THEN r.phone_e164 IS NOT NULL
            WHEN 'address' THEN r.address_std IS NOT NULL
            WHEN 'city' THEN r.city_std IS NOT NULL
            WHEN 'postcode' THEN r.postcode_std IS NOT NULL
            -- typed when loaded: a birth date that is not a date is already empty
            WHEN 'birth_date' THEN r.birth_date IS NOT NULL
        END AS std
    FROM source_records AS r
    CROSS JOIN (VALUES ('name', 1), ('email', 2), ('phone', 3), ('address', 4), ('city', 5),
                       ('postcode', 6), ('birth_date', 7)) AS f (field, position)
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
