-- The kit's DuckDB macros: expressions that more than one query needs, written once.
-- helpers.warehouse.query and build_table define them (as TEMP macros, so they work on a
-- read-only warehouse and leave nothing in the file) before every query of this folder.

-- An email trimmed (spaces, tabs, no-break spaces) and lower-cased, or NULL when it is not
-- one: a local part of the characters an address may hold, '@', and a domain of dotted labels
-- ending in a top-level domain of letters ('Mario.Rossi@Libero.IT ' -> 'mario.rossi@libero.it';
-- 'mario rossi@x.it', 'mario@x', '@x.it' -> NULL).
CREATE OR REPLACE TEMP MACRO normalise_email(x) AS
    CASE
        WHEN regexp_full_match(lower(regexp_replace(x, '^[\s\pZ]+|[\s\pZ]+$', '', 'g')),
                               '[a-z0-9!#$%&''*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&''*+/=?^_`{|}~-]+)*'
                               || '@([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}')
            THEN lower(regexp_replace(x, '^[\s\pZ]+|[\s\pZ]+$', '', 'g'))
    END;

-- The digits of a phone number, nothing else.
CREATE OR REPLACE TEMP MACRO phone_digits(x) AS regexp_replace(x, '[^0-9]', '', 'g');

-- A calendar quarter as one number that counts up by 1 a quarter (year * 4 + quarter - 1).
CREATE OR REPLACE TEMP MACRO quarter_index(d) AS
    EXTRACT(YEAR FROM d) * 4 + EXTRACT(QUARTER FROM d) - 1;

-- A calendar quarter as text, e.g. '2024Q1'.
CREATE OR REPLACE TEMP MACRO quarter_label(d) AS
    CAST(EXTRACT(YEAR FROM d) AS VARCHAR) || 'Q' || CAST(EXTRACT(QUARTER FROM d) AS VARCHAR);

-- A customer attribute (channel, type, city) as the kit groups by it: trimmed, lower-case,
-- and 'unknown' when missing or blank, so ' Email' and 'email' are one group.
CREATE OR REPLACE TEMP MACRO attribute_or_unknown(x) AS
    COALESCE(NULLIF(lower(trim(x)), ''), 'unknown');

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

-- Phones are hashed on their digits, a leading international 00 read as '+', so
-- '+39 347 123 4567' and '0039 3471234567' get one token ('3471234567', written without
-- its country code, gets another: which country a number is in needs the run's region).
CREATE OR REPLACE TEMP MACRO pii_phone(x, mode, client) AS
    CASE mode
        WHEN 'keep' THEN x
        WHEN 'mask' THEN mask_phone(x)
        WHEN 'hash' THEN pii_token(client, coalesce(
            NULLIF(regexp_replace(phone_digits(x), '^00', ''), ''), normalise_text(x)))
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

-- Free text a person wrote (a survey comment) may name anyone: masked whole.
CREATE OR REPLACE TEMP MACRO pii_text(x, mode, client) AS
    CASE mode
        WHEN 'keep' THEN x
        WHEN 'mask' THEN CASE WHEN trim(x) <> '' THEN '***' ELSE x END
        WHEN 'hash' THEN pii_token(client, normalise_text(x))
        ELSE error('unknown privacy mode ' || mode)
    END;

-- Standardised identifying fields (source_records; sql/identity_rows.sql applies them). Each
-- is NULL when nothing usable is left. Phones are standardised by the phonenumbers library
-- (helpers.standardise), as no SQL expression knows every country's numbering plan.

-- Text lower-cased with its accents folded and the letters that have no accent to fold
-- spelled in ASCII: 'Müller' -> 'muller', 'Strauß' -> 'strauss', 'Łódź' -> 'lodz'.
CREATE OR REPLACE TEMP MACRO fold_text(x) AS
    translate(replace(replace(replace(strip_accents(lower(x)), 'ß', 'ss'), 'æ', 'ae'),
                      'œ', 'oe'),
              'øłđı', 'oldi');

-- Folded text as words of ASCII letters and digits, single-spaced: apostrophes join
-- ('D''Angelo' -> 'dangelo', as it is also typed), any other punctuation separates.
CREATE OR REPLACE TEMP MACRO normalise_words(x) AS
    NULLIF(trim(regexp_replace(regexp_replace(fold_text(x), '[''’`´]', '', 'g'),
                               '[^a-z0-9]+', ' ', 'g')), '');

-- A name as words of letters: titles before it removed ('Sig.ra', 'Dott.', 'Mr', 'Mrs',
-- 'Dr.' …, when a dot or a space follows them), digits and punctuation dropped:
-- '  Dott. José  D''Angelo ' -> 'jose dangelo'.
CREATE OR REPLACE TEMP MACRO normalise_name(x) AS
    normalise_words(regexp_replace(regexp_replace(fold_text(x),
        '^\s*((mrs?|ms|mx|miss|dr|prof(\.?ssa)?|sig(\.?ra|\.?na|norina|nora|nor)?'
        || '|dott(\.?ssa|oressa|ore|or)?|ing|avv|arch|geom|rag|herr|frau|mme|mlle|srta|sra|sr)'
        || '(\.|\s)\s*)+', ''), '[0-9]', ' ', 'g'));

-- The words of a name in alphabetical order: 'rossi mario' and 'mario rossi' are one value.
CREATE OR REPLACE TEMP MACRO sorted_words(x) AS
    array_to_string(list_sort(string_split(x, ' ')), ' ');

-- One word of a street address spelled out when it is a common abbreviation of a street
-- type (Italian, English, Spanish, French), or '' for a house-number marker ('n', 'nr').
CREATE OR REPLACE TEMP MACRO address_word(w) AS
    CASE w
        WHEN 'v' THEN 'via' WHEN 'vle' THEN 'viale' WHEN 'cso' THEN 'corso'
        WHEN 'pza' THEN 'piazza' WHEN 'pzza' THEN 'piazza' WHEN 'ple' THEN 'piazzale'
        WHEN 'lgo' THEN 'largo' WHEN 'vlo' THEN 'vicolo' WHEN 'loc' THEN 'localita'
        WHEN 'fraz' THEN 'frazione' WHEN 'st' THEN 'street' WHEN 'rd' THEN 'road'
        WHEN 'ave' THEN 'avenue' WHEN 'av' THEN 'avenue' WHEN 'blvd' THEN 'boulevard'
        WHEN 'bd' THEN 'boulevard' WHEN 'ln' THEN 'lane' WHEN 'dr' THEN 'drive'
        WHEN 'ct' THEN 'court' WHEN 'pl' THEN 'place' WHEN 'sq' THEN 'square'
        WHEN 'hwy' THEN 'highway' WHEN 'apt' THEN 'apartment' WHEN 'avda' THEN 'avenida'
        WHEN 'n' THEN '' WHEN 'nr' THEN ''
        ELSE w
    END;

-- A street address as folded words, abbreviations spelled out: a word's dots are dropped
-- before it is looked up ('P.zza' -> 'piazza', 'V. Roma, 12/A' -> 'via roma 12 a',
-- '10 Downing St.' -> '10 downing street'; 'Via Roma n. 5' -> 'via roma 5').
CREATE OR REPLACE TEMP MACRO normalise_address(x) AS
    NULLIF(array_to_string(list_filter(list_transform(
        string_split(trim(regexp_replace(regexp_replace(fold_text(x), '[''’`´]', '', 'g'),
                                         '[^a-z0-9.]+', ' ', 'g')), ' '),
        lambda w: address_word(replace(w, '.', ''))), lambda w: w <> ''), ' '), '');

-- A postcode upper-cased without spaces: ' sw1a 1aa ' -> 'SW1A1AA'.
CREATE OR REPLACE TEMP MACRO normalise_postcode(x) AS
    NULLIF(upper(regexp_replace(x, '[\s\pZ]+', '', 'g')), '');

-- A phone as the phonenumbers function reads it: separators ( ().-/ and spaces) dropped, so
-- that '347 123 4567' and '347-1234567' are parsed once.
CREATE OR REPLACE TEMP MACRO phone_key(x) AS
    NULLIF(regexp_replace(x, '[\s\pZ().\-/]+', '', 'g'), '');

-- The term frequency of a value for matching (sql/match_input.sql): the share of the other
-- records that have it, given how many records have it and how many have any value; at least
-- one record; NULL for no value.
CREATE OR REPLACE TEMP MACRO term_frequency(value, n_value, n_any) AS
    CASE WHEN value IS NOT NULL THEN greatest(n_value - 1, 1) / greatest(n_any - 1, 1) END;

-- Text a spreadsheet shows as text, never runs as a formula (formula or CSV injection): text
-- starting with =, +, -, @, a tab or a carriage return gets a leading apostrophe, so
-- '=HYPERLINK("http://x?"&A1)' and '+cmd|...' are read as text. Text of digits and the
-- separators of a phone or an amount only ('+39 347 123 4567', '-12.50') is left as it is:
-- it names no function or command to run. helpers.exports applies it to every text column
-- of the CSV exports; numbers are never text, so a negative amount stays a number.
CREATE OR REPLACE TEMP MACRO spreadsheet_safe(x) AS
    CASE
        WHEN left(x, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
             AND NOT regexp_full_match(x, '[0-9 +().,/-]+')
            THEN '''' || x
        ELSE x
    END;
