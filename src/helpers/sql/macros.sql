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
