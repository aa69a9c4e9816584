-- The kit's DuckDB macros: expressions that more than one query needs, written once.
-- helpers.warehouse.query and build_table define them (as TEMP macros, so they work on a
-- read-only warehouse and leave nothing in the file) before every query of this folder.

-- An email trimmed and lower-cased; a value without '@' after its first character is no email.
CREATE OR REPLACE TEMP MACRO normalise_email(x) AS
    CASE WHEN position('@' IN lower(trim(x))) > 1 THEN lower(trim(x)) END;

-- The digits of a phone number, nothing else.
CREATE OR REPLACE TEMP MACRO phone_digits(x) AS regexp_replace(x, '[^0-9]', '', 'g');

-- A phone as digits without the Italian international prefix (0039 / +39); fewer than
-- 6 digits is no usable phone number.
CREATE OR REPLACE TEMP MACRO normalise_phone(x) AS
    CASE
        WHEN length(phone_digits(x)) < 6 THEN NULL
        WHEN phone_digits(x) LIKE '0039%' THEN substr(phone_digits(x), 5)
        WHEN phone_digits(x) LIKE '39%' AND length(phone_digits(x)) = 12
            THEN substr(phone_digits(x), 3)
        ELSE phone_digits(x)
    END;

-- A calendar quarter as one number that counts up by 1 a quarter (year * 4 + quarter - 1).
CREATE OR REPLACE TEMP MACRO quarter_index(d) AS
    EXTRACT(YEAR FROM d) * 4 + EXTRACT(QUARTER FROM d) - 1;

-- A calendar quarter as text, e.g. '2024Q1'.
CREATE OR REPLACE TEMP MACRO quarter_label(d) AS
    CAST(EXTRACT(YEAR FROM d) AS VARCHAR) || 'Q' || CAST(EXTRACT(QUARTER FROM d) AS VARCHAR);

-- An amount as text with its currency and two decimals, e.g. 'EUR 12.50'.
CREATE OR REPLACE TEMP MACRO money_text(currency, x) AS
    currency || ' ' || CAST(CAST(ROUND(x, 2) AS DECIMAL(18, 2)) AS VARCHAR);

-- Personal data (the config's `pii:` setting; helpers.privacy applies it). Every mask maps
-- NULL and blank to NULL: there is nothing to show.

-- Text trimmed, lower-cased, without accents and with single spaces: what a stable token of
-- a name or address is computed on ('  Niccolò  Rossi' and 'niccolo rossi' are one value).
CREATE OR REPLACE TEMP MACRO normalise_text(x) AS
    NULLIF(lower(strip_accents(regexp_replace(trim(x), '\s+', ' ', 'g'))), '');

-- An email as its first character and its domain: 'Mario.Rossi@Example.com' -> 'm***@example.com';
-- without '@' nothing is shown ('***').
CREATE OR REPLACE TEMP MACRO mask_email(x) AS
    CASE
        WHEN NULLIF(trim(x), '') IS NULL THEN NULL
        WHEN position('@' IN x) = 0 THEN '***'
        ELSE lower(regexp_extract(trim(x), '^([^@]?)', 1) || '***@'
                   || regexp_extract(trim(x), '@([^@]*)$', 1))
    END;

-- A name as the initials of its words: 'Mario Rossi' -> 'M. R.', 'D''Angelo' -> 'D.',
-- 'élodie de la tour' -> 'É. D. L. T.'; a word's leading punctuation is skipped. (ASCII
-- classes: Unicode ones like \pL make this 4 times slower on a million names.)
CREATE OR REPLACE TEMP MACRO name_initials(x) AS
    NULLIF(upper(trim(regexp_replace(x, '\s*[[:punct:]]*([^[:punct:]\s])\S*', ' \1.', 'g'))),
           '');

-- The end of a phone from its last but one digit: '+39 347 123 4567' -> '67'.
CREATE OR REPLACE TEMP MACRO phone_tail(x) AS
    regexp_extract(trim(x), '[0-9][^0-9]*[0-9][^0-9]*$');

-- A phone with every character but its separators ( +()./-) and its last 2 digits starred,
-- its layout kept: '+39 347 123 4567' -> '+** *** *** **67', 'call Mario' -> '**** *****'.
-- A phone of digits and separators only, the usual case, takes the 3 times faster translate.
CREATE OR REPLACE TEMP MACRO mask_phone(x) AS
    CASE
        WHEN NULLIF(trim(x), '') IS NULL THEN NULL
        WHEN regexp_matches(x, '[^0-9 +()./-]')
            THEN regexp_replace(left(trim(x), length(trim(x)) - length(phone_tail(x))),
                                '[^ +()./-]', '*', 'g')
                 || regexp_replace(phone_tail(x), '[^0-9 +()./-]', '*', 'g')
        ELSE translate(left(trim(x), length(trim(x)) - length(phone_tail(x))),
                       '0123456789', '**********') || phone_tail(x)
    END;

-- A street address: nothing of it is shown.
CREATE OR REPLACE TEMP MACRO mask_address(x) AS
    CASE WHEN NULLIF(trim(x), '') IS NOT NULL THEN '***' END;

-- A postcode cut to its first 2 characters (the area): '20121' -> '20'.
CREATE OR REPLACE TEMP MACRO mask_postcode(x) AS NULLIF(left(trim(x), 2), '');

-- A stable token for a normalised value: the first 12 hex digits of sha256(client:value), so
-- one person has one token in every run of that client, and tokens differ between clients.
CREATE OR REPLACE TEMP MACRO pii_token(client, normalised) AS
    left(sha256(client || ':' || normalised), 12);

-- One personal field under a privacy mode ('keep', 'mask' or 'hash') for client `client`:
-- what the report and the exports show (helpers.privacy.PII_MACROS says which role uses which).
CREATE OR REPLACE TEMP MACRO pii_name(x, mode, client) AS
    CASE mode
        WHEN 'keep' THEN x
        WHEN 'mask' THEN name_initials(x)
        WHEN 'hash' THEN pii_token(client, normalise_text(x))
        ELSE error('unknown privacy mode ' || mode)
    END;

CREATE OR REPLACE TEMP MACRO pii_email(x, mode, client) AS
    CASE mode
        WHEN 'keep' THEN x
        WHEN 'mask' THEN mask_email(x)
        WHEN 'hash' THEN pii_token(client, normalise_text(x))
        ELSE error('unknown privacy mode ' || mode)
    END;

-- Phones are hashed on their normalised digits, so '+39 347 123 4567' and '3471234567'
-- get one token.
CREATE OR REPLACE TEMP MACRO pii_phone(x, mode, client) AS
    CASE mode
        WHEN 'keep' THEN x
        WHEN 'mask' THEN mask_phone(x)
        WHEN 'hash' THEN pii_token(client, coalesce(normalise_phone(x), normalise_text(x)))
        ELSE error('unknown privacy mode ' || mode)
    END;

CREATE OR REPLACE TEMP MACRO pii_address(x, mode, client) AS
    CASE mode
        WHEN 'keep' THEN x
        WHEN 'mask' THEN mask_address(x)
        WHEN 'hash' THEN pii_token(client, normalise_text(x))
        ELSE error('unknown privacy mode ' || mode)
    END;

CREATE OR REPLACE TEMP MACRO pii_postcode(x, mode, client) AS
    CASE mode
        WHEN 'keep' THEN x
        WHEN 'mask' THEN mask_postcode(x)
        WHEN 'hash' THEN pii_token(client, normalise_text(x))
        ELSE error('unknown privacy mode ' || mode)
    END;
