"""Who people are and how each system gets their details slightly wrong.

The same person is typed differently in every source: upper or lower case, dropped accents,
typos, four phone formats, blank fields, a second CRM contact or web shop account, a work
e-mail at checkout. Partners in a household share surname and address without being the same
person. These functions make the clean identities and every one of those variations.
"""

from __future__ import annotations

import re
import string
import unicodedata

import numpy as np
import pandas as pd

from .arrays import concat, ids, map_distinct, where
from .parameters import (
    EMAIL_DOMAIN_PROBS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    HOUSEHOLD_SHARE,
    MOBILE_PREFIXES,
    SECOND_ACCOUNT_SHARE,
    WORK_EMAIL_DOMAINS,
)

__all__ = [
    "add_typos",
    "card_holders",
    "checkout_accounts",
    "contact_details",
    "crm_emails",
    "crm_names",
    "drop_accents",
    "format_phones",
    "pair_households",
    "slug",
    "strip_accents",
    "typed_phones",
    "vary_case",
    "web_account_owners",
]


# --------------------------------------------------------------------------------------------
# Text forms of names
# --------------------------------------------------------------------------------------------


def strip_accents(text: str) -> str:
    """``Nicolò`` -> ``Nicolo``: what many tills and old systems do."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slug(text: str) -> str:
    """E-mail friendly form of a name: ``D'Angelo`` -> ``dangelo``, ``Lo Russo`` -> ``lorusso``."""
    return re.sub(r"[^a-z]", "", strip_accents(text).lower())


def format_phones(prefix: np.ndarray, number: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Write Italian mobile numbers in one of four styles seen in real systems.

    Style 0 ``+39 347 1234567`` (the canonical form kept in the truth), 1 ``347-1234567``,
    2 ``0039 3471234567``, 3 ``3471234567``.
    """
    choices = [
        concat("+39 ", prefix, " ", number),
        concat(prefix, "-", number),
        concat("0039 ", prefix, number),
        concat(prefix, number),
    ]
    return np.select([style == k for k in range(len(choices))], choices, default="")


# --------------------------------------------------------------------------------------------
# Random variations (each draws from ``rng``)
# --------------------------------------------------------------------------------------------


def vary_case(rng: np.random.Generator, values: np.ndarray, upper: float,
              lower: float) -> np.ndarray:
    """Upper-case a share ``upper`` and lower-case a share ``lower`` of the values."""
    draw = rng.random(len(values))
    values = where(draw < upper, map_distinct(values, str.upper), values)
    is_lower = (draw >= upper) & (draw < upper + lower)
    return where(is_lower, map_distinct(values, str.lower), values)


def drop_accents(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Drop the accents of a share of the values (a no-op for names without accents)."""
    mask = rng.random(len(values)) < share
    return where(mask, map_distinct(values, strip_accents), values)


def add_typos(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Replace one letter (never the first) in a share of the values."""
    values = np.asarray(values, dtype=object).copy()
    chosen = np.flatnonzero(rng.random(len(values)) < share)
    where_frac = rng.random(len(chosen))
    letters = rng.integers(0, 26, size=len(chosen))
    # A loop over a few per cent of the accounts only, not over order lines.
    for i, frac, letter in zip(chosen, where_frac, letters, strict=True):
        values[i] = _replace_letter(values[i], frac, letter)
    return values


def _replace_letter(name: str, frac: float, letter: int) -> str:
    """Put letter number ``letter`` at the letter position ``frac`` of the way into ``name``."""
    letter_positions = [j for j, c in enumerate(name) if j > 0 and c.isalpha()]
    if not letter_positions:
        return name
    pos = letter_positions[int(frac * len(letter_positions))]
    new = string.ascii_lowercase[letter]
    if new == name[pos].lower():  # make sure the letter really changes
        new = string.ascii_lowercase[(letter + 1) % 26]
    if name[pos].isupper():
        new = new.upper()
    return name[:pos] + new + name[pos + 1:]


def typed_phones(rng: np.random.Generator, prefix: np.ndarray, number: np.ndarray,
                 blank_share: float) -> np.ndarray:
    """Phones in a random one of the four styles, left blank for a share ``blank_share``."""
    m = len(prefix)
    phone = format_phones(prefix, number, rng.integers(0, 4, size=m))
    return where(rng.random(m) < blank_share, np.full(m, "", dtype=object), phone)


# --------------------------------------------------------------------------------------------
# The real people
# --------------------------------------------------------------------------------------------


def pair_households(rng: np.random.Generator, first_idx: np.ndarray, last_idx: np.ndarray,
                    city_idx: np.ndarray, street_idx: np.ndarray,
                    house_no: np.ndarray) -> np.ndarray:
    """Pair ``HOUSEHOLD_SHARE`` of the people into households; returns their household ids.

    The partner takes over the head's surname and address (the index arrays are changed in
    place). Same address, different person -- a trap for matching on address.
    """
    n = len(first_idx)
    n_pairs = int(round(HOUSEHOLD_SHARE * n / 2))
    pairs = rng.choice(n, size=2 * n_pairs, replace=False)
    heads, partners = pairs[:n_pairs], pairs[n_pairs:]
    for column in (last_idx, city_idx, street_idx, house_no):
        column[partners] = column[heads]
    same_first = first_idx[partners] == first_idx[heads]
    first_idx[partners[same_first]] = (first_idx[partners[same_first]] + 1) % len(FIRST_NAMES)
    household_id = np.full(n, "", dtype=object)
    household_id[heads] = ids("H", np.arange(1, n_pairs + 1), 5)
    household_id[partners] = household_id[heads]
    return household_id


def contact_details(rng: np.random.Generator, first: np.ndarray,
                    last: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each person's true e-mail, mobile prefix and 7-digit mobile number (all unique)."""
    n = len(first)
    # A unique number in every e-mail keeps e-mails unique however many people there are.
    email_number = (rng.permutation(n) + 1).astype(str)
    domain = rng.choice(np.array(EMAIL_DOMAINS, dtype=object), size=n, p=EMAIL_DOMAIN_PROBS)
    email = concat(map_distinct(first, slug), ".", map_distinct(last, slug),
                   email_number, "@", domain)
    phone_prefix = rng.choice(np.array(MOBILE_PREFIXES, dtype=object), size=n)
    phone_number = pd.Series(rng.choice(10**7, size=n, replace=False)).astype(str).str.zfill(7)
    return email, phone_prefix, phone_number.to_numpy(dtype=object)


# --------------------------------------------------------------------------------------------
# How each source types them
# --------------------------------------------------------------------------------------------


def crm_names(rng: np.random.Generator, first: np.ndarray, last: np.ndarray,
              boost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CRM first and last names: dropped accents and case changes (``boost`` times likelier)."""
    first = drop_accents(rng, first, 0.3)
    first = vary_case(rng, first, upper=0.04, lower=0.03)
    last = drop_accents(rng, last, 0.3)
    draw = rng.random(len(last))
    last = where(draw < 0.10 * boost, map_distinct(last, str.upper), last)
    last = where((draw >= 0.10 * boost) & (draw < 0.14 * boost),
                 map_distinct(last, str.lower), last)
    return first, last


def crm_emails(rng: np.random.Generator, email: np.ndarray, boost: np.ndarray) -> np.ndarray:
    """CRM e-mails: some upper-cased, some with spaces around, 10% blank."""
    m = len(email)
    draw = rng.random(m)
    email = where(draw < 0.08 * boost, map_distinct(email, str.upper), email)
    spaced = (draw >= 0.08 * boost) & (draw < 0.13 * boost)
    email = where(spaced, concat(" ", email, " "), email)
    return where(rng.random(m) < 0.10, np.full(m, "", dtype=object), email)


def web_account_owners(rng: np.random.Generator,
                       people: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Web shop accounts: one per web buyer, plus a second one for a few of them.

    Returns
    -------
    owner : ndarray
        Person (row of ``people``) of each account; second accounts come last.
    primary, second : ndarray
        Each person's first and second account number, -1 if none.
    """
    n = len(people)
    web_people = np.flatnonzero(people["buys_via"].isin(["web", "both"]).to_numpy())
    n_second = min(int(round(SECOND_ACCOUNT_SHARE * n)), len(web_people))
    second_people = np.sort(rng.choice(web_people, size=n_second, replace=False))
    owner = np.concatenate([web_people, second_people])
    primary = np.full(n, -1)
    primary[web_people] = np.arange(len(web_people))
    second = np.full(n, -1)
    second[second_people] = len(web_people) + np.arange(n_second)
    return owner, primary, second


def checkout_accounts(rng: np.random.Generator, people: pd.DataFrame, owner: np.ndarray,
                      account_of_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Account ids (numbered by first use), checkout names and checkout e-mails per account."""
    n_acc = len(owner)
    first_row = np.full(n_acc, len(account_of_row))  # unused accounts go last
    used, first_use = np.unique(account_of_row, return_index=True)
    first_row[used] = first_use
    order = np.argsort(first_row, kind="stable")
    number = np.empty(n_acc, dtype=np.int64)
    number[order] = np.arange(1, n_acc + 1)
    acc_id = ids("WEB-", number, 5)

    src = people.iloc[owner]
    first = src["first_name"].to_numpy()
    last = src["last_name"].to_numpy()
    name = concat(first, " ", last)
    name = drop_accents(rng, name, 0.25)
    name = vary_case(rng, name, upper=0.05, lower=0.12)
    name = add_typos(rng, name, 0.05)
    email = _checkout_emails(rng, src["email"].to_numpy(), first, last, number)
    return acc_id, name, email


def _checkout_emails(rng: np.random.Generator, email: np.ndarray, first: np.ndarray,
                     last: np.ndarray, number: np.ndarray) -> np.ndarray:
    """Checkout e-mails: some upper-cased or capitalised, 3% a work e-mail nobody else knows."""
    n_acc = len(email)
    draw = rng.random(n_acc)
    email = where(draw < 0.08, map_distinct(email, str.upper), email)
    capital = (draw >= 0.08) & (draw < 0.12)
    email = where(capital, map_distinct(email, str.capitalize), email)
    work = rng.random(n_acc) < 0.03
    domain = rng.choice(np.array(WORK_EMAIL_DOMAINS, dtype=object), size=n_acc)
    work_email = concat(map_distinct(first, lambda s: slug(s)[:1]), ".",
                        map_distinct(last, slug), "@", domain, "-",
                        number.astype(str), ".it")
    return where(work, work_email, email)


def card_holders(rng: np.random.Generator, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Name on the loyalty card: mostly "SURNAME NAME" in capitals, often without accents."""
    style = rng.choice(4, size=len(first), p=(0.6, 0.2, 0.1, 0.1))
    holder = np.select(
        [style == 0, style == 1, style == 2],
        [map_distinct(concat(last, " ", first), str.upper),
         concat(first, " ", last),
         map_distinct(concat(last, " ", map_distinct(first, lambda s: s[0]), "."), str.upper)],
        default=map_distinct(concat(last, " ", first), str.lower),
    ).astype(object)
    return drop_accents(rng, holder, 0.5)
