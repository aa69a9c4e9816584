"""The buying simulation: people, purchase occasions, spend, order lines and what surrounds them.

Purchase occasions follow BG/NBD, spend per occasion follows Gamma-Gamma, and each occasion is
split into order lines of catalogue products. Around the buying: the win-back campaign's
extra purchases, support tickets, NPS answers and monthly marketing spend. Every function draws
from the one ``rng`` it is given; :func:`simulate` fixes the order of the draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from .arrays import concat, ids, rank_within_groups
from .dates import Calendar, campaign_id
from .identity import contact_details, format_phones, pair_households
from .layouts import make_crm
from .parameters import (
    ACQUISITION_CHANNELS,
    ACQUISITION_PROBS,
    ACQUISITION_TRAIT_EFFECTS,
    BGNBD_A,
    BGNBD_ALPHA_WEEKS,
    BGNBD_B,
    BGNBD_R,
    BOTH_WEB_PROB,
    BUSINESS_SHARE,
    BUSINESS_TRAIT_EFFECTS,
    BUYS_VIA,
    BUYS_VIA_PROBS,
    CAMPAIGN_INACTIVE_DAYS,
    CAMPAIGN_RATE_UPLIFT,
    CAMPAIGN_SHARE,
    CATEGORIES,
    CITIES,
    FIRST_NAMES,
    GG_GAMMA,
    GG_P,
    GG_Q,
    LAST_NAMES,
    LINE_BUDGET_EUR,
    MARKETING_BASE_PER_MONTH,
    MARKETING_COST_PER_ACQUISITION,
    MAX_LINES,
    MAX_QTY,
    N_PRODUCTS,
    NPS_COMMENT_SHARE,
    NPS_COMMENTS,
    NPS_RESPONSE_SHARE,
    PRODUCT_CANDIDATES,
    PRODUCT_LINES,
    STREETS,
    TICKET_BASE_COST,
    TICKET_CHANNEL_PROBS,
    TICKET_CHANNELS,
    TICKET_DAYS_AFTER_DEATH,
    TICKET_RATE_SHAPE,
    TICKETS_PER_YEAR,
)

__all__ = [
    "World",
    "make_catalogue",
    "make_marketing",
    "make_nps",
    "make_people",
    "make_tickets",
    "occasion_channel",
    "relationship_span",
    "run_campaign",
    "simulate",
    "simulate_occasions",
    "split_into_lines",
    "trait_scores",
]


@dataclass
class World:
    """Everything the simulation decided, before it is laid out as source files.

    ``people`` has one row per real person with their true traits, ``occasions`` one row per
    purchase occasion (``person``, ``t``, ``campaign_extra``, ``web``, ``spend``), ``lines``
    one row per order line (see :func:`split_into_lines`). ``crm`` is the CRM contacts frame
    (the campaign can only reach CRM people), ``campaign`` the campaign file and ``extra`` the
    treated people's extra occasions (already part of ``occasions``).
    """

    catalogue: pd.DataFrame
    popularity: np.ndarray
    people: pd.DataFrame
    occasions: pd.DataFrame
    crm: pd.DataFrame
    campaign: pd.DataFrame
    extra: pd.DataFrame
    lines: pd.DataFrame


def simulate(rng: np.random.Generator, customers: int, cal: Calendar) -> World:
    """Draw the catalogue, the people, their purchase occasions, CRM, campaign and order lines.

    The order of the steps is the order of the random draws: changing it changes the data.
    """
    catalogue, popularity = make_catalogue(rng)
    people = make_people(rng, customers, cal.n_days)
    occasions = simulate_occasions(rng, people, cal.n_days)
    crm = make_crm(rng, people, cal)
    campaign, extra = run_campaign(rng, people, occasions, cal)
    occasions = pd.concat([occasions, extra], ignore_index=True)
    occasions = occasions.sort_values(["person", "t"], kind="stable", ignore_index=True)
    people["n_occasions"] = np.bincount(occasions["person"], minlength=customers)

    occasions["web"] = occasion_channel(rng, people, occasions)
    occasions["spend"] = rng.gamma(GG_P, 1.0 / people["nu"].to_numpy()[occasions["person"]])
    lines = split_into_lines(rng, occasions, catalogue, popularity)
    return World(catalogue=catalogue, popularity=popularity, people=people,
                 occasions=occasions, crm=crm, campaign=campaign, extra=extra, lines=lines)


# ============================================================================================
# Catalogue and people
# ============================================================================================


def make_catalogue(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """About 150 products in 8 categories, with skewed (Zipf-like) popularity.

    Returns
    -------
    catalogue : DataFrame
        ``PRODUCT_COLUMNS`` plus ``price_cents``.
    popularity : ndarray
        Probability that a random order line picks each product.
    """
    per_category = np.full(len(CATEGORIES), N_PRODUCTS // len(CATEGORIES))
    per_category[: N_PRODUCTS % len(CATEGORIES)] += 1
    rows = []
    for (category, (low, high), nouns), count in zip(CATEGORIES, per_category, strict=True):
        combos = [f"{noun} {line}" for noun in nouns for line in PRODUCT_LINES]
        names = [combos[i] for i in sorted(rng.choice(len(combos), size=count, replace=False))]
        # Log-uniform prices ending in ,90 as Italian shop prices often do.
        euros = np.floor(np.exp(rng.uniform(np.log(low), np.log(high), size=count)))
        for name, euro in zip(names, euros, strict=True):
            rows.append((name, category, int(euro) * 100 + 90))
    catalogue = pd.DataFrame(rows, columns=["product_name", "category", "price_cents"])
    catalogue.insert(0, "sku", ids("SKU-", np.arange(1, len(catalogue) + 1), 4))
    catalogue["list_price"] = catalogue["price_cents"] / 100
    cost_share = rng.uniform(0.40, 0.75, size=len(catalogue))
    catalogue["unit_cost"] = np.round(catalogue["list_price"] * cost_share, 2)
    rank = rng.permutation(len(catalogue)) + 1
    popularity = 1.0 / rank**0.9
    return catalogue, popularity / popularity.sum()


def make_people(rng: np.random.Generator, n: int, n_days: int) -> pd.DataFrame:
    """Draw the real people: identity, where they buy, and their true BG/NBD and GG traits."""
    first_idx, last_idx, city_idx, street_idx, house_no = _draw_names_and_places(rng, n)
    household_id = pair_households(rng, first_idx, last_idx, city_idx, street_idx, house_no)
    first = np.array(FIRST_NAMES, dtype=object)[first_idx]
    last = np.array(LAST_NAMES, dtype=object)[last_idx]
    email, phone_prefix, phone_number = contact_details(rng, first, last)
    traits = _draw_traits(rng, n)
    scores = trait_scores(traits)
    buys_via, channel = _draw_buying_channels(rng, scores)
    t0 = _draw_acquisition_times(rng, n, n_days)
    business_odds = np.log(BUSINESS_SHARE / (1 - BUSINESS_SHARE)) \
        + scores @ np.asarray(BUSINESS_TRAIT_EFFECTS)
    customer_type = np.where(rng.random(n) < 1 / (1 + np.exp(-business_odds)),
                             "business", "private")

    people = pd.DataFrame({
        "person_id": ids("P", np.arange(1, n + 1), 6),
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone_prefix": phone_prefix,
        "phone_number": phone_number,
        "address": concat(np.array(STREETS, dtype=object)[street_idx], " ",
                          house_no.astype(str)),
        "city": np.array([c[0] for c in CITIES], dtype=object)[city_idx],
        "postcode": np.array([c[1] for c in CITIES], dtype=object)[city_idx],
        "home_store": np.array([c[3] for c in CITIES], dtype=object)[city_idx],
        "customer_type": customer_type,
        "acquisition_channel": channel,
        "buys_via": buys_via,
        "household_id": household_id,
        **traits,
        "t0": t0,
    })
    people["phone"] = format_phones(
        people["phone_prefix"].to_numpy(), people["phone_number"].to_numpy(), np.zeros(n)
    )
    return people


def _draw_names_and_places(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Row numbers into ``FIRST_NAMES``, ``LAST_NAMES``, ``CITIES``, ``STREETS``; house numbers."""
    first_idx = rng.integers(len(FIRST_NAMES), size=n)
    last_idx = rng.integers(len(LAST_NAMES), size=n)
    city_weights = np.array([c[2] for c in CITIES], dtype=float)
    city_idx = rng.choice(len(CITIES), size=n, p=city_weights / city_weights.sum())
    street_idx = rng.integers(len(STREETS), size=n)
    house_no = rng.integers(1, 200, size=n)
    return first_idx, last_idx, city_idx, street_idx, house_no


def _draw_buying_channels(rng: np.random.Generator,
                          scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each person buys (``BUYS_VIA``) and how they were acquired: the channel depends
    on where they buy (``ACQUISITION_PROBS``) and on their true traits ``scores`` (see
    :func:`trait_scores`) through ``ACQUISITION_TRAIT_EFFECTS``."""
    n = len(scores)
    group = rng.choice(len(BUYS_VIA), size=n, p=BUYS_VIA_PROBS)
    buys_via = np.array(BUYS_VIA, dtype=object)[group]
    base = np.log(np.array([ACQUISITION_PROBS[name] for name in BUYS_VIA]))
    effects = np.array([ACQUISITION_TRAIT_EFFECTS[c] for c in ACQUISITION_CHANNELS])
    odds = base[group] + scores @ effects.T
    probs = np.exp(odds - odds.max(axis=1, keepdims=True))
    cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    pick = (rng.random((n, 1)) > cumulative).sum(axis=1)  # inverse of each row's CDF
    channels = np.array(ACQUISITION_CHANNELS, dtype=object)
    return buys_via, channels[np.minimum(pick, len(channels) - 1)]


def trait_scores(traits: dict[str, np.ndarray]) -> np.ndarray:
    """Each person's standardised true traits, one column each: purchase rate (log lambda),
    loyalty (minus the log-odds of dropout p) and spend per purchase (minus log nu, since
    the mean spend is GG_P / nu); each with mean 0 and standard deviation 1 over the people."""
    raw = np.column_stack([np.log(traits["lam"]), -np.log(traits["p"] / (1 - traits["p"])),
                           -np.log(traits["nu"])])
    return (raw - raw.mean(axis=0)) / raw.std(axis=0)


def _draw_acquisition_times(rng: np.random.Generator, n: int, n_days: int) -> np.ndarray:
    """Acquisition time ``t0`` of each person, in days since the window start.

    The window is cut into monthly slices whose weight falls linearly from 2 to 1, so more
    people join early but new customers keep arriving every month.
    """
    n_slices = max(1, int(round(n_days / 30.44)))
    weights = np.linspace(2.0, 1.0, n_slices)
    acq_slice = rng.choice(n_slices, size=n, p=weights / weights.sum())
    return (acq_slice + rng.random(n)) * n_days / n_slices


def _draw_traits(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """The true traits: purchase rate per week ``lam``, dropout ``p``, spend scale ``nu``."""
    lam = rng.gamma(BGNBD_R, 1.0 / BGNBD_ALPHA_WEEKS, size=n)
    p = rng.beta(BGNBD_A, BGNBD_B, size=n)
    nu = rng.gamma(GG_Q, 1.0 / GG_GAMMA, size=n)
    return {"lam": lam, "p": p, "nu": nu}


# ============================================================================================
# Purchase occasions and campaign
# ============================================================================================


def simulate_occasions(rng: np.random.Generator, people: pd.DataFrame,
                       n_days: int) -> pd.DataFrame:
    """Simulate every person's purchase occasions under BG/NBD, vectorised over people.

    A person who never dropped out would make ``K ~ Poisson(lambda * time left)`` repeat
    purchases after acquisition, at ``K`` sorted uniform times (that is what a Poisson
    process looks like given its count). The person drops out after repeat purchase number
    ``J ~ Geometric(p)``, so only the first ``min(K, J)`` of those times happen. The person is
    alive at ``as_of`` when ``J > K``; otherwise they died right after their last purchase.

    The sources hold dates, and the models count purchase *days* (two purchases on one day
    are one): so the ``K`` times fall on distinct days, none on the acquisition day, and ``K``
    is at most the days left. Left as continuous times, about 2% of repeat purchases shared a
    day, all of them the heaviest buyers', and the fitted alpha came out 5% above the truth.

    Adds ``alive`` and ``death_t`` to ``people`` and returns one row per occasion with the
    person's row number and the time ``t`` in days since the window start.
    """
    n = len(people)
    lam, p, t0 = (people[c].to_numpy() for c in ("lam", "p", "t0"))
    weeks_left = (n_days - t0) / 7.0
    days_left = n_days - 1 - np.floor(t0).astype(np.int64)
    k_if_immortal = np.minimum(rng.poisson(lam * weeks_left), days_left)
    j_until_death = rng.geometric(p)
    n_repeat = np.minimum(k_if_immortal, j_until_death)

    owner = np.repeat(np.arange(n), k_if_immortal)
    t = _on_distinct_days(rng, owner, t0[owner], np.full(len(owner), float(n_days)),
                          np.arange(n), np.floor(t0).astype(np.int64))
    order = np.lexsort((t, owner))  # sorted by person, then time
    owner, t = owner[order], t[order]
    keep = rank_within_groups(owner) < n_repeat[owner]
    owner, t_repeat = owner[keep], t[keep]

    alive = j_until_death > k_if_immortal
    # Whoever died did so right after their last repeat purchase (rows are in time order).
    is_last = np.ones(len(owner), dtype=bool)
    is_last[:-1] = owner[1:] != owner[:-1]
    death_t = np.full(n, np.nan)
    died = is_last & ~alive[owner]
    death_t[owner[died]] = t_repeat[died]
    people["alive"] = alive
    people["death_t"] = death_t

    occasions = pd.DataFrame({
        "person": np.concatenate([np.arange(n), owner]),
        "t": np.concatenate([t0, t_repeat]),
        "campaign_extra": False,
    })
    return occasions.sort_values(["person", "t"], kind="stable", ignore_index=True)


def _on_distinct_days(rng: np.random.Generator, owner: np.ndarray, low: np.ndarray,
                      high: np.ndarray, taken_owner: np.ndarray,
                      taken_day: np.ndarray) -> np.ndarray:
    """Uniform times in ``[low, high)``, one per row, no two of one ``owner`` on the same day
    and none on a day ``taken`` by that owner already: a time that collides is drawn again,
    until none does. The callers keep each owner's rows within the free days."""
    t = low + rng.random(len(owner)) * (high - low)
    stride = np.int64(1) << 32  # one owner's days never reach the next owner's keys
    taken = taken_owner.astype(np.int64) * stride + taken_day
    while True:
        key = owner.astype(np.int64) * stride + np.floor(t).astype(np.int64)
        collides = np.isin(key, taken)
        _, first = np.unique(key, return_index=True)
        repeated = np.ones(len(key), dtype=bool)
        repeated[first] = False
        redraw = np.flatnonzero(collides | repeated)
        if len(redraw) == 0:
            return t
        t[redraw] = low[redraw] + rng.random(len(redraw)) * (high[redraw] - low[redraw])


def occasion_channel(rng: np.random.Generator, people: pd.DataFrame,
                     occasions: pd.DataFrame) -> np.ndarray:
    """True where the occasion goes to the web shop, False for the store."""
    buys_via = people["buys_via"].to_numpy()[occasions["person"]]
    return np.where(buys_via == "both", rng.random(len(occasions)) < BOTH_WEB_PROB,
                    buys_via == "web")


def run_campaign(rng: np.random.Generator, people: pd.DataFrame, occasions: pd.DataFrame,
                 cal: Calendar) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Win-back campaign on inactive CRM people, with a random 50/50 control group.

    Eligible: CRM people acquired before the inactivity window who bought nothing in the
    ``CAMPAIGN_INACTIVE_DAYS`` before the start. Treated people get extra purchases at rate
    ``CAMPAIGN_RATE_UPLIFT * lambda`` from the start until they die or ``as_of`` (people who
    already dropped out cannot be won back: the campaign does not change dropout).

    Returns
    -------
    campaign : DataFrame
        ``CAMPAIGN_COLUMNS``.
    extra : DataFrame
        The treated people's extra occasions, in the layout of ``occasions``.
    """
    n = len(people)
    start_t = float(cal.campaign_start_day)
    window_from = start_t - CAMPAIGN_INACTIVE_DAYS
    t = occasions["t"].to_numpy()
    in_window = (t >= window_from) & (t < start_t)
    recent = np.bincount(occasions["person"].to_numpy()[in_window], minlength=n) > 0
    eligible = people["has_crm"].to_numpy() & (people["t0"].to_numpy() < window_from) & ~recent
    candidates = np.flatnonzero(eligible)
    n_target = min(len(candidates), int(round(CAMPAIGN_SHARE * n)))
    targeted = np.sort(rng.choice(candidates, size=n_target, replace=False))
    treated = np.zeros(n_target, dtype=bool)
    treated[rng.permutation(n_target)[: n_target // 2]] = True

    campaign = pd.DataFrame({
        "campaign_id": campaign_id(cal),
        "contact_id": people["contact_id"].to_numpy()[targeted],
        "group": np.where(treated, "treated", "control"),
        "start_date": cal.iso(cal.campaign_start_day),
    }).sort_values("contact_id", ignore_index=True)
    return campaign, _extra_occasions(rng, people, targeted[treated], occasions, cal)


def _extra_occasions(rng: np.random.Generator, people: pd.DataFrame, who: np.ndarray,
                     occasions: pd.DataFrame, cal: Calendar) -> pd.DataFrame:
    """Extra purchases of the treated people ``who`` from the campaign start while alive, on
    days without another of their purchases (``occasions``), as in
    :func:`simulate_occasions`."""
    start_t = float(cal.campaign_start_day)
    death_t = people["death_t"].to_numpy()[who]
    end_t = np.maximum(np.where(np.isnan(death_t), float(cal.n_days), death_t), start_t)
    lam = people["lam"].to_numpy()[who]
    row_of_person = np.full(len(people), -1)
    row_of_person[who] = np.arange(len(who))
    row = row_of_person[occasions["person"].to_numpy()]
    day = np.floor(occasions["t"].to_numpy()).astype(np.int64)
    in_window = (row >= 0) & (day >= np.floor(start_t)) & (day < np.ceil(end_t[row]))
    free_days = (np.ceil(end_t) - np.floor(start_t)).astype(np.int64) \
        - np.bincount(row[in_window], minlength=len(who))
    n_extra = np.minimum(rng.poisson(CAMPAIGN_RATE_UPLIFT * lam * (end_t - start_t) / 7.0),
                         free_days)
    owner = np.repeat(np.arange(len(who)), n_extra)
    extra_t = _on_distinct_days(rng, owner, np.full(len(owner), start_t), end_t[owner],
                                row[row >= 0], day[row >= 0])
    return pd.DataFrame({"person": who[owner], "t": extra_t, "campaign_extra": True})


# ============================================================================================
# Order lines
# ============================================================================================


def split_into_lines(rng: np.random.Generator, occasions: pd.DataFrame,
                     catalogue: pd.DataFrame, popularity: np.ndarray) -> pd.DataFrame:
    """Split each occasion's spend into 1-4 order lines of catalogue products.

    Bigger occasions get more lines (one per ``LINE_BUDGET_EUR`` of spend), and each line gets
    an equal share of the spend as its budget. For each line a few products are drawn by
    popularity, each with the quantity (1-3) that best fits the budget, and the product whose
    ``qty * list_price`` is closest to the budget is kept. The lines are then priced so that
    they add up to the occasion's spend to the cent, each in proportion to its list value:
    the difference is the occasion's deal (a discount, or a price that has moved since). At
    list prices the lines of big occasions fell short of their spend (at most four lines of
    three items), which put the fitted Gamma-Gamma q 8% above the truth; now the order lines
    carry the simulated spend itself.

    Returns one row per line: ``occasion`` (row of ``occasions``), ``line`` (1-based),
    ``product`` (row of ``catalogue``), ``qty``, ``cents`` (line total in cents).
    """
    n_occ = len(occasions)
    spend = occasions["spend"].to_numpy()
    eur_per_line = rng.uniform(*LINE_BUDGET_EUR, size=n_occ)
    n_lines = np.clip(np.ceil(spend / eur_per_line), 1, MAX_LINES).astype(np.int64)
    occasion = np.repeat(np.arange(n_occ), n_lines)
    line = rank_within_groups(occasion) + 1
    budget = (spend / n_lines)[occasion]

    price = catalogue["price_cents"].to_numpy() / 100.0
    product, qty = _pick_products(rng, budget, price, popularity)
    lines = pd.DataFrame({"occasion": occasion, "line": line, "product": product, "qty": qty})
    lines = _merge_repeated_products(lines, catalogue)
    lines["cents"] = _priced_to_spend(lines["occasion"].to_numpy(), lines["cents"].to_numpy(),
                                      np.round(spend * 100).astype(np.int64))
    return lines


def _priced_to_spend(occasion: np.ndarray, list_cents: np.ndarray,
                     spend_cents: np.ndarray) -> np.ndarray:
    """Line totals in cents, proportional to ``list_cents``, summing to ``spend_cents`` of
    their occasion; every line at least one cent (the rounding rest goes to the occasion's
    biggest line). ``occasion`` is sorted."""
    n_lines = np.bincount(occasion, minlength=len(spend_cents))
    target = np.maximum(spend_cents, n_lines)
    list_total = np.bincount(occasion, weights=list_cents, minlength=len(spend_cents))
    cents = np.maximum(np.floor(list_cents / list_total[occasion] * target[occasion]), 1)
    cents = cents.astype(np.int64)
    rest = target - np.bincount(occasion, weights=cents, minlength=len(spend_cents))
    biggest = np.lexsort((-cents, occasion))[np.r_[0, np.cumsum(n_lines)[:-1]]]
    cents[biggest] += rest[occasion[biggest]].astype(np.int64)
    return cents


def _pick_products(rng: np.random.Generator, budget: np.ndarray, price: np.ndarray,
                   popularity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Product and quantity that fit each line's ``budget`` best among a few candidates."""
    best_product = np.zeros(len(budget), dtype=np.int64)
    best_qty = np.ones(len(budget), dtype=np.int64)
    best_error = np.full(len(budget), np.inf)
    for _ in range(PRODUCT_CANDIDATES):  # a handful of candidates, each vectorised
        product = rng.choice(len(price), size=len(budget), p=popularity)
        qty = np.clip(np.rint(budget / price[product]), 1, MAX_QTY).astype(np.int64)
        error = np.abs(qty * price[product] - budget)
        better = error < best_error
        best_product[better] = product[better]
        best_qty[better] = qty[better]
        best_error[better] = error[better]
    return best_product, best_qty


def _merge_repeated_products(lines: pd.DataFrame, catalogue: pd.DataFrame) -> pd.DataFrame:
    """One line per product and occasion, renumbered, with its total in ``cents``.

    The same product twice in one occasion becomes one line (quantity still at most
    ``MAX_QTY``), so no two genuine store rows (which carry no line number) are identical.
    """
    lines = (lines.groupby(["occasion", "product"], as_index=False, sort=False)
             .agg(line=("line", "min"), qty=("qty", "sum"))
             .sort_values(["occasion", "line"], ignore_index=True))
    lines["line"] = rank_within_groups(lines["occasion"].to_numpy()) + 1
    lines["qty"] = np.minimum(lines["qty"], MAX_QTY)
    lines["cents"] = lines["qty"] * catalogue["price_cents"].to_numpy()[lines["product"]]
    return lines


# ============================================================================================
# Tickets, NPS, marketing
# ============================================================================================


def relationship_span(people: pd.DataFrame, cal: Calendar,
                      after_death: int) -> tuple[np.ndarray, np.ndarray]:
    """From acquisition until ``as_of``, or until ``after_death`` days after dropout."""
    t0 = people["t0"].to_numpy()
    death_t = people["death_t"].to_numpy()
    end = np.where(np.isnan(death_t), cal.n_days, np.minimum(death_t + after_death, cal.n_days))
    return t0, np.maximum(end, t0)


def make_tickets(rng: np.random.Generator, people: pd.DataFrame, crm: pd.DataFrame,
                 cal: Calendar) -> tuple[pd.DataFrame, np.ndarray]:
    """Support tickets of CRM people; a minority of heavy users raise most of them.

    Returns the tickets (``TICKET_COLUMNS``) and the number of tickets of each person.
    """
    n = len(people)
    has_crm = people["has_crm"].to_numpy()
    rate = rng.gamma(TICKET_RATE_SHAPE, TICKETS_PER_YEAR / TICKET_RATE_SHAPE, size=n)
    begin, end = relationship_span(people, cal, TICKET_DAYS_AFTER_DEATH)
    n_tickets = np.where(has_crm, rng.poisson(rate * (end - begin) / 365.25), 0)
    owner = np.repeat(np.arange(n), n_tickets)
    day = np.floor(begin[owner] + rng.random(len(owner)) * (end[owner] - begin[owner]))
    day = np.minimum(day.astype(np.int64), cal.last_day)
    second_of_day = rng.integers(8 * 3600, 20 * 3600, size=len(owner))
    contact = _ticket_contacts(rng, people, crm, owner)

    channel_no = rng.choice(len(TICKET_CHANNELS), size=len(owner), p=TICKET_CHANNEL_PROBS)
    channel = np.array(TICKET_CHANNELS, dtype=object)[channel_no]
    base = np.array([TICKET_BASE_COST[c] for c in TICKET_CHANNELS])[channel_no]
    cost = np.round(np.maximum(base * (1 + rng.normal(0, 0.25, size=len(owner))), 0.5), 2)

    opened = cal.datetimes(day, second_of_day)
    order = np.lexsort((owner, second_of_day, day))
    tickets = pd.DataFrame({
        "ticket_id": ids("TCK-", np.arange(1, len(owner) + 1), 6),
        "contact_id": contact[order].astype(str),
        "opened_at": opened[order].astype("datetime64[us]"),
        "channel": channel[order].astype(str),
        "handling_cost": cost[order],
    })
    return tickets, n_tickets


def _ticket_contacts(rng: np.random.Generator, people: pd.DataFrame, crm: pd.DataFrame,
                     owner: np.ndarray) -> np.ndarray:
    """CRM contact of each ticket: people with two contacts sometimes call in under the other."""
    duplicates = crm[crm["is_duplicate"]]
    dup_contact = np.full(len(people), "", dtype=object)
    dup_contact[duplicates["person"].to_numpy()] = duplicates["contact_id"].to_numpy()
    use_dup = (dup_contact[owner] != "") & (rng.random(len(owner)) < 0.3)
    return np.where(use_dup, dup_contact[owner], people["contact_id"].to_numpy()[owner])


def make_nps(rng: np.random.Generator, people: pd.DataFrame, crm: pd.DataFrame,
             tickets_per_person: np.ndarray, cal: Calendar) -> pd.DataFrame:
    """One NPS answer from ~20% of CRM people; NPS follows the three satisfaction drivers.

    People with many tickets rate problem handling lower; frequent buyers see more benefits.
    """
    crm_people = np.flatnonzero(people["has_crm"].to_numpy())
    n_resp = int(round(NPS_RESPONSE_SHARE * len(crm_people)))
    who = np.sort(rng.choice(crm_people, size=n_resp, replace=False))
    begin, end = relationship_span(people, cal, 90)
    day = np.floor(begin[who] + rng.random(n_resp) * (end[who] - begin[who])).astype(np.int64)
    day = np.minimum(day, cal.last_day)

    def score(latent: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(latent), 1, 5).astype(np.int64)

    problems = score(4.2 - 0.9 * np.log1p(tickets_per_person[who]) + rng.normal(0, 0.8, n_resp))
    lam = people["lam"].to_numpy()[who]
    benefits = score(3.2 + 2.0 * lam + rng.normal(0, 0.9, n_resp))
    price = score(rng.normal(3.3, 1.0, n_resp))
    nps = np.clip(np.rint(0.2 + 0.8 * problems + 0.9 * benefits + 0.5 * price
                          + rng.normal(0, 1.0, n_resp)), 0, 10).astype(np.int64)
    comment = _nps_comments(rng, nps)

    order = np.lexsort((who, day))
    return pd.DataFrame({
        "response_id": ids("NPS-", np.arange(1, n_resp + 1), 6),
        "contact_id": people["contact_id"].to_numpy()[who][order],
        "survey_date": cal.format(day[order], "%Y-%m-%d"),
        "nps": nps[order],
        "problems_score": problems[order],
        "benefits_score": benefits[order],
        "price_score": price[order],
        "comment": comment[order],
    })


def _nps_comments(rng: np.random.Generator, nps: np.ndarray) -> np.ndarray:
    """A comment from about half the respondents, matching their NPS band ("" if none)."""
    comment = np.full(len(nps), "", dtype=object)
    has_comment = rng.random(len(nps)) < NPS_COMMENT_SHARE
    band = np.where(nps >= 9, "promoter", np.where(nps >= 7, "passive", "detractor"))
    for name, phrases in NPS_COMMENTS.items():  # three bands
        mask = has_comment & (band == name)
        comment[mask] = rng.choice(np.array(phrases, dtype=object), size=int(mask.sum()))
    return comment


def make_marketing(rng: np.random.Generator, people: pd.DataFrame, cal: Calendar,
                   customers: int) -> pd.DataFrame:
    """Monthly spend per acquisition channel: a fixed part plus a cost per new customer."""
    months = pd.period_range(cal.start, cal.start + timedelta(days=cal.last_day), freq="M")
    acq_month = cal.month_index(np.floor(people["t0"].to_numpy()))
    scale = customers / 5000
    frames = []
    for channel in ACQUISITION_CHANNELS:  # five channels
        is_channel = people["acquisition_channel"].to_numpy() == channel
        new = np.bincount(acq_month[is_channel], minlength=len(months))[: len(months)]
        noise = rng.lognormal(0.0, 0.15, size=len(months))
        spend = (MARKETING_BASE_PER_MONTH[channel] * scale
                 + MARKETING_COST_PER_ACQUISITION[channel] * new) * noise
        frames.append(pd.DataFrame({"month": months.strftime("%Y-%m"), "channel": channel,
                                    "spend": np.round(spend, 2)}))
    return pd.concat(frames).sort_values(["month", "channel"], ignore_index=True)
