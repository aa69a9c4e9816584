-- identity_rows (temporary): every staged row that identifies a customer, with its matching
-- keys normalised. One row per row of a customers or transactions source.
-- Reads: staged_identities, the temporary union of those sources' stage_<source> tables
--        (built per source by helpers.identify; a role a source lacks is NULL).
SELECT
    source,
    customer_key,
    _row,
    source || ':' || customer_key AS source_record_id,
    -- a name split into first and last name is joined
    coalesce(name, nullif(trim(concat_ws(' ', first_name, last_name)), '')) AS name,
    email,
    phone,
    address,
    city,
    postcode,
    customer_type,
    acquisition_channel,
    signup_date,
    normalise_email(email) AS email_norm,
    normalise_phone(phone) AS phone_norm
FROM staged_identities
