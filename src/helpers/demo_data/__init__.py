"""Generate a fictional Italian retailer's raw customer data, together with the ground truth.

The kit needs raw data to demonstrate and test every notebook, and the data must hide a
*known* truth so that students (and tests) can check what the notebooks find. This module
writes such data for an imaginary retailer with a web shop and a few stores.

How the buying is simulated
---------------------------
Every person follows the "buy till you die" story of the BG/NBD model (Fader, Hardie & Lee,
2005, "Counting Your Customers the Easy Way"):

* The first purchase happens on the acquisition date.
* While alive, the person makes repeat purchases as a Poisson process with rate ``lambda``
  per week. Across people, ``lambda ~ Gamma(shape=r, rate=alpha)`` with ``alpha`` in weeks.
* After each repeat purchase the person drops out ("dies") with probability ``p``; across
  people ``p ~ Beta(a, b)``. As in the paper, nobody drops out right after the first
  purchase. Dropout is never seen in the sources; it is only written to ``truth/``.

What a person spends per purchase occasion follows the Gamma-Gamma model (Fader, Hardie &
Lee, 2005, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis"): each person
has ``nu ~ Gamma(shape=q, rate=gamma)``, each occasion's spend is ``Gamma(shape=p, rate=nu)``,
so the person's true mean spend is ``p / nu``. An occasion is then split into 1-4 order lines
of catalogue products whose totals add up to roughly that spend.

Because the parameters are known (``truth/parameters.json``), a BG/NBD or Gamma-Gamma fit on
the cleaned data should land near them, and each person's true ``lambda``, ``p``, mean spend
and death date are in ``truth/persons.csv``.

The sources and their traps
---------------------------
The same people appear in three overlapping systems: a CRM (``crm_contacts.csv``), the web
shop (``webshop_orders.csv``) and the store tills with loyalty cards (``store_receipts.csv``,
Italian CSV style: ``;`` separator and decimal comma). Names, e-mails and phones are typed
differently in each system (case, dropped accents, typos, phone formats), some people have two
records in one system, and family members share an address and surname without being the same
person. ``truth/record_map.csv`` tells which person each source record belongs to. A few
deliberately bad rows (bad dates, missing keys, bad amounts, exact duplicates) are injected into
the order files and listed in ``truth/bad_rows.csv``, so the data contract can be tested.

Around them: a product catalogue (``products.xlsx``), support tickets with their handling cost
(``support_tickets.parquet``; a few heavy users cost more than they bring), monthly marketing
spend per acquisition channel, an NPS survey driven by three satisfaction drivers, and a
win-back campaign with a random control group whose true effect is in ``truth/parameters.json``.

Everything is drawn from one ``numpy.random.default_rng(seed)``: the same arguments give
byte-identical files.

Where things are
----------------
``parameters``  the true model parameters, shares, names, catalogue and file columns
``dates``       the data window and the calendar that turns day numbers into text
``simulation``  people, purchase occasions (BG/NBD), spend (Gamma-Gamma), order lines,
                campaign, tickets, NPS and marketing spend
``identity``    how each system types names, e-mails and phones; households, second accounts
``layouts``     how the CRM, web shop and store files are shaped, with their bad rows
``writers``     CSV, XLSX and Parquet writing
``truth``       the ground-truth files in ``truth/``
``arrays``      vectorised text and array helpers

Examples
--------
>>> from helpers.demo_data import generate
>>> counts = generate("data/demo", customers=5000, seed=42)  # doctest: +SKIP
>>> counts["webshop_orders.csv"]  # doctest: +SKIP
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from .dates import Calendar, window_start
from .layouts import make_store, make_webshop
from .parameters import *  # noqa: F403 -- helpers.demo_data.<PARAMETER> stays available
from .parameters import __all__ as _parameter_names
from .simulation import World, make_marketing, make_nps, make_tickets, simulate
from .truth import write_truth
from .writers import Sources, write_sources

__all__ = ["generate", "window_start", *_parameter_names]


def generate(
    out_dir: str | Path,
    customers: int = 5000,
    seed: int = 42,
    as_of: date = date(2025, 12, 31),
    years: int = 3,
) -> dict[str, int]:
    """Write the demo retailer's raw source files and the ground truth.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the source files (created if missing). The truth goes to ``out_dir/truth``.
    customers : int, default 5000
        Number of real people. 5,000 people give about 60,000 order lines.
    seed : int, default 42
        Seed of the only random generator used; the same arguments give byte-identical files.
    as_of : datetime.date, default 2025-12-31
        Last day of the data (inclusive). Only deliberately bad rows are dated later.
    years : int, default 3
        Length of the window ending on ``as_of``.

    Returns
    -------
    dict of str to int
        Row count (data rows, header excluded) of every file written, keyed by its path
        relative to ``out_dir`` (e.g. ``"truth/persons.csv"``). ``truth/parameters.json``
        counts as one row.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if years < 1:
        raise ValueError("years must be at least 1")
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)

    # One generator for everything: the order of the steps is the order of the draws.
    rng = np.random.default_rng(seed)
    cal = Calendar.ending(as_of, years)
    world = simulate(rng, customers, cal)
    sources = _build_sources(rng, world, cal, customers)

    counts = write_sources(out, sources, as_of)
    run = {"seed": seed, "customers": customers, "as_of": as_of.isoformat(),
           "window_start": cal.start.isoformat(), "years": years}
    counts.update(write_truth(out / "truth", world, sources, cal, run))
    return counts


def _build_sources(rng: np.random.Generator, world: World, cal: Calendar,
                   customers: int) -> Sources:
    """Lay the simulated world out as the source systems hold it (draws from ``rng``)."""
    people, occasions, lines, catalogue = (world.people, world.occasions, world.lines,
                                           world.catalogue)
    web = make_webshop(rng, people, occasions, lines, catalogue, cal)
    store = make_store(rng, people, occasions, lines, catalogue, cal)
    tickets, tickets_per_person = make_tickets(rng, people, world.crm, cal)
    nps = make_nps(rng, people, world.crm, tickets_per_person, cal)
    marketing = make_marketing(rng, people, cal, customers)
    return Sources(crm=world.crm, web=web, store=store, catalogue=catalogue, tickets=tickets,
                   marketing=marketing, nps=nps, campaign=world.campaign)
