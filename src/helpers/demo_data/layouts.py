"""The source-file layouts: how the CRM, web shop and store files are shaped from the people.

Each function takes the simulated people and occasions and lays them out as one source system
would hold them: its own keys and numbering, its own way of typing names, e-mails and phones
(see :mod:`.identity`), its date and amount formats, and a few deliberately bad rows listed in
the truth (:func:`plan_bad_rows`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .arrays import cents_to_text, concat, id_width, ids, rank_within_groups
from .dates import Calendar
from .identity import (
    card_holders,
    checkout_accounts,
    crm_emails,
    crm_names,
    typed_phones,
    web_account_owners,
)
from .parameters import (
    BAD_ROW_KINDS,
    BAD_ROW_SHARE,
    CRM_DUPLICATE_SHARE,
    CRM_SHARE,
    HOME_STORE_SHARE,
    RETURN_MAX_DAYS,
    RETURN_SHARE,
    SECOND_ACCOUNT_USE,
    STORES,
    WEB_HOUR_WEIGHTS,
)
from .writers import OrderFile

__all__ = ["make_crm", "make_store", "make_webshop", "plan_bad_rows"]

#: Store names in alphabetical order; a store's number is its position here.
_STORE_NAMES = np.array(sorted(STORES), dtype=object)


# ============================================================================================
# CRM
# ============================================================================================


def make_crm(rng: np.random.Generator, people: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """CRM contacts: ~70% of people, ~3% of people twice, typed with variations.

    Adds ``has_crm`` and ``contact_id`` (the person's first contact, "" if none) to
    ``people``; the returned frame has ``CRM_COLUMNS`` plus ``person`` and ``is_duplicate``.
    """
    has_crm, person, is_dup = _crm_members(rng, len(people))
    signup = _signup_days(rng, people, person, is_dup, cal)
    # Contact numbers follow the sign-up order, as a real CRM would.
    order = np.lexsort((is_dup, person, signup))
    person, is_dup, signup = person[order], is_dup[order], signup[order]

    src = people.iloc[person]
    # Duplicates always differ a little from the first record, so variations are likelier.
    boost = np.where(is_dup, 3.0, 1.0)
    first, last = crm_names(rng, src["first_name"].to_numpy(), src["last_name"].to_numpy(),
                            boost)
    email = crm_emails(rng, src["email"].to_numpy(), boost)
    phone = typed_phones(rng, src["phone_prefix"].to_numpy(), src["phone_number"].to_numpy(),
                         0.10)
    crm = pd.DataFrame({
        "contact_id": ids("CRM-", np.arange(1, len(person) + 1), 6),
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "address": src["address"].to_numpy(),
        "city": src["city"].to_numpy(),
        "postcode": src["postcode"].to_numpy(),
        "customer_type": src["customer_type"].to_numpy(),
        "signup_date": cal.format(signup, "%Y-%m-%d"),
        "acquisition_channel": src["acquisition_channel"].to_numpy(),
        "person": person,
        "is_duplicate": is_dup,
    })
    _link_people_to_crm(people, crm, has_crm)
    return crm


def _crm_members(rng: np.random.Generator,
                 n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who is in the CRM, and the person of every contact (duplicates last, flagged)."""
    has_crm = rng.random(n) < CRM_SHARE
    crm_people = np.flatnonzero(has_crm)
    n_dup = min(int(round(CRM_DUPLICATE_SHARE * n)), len(crm_people))
    dup_people = np.sort(rng.choice(crm_people, size=n_dup, replace=False))
    person = np.concatenate([crm_people, dup_people])
    is_dup = np.concatenate([np.zeros(len(crm_people), bool), np.ones(n_dup, bool)])
    return has_crm, person, is_dup


def _signup_days(rng: np.random.Generator, people: pd.DataFrame, person: np.ndarray,
                 is_dup: np.ndarray, cal: Calendar) -> np.ndarray:
    """Sign-up day of each contact, never after ``as_of``.

    Sign-up is around the first purchase (newsletter before, or account after); the duplicate
    is entered again months later by someone who did not find the first record.
    """
    acq_day = np.floor(people["t0"].to_numpy()[person]).astype(np.int64)
    signup = acq_day + rng.integers(-30, 31, size=len(person))
    signup[is_dup] += rng.integers(30, 400, size=int(is_dup.sum()))
    return np.minimum(signup, cal.last_day)


def _link_people_to_crm(people: pd.DataFrame, crm: pd.DataFrame, has_crm: np.ndarray) -> None:
    """Add ``has_crm`` and ``contact_id`` (first contact, "" if none) to ``people``."""
    people["has_crm"] = has_crm
    first_contact = np.full(len(people), "", dtype=object)
    originals = crm[~crm["is_duplicate"]]
    first_contact[originals["person"].to_numpy()] = originals["contact_id"].to_numpy()
    people["contact_id"] = first_contact


# ============================================================================================
# Bad rows
# ============================================================================================


def plan_bad_rows(rng: np.random.Generator, file_name: str, n_clean: int,
                  eligible: np.ndarray, values: dict) -> tuple:
    """Choose which clean rows become bad, and how.

    ``values[kind]`` is ``(column, make_text)``: the column to spoil and a function that gives
    the bad text for given clean rows. Duplicates are written twice instead.

    Returns ``copies``, ``overrides`` and the truth table ``file, row_number, kind``, with row
    numbers counted as in a spreadsheet (header = row 1, first data row = 2).
    """
    per_kind = max(1, int(round(BAD_ROW_SHARE * n_clean / len(BAD_ROW_KINDS))))
    candidates = np.flatnonzero(eligible)
    n_bad = min(per_kind * len(BAD_ROW_KINDS), len(candidates))
    chosen = rng.choice(candidates, size=n_bad, replace=False)
    kind_of = np.array(BAD_ROW_KINDS, dtype=object)[np.arange(n_bad) // per_kind]

    copies = np.ones(n_clean, dtype=np.int64)
    copies[chosen[kind_of == "duplicate"]] = 2
    first_position = np.cumsum(copies) - copies  # final 0-based row of each clean row

    overrides: dict[str, list] = {}
    truth_rows, truth_kinds = [], []
    for kind in BAD_ROW_KINDS:  # six kinds
        rows = np.sort(chosen[kind_of == kind])
        if kind == "duplicate":
            truth_rows.append(first_position[rows] + 1)  # the copy comes right after
        else:
            column, make_text = values[kind]
            positions = first_position[rows]
            overrides.setdefault(column, []).append((positions, make_text(rows)))
            truth_rows.append(positions)
        truth_kinds.append(np.full(len(rows), kind, dtype=object))
    merged = {
        column: (np.concatenate([p for p, _ in parts]),
                 np.concatenate([np.asarray(v, dtype=object) for _, v in parts]))
        for column, parts in overrides.items()
    }
    bad_rows = pd.DataFrame({
        "file": file_name,
        "row_number": np.concatenate(truth_rows).astype(np.int64) + 2,
        "kind": np.concatenate(truth_kinds),
    }).sort_values("row_number", ignore_index=True)
    return copies, merged, bad_rows


# ============================================================================================
# Web shop
# ============================================================================================


def make_webshop(rng: np.random.Generator, people: pd.DataFrame, occasions: pd.DataFrame,
                 lines: pd.DataFrame, catalogue: pd.DataFrame, cal: Calendar) -> OrderFile:
    """Web shop order lines with accounts, checkout names/e-mails, returns and bad rows."""
    account_owner, primary, second = web_account_owners(rng, people)
    buy, n_orders = _web_purchases(rng, occasions, lines, primary, second)
    ret = _web_returns(rng, buy, n_orders, cal)
    table = pd.concat([buy, ret], ignore_index=True)
    table = table.sort_values(["order_no", "line"], ignore_index=True)

    account_of_row = table["account"].to_numpy()
    accounts = checkout_accounts(rng, people, account_owner, account_of_row)
    copies, overrides, bad_rows = _web_bad_rows(rng, table, cal)
    # Text is made chunk by chunk when the file is written (see OrderFile).
    columns = _web_columns(table, accounts, catalogue, cal)
    result = OrderFile("webshop_orders.csv", len(table), columns, copies, overrides, bad_rows,
                       n_purchase_lines=len(buy), n_return_lines=len(ret))
    used = np.unique(account_of_row)
    result.keys = {"source_key": accounts[0][used], "person": account_owner[used]}
    return result


def _web_purchases(rng: np.random.Generator, occasions: pd.DataFrame, lines: pd.DataFrame,
                   primary: np.ndarray, second: np.ndarray) -> tuple[pd.DataFrame, int]:
    """Purchase lines of the web occasions, with order number, account and time of day.

    Order numbers follow the time order of the occasions. Returns the lines and the number
    of orders.
    """
    web_occ = np.flatnonzero(occasions["web"].to_numpy())
    person = occasions["person"].to_numpy()[web_occ]
    day = np.floor(occasions["t"].to_numpy()[web_occ]).astype(np.int64)
    hour_p = np.array(WEB_HOUR_WEIGHTS) / sum(WEB_HOUR_WEIGHTS)
    second_of_day = rng.choice(24, size=len(web_occ), p=hour_p) * 3600
    second_of_day += rng.integers(0, 3600, size=len(web_occ))
    use_second = (second[person] >= 0) & (rng.random(len(web_occ)) < SECOND_ACCOUNT_USE)
    account = np.where(use_second, second[person], primary[person])
    time_order = np.lexsort((second_of_day, day))
    order_no = np.empty(len(web_occ), dtype=np.int64)
    order_no[time_order] = np.arange(1, len(web_occ) + 1)

    occ_to_web = np.full(len(occasions), -1)
    occ_to_web[web_occ] = np.arange(len(web_occ))
    is_web_line = occasions["web"].to_numpy()[lines["occasion"].to_numpy()]
    wl = lines[is_web_line]
    w = occ_to_web[wl["occasion"].to_numpy()]
    buy = pd.DataFrame({
        "order_no": order_no[w], "line": wl["line"].to_numpy(), "account": account[w],
        "day": day[w], "second": second_of_day[w], "product": wl["product"].to_numpy(),
        "qty": wl["qty"].to_numpy(), "cents": wl["cents"].to_numpy(), "returned": False,
    })
    return buy, len(web_occ)


def _web_returns(rng: np.random.Generator, buy: pd.DataFrame, n_orders: int,
                 cal: Calendar) -> pd.DataFrame:
    """A few lines come back 1-20 days later, never after as_of; marks ``buy["returned"]``.

    The return lines (negative ``qty`` and ``cents``) are numbered after the order's lines.
    """
    is_returned = rng.random(len(buy)) < RETURN_SHARE
    delay = rng.integers(1, RETURN_MAX_DAYS + 1, size=len(buy))
    is_returned &= buy["day"].to_numpy() + delay <= cal.last_day
    buy["returned"] = is_returned
    ret = buy[is_returned].copy()
    ret["day"] = ret["day"] + delay[is_returned]
    ret["second"] = rng.integers(8 * 3600, 20 * 3600, size=len(ret))
    ret["qty"] = -ret["qty"]
    ret["cents"] = -ret["cents"]
    lines_per_order = np.bincount(buy["order_no"], minlength=n_orders + 1)
    ret = ret.sort_values(["order_no", "line"], ignore_index=True)
    ret["line"] = (lines_per_order[ret["order_no"].to_numpy()]
                   + rank_within_groups(ret["order_no"].to_numpy()) + 1)
    return ret


def _web_bad_rows(rng: np.random.Generator, table: pd.DataFrame, cal: Calendar) -> tuple:
    """Plan the web shop's bad rows (see :func:`plan_bad_rows`).

    Only purchase lines that were not returned are corrupted, so a return always refers to a
    clean purchase.
    """
    n_rows = len(table)
    day_all = table["day"].to_numpy()
    sec_all = table["second"].to_numpy()
    future_day = cal.last_day + rng.integers(1, 61, size=n_rows)
    abc = rng.random(n_rows) < 0.5
    values = {
        "bad_date": ("order_ts", lambda r: concat("31/02/", cal.format(day_all[r], "%Y"))),
        "missing_key": ("account_id", lambda r: np.full(len(r), "", dtype=object)),
        "bad_amount": ("line_total", lambda r: np.where(abc[r], "abc", "")),
        "zero_amount": ("line_total", lambda r: np.full(len(r), "0.00", dtype=object)),
        "future_date": ("order_ts", lambda r: cal.timestamps(future_day[r], sec_all[r])),
    }
    eligible = (table["qty"].to_numpy() > 0) & ~table["returned"].to_numpy()
    return plan_bad_rows(rng, "webshop_orders.csv", n_rows, eligible, values)


def _web_columns(table: pd.DataFrame, accounts: tuple[np.ndarray, np.ndarray, np.ndarray],
                 catalogue: pd.DataFrame, cal: Calendar) -> dict:
    """Text of each web shop column for given clean rows of ``table``."""
    acc_id, acc_name, acc_email = accounts
    order_no, line_no = table["order_no"].to_numpy(), table["line"].to_numpy()
    width = id_width(order_no, 7)
    account_of_row = table["account"].to_numpy()
    day_all, sec_all = table["day"].to_numpy(), table["second"].to_numpy()
    product, qty, cents = (table[c].to_numpy() for c in ("product", "qty", "cents"))
    sku = catalogue["sku"].to_numpy(dtype=object)
    return {
        "order_id": lambda r: ids("W-", order_no[r], width),
        "order_line": lambda r: line_no[r].astype(str),
        "account_id": lambda r: acc_id[account_of_row[r]],
        "checkout_name": lambda r: acc_name[account_of_row[r]],
        "checkout_email": lambda r: acc_email[account_of_row[r]],
        "order_ts": lambda r: cal.timestamps(day_all[r], sec_all[r]),
        "sku": lambda r: sku[product[r]],
        "qty": lambda r: qty[r].astype(str),
        "line_total": lambda r: cents_to_text(cents[r], "."),
    }


# ============================================================================================
# Store tills
# ============================================================================================


def make_store(rng: np.random.Generator, people: pd.DataFrame, occasions: pd.DataFrame,
               lines: pd.DataFrame, catalogue: pd.DataFrame, cal: Calendar) -> OrderFile:
    """Store receipt lines with loyalty cards (Italian CSV style) and bad rows."""
    store_people, card_of_person, cards = _loyalty_cards(rng, people)
    table = _store_lines(rng, people, occasions, lines, card_of_person)
    copies, overrides, bad_rows = _store_bad_rows(rng, table, cal)
    columns = _store_columns(table, cards, catalogue, cal)
    n_rows = len(table)
    result = OrderFile("store_receipts.csv", n_rows, columns, copies, overrides, bad_rows,
                       n_purchase_lines=n_rows)
    used = np.unique(table["card"].to_numpy())
    result.keys = {"source_key": cards[0][used], "person": store_people[used]}
    return result


def _loyalty_cards(rng: np.random.Generator, people: pd.DataFrame) -> tuple:
    """One loyalty card per store buyer: number, holder name and phone as the tills type them.

    Returns the card owners (rows of ``people``), each person's card number (-1 if none) and
    the cards' ``(card_number, holder, phone)`` text arrays.
    """
    store_people = np.flatnonzero(people["buys_via"].isin(["store", "both"]).to_numpy())
    card_of_person = np.full(len(people), -1)
    card_of_person[store_people] = np.arange(len(store_people))
    card_number = concat("LC", pd.Series(rng.choice(10**8, size=len(store_people),
                                                    replace=False))
                         .astype(str).str.zfill(8).to_numpy(dtype=object))
    src = people.iloc[store_people]
    holder = card_holders(rng, src["first_name"].to_numpy(), src["last_name"].to_numpy())
    phone = typed_phones(rng, src["phone_prefix"].to_numpy(), src["phone_number"].to_numpy(),
                         0.15)
    return store_people, card_of_person, (card_number, holder, phone)


def _store_lines(rng: np.random.Generator, people: pd.DataFrame, occasions: pd.DataFrame,
                 lines: pd.DataFrame, card_of_person: np.ndarray) -> pd.DataFrame:
    """Purchase lines of the store occasions, with receipt number, store, card and day.

    Most visits are in the person's home store; receipts are numbered in day order.
    """
    store_occ = np.flatnonzero(~occasions["web"].to_numpy())
    person = occasions["person"].to_numpy()[store_occ]
    day = np.floor(occasions["t"].to_numpy()[store_occ]).astype(np.int64)
    at_home = rng.random(len(store_occ)) < HOME_STORE_SHARE
    other_store = rng.choice(np.array(STORES, dtype=object), size=len(store_occ))
    store = np.where(at_home, people["home_store"].to_numpy()[person], other_store)
    store_no = np.searchsorted(_STORE_NAMES.astype(str), store.astype(str))
    receipt_no = np.empty(len(store_occ), dtype=np.int64)
    receipt_no[np.lexsort((rng.random(len(store_occ)), day))] = np.arange(1, len(store_occ) + 1)

    occ_to_store = np.full(len(occasions), -1)
    occ_to_store[store_occ] = np.arange(len(store_occ))
    sl = lines[occ_to_store[lines["occasion"].to_numpy()] >= 0]
    s = occ_to_store[sl["occasion"].to_numpy()]
    return pd.DataFrame({
        "receipt_no": receipt_no[s], "line": sl["line"].to_numpy(), "store": store_no[s],
        "card": card_of_person[person[s]], "day": day[s], "product": sl["product"].to_numpy(),
        "qty": sl["qty"].to_numpy(), "cents": sl["cents"].to_numpy(),
    }).sort_values(["receipt_no", "line"], ignore_index=True)


def _store_bad_rows(rng: np.random.Generator, table: pd.DataFrame, cal: Calendar) -> tuple:
    """Plan the store file's bad rows (see :func:`plan_bad_rows`); any row may be spoiled."""
    n_rows = len(table)
    future_day = cal.last_day + rng.integers(1, 61, size=n_rows)
    month_13 = rng.random(n_rows) < 0.5
    bad_month = f"{cal.as_of.year}-13-01"
    abc = rng.random(n_rows) < 0.5
    values = {
        "bad_date": ("receipt_date", lambda r: np.where(month_13[r], bad_month, "n.d.")),
        "missing_key": ("card_number", lambda r: np.full(len(r), "", dtype=object)),
        "bad_amount": ("amount", lambda r: np.where(abc[r], "abc", "")),
        "zero_amount": ("amount", lambda r: np.full(len(r), "0,00", dtype=object)),
        "future_date": ("receipt_date", lambda r: cal.format(future_day[r], "%d/%m/%Y")),
    }
    return plan_bad_rows(rng, "store_receipts.csv", n_rows, np.ones(n_rows, bool), values)


def _store_columns(table: pd.DataFrame, cards: tuple[np.ndarray, np.ndarray, np.ndarray],
                   catalogue: pd.DataFrame, cal: Calendar) -> dict:
    """Text of each store column for given clean rows of ``table``."""
    card_number, holder, phone = cards
    receipt_no = table["receipt_no"].to_numpy()
    width = id_width(receipt_no, 7)
    store_of_row, card_of_row = table["store"].to_numpy(), table["card"].to_numpy()
    day_all = table["day"].to_numpy()
    product, qty, cents = (table[c].to_numpy() for c in ("product", "qty", "cents"))
    sku = catalogue["sku"].to_numpy(dtype=object)
    return {
        "receipt_id": lambda r: ids("R-", receipt_no[r], width),
        "store": lambda r: _STORE_NAMES[store_of_row[r]],
        "card_number": lambda r: card_number[card_of_row[r]],
        "card_holder": lambda r: holder[card_of_row[r]],
        "phone": lambda r: phone[card_of_row[r]],
        "receipt_date": lambda r: cal.format(day_all[r], "%d/%m/%Y"),
        "sku": lambda r: sku[product[r]],
        "qty": lambda r: qty[r].astype(str),
        "amount": lambda r: cents_to_text(cents[r], ","),
    }
