"""Model parameters, shares, name lists, catalogue and file layouts of the demo retailer.

Everything the simulation draws from is fixed here: the true BG/NBD and Gamma-Gamma parameters
(written to ``truth/parameters.json``), the shares of people and records that end up in each
source, the kinds of deliberately bad rows, the Italian names, places and catalogue the people
and products are made of, and the columns of every file written.
"""

__all__ = [
    "BGNBD_R",
    "BGNBD_ALPHA_WEEKS",
    "BGNBD_A",
    "BGNBD_B",
    "GG_P",
    "GG_Q",
    "GG_GAMMA",
    "LINE_BUDGET_EUR",
    "MAX_LINES",
    "PRODUCT_CANDIDATES",
    "MAX_QTY",
    "BUSINESS_SHARE",
    "HOUSEHOLD_SHARE",
    "BUYS_VIA",
    "BUYS_VIA_PROBS",
    "BOTH_WEB_PROB",
    "CRM_SHARE",
    "CRM_DUPLICATE_SHARE",
    "SECOND_ACCOUNT_SHARE",
    "SECOND_ACCOUNT_USE",
    "HOME_STORE_SHARE",
    "RETURN_SHARE",
    "RETURN_MAX_DAYS",
    "BAD_ROW_SHARE",
    "BAD_ROW_KINDS",
    "TICKETS_PER_YEAR",
    "TICKET_RATE_SHAPE",
    "TICKET_DAYS_AFTER_DEATH",
    "TICKET_CHANNELS",
    "TICKET_CHANNEL_PROBS",
    "TICKET_BASE_COST",
    "NPS_RESPONSE_SHARE",
    "NPS_COMMENT_SHARE",
    "CAMPAIGN_SHARE",
    "CAMPAIGN_LEAD_DAYS",
    "CAMPAIGN_INACTIVE_DAYS",
    "CAMPAIGN_RATE_UPLIFT",
    "CHUNK_ROWS",
    "FIRST_NAMES",
    "LAST_NAMES",
    "CITIES",
    "STORES",
    "STREETS",
    "EMAIL_DOMAINS",
    "EMAIL_DOMAIN_PROBS",
    "WORK_EMAIL_DOMAINS",
    "MOBILE_PREFIXES",
    "ACQUISITION_CHANNELS",
    "ACQUISITION_PROBS",
    "ACQUISITION_TRAIT_EFFECTS",
    "BUSINESS_TRAIT_EFFECTS",
    "MARKETING_BASE_PER_MONTH",
    "MARKETING_COST_PER_ACQUISITION",
    "CATEGORIES",
    "PRODUCT_LINES",
    "N_PRODUCTS",
    "NPS_COMMENTS",
    "WEB_HOUR_WEIGHTS",
    "CRM_COLUMNS",
    "WEBSHOP_COLUMNS",
    "STORE_COLUMNS",
    "PRODUCT_COLUMNS",
    "TICKET_COLUMNS",
    "MARKETING_COLUMNS",
    "NPS_COLUMNS",
    "CAMPAIGN_COLUMNS",
    "PERSON_COLUMNS",
    "SOURCE_FILES",
    "SECONDS_PER_DAY",
]

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
#: Who each channel brings: the log-odds of a channel move from ACQUISITION_PROBS by these
#: multiples of the person's standardised true traits (purchase rate, loyalty = low dropout,
#: spend per purchase). Email sign-ups buy often and stay; social media brings impulse buyers
#: who drop out; affiliates' deal seekers spend more per basket but do not stay; walk-ins stay.
#: The traits are drawn first, from their population laws, so the channels change nothing in
#: the BG/NBD and Gamma-Gamma populations: they only tell who is who.
ACQUISITION_TRAIT_EFFECTS = {
    "search": (0.0, 0.0, 0.0),
    "social": (-0.3, -0.6, -0.2),
    "email": (0.6, 0.4, 0.0),
    "affiliate": (-0.2, -0.4, 0.4),
    "store": (0.0, 0.4, 0.0),
}
#: The same for being a business customer, from a base share of BUSINESS_SHARE: businesses
#: buy more often and bigger baskets.
BUSINESS_TRAIT_EFFECTS = (0.8, 0.0, 0.6)
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
