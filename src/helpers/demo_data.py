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

Examples
--------
>>> from helpers.demo_data import generate
>>> counts = generate("data/demo", customers=5000, seed=42)  # doctest: +SKIP
>>> counts["webshop_orders.csv"]  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import re
import string
import unicodedata
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd

# --------------------------------------------------------------------------------------------
# True model parameters (written to truth/parameters.json)
# --------------------------------------------------------------------------------------------

#: BG/NBD: purchase rate lambda ~ Gamma(shape=R, rate=ALPHA) per week, dropout p ~ Beta(A, B).
#: Chosen so that 5,000 people make about 60,000 order lines over three years.
BGNBD_R = 1.0
BGNBD_ALPHA_WEEKS = 6.0
BGNBD_A = 0.9
BGNBD_B = 4.0

#: Gamma-Gamma: nu ~ Gamma(shape=Q, rate=GAMMA), spend per occasion ~ Gamma(shape=P, rate=nu).
#: Mean spend per occasion across people is P * GAMMA / (Q - 1) = 70 EUR.
GG_P = 6.0
GG_Q = 4.0
GG_GAMMA = 35.0

#: An occasion gets one order line per this many EUR of spend (drawn uniformly per occasion),
#: 1 to MAX_LINES lines: about 1.9 lines per occasion on average.
LINE_BUDGET_EUR = (27.0, 63.0)
MAX_LINES = 4
#: Products drawn per order line; the one whose price fits the line's budget best is kept.
PRODUCT_CANDIDATES = 6
MAX_QTY = 3

# --------------------------------------------------------------------------------------------
# Shares of people and records
# --------------------------------------------------------------------------------------------

BUSINESS_SHARE = 0.10
#: Share of people who live with another person (same address and surname).
HOUSEHOLD_SHARE = 0.15
#: Where a person buys: web shop only, store only, or both.
BUYS_VIA = ("web", "store", "both")
BUYS_VIA_PROBS = (0.45, 0.35, 0.20)
#: A person who buys in both channels sends each occasion to the web shop with this probability.
BOTH_WEB_PROB = 0.5
CRM_SHARE = 0.70
#: Share of all people with a second (duplicate) CRM contact.
CRM_DUPLICATE_SHARE = 0.03
#: Share of all people with a second web shop account, and how often they use it.
SECOND_ACCOUNT_SHARE = 0.02
SECOND_ACCOUNT_USE = 0.4
#: Share of store occasions made in the person's home store.
HOME_STORE_SHARE = 0.85
#: Share of web order lines that are returned later.
RETURN_SHARE = 0.02
RETURN_MAX_DAYS = 20

#: Share of order-file rows that are deliberately bad (spread over the kinds below).
BAD_ROW_SHARE = 0.002
BAD_ROW_KINDS = (
    "bad_date",
    "missing_key",
    "bad_amount",
    "zero_amount",
    "future_date",
    "duplicate",
)

#: Support tickets per CRM person and year as a customer (mean). People raise tickets only
#: from acquisition until shortly after dropout, so overall this gives about 0.3 tickets per
#: CRM person per calendar year. The Gamma shape makes a minority raise most tickets.
TICKETS_PER_YEAR = 0.75
TICKET_RATE_SHAPE = 0.4
#: People raise tickets up to this many days after their (unseen) dropout.
TICKET_DAYS_AFTER_DEATH = 180
TICKET_CHANNELS = ("phone", "email", "chat")
TICKET_CHANNEL_PROBS = (0.40, 0.35, 0.25)
TICKET_BASE_COST = {"phone": 8.0, "email": 4.0, "chat": 3.0}

NPS_RESPONSE_SHARE = 0.20
NPS_COMMENT_SHARE = 0.5

#: Win-back campaign: starts CAMPAIGN_LEAD_DAYS before as_of and targets CRM people who bought
#: nothing in the CAMPAIGN_INACTIVE_DAYS before the start. Treated people buy at a rate
#: (1 + CAMPAIGN_RATE_UPLIFT) * lambda after the start while they are alive.
CAMPAIGN_SHARE = 0.20
CAMPAIGN_LEAD_DAYS = 120
CAMPAIGN_INACTIVE_DAYS = 180
CAMPAIGN_RATE_UPLIFT = 0.5

#: Rows built and written at a time for the order files (keeps memory bounded).
CHUNK_ROWS = 250_000

# --------------------------------------------------------------------------------------------
# Names, places and catalogue
# --------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Marco", "Giulia", "Luca", "Francesca", "Alessandro", "Chiara", "Andrea", "Sara",
    "Matteo", "Martina", "Lorenzo", "Valentina", "Davide", "Federica", "Simone", "Elisa",
    "Nicolò", "Ilaria", "Mattia", "Alessia", "Gabriele", "Silvia", "Riccardo", "Elena",
    "Tommaso", "Giorgia", "Federico", "Laura", "Stefano", "Anna", "Giuseppe", "Paola",
    "Francesco", "Roberta", "Antonio", "Marta", "Giovanni", "Beatrice", "Paolo", "Camilla",
    "Niccolò", "Noemi", "Salvatore", "Serena", "Pietro", "Aurora", "Emanuele", "Sofia",
    "Vincenzo", "Greta", "Fabio", "Ludovica", "Mosè", "Desirée", "Noè", "Cristina",
    "Raffaele", "Rebecca", "Jacopo", "Michela",
)

LAST_NAMES = (
    "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci",
    "Marino", "Greco", "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa",
    "Giordano", "Rizzo", "Lombardi", "Moretti", "Barbieri", "Fontana", "Santoro", "Mariani",
    "Rinaldi", "Caruso", "Ferrara", "Galli", "Martini", "Leone", "Longo", "Gentile",
    "Martinelli", "Vitale", "Lombardo", "Serra", "Coppola", "De Santis", "D'Angelo", "Marchetti",
    "Parisi", "Villa", "Conte", "Ferraro", "Ferri", "Fabbri", "Bianco", "Marini",
    "Grasso", "Valentini", "Messina", "Sala", "De Angelis", "Gatti", "Pellegrini", "Palumbo",
    "Sanna", "Farina", "Rizzi", "Monti", "Cattaneo", "Morelli", "Amato", "Silvestri",
    "Mazza", "Testa", "Grassi", "Pellegrino", "Carbone", "Giuliani", "Lo Russo", "D'Amico",
    "Dell'Acqua", "Lo Bianco", "Di Stefano", "La Rosa", "Morè", "Cantù", "Bertè", "Pirrò",
)

#: City, its postcode (kept as text: Roma's starts with 0), population weight, nearest store.
CITIES = (
    ("Milano", "20121", 14, "Milano Duomo"),
    ("Monza", "20900", 3, "Milano Duomo"),
    ("Bergamo", "24121", 3, "Milano Duomo"),
    ("Brescia", "25121", 3, "Milano Duomo"),
    ("Como", "22100", 2, "Milano Duomo"),
    ("Varese", "21100", 2, "Milano Duomo"),
    ("Torino", "10121", 9, "Torino Lingotto"),
    ("Genova", "16121", 5, "Torino Lingotto"),
    ("Novara", "28100", 2, "Torino Lingotto"),
    ("Roma", "00184", 16, "Roma Termini"),
    ("Latina", "04100", 2, "Roma Termini"),
    ("Perugia", "06121", 2, "Roma Termini"),
    ("Pescara", "65121", 2, "Roma Termini"),
    ("Napoli", "80133", 9, "Napoli Toledo"),
    ("Salerno", "84121", 3, "Napoli Toledo"),
    ("Bari", "70121", 4, "Napoli Toledo"),
    ("Palermo", "90133", 4, "Napoli Toledo"),
    ("Bologna", "40121", 6, "Bologna Maggiore"),
    ("Modena", "41121", 2, "Bologna Maggiore"),
    ("Verona", "37121", 3, "Bologna Maggiore"),
    ("Padova", "35121", 3, "Bologna Maggiore"),
    ("Venezia", "30121", 3, "Bologna Maggiore"),
    ("Firenze", "50122", 6, "Firenze Calimala"),
    ("Pisa", "56125", 2, "Firenze Calimala"),
    ("Siena", "53100", 1, "Firenze Calimala"),
)

STORES = (
    "Milano Duomo",
    "Torino Lingotto",
    "Roma Termini",
    "Napoli Toledo",
    "Bologna Maggiore",
    "Firenze Calimala",
)

STREETS = (
    "Via Roma", "Via Garibaldi", "Via Mazzini", "Corso Vittorio Emanuele II", "Via Dante",
    "Via Verdi", "Via Cavour", "Piazza della Repubblica", "Via dei Mille", "Viale Europa",
    "Via Marconi", "Via XX Settembre", "Via Manzoni", "Corso Italia", "Via Matteotti",
    "Via San Francesco", "Viale della Libertà", "Via Nazionale", "Via Leopardi", "Via Gramsci",
    "Via Carducci", "Via Pascoli", "Via IV Novembre", "Via Bellini", "Via del Corso",
    "Via Petrarca", "Via Puccini", "Largo Augusto", "Via Volta", "Via Galilei",
)

EMAIL_DOMAINS = (
    "gmail.com", "libero.it", "hotmail.it", "yahoo.it", "outlook.it",
    "alice.it", "virgilio.it", "tiscali.it",
)
EMAIL_DOMAIN_PROBS = (0.42, 0.18, 0.10, 0.08, 0.08, 0.06, 0.05, 0.03)

#: Work e-mail domains used at web checkout only (they appear in no other source).
WORK_EMAIL_DOMAINS = (
    "studiolegale", "consulenze", "edilizia", "ingegneria", "commercialisti", "logistica",
)

MOBILE_PREFIXES = (
    "320", "324", "327", "328", "329", "330", "333", "334", "335", "338", "339", "340",
    "342", "345", "346", "347", "348", "349", "350", "351", "366", "380", "388", "389",
    "391", "392", "393",
)

ACQUISITION_CHANNELS = ("search", "social", "email", "affiliate", "store")
#: How people were acquired, by where they buy (store buyers mostly walked in).
ACQUISITION_PROBS = {
    "web": (0.35, 0.25, 0.15, 0.20, 0.05),
    "store": (0.10, 0.15, 0.05, 0.05, 0.65),
    "both": (0.25, 0.20, 0.10, 0.10, 0.35),
}
#: Monthly marketing spend per channel: a fixed part (for 5,000 customers) plus a cost per
#: acquired customer.
MARKETING_BASE_PER_MONTH = {
    "search": 300.0, "social": 250.0, "email": 80.0, "affiliate": 50.0, "store": 150.0,
}
MARKETING_COST_PER_ACQUISITION = {
    "search": 35.0, "social": 28.0, "email": 6.0, "affiliate": 22.0, "store": 15.0,
}

#: Category, price range in EUR, product nouns. Product names are noun + product line.
CATEGORIES = (
    ("Abbigliamento", (12, 120), (
        "Maglione", "Camicia", "T-shirt", "Giacca", "Pantaloni", "Felpa", "Cappotto", "Vestito",
    )),
    ("Calzature", (25, 160), (
        "Sneakers", "Mocassini", "Stivali", "Sandali", "Scarpe da corsa", "Décolleté", "Ciabatte",
    )),
    ("Casa", (6, 90), (
        "Set asciugamani", "Tazza", "Cuscino", "Piumone", "Lampada da tavolo", "Vaso",
        "Tovaglia", "Candela profumata",
    )),
    ("Bellezza", (5, 65), (
        "Crema viso", "Shampoo", "Profumo", "Rossetto", "Siero", "Bagnoschiuma",
        "Maschera capelli",
    )),
    ("Elettronica", (15, 250), (
        "Cuffie bluetooth", "Caricabatterie", "Altoparlante", "Power bank", "Mouse wireless",
        "Smartwatch", "Tastiera",
    )),
    ("Sport", (10, 150), (
        "Tappetino yoga", "Borraccia", "Pallone", "Zaino", "Manubri", "Racchetta", "Leggings",
    )),
    ("Libri", (8, 35), (
        "Romanzo", "Guida turistica", "Libro di cucina", "Saggio", "Fumetto", "Libro per bambini",
    )),
    ("Alimentari", (3, 40), (
        "Olio extravergine", "Caffè in grani", "Pasta artigianale", "Aceto balsamico",
        "Cioccolato fondente", "Vino rosso", "Parmigiano", "Miele",
    )),
)
PRODUCT_LINES = (
    "Aurora", "Classic", "Essenziale", "Premium", "Eco", "Urban", "Riviera", "Dolomiti",
    "Vesuvio", "Laguna",
)
N_PRODUCTS = 150

NPS_COMMENTS = {
    "promoter": (
        "Ottimo servizio", "Consegna veloce, tutto perfetto", "Prodotti di qualità",
        "Personale gentilissimo", "Lo consiglio a tutti",
    ),
    "passive": (
        "Buono ma migliorabile", "Prezzi un po' alti", "Tutto ok", "Sito poco chiaro",
    ),
    "detractor": (
        "Consegna in ritardo", "Assistenza lenta", "Prodotto difettoso, reso complicato",
        "Troppo caro", "Nessuno risponde al telefono",
    ),
}

#: Web orders by hour of day (evening peak).
WEB_HOUR_WEIGHTS = (
    1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3.0, 3.2, 3.3,
    3.5, 3.4, 3.2, 3.2, 3.4, 3.8, 4.2, 4.6, 4.8, 4.2, 3.0, 1.8,
)

# --------------------------------------------------------------------------------------------
# Output files and their columns (the config files depend on these names)
# --------------------------------------------------------------------------------------------

CRM_COLUMNS = [
    "contact_id", "first_name", "last_name", "email", "phone", "address", "city", "postcode",
    "customer_type", "signup_date", "acquisition_channel",
]
WEBSHOP_COLUMNS = [
    "order_id", "order_line", "account_id", "checkout_name", "checkout_email", "order_ts",
    "sku", "qty", "line_total",
]
STORE_COLUMNS = [
    "receipt_id", "store", "card_number", "card_holder", "phone", "receipt_date", "sku", "qty",
    "amount",
]
PRODUCT_COLUMNS = ["sku", "product_name", "category", "list_price", "unit_cost"]
TICKET_COLUMNS = ["ticket_id", "contact_id", "opened_at", "channel", "handling_cost"]
MARKETING_COLUMNS = ["month", "channel", "spend"]
NPS_COLUMNS = [
    "response_id", "contact_id", "survey_date", "nps", "problems_score", "benefits_score",
    "price_score", "comment",
]
CAMPAIGN_COLUMNS = ["campaign_id", "contact_id", "group", "start_date"]
PERSON_COLUMNS = [
    "person_id", "first_name", "last_name", "email", "phone", "address", "city",
    "customer_type", "acquisition_channel", "lambda_per_week", "p_dropout", "mean_spend",
    "acquisition_date", "death_date", "alive_at_as_of",
    # extra truth, handy for checks
    "postcode", "buys_via", "household_id", "n_occasions",
]

SOURCE_FILES = {
    "crm_contacts.csv": CRM_COLUMNS,
    "webshop_orders.csv": WEBSHOP_COLUMNS,
    "store_receipts.csv": STORE_COLUMNS,
    "products.xlsx": PRODUCT_COLUMNS,
    "support_tickets.parquet": TICKET_COLUMNS,
    "marketing_spend.csv": MARKETING_COLUMNS,
    "nps_survey.csv": NPS_COLUMNS,
    "campaign.csv": CAMPAIGN_COLUMNS,
}

SECONDS_PER_DAY = 86_400


# ============================================================================================
# Public entry point
# ============================================================================================


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
    truth = out / "truth"
    truth.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    start = _window_start(as_of, years)
    n_days = (as_of - start).days + 1
    cal = _Calendar(start, n_days)

    catalogue, popularity = _make_catalogue(rng)
    people = _make_people(rng, customers, n_days)
    occasions = _simulate_occasions(rng, people, n_days)
    crm = _make_crm(rng, people, cal)
    campaign, extra = _run_campaign(rng, people, occasions, cal)
    occasions = pd.concat([occasions, extra], ignore_index=True)
    occasions = occasions.sort_values(["person", "t"], kind="stable", ignore_index=True)
    people["n_occasions"] = np.bincount(occasions["person"], minlength=customers)

    occasions["web"] = _occasion_channel(rng, people, occasions)
    occasions["spend"] = rng.gamma(GG_P, 1.0 / people["nu"].to_numpy()[occasions["person"]])
    lines = _split_into_lines(rng, occasions, catalogue, popularity)

    web = _make_webshop(rng, people, occasions, lines, catalogue, cal)
    store = _make_store(rng, people, occasions, lines, catalogue, cal)
    tickets, tickets_per_person = _make_tickets(rng, people, crm, cal)
    nps = _make_nps(rng, people, crm, tickets_per_person, cal)
    marketing = _make_marketing(rng, people, cal, customers)

    counts: dict[str, int] = {}
    counts["crm_contacts.csv"] = _write_csv(crm[CRM_COLUMNS], out / "crm_contacts.csv")
    counts["webshop_orders.csv"] = web.write(out / "webshop_orders.csv", sep=",")
    counts["store_receipts.csv"] = store.write(out / "store_receipts.csv", sep=";")
    counts["products.xlsx"] = _write_xlsx(
        catalogue[PRODUCT_COLUMNS], out / "products.xlsx", "catalogue", as_of
    )
    counts["support_tickets.parquet"] = _write_parquet(tickets, out / "support_tickets.parquet")
    counts["marketing_spend.csv"] = _write_csv(marketing, out / "marketing_spend.csv")
    counts["nps_survey.csv"] = _write_csv(nps, out / "nps_survey.csv")
    counts["campaign.csv"] = _write_csv(campaign, out / "campaign.csv")

    counts["truth/persons.csv"] = _write_csv(_persons_truth(people, cal), truth / "persons.csv")
    record_map = _record_map(people, crm, web, store)
    counts["truth/record_map.csv"] = _write_csv(record_map, truth / "record_map.csv")
    bad_rows = pd.concat([web.bad_rows, store.bad_rows], ignore_index=True)
    counts["truth/bad_rows.csv"] = _write_csv(bad_rows, truth / "bad_rows.csv")

    parameters = {
        "seed": seed,
        "customers": customers,
        "as_of": as_of.isoformat(),
        "window_start": start.isoformat(),
        "years": years,
        "bgnbd": {"r": BGNBD_R, "alpha": BGNBD_ALPHA_WEEKS, "a": BGNBD_A, "b": BGNBD_B,
                  "time_unit": "weeks"},
        "gamma_gamma": {"p": GG_P, "q": GG_Q, "gamma": GG_GAMMA,
                        "mean_spend_per_occasion": GG_P * GG_GAMMA / (GG_Q - 1)},
        "occasions": {
            "total": int(len(occasions)),
            "webshop": int(occasions["web"].sum()),
            "store": int((~occasions["web"]).sum()),
        },
        "lines": {
            "webshop_rows": web.n_rows,
            "webshop_purchase_lines": web.n_purchase_lines,
            "webshop_return_lines": web.n_return_lines,
            "store_rows": store.n_rows,
            "store_purchase_lines": store.n_purchase_lines,
            "total_rows": web.n_rows + store.n_rows,
            "bad_rows": {
                name: {kind: int((frame["kind"] == kind).sum()) for kind in BAD_ROW_KINDS}
                for name, frame in bad_rows.groupby("file", sort=True)
            },
        },
        "people": {
            "alive_at_as_of": int(people["alive"].sum()),
            "with_crm_contact": int(people["has_crm"].sum()),
            "buys_via": {v: int((people["buys_via"] == v).sum()) for v in BUYS_VIA},
        },
        "campaign": {
            "campaign_id": _campaign_id(cal),
            "start_date": cal.iso(cal.campaign_start_day),
            "rate_uplift": CAMPAIGN_RATE_UPLIFT,
            "description": "treated people buy at (1 + rate_uplift) * lambda after start_date "
                           "while alive; dropout is unchanged",
            "treated": int((campaign["group"] == "treated").sum()),
            "control": int((campaign["group"] == "control").sum()),
            "extra_occasions": int(len(extra)),
        },
    }
    text = json.dumps(parameters, indent=2, ensure_ascii=False) + "\n"
    (truth / "parameters.json").write_text(text, encoding="utf-8")
    counts["truth/parameters.json"] = 1
    return counts


# ============================================================================================
# Calendar helpers
# ============================================================================================


def _window_start(as_of: date, years: int) -> date:
    """First day of a window of ``years`` years that ends on ``as_of`` (inclusive)."""
    try:
        same_day = as_of.replace(year=as_of.year - years)
    except ValueError:  # 29 February in a non-leap year
        same_day = as_of.replace(year=as_of.year - years, day=28)
    return same_day + timedelta(days=1)


class _Calendar:
    """Day numbers and their text forms.

    Time is measured in days since the window start (day 0 = ``start``); ``as_of`` is day
    ``n_days - 1``. Turning day numbers into text goes through the distinct days only, which
    keeps it fast for millions of rows.
    """

    def __init__(self, start: date, n_days: int) -> None:
        self.start = start
        self.n_days = n_days
        self.last_day = n_days - 1
        self.as_of = start + timedelta(days=self.last_day)
        self.campaign_start_day = self.last_day - CAMPAIGN_LEAD_DAYS

    def format(self, day: np.ndarray, fmt: str) -> np.ndarray:
        """Format day numbers (may be negative or after as_of) with ``strftime`` format."""
        day = np.asarray(day, dtype=np.int64)
        distinct, inverse = np.unique(day, return_inverse=True)
        dates = pd.Timestamp(self.start) + pd.to_timedelta(distinct, unit="D")
        return np.asarray(dates.strftime(fmt), dtype=object)[inverse.reshape(-1)]

    def iso(self, day: int) -> str:
        return (self.start + timedelta(days=int(day))).isoformat()

    def timestamps(self, day: np.ndarray, second: np.ndarray) -> np.ndarray:
        """``YYYY-MM-DD HH:MM:SS`` text for day numbers and seconds of the day."""
        return _concat(self.format(day, "%Y-%m-%d"), " ", _CLOCK[np.asarray(second)])

    def datetimes(self, day: np.ndarray, second: np.ndarray) -> np.ndarray:
        base = np.datetime64(self.start, "s")
        offset = np.asarray(day, np.int64) * SECONDS_PER_DAY + np.asarray(second, np.int64)
        return base + offset.astype("timedelta64[s]")

    def month_index(self, day: np.ndarray) -> np.ndarray:
        """Calendar month number of each day, 0 for the month of the window start."""
        dates = pd.Timestamp(self.start) + pd.to_timedelta(np.asarray(day), unit="D")
        months = (dates.year - self.start.year) * 12 + (dates.month - self.start.month)
        return np.asarray(months, dtype=np.int64)


#: "HH:MM:SS" for every second of a day, to build timestamps by lookup.
_CLOCK = np.array(
    [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)],
    dtype=object,
)


def _campaign_id(cal: _Calendar) -> str:
    year = (cal.start + timedelta(days=cal.campaign_start_day)).year
    return f"WINBACK-{year}"


# ============================================================================================
# String helpers (all vectorised over numpy object arrays)
# ============================================================================================


def _concat(*parts) -> np.ndarray:
    """Concatenate string arrays and plain strings element-wise (object arrays add as str)."""
    result = np.array("", dtype=object)
    for part in parts:
        result = result + np.asarray(part, dtype=object)
    return result


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Identifiers like ``CRM-000123``; widen the zero padding if the numbers need it."""
    numbers = np.asarray(numbers, dtype=np.int64)
    width = _id_width(numbers, width)
    text = pd.Series(numbers).astype(str).str.zfill(width).to_numpy(dtype=object)
    return _concat(prefix, text)


def _id_width(numbers: np.ndarray, minimum: int) -> int:
    """Digits needed for the largest number, at least ``minimum``."""
    return max(minimum, len(str(int(numbers.max())))) if len(numbers) else minimum


def _map_distinct(values: np.ndarray, func) -> np.ndarray:
    """Apply a Python string function once per distinct value (names repeat a lot)."""
    values = np.asarray(values, dtype=object)
    distinct, inverse = np.unique(values, return_inverse=True)
    return np.array([func(v) for v in distinct], dtype=object)[inverse.reshape(-1)]


def _strip_accents(text: str) -> str:
    """``Nicolò`` -> ``Nicolo``: what many tills and old systems do."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _slug(text: str) -> str:
    """E-mail friendly form of a name: ``D'Angelo`` -> ``dangelo``, ``Lo Russo`` -> ``lorusso``."""
    return re.sub(r"[^a-z]", "", _strip_accents(text).lower())


def _where(mask: np.ndarray, changed: np.ndarray, original: np.ndarray) -> np.ndarray:
    return np.where(mask, changed, original).astype(object)


def _vary_case(rng: np.random.Generator, values: np.ndarray, upper: float,
               lower: float) -> np.ndarray:
    """Upper-case a share ``upper`` and lower-case a share ``lower`` of the values."""
    draw = rng.random(len(values))
    values = _where(draw < upper, _map_distinct(values, str.upper), values)
    is_lower = (draw >= upper) & (draw < upper + lower)
    return _where(is_lower, _map_distinct(values, str.lower), values)


def _drop_accents(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Drop the accents of a share of the values (a no-op for names without accents)."""
    mask = rng.random(len(values)) < share
    return _where(mask, _map_distinct(values, _strip_accents), values)


def _add_typos(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    """Replace one letter (never the first) in a share of the values."""
    values = np.asarray(values, dtype=object).copy()
    chosen = np.flatnonzero(rng.random(len(values)) < share)
    where_frac = rng.random(len(chosen))
    letters = rng.integers(0, 26, size=len(chosen))
    # A loop over a few per cent of the accounts only, not over order lines.
    for i, frac, letter in zip(chosen, where_frac, letters, strict=True):
        name = values[i]
        letter_positions = [j for j, c in enumerate(name) if j > 0 and c.isalpha()]
        if not letter_positions:
            continue
        pos = letter_positions[int(frac * len(letter_positions))]
        new = string.ascii_lowercase[letter]
        if new == name[pos].lower():  # make sure the letter really changes
            new = string.ascii_lowercase[(letter + 1) % 26]
        if name[pos].isupper():
            new = new.upper()
        values[i] = name[:pos] + new + name[pos + 1:]
    return values


def _format_phones(prefix: np.ndarray, number: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Write Italian mobile numbers in one of four styles seen in real systems.

    Style 0 ``+39 347 1234567`` (the canonical form kept in the truth), 1 ``347-1234567``,
    2 ``0039 3471234567``, 3 ``3471234567``.
    """
    choices = [
        _concat("+39 ", prefix, " ", number),
        _concat(prefix, "-", number),
        _concat("0039 ", prefix, number),
        _concat(prefix, number),
    ]
    return np.select([style == k for k in range(len(choices))], choices, default="")


def _cents_to_text(cents: np.ndarray, decimal_mark: str) -> np.ndarray:
    """Amounts in integer cents as text with two decimals, e.g. ``-4590`` -> ``-45.90``."""
    cents = np.asarray(cents, dtype=np.int64)
    sign = np.where(cents < 0, "-", "").astype(object)
    absolute = np.abs(cents)
    euros = pd.Series(absolute // 100).astype(str).to_numpy(dtype=object)
    suffix = np.array([f"{decimal_mark}{c:02d}" for c in range(100)], dtype=object)
    return _concat(sign, euros, suffix[absolute % 100])


def _rank_within_groups(group: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal values (input sorted)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    is_start = np.ones(n, dtype=bool)
    is_start[1:] = group[1:] != group[:-1]
    start_pos = np.maximum.accumulate(np.where(is_start, np.arange(n), 0))
    return np.arange(n) - start_pos


# ============================================================================================
# Catalogue and people
# ============================================================================================


def _make_catalogue(rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
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
    catalogue.insert(0, "sku", _ids("SKU-", np.arange(1, len(catalogue) + 1), 4))
    catalogue["list_price"] = catalogue["price_cents"] / 100
    cost_share = rng.uniform(0.40, 0.75, size=len(catalogue))
    catalogue["unit_cost"] = np.round(catalogue["list_price"] * cost_share, 2)
    rank = rng.permutation(len(catalogue)) + 1
    popularity = 1.0 / rank**0.9
    return catalogue, popularity / popularity.sum()


def _make_people(rng: np.random.Generator, n: int, n_days: int) -> pd.DataFrame:
    """Draw the real people: identity, where they buy, and their true BG/NBD and GG traits."""
    first_idx = rng.integers(len(FIRST_NAMES), size=n)
    last_idx = rng.integers(len(LAST_NAMES), size=n)
    city_weights = np.array([c[2] for c in CITIES], dtype=float)
    city_idx = rng.choice(len(CITIES), size=n, p=city_weights / city_weights.sum())
    street_idx = rng.integers(len(STREETS), size=n)
    house_no = rng.integers(1, 200, size=n)

    # Households: the partner takes over the head's surname and address. Same address,
    # different person -- a trap for matching on address.
    n_pairs = int(round(HOUSEHOLD_SHARE * n / 2))
    pairs = rng.choice(n, size=2 * n_pairs, replace=False)
    heads, partners = pairs[:n_pairs], pairs[n_pairs:]
    for column in (last_idx, city_idx, street_idx, house_no):
        column[partners] = column[heads]
    same_first = first_idx[partners] == first_idx[heads]
    first_idx[partners[same_first]] = (first_idx[partners[same_first]] + 1) % len(FIRST_NAMES)
    household_id = np.full(n, "", dtype=object)
    household_id[heads] = _ids("H", np.arange(1, n_pairs + 1), 5)
    household_id[partners] = household_id[heads]

    first = np.array(FIRST_NAMES, dtype=object)[first_idx]
    last = np.array(LAST_NAMES, dtype=object)[last_idx]
    # A unique number in every e-mail keeps e-mails unique however many people there are.
    email_number = (rng.permutation(n) + 1).astype(str)
    domain = rng.choice(np.array(EMAIL_DOMAINS, dtype=object), size=n, p=EMAIL_DOMAIN_PROBS)
    email = _concat(_map_distinct(first, _slug), ".", _map_distinct(last, _slug),
                    email_number, "@", domain)
    phone_prefix = rng.choice(np.array(MOBILE_PREFIXES, dtype=object), size=n)
    phone_number = pd.Series(rng.choice(10**7, size=n, replace=False)).astype(str).str.zfill(7)
    phone_number = phone_number.to_numpy(dtype=object)

    buys_via = rng.choice(np.array(BUYS_VIA, dtype=object), size=n, p=BUYS_VIA_PROBS)
    channel = np.empty(n, dtype=object)
    for group, probs in ACQUISITION_PROBS.items():  # three groups only
        members = buys_via == group
        channel[members] = rng.choice(
            np.array(ACQUISITION_CHANNELS, dtype=object), size=int(members.sum()), p=probs
        )

    # Acquisition: the window is cut into monthly slices whose weight falls linearly from 2
    # to 1, so more people join early but new customers keep arriving every month.
    n_slices = max(1, int(round(n_days / 30.44)))
    weights = np.linspace(2.0, 1.0, n_slices)
    acq_slice = rng.choice(n_slices, size=n, p=weights / weights.sum())
    t0 = (acq_slice + rng.random(n)) * n_days / n_slices

    people = pd.DataFrame({
        "person_id": _ids("P", np.arange(1, n + 1), 6),
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone_prefix": phone_prefix,
        "phone_number": phone_number,
        "address": _concat(np.array(STREETS, dtype=object)[street_idx], " ",
                           house_no.astype(str)),
        "city": np.array([c[0] for c in CITIES], dtype=object)[city_idx],
        "postcode": np.array([c[1] for c in CITIES], dtype=object)[city_idx],
        "home_store": np.array([c[3] for c in CITIES], dtype=object)[city_idx],
        "customer_type": np.where(rng.random(n) < BUSINESS_SHARE, "business", "private"),
        "acquisition_channel": channel,
        "buys_via": buys_via,
        "household_id": household_id,
        # The true traits: purchase rate per week, dropout probability, spend scale.
        "lam": rng.gamma(BGNBD_R, 1.0 / BGNBD_ALPHA_WEEKS, size=n),
        "p": rng.beta(BGNBD_A, BGNBD_B, size=n),
        "nu": rng.gamma(GG_Q, 1.0 / GG_GAMMA, size=n),
        "t0": t0,
    })
    people["phone"] = _format_phones(
        people["phone_prefix"].to_numpy(), people["phone_number"].to_numpy(), np.zeros(n)
    )
    return people


def _simulate_occasions(rng: np.random.Generator, people: pd.DataFrame,
                        n_days: int) -> pd.DataFrame:
    """Simulate every person's purchase occasions under BG/NBD, vectorised over people.

    A person who never dropped out would make ``K ~ Poisson(lambda * time left)`` repeat
    purchases after acquisition, at ``K`` sorted uniform times (that is what a Poisson
    process looks like given its count). The person drops out after repeat purchase number
    ``J ~ Geometric(p)``, so only the first ``min(K, J)`` of those times happen. The person is
    alive at ``as_of`` when ``J > K``; otherwise they died right after their last purchase.

    Adds ``alive`` and ``death_t`` to ``people`` and returns one row per occasion with the
    person's row number and the time ``t`` in days since the window start.
    """
    n = len(people)
    lam, p, t0 = (people[c].to_numpy() for c in ("lam", "p", "t0"))
    weeks_left = (n_days - t0) / 7.0
    k_if_immortal = rng.poisson(lam * weeks_left)
    j_until_death = rng.geometric(p)
    n_repeat = np.minimum(k_if_immortal, j_until_death)

    owner = np.repeat(np.arange(n), k_if_immortal)
    u = rng.random(len(owner))
    order = np.lexsort((u, owner))  # sorted by person, then time
    owner, u = owner[order], u[order]
    keep = _rank_within_groups(owner) < n_repeat[owner]
    owner, u = owner[keep], u[keep]
    t_repeat = t0[owner] + u * (n_days - t0[owner])

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


def _occasion_channel(rng: np.random.Generator, people: pd.DataFrame,
                      occasions: pd.DataFrame) -> np.ndarray:
    """True where the occasion goes to the web shop, False for the store."""
    buys_via = people["buys_via"].to_numpy()[occasions["person"]]
    return np.where(buys_via == "both", rng.random(len(occasions)) < BOTH_WEB_PROB,
                    buys_via == "web")


# ============================================================================================
# CRM and campaign
# ============================================================================================


def _make_crm(rng: np.random.Generator, people: pd.DataFrame, cal: _Calendar) -> pd.DataFrame:
    """CRM contacts: ~70% of people, ~3% of people twice, typed with variations.

    Adds ``has_crm`` and ``contact_id`` (the person's first contact, "" if none) to
    ``people``; the returned frame has ``CRM_COLUMNS`` plus ``person`` and ``is_duplicate``.
    """
    n = len(people)
    has_crm = rng.random(n) < CRM_SHARE
    crm_people = np.flatnonzero(has_crm)
    n_dup = min(int(round(CRM_DUPLICATE_SHARE * n)), len(crm_people))
    dup_people = np.sort(rng.choice(crm_people, size=n_dup, replace=False))
    person = np.concatenate([crm_people, dup_people])
    is_dup = np.concatenate([np.zeros(len(crm_people), bool), np.ones(n_dup, bool)])
    m = len(person)

    # Sign-up around the first purchase (newsletter before, or account after); the duplicate
    # is entered again months later by someone who did not find the first record.
    acq_day = np.floor(people["t0"].to_numpy()[person]).astype(np.int64)
    signup = acq_day + rng.integers(-30, 31, size=m)
    signup[is_dup] += rng.integers(30, 400, size=n_dup)
    signup = np.minimum(signup, cal.last_day)

    # Contact numbers follow the sign-up order, as a real CRM would.
    order = np.lexsort((is_dup, person, signup))
    person, is_dup, signup = person[order], is_dup[order], signup[order]
    contact_id = _ids("CRM-", np.arange(1, m + 1), 6)

    src = people.iloc[person]
    # Duplicates always differ a little from the first record, so variations are likelier.
    boost = np.where(is_dup, 3.0, 1.0)
    first = _drop_accents(rng, src["first_name"].to_numpy(), 0.3)
    first = _vary_case(rng, first, upper=0.04, lower=0.03)
    last = _drop_accents(rng, src["last_name"].to_numpy(), 0.3)
    draw = rng.random(m)
    last = _where(draw < 0.10 * boost, _map_distinct(last, str.upper), last)
    last = _where((draw >= 0.10 * boost) & (draw < 0.14 * boost),
                  _map_distinct(last, str.lower), last)

    email = src["email"].to_numpy()
    draw = rng.random(m)
    email = _where(draw < 0.08 * boost, _map_distinct(email, str.upper), email)
    spaced = (draw >= 0.08 * boost) & (draw < 0.13 * boost)
    email = _where(spaced, _concat(" ", email, " "), email)
    email = _where(rng.random(m) < 0.10, np.full(m, "", dtype=object), email)

    phone_style = rng.integers(0, 4, size=m)
    phone = _format_phones(src["phone_prefix"].to_numpy(), src["phone_number"].to_numpy(),
                           phone_style)
    phone = _where(rng.random(m) < 0.10, np.full(m, "", dtype=object), phone)

    crm = pd.DataFrame({
        "contact_id": contact_id,
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
    people["has_crm"] = has_crm
    first_contact = np.full(n, "", dtype=object)
    originals = crm[~crm["is_duplicate"]]
    first_contact[originals["person"].to_numpy()] = originals["contact_id"].to_numpy()
    people["contact_id"] = first_contact
    return crm


def _run_campaign(rng: np.random.Generator, people: pd.DataFrame, occasions: pd.DataFrame,
                  cal: _Calendar) -> tuple[pd.DataFrame, pd.DataFrame]:
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
        "campaign_id": _campaign_id(cal),
        "contact_id": people["contact_id"].to_numpy()[targeted],
        "group": np.where(treated, "treated", "control"),
        "start_date": cal.iso(cal.campaign_start_day),
    }).sort_values("contact_id", ignore_index=True)

    who = targeted[treated]
    death_t = people["death_t"].to_numpy()[who]
    end_t = np.where(np.isnan(death_t), float(cal.n_days), death_t)
    duration_weeks = np.maximum(end_t - start_t, 0.0) / 7.0
    lam = people["lam"].to_numpy()[who]
    n_extra = rng.poisson(CAMPAIGN_RATE_UPLIFT * lam * duration_weeks)
    owner = np.repeat(np.arange(len(who)), n_extra)
    extra_t = start_t + rng.random(len(owner)) * (end_t[owner] - start_t)
    extra = pd.DataFrame({"person": who[owner], "t": extra_t, "campaign_extra": True})
    return campaign, extra


# ============================================================================================
# Order lines
# ============================================================================================


def _split_into_lines(rng: np.random.Generator, occasions: pd.DataFrame,
                      catalogue: pd.DataFrame, popularity: np.ndarray) -> pd.DataFrame:
    """Split each occasion's spend into 1-4 order lines of catalogue products.

    Bigger occasions get more lines (one per ``LINE_BUDGET_EUR`` of spend), and each line gets
    an equal share of the spend as its budget. For each line a few products are drawn by
    popularity, each with the quantity (1-3) that best fits the budget, and the product whose
    ``qty * list_price`` is closest to the budget is kept. Line totals are therefore exact
    catalogue prices and add up to roughly the occasion's spend, so the Gamma-Gamma truth
    survives in the order lines.

    Returns one row per line: ``occasion`` (row of ``occasions``), ``line`` (1-based),
    ``product`` (row of ``catalogue``), ``qty``, ``cents`` (line total in cents).
    """
    n_occ = len(occasions)
    spend = occasions["spend"].to_numpy()
    eur_per_line = rng.uniform(*LINE_BUDGET_EUR, size=n_occ)
    n_lines = np.clip(np.ceil(spend / eur_per_line), 1, MAX_LINES).astype(np.int64)
    occasion = np.repeat(np.arange(n_occ), n_lines)
    line = _rank_within_groups(occasion) + 1
    budget = (spend / n_lines)[occasion]

    price = catalogue["price_cents"].to_numpy() / 100.0
    best_product = np.zeros(len(occasion), dtype=np.int64)
    best_qty = np.ones(len(occasion), dtype=np.int64)
    best_error = np.full(len(occasion), np.inf)
    for _ in range(PRODUCT_CANDIDATES):  # a handful of candidates, each vectorised
        product = rng.choice(len(price), size=len(occasion), p=popularity)
        qty = np.clip(np.rint(budget / price[product]), 1, MAX_QTY).astype(np.int64)
        error = np.abs(qty * price[product] - budget)
        better = error < best_error
        best_product[better] = product[better]
        best_qty[better] = qty[better]
        best_error[better] = error[better]

    lines = pd.DataFrame({"occasion": occasion, "line": line, "product": best_product,
                          "qty": best_qty})
    # The same product twice in one occasion becomes one line (quantity still at most
    # MAX_QTY), so no two genuine store rows (which carry no line number) are identical.
    lines = (lines.groupby(["occasion", "product"], as_index=False, sort=False)
             .agg(line=("line", "min"), qty=("qty", "sum"))
             .sort_values(["occasion", "line"], ignore_index=True))
    lines["line"] = _rank_within_groups(lines["occasion"].to_numpy()) + 1
    lines["qty"] = np.minimum(lines["qty"], MAX_QTY)
    lines["cents"] = lines["qty"] * catalogue["price_cents"].to_numpy()[lines["product"]]
    return lines


class _OrderFile:
    """An order file held as numbers, written as text in chunks.

    ``columns`` maps each output column to a function ``(rows) -> text array`` where ``rows``
    are row numbers of the clean table. Bad rows are applied on the way out: ``copies`` says
    how often each clean row is written (2 for an exact duplicate) and ``overrides`` replaces
    single cells, keyed by the final 0-based data row.
    """

    def __init__(self, name: str, n_clean: int, columns: dict, copies: np.ndarray,
                 overrides: dict[str, tuple[np.ndarray, np.ndarray]], bad_rows: pd.DataFrame,
                 n_purchase_lines: int, n_return_lines: int = 0) -> None:
        self.name = name
        self.columns = columns
        self.source_row = np.repeat(np.arange(n_clean), copies)
        self.overrides = overrides
        self.bad_rows = bad_rows
        self.n_rows = len(self.source_row)
        self.n_purchase_lines = n_purchase_lines
        self.n_return_lines = n_return_lines
        self.keys: dict[str, np.ndarray] = {}

    def write(self, path: Path, sep: str) -> int:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            for begin in range(0, max(self.n_rows, 1), CHUNK_ROWS):
                end = min(begin + CHUNK_ROWS, self.n_rows)
                rows = self.source_row[begin:end]
                frame = {}
                for column, make_text in self.columns.items():
                    text = np.asarray(make_text(rows), dtype=object)
                    if column in self.overrides:
                        positions, values = self.overrides[column]
                        inside = (positions >= begin) & (positions < end)
                        text = text.copy()
                        text[positions[inside] - begin] = values[inside]
                    frame[column] = text
                pd.DataFrame(frame, columns=list(self.columns)).to_csv(
                    handle, sep=sep, index=False, header=begin == 0, lineterminator="\n"
                )
        return self.n_rows


def _plan_bad_rows(rng: np.random.Generator, file_name: str, n_clean: int,
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


def _make_webshop(rng: np.random.Generator, people: pd.DataFrame, occasions: pd.DataFrame,
                  lines: pd.DataFrame, catalogue: pd.DataFrame, cal: _Calendar) -> _OrderFile:
    """Web shop order lines with accounts, checkout names/e-mails, returns and bad rows."""
    n = len(people)
    web_people = np.flatnonzero(people["buys_via"].isin(["web", "both"]).to_numpy())
    n_second = min(int(round(SECOND_ACCOUNT_SHARE * n)), len(web_people))
    second_people = np.sort(rng.choice(web_people, size=n_second, replace=False))
    account_owner = np.concatenate([web_people, second_people])
    primary = np.full(n, -1)
    primary[web_people] = np.arange(len(web_people))
    second = np.full(n, -1)
    second[second_people] = len(web_people) + np.arange(n_second)

    # Occasions in the web shop, in time order: that order gives the order numbers.
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

    # Purchase lines of those occasions.
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

    # Returns: a few lines come back 1-20 days later, never after as_of.
    is_returned = rng.random(len(buy)) < RETURN_SHARE
    delay = rng.integers(1, RETURN_MAX_DAYS + 1, size=len(buy))
    is_returned &= buy["day"].to_numpy() + delay <= cal.last_day
    buy["returned"] = is_returned
    ret = buy[is_returned].copy()
    ret["day"] = ret["day"] + delay[is_returned]
    ret["second"] = rng.integers(8 * 3600, 20 * 3600, size=len(ret))
    ret["qty"] = -ret["qty"]
    ret["cents"] = -ret["cents"]
    lines_per_order = np.bincount(buy["order_no"], minlength=len(web_occ) + 1)
    ret = ret.sort_values(["order_no", "line"], ignore_index=True)
    ret["line"] = (lines_per_order[ret["order_no"].to_numpy()]
                   + _rank_within_groups(ret["order_no"].to_numpy()) + 1)
    table = pd.concat([buy, ret], ignore_index=True)
    table = table.sort_values(["order_no", "line"], ignore_index=True)

    accounts = _make_accounts(rng, people, account_owner, table["account"].to_numpy())
    acc_id, acc_name, acc_email = accounts

    # Bad rows: only purchase lines that were not returned are corrupted, so a return always
    # refers to a clean purchase.
    n_rows = len(table)
    day_all = table["day"].to_numpy()
    sec_all = table["second"].to_numpy()
    future_day = cal.last_day + rng.integers(1, 61, size=n_rows)
    abc = rng.random(n_rows) < 0.5
    values = {
        "bad_date": ("order_ts", lambda r: _concat("31/02/", cal.format(day_all[r], "%Y"))),
        "missing_key": ("account_id", lambda r: np.full(len(r), "", dtype=object)),
        "bad_amount": ("line_total", lambda r: np.where(abc[r], "abc", "")),
        "zero_amount": ("line_total", lambda r: np.full(len(r), "0.00", dtype=object)),
        "future_date": ("order_ts", lambda r: cal.timestamps(future_day[r], sec_all[r])),
    }
    eligible = (table["qty"].to_numpy() > 0) & ~table["returned"].to_numpy()
    copies, overrides, bad_rows = _plan_bad_rows(rng, "webshop_orders.csv", n_rows, eligible,
                                                 values)

    # Text is made chunk by chunk when the file is written (see _OrderFile).
    order_no, line_no = table["order_no"].to_numpy(), table["line"].to_numpy()
    width = _id_width(order_no, 7)
    account_of_row = table["account"].to_numpy()
    product, qty, cents = (table[c].to_numpy() for c in ("product", "qty", "cents"))
    sku = catalogue["sku"].to_numpy(dtype=object)
    columns = {
        "order_id": lambda r: _ids("W-", order_no[r], width),
        "order_line": lambda r: line_no[r].astype(str),
        "account_id": lambda r: acc_id[account_of_row[r]],
        "checkout_name": lambda r: acc_name[account_of_row[r]],
        "checkout_email": lambda r: acc_email[account_of_row[r]],
        "order_ts": lambda r: cal.timestamps(day_all[r], sec_all[r]),
        "sku": lambda r: sku[product[r]],
        "qty": lambda r: qty[r].astype(str),
        "line_total": lambda r: _cents_to_text(cents[r], "."),
    }
    result = _OrderFile("webshop_orders.csv", n_rows, columns, copies, overrides, bad_rows,
                        n_purchase_lines=len(buy), n_return_lines=len(ret))
    used = np.unique(account_of_row)
    result.keys = {"source_key": acc_id[used], "person": account_owner[used]}
    return result


def _make_accounts(rng: np.random.Generator, people: pd.DataFrame, owner: np.ndarray,
                   account_of_row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Account ids (numbered by first use), checkout names and checkout e-mails per account."""
    n_acc = len(owner)
    first_row = np.full(n_acc, len(account_of_row))  # unused accounts go last
    used, first_use = np.unique(account_of_row, return_index=True)
    first_row[used] = first_use
    order = np.argsort(first_row, kind="stable")
    number = np.empty(n_acc, dtype=np.int64)
    number[order] = np.arange(1, n_acc + 1)
    acc_id = _ids("WEB-", number, 5)

    src = people.iloc[owner]
    first = src["first_name"].to_numpy()
    last = src["last_name"].to_numpy()
    name = _concat(first, " ", last)
    name = _drop_accents(rng, name, 0.25)
    name = _vary_case(rng, name, upper=0.05, lower=0.12)
    name = _add_typos(rng, name, 0.05)

    email = src["email"].to_numpy()
    draw = rng.random(n_acc)
    email = _where(draw < 0.08, _map_distinct(email, str.upper), email)
    capital = (draw >= 0.08) & (draw < 0.12)
    email = _where(capital, _map_distinct(email, str.capitalize), email)
    # A few people check out with a work e-mail that no other system knows.
    work = rng.random(n_acc) < 0.03
    domain = rng.choice(np.array(WORK_EMAIL_DOMAINS, dtype=object), size=n_acc)
    work_email = _concat(_map_distinct(first, lambda s: _slug(s)[:1]), ".",
                         _map_distinct(last, _slug), "@", domain, "-",
                         number.astype(str), ".it")
    email = _where(work, work_email, email)
    return acc_id, name, email


def _make_store(rng: np.random.Generator, people: pd.DataFrame, occasions: pd.DataFrame,
                lines: pd.DataFrame, catalogue: pd.DataFrame, cal: _Calendar) -> _OrderFile:
    """Store receipt lines with loyalty cards (Italian CSV style) and bad rows."""
    n = len(people)
    store_people = np.flatnonzero(people["buys_via"].isin(["store", "both"]).to_numpy())
    card_of_person = np.full(n, -1)
    card_of_person[store_people] = np.arange(len(store_people))
    card_number = _concat("LC", pd.Series(rng.choice(10**8, size=len(store_people),
                                                     replace=False))
                          .astype(str).str.zfill(8).to_numpy(dtype=object))

    # Name on the card: mostly "SURNAME NAME" in capitals, tills often without accents.
    src = people.iloc[store_people]
    first = src["first_name"].to_numpy()
    last = src["last_name"].to_numpy()
    style = rng.choice(4, size=len(store_people), p=(0.6, 0.2, 0.1, 0.1))
    holder = np.select(
        [style == 0, style == 1, style == 2],
        [_map_distinct(_concat(last, " ", first), str.upper),
         _concat(first, " ", last),
         _map_distinct(_concat(last, " ", _map_distinct(first, lambda s: s[0]), "."), str.upper)],
        default=_map_distinct(_concat(last, " ", first), str.lower),
    ).astype(object)
    holder = _drop_accents(rng, holder, 0.5)
    phone = _format_phones(src["phone_prefix"].to_numpy(), src["phone_number"].to_numpy(),
                           rng.integers(0, 4, size=len(store_people)))
    phone = _where(rng.random(len(store_people)) < 0.15, np.full(len(phone), "", object), phone)

    store_occ = np.flatnonzero(~occasions["web"].to_numpy())
    person = occasions["person"].to_numpy()[store_occ]
    day = np.floor(occasions["t"].to_numpy()[store_occ]).astype(np.int64)
    at_home = rng.random(len(store_occ)) < HOME_STORE_SHARE
    other_store = rng.choice(np.array(STORES, dtype=object), size=len(store_occ))
    store = np.where(at_home, people["home_store"].to_numpy()[person], other_store)
    store_names = np.array(sorted(STORES), dtype=object)
    store_no = np.searchsorted(store_names.astype(str), store.astype(str))
    receipt_no = np.empty(len(store_occ), dtype=np.int64)
    receipt_no[np.lexsort((rng.random(len(store_occ)), day))] = np.arange(1, len(store_occ) + 1)

    occ_to_store = np.full(len(occasions), -1)
    occ_to_store[store_occ] = np.arange(len(store_occ))
    sl = lines[occ_to_store[lines["occasion"].to_numpy()] >= 0]
    s = occ_to_store[sl["occasion"].to_numpy()]
    table = pd.DataFrame({
        "receipt_no": receipt_no[s], "line": sl["line"].to_numpy(), "store": store_no[s],
        "card": card_of_person[person[s]], "day": day[s], "product": sl["product"].to_numpy(),
        "qty": sl["qty"].to_numpy(), "cents": sl["cents"].to_numpy(),
    }).sort_values(["receipt_no", "line"], ignore_index=True)

    n_rows = len(table)
    day_all = table["day"].to_numpy()
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
    copies, overrides, bad_rows = _plan_bad_rows(rng, "store_receipts.csv", n_rows,
                                                 np.ones(n_rows, bool), values)

    receipt_no = table["receipt_no"].to_numpy()
    width = _id_width(receipt_no, 7)
    store_of_row, card_of_row = table["store"].to_numpy(), table["card"].to_numpy()
    product, qty, cents = (table[c].to_numpy() for c in ("product", "qty", "cents"))
    sku = catalogue["sku"].to_numpy(dtype=object)
    columns = {
        "receipt_id": lambda r: _ids("R-", receipt_no[r], width),
        "store": lambda r: store_names[store_of_row[r]],
        "card_number": lambda r: card_number[card_of_row[r]],
        "card_holder": lambda r: holder[card_of_row[r]],
        "phone": lambda r: phone[card_of_row[r]],
        "receipt_date": lambda r: cal.format(day_all[r], "%d/%m/%Y"),
        "sku": lambda r: sku[product[r]],
        "qty": lambda r: qty[r].astype(str),
        "amount": lambda r: _cents_to_text(cents[r], ","),
    }
    result = _OrderFile("store_receipts.csv", n_rows, columns, copies, overrides, bad_rows,
                        n_purchase_lines=n_rows)
    used = np.unique(card_of_row)
    result.keys = {"source_key": card_number[used], "person": store_people[used]}
    return result


# ============================================================================================
# Tickets, NPS, marketing
# ============================================================================================


def _relationship_span(people: pd.DataFrame, cal: _Calendar,
                       after_death: int) -> tuple[np.ndarray, np.ndarray]:
    """From acquisition until ``as_of``, or until ``after_death`` days after dropout."""
    t0 = people["t0"].to_numpy()
    death_t = people["death_t"].to_numpy()
    end = np.where(np.isnan(death_t), cal.n_days, np.minimum(death_t + after_death, cal.n_days))
    return t0, np.maximum(end, t0)


def _make_tickets(rng: np.random.Generator, people: pd.DataFrame, crm: pd.DataFrame,
                  cal: _Calendar) -> tuple[pd.DataFrame, np.ndarray]:
    """Support tickets of CRM people; a minority of heavy users raise most of them."""
    n = len(people)
    has_crm = people["has_crm"].to_numpy()
    rate = rng.gamma(TICKET_RATE_SHAPE, TICKETS_PER_YEAR / TICKET_RATE_SHAPE, size=n)
    begin, end = _relationship_span(people, cal, TICKET_DAYS_AFTER_DEATH)
    n_tickets = np.where(has_crm, rng.poisson(rate * (end - begin) / 365.25), 0)
    owner = np.repeat(np.arange(n), n_tickets)
    day = np.floor(begin[owner] + rng.random(len(owner)) * (end[owner] - begin[owner]))
    day = np.minimum(day.astype(np.int64), cal.last_day)
    second_of_day = rng.integers(8 * 3600, 20 * 3600, size=len(owner))

    # People with two CRM contacts sometimes call in under the other one.
    duplicates = crm[crm["is_duplicate"]]
    dup_contact = np.full(n, "", dtype=object)
    dup_contact[duplicates["person"].to_numpy()] = duplicates["contact_id"].to_numpy()
    use_dup = (dup_contact[owner] != "") & (rng.random(len(owner)) < 0.3)
    contact = np.where(use_dup, dup_contact[owner], people["contact_id"].to_numpy()[owner])

    channel_no = rng.choice(len(TICKET_CHANNELS), size=len(owner), p=TICKET_CHANNEL_PROBS)
    channel = np.array(TICKET_CHANNELS, dtype=object)[channel_no]
    base = np.array([TICKET_BASE_COST[c] for c in TICKET_CHANNELS])[channel_no]
    cost = np.round(np.maximum(base * (1 + rng.normal(0, 0.25, size=len(owner))), 0.5), 2)

    opened = cal.datetimes(day, second_of_day)
    order = np.lexsort((owner, second_of_day, day))
    tickets = pd.DataFrame({
        "ticket_id": _ids("TCK-", np.arange(1, len(owner) + 1), 6),
        "contact_id": contact[order].astype(str),
        "opened_at": opened[order].astype("datetime64[us]"),
        "channel": channel[order].astype(str),
        "handling_cost": cost[order],
    })
    return tickets, n_tickets


def _make_nps(rng: np.random.Generator, people: pd.DataFrame, crm: pd.DataFrame,
              tickets_per_person: np.ndarray, cal: _Calendar) -> pd.DataFrame:
    """One NPS answer from ~20% of CRM people; NPS follows the three satisfaction drivers.

    People with many tickets rate problem handling lower; frequent buyers see more benefits.
    """
    crm_people = np.flatnonzero(people["has_crm"].to_numpy())
    n_resp = int(round(NPS_RESPONSE_SHARE * len(crm_people)))
    who = np.sort(rng.choice(crm_people, size=n_resp, replace=False))
    begin, end = _relationship_span(people, cal, 90)
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

    comment = np.full(n_resp, "", dtype=object)
    has_comment = rng.random(n_resp) < NPS_COMMENT_SHARE
    band = np.where(nps >= 9, "promoter", np.where(nps >= 7, "passive", "detractor"))
    for name, phrases in NPS_COMMENTS.items():  # three bands
        mask = has_comment & (band == name)
        comment[mask] = rng.choice(np.array(phrases, dtype=object), size=int(mask.sum()))

    order = np.lexsort((who, day))
    return pd.DataFrame({
        "response_id": _ids("NPS-", np.arange(1, n_resp + 1), 6),
        "contact_id": people["contact_id"].to_numpy()[who][order],
        "survey_date": cal.format(day[order], "%Y-%m-%d"),
        "nps": nps[order],
        "problems_score": problems[order],
        "benefits_score": benefits[order],
        "price_score": price[order],
        "comment": comment[order],
    })


def _make_marketing(rng: np.random.Generator, people: pd.DataFrame, cal: _Calendar,
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


# ============================================================================================
# Truth tables and writers
# ============================================================================================


def _persons_truth(people: pd.DataFrame, cal: _Calendar) -> pd.DataFrame:
    death_t = people["death_t"].to_numpy()
    dead = ~np.isnan(death_t)
    death_date = np.full(len(people), "", dtype=object)
    death_date[dead] = cal.format(np.floor(death_t[dead]).astype(np.int64), "%Y-%m-%d")
    truth = people.assign(
        lambda_per_week=np.round(people["lam"], 6),
        p_dropout=np.round(people["p"], 6),
        mean_spend=np.round(GG_P / people["nu"], 2),
        acquisition_date=cal.format(np.floor(people["t0"]).astype(np.int64), "%Y-%m-%d"),
        death_date=death_date,
        alive_at_as_of=people["alive"],
    )
    return truth[PERSON_COLUMNS]


def _record_map(people: pd.DataFrame, crm: pd.DataFrame, web: _OrderFile,
                store: _OrderFile) -> pd.DataFrame:
    """Which person every CRM contact, web account and loyalty card belongs to."""
    person_id = people["person_id"].to_numpy()
    frames = [
        pd.DataFrame({"source": "crm", "source_key": crm["contact_id"].to_numpy(),
                      "person_id": person_id[crm["person"].to_numpy()]}),
        pd.DataFrame({"source": "webshop", "source_key": web.keys["source_key"],
                      "person_id": person_id[web.keys["person"]]}),
        pd.DataFrame({"source": "store", "source_key": store.keys["source_key"],
                      "person_id": person_id[store.keys["person"]]}),
    ]
    return pd.concat(frames).sort_values(["source", "source_key"], ignore_index=True)


def _write_csv(frame: pd.DataFrame, path: Path) -> int:
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return len(frame)


def _write_parquet(frame: pd.DataFrame, path: Path) -> int:
    frame.to_parquet(path, index=False, engine="pyarrow")
    return len(frame)


def _write_xlsx(frame: pd.DataFrame, path: Path, sheet: str, as_of: date) -> int:
    """Write one sheet with openpyxl, with no trace of the current time.

    openpyxl stamps the save time into ``docProps/core.xml`` and into every zip entry; both
    are replaced by ``as_of`` so the same data gives the same bytes.
    """
    fixed = datetime(as_of.year, as_of.month, as_of.day)
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):  # ~150 products
        worksheet.append([v.item() if isinstance(v, np.generic) else v for v in row])
    workbook.properties.creator = "helpers.demo_data"
    workbook.properties.created = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)

    stamp = fixed.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>" + stamp.encode() + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=fixed.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, data)
    return len(frame)
