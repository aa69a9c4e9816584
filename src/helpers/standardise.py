"""Standardisation of the identifying fields: the part that SQL cannot do (notebook 01).

Names, emails, addresses, cities and postcodes are standardised by the DuckDB macros of
``sql/macros.sql`` (``normalise_name``, ``normalise_email``, ``normalise_address`` …) inside
``sql/identity_rows.sql``. A phone number needs each country's numbering plan (which prefixes
and lengths exist, what a national trunk prefix is), which Google's libphonenumber keeps up to
date and the ``phonenumbers`` package ships; so this module lends DuckDB one Python function,
``phone_e164(raw, region)``, and ``identity_rows.sql`` calls it once per distinct phone
(separators dropped), never once per row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import phonenumbers
from duckdb.sqltypes import VARCHAR

__all__ = ["PHONE_FUNCTION", "phone_e164", "phone_function"]

#: The name under which :func:`phone_function` gives DuckDB :func:`phone_e164`.
PHONE_FUNCTION = "phone_e164"


def phone_e164(raw: str | None, region: str | None) -> str | None:
    """A phone number in E.164 form (``'+393471234567'``), or None when it is none.

    Parameters
    ----------
    raw
        The number as written: ``'+39 347 123 4567'``, ``'0039 3471234567'``,
        ``'(415) 555-2671'``; an extension (``'ext. 12'``) is dropped.
    region
        ISO 3166 code of the country whose numbers are written without their country code
        (``identity.default_region``); None reads only numbers written with one (``+44 …``).

    Returns
    -------
    str or None
        None when ``raw`` is not a number, or not a valid number of its country by
        libphonenumber's metadata (a wrong length, a prefix no operator uses).
    """
    if raw is None:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@contextmanager
def phone_function(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Within the block, ``con`` has the SQL function ``phone_e164(raw VARCHAR, region
    VARCHAR) -> VARCHAR`` (:func:`phone_e164`); it is removed after, as a warehouse file
    opened without this package could not call it.
    """
    con.create_function(PHONE_FUNCTION, phone_e164, [VARCHAR, VARCHAR], VARCHAR,
                        null_handling="special", side_effects=False)
    try:
        yield con
    finally:
        con.remove_function(PHONE_FUNCTION)
