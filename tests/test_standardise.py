"""Standardisation of the identifying fields, on hand-checked values, and source_records on a
small client: names, emails, phones of several countries, addresses, postcodes, a source
lacking a role, a source linked_to another, and the per-source profile."""

import duckdb
import pandas as pd
import phonenumbers
import pytest
import yaml

from helpers import identify, standardise
from helpers.config import ConfigError, load_config
from helpers.sources import build_load_counts
from helpers.warehouse import sql_text


@pytest.fixture(scope="module")
def macros():
    """A connection with the kit's macros, shared by the tests of single values."""
    con = duckdb.connect()
    con.execute(sql_text("macros"))
    yield con
    con.close()


def one(con, sql: str, value):
    return con.execute(f"SELECT {sql}", {"v": value}).fetchone()[0]


# ------------------------------------------------------------------------------- names

@pytest.mark.parametrize(("raw", "name_std", "name_sorted"), [
    ("José", "jose", "jose"),
    ("Müller", "muller", "muller"),
    ("D'Angelo", "dangelo", "dangelo"),
    ("Anna D’Angelo", "anna dangelo", "anna dangelo"),     # typographic apostrophe
    ("ROSSI  MARIO", "rossi mario", "mario rossi"),
    ("  mario rossi ", "mario rossi", "mario rossi"),
    ("Anna-Maria Bianchi-Verdi", "anna maria bianchi verdi", "anna bianchi maria verdi"),
    ("Strauß Łukasz", "strauss lukasz", "lukasz strauss"),
    ("Mario Rossi 2", "mario rossi", "mario rossi"),          # digits are no name
    ("Sig. Mario Rossi", "mario rossi", "mario rossi"),
    ("sig.ra Anna Bianchi", "anna bianchi", "anna bianchi"),
    ("Dott.ssa Anna Bianchi", "anna bianchi", "anna bianchi"),
    ("dott. Luca Verdi", "luca verdi", "luca verdi"),
    ("Mr John Smith", "john smith", "john smith"),
    ("MRS. Jane Smith", "jane smith", "jane smith"),
    ("Dr. Who", "who", "who"),
    ("Sig. Dott. Mario Rossi", "mario rossi", "mario rossi"),  # several titles
    ("Drago Ing", "drago ing", "drago ing"),   # a title's letters starting a word, or last
    ("Ing", "ing", "ing"),
    ("Dr.", None, None),                       # a title alone is no name
    (" ,. ", None, None),
    (None, None, None),
])
def test_names(macros, raw, name_std, name_sorted):
    assert one(macros, "normalise_name($v)", raw) == name_std
    assert one(macros, "sorted_words(normalise_name($v))", raw) == name_sorted


# ------------------------------------------------------------------------------ emails

@pytest.mark.parametrize(("raw", "email_std"), [
    (" Mario.Rossi@Libero.IT ", "mario.rossi@libero.it"),
    ("MARIO.ROSSI@LIBERO.IT", "mario.rossi@libero.it"),
    ("\tanna+shop@x.co.uk\u00a0", "anna+shop@x.co.uk"),   # tab, no-break space
    ("c.romano@studio-legale3.it", "c.romano@studio-legale3.it"),
    ("mario rossi@libero.it", None),    # a space inside
    ("mario.rossi@libero", None),       # no top-level domain
    ("@libero.it", None),
    ("mario.rossi@", None),
    ("mario..rossi@libero.it", None),
    ("mario@-libero.it", None),
    ("n/a", None),
    ("", None),
])
def test_emails(macros, raw, email_std):
    assert one(macros, "normalise_email($v)", raw) == email_std


# ------------------------------------------------------------------------------ phones

@pytest.mark.parametrize(("raw", "region", "e164"), [
    ("+39 347 123 4567", "IT", "+393471234567"),
    ("0039 3471234567", "IT", "+393471234567"),
    ("347-1234567", "IT", "+393471234567"),
    ("393471234567", "IT", "+393471234567"),    # the country code without its '+'
    ("06 1234 5678", "IT", "+390612345678"),    # a landline keeps its leading 0
    ("+44 20 7946 0958", "IT", "+442079460958"),
    ("+44 (0)20 7946 0958", "IT", "+442079460958"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("(415) 555-2671", "US", "+14155552671"),
    ("+1 415 555 2671", "IT", "+14155552671"),
    ("+49 30 123456", "IT", "+4930123456"),
    ("030 123456", "DE", "+4930123456"),
    ("347 123 4567 ext. 12", "IT", "+393471234567"),
    ("+39 347 123 4567", None, "+393471234567"),  # an international number needs no region
    ("347 123 4567", None, None),                 # a national one does
    ("12", "IT", None),
    ("+39 000 0000000", "IT", None),              # no such Italian number
    ("garbage", "IT", None),
    ("", "IT", None),
    (None, "IT", None),
])
def test_phones(raw, region, e164):
    assert standardise.phone_e164(raw, region) == e164


def test_each_phone_is_parsed_once_whatever_its_rows(con, write_config, tmp_path,
                                                    monkeypatch):
    parse, calls = phonenumbers.parse, []

    def counted(raw, region):
        calls.append(raw)
        return parse(raw, region)

    monkeypatch.setattr(standardise.phonenumbers, "parse", counted)
    spellings = ["+39 347 123 4567", "+39 347-123-4567", "+39 (347) 1234567",
                 "0039 3471234567", "garbage", ""]
    lines = [f"L{i % 7},{spellings[i % 6]},2025-01-01,1" for i in range(600)]
    (tmp_path / "s.csv").write_text("card,tel,day,amount\n" + "\n".join(lines) + "\n")
    cfg = load_config(write_config({
        "client": "t", "as_of": "2025-12-31", "identity": {"default_region": "IT"},
        "sources": {"store": {"kind": "transactions", "path": "s.csv", "columns": {
            "customer_key": "card", "phone": "tel", "order_date": "day", "amount": "amount"}}}}))
    build_load_counts(con, cfg)
    identify.build_source_records(con, cfg)
    # the first three are one spelling once their separators are dropped
    assert sorted(calls) == ["+393471234567", "00393471234567", "garbage"]
    assert con.execute("SELECT count(DISTINCT key_value), count(*) FROM record_keys").fetchall() \
        == [(1, 7)]
    with pytest.raises(Exception, match="phone_e164"):   # lent to the query only
        con.execute("SELECT phone_e164('1', 'IT')").fetchall()


# ------------------------------------------------------------- addresses, cities, postcodes

@pytest.mark.parametrize(("raw", "address_std"), [
    ("V. Roma, 12/A", "via roma 12 a"),
    ("Via Roma 12/a", "via roma 12 a"),
    ("P.zza Garibaldi 3", "piazza garibaldi 3"),
    ("Piazza  Garibaldi, 3", "piazza garibaldi 3"),
    ("C.so Vittorio Emanuele II 5", "corso vittorio emanuele ii 5"),
    ("V.le dell'Università 7", "viale delluniversita 7"),
    ("Via Roma n. 5", "via roma 5"),
    ("10 Downing St.", "10 downing street"),
    ("221B Baker Street", "221b baker street"),
    ("5th Ave", "5th avenue"),
    (" - ", None),
])
def test_addresses(macros, raw, address_std):
    assert one(macros, "normalise_address($v)", raw) == address_std


@pytest.mark.parametrize(("raw", "city_std"), [
    ("Forlì", "forli"), ("L'Aquila", "laquila"), ("  REGGIO  nell’Emilia", "reggio nellemilia"),
    ("Saint-Étienne", "saint etienne"), ("", None)])
def test_cities(macros, raw, city_std):
    assert one(macros, "normalise_words($v)", raw) == city_std


@pytest.mark.parametrize(("raw", "postcode_std"), [
    (" sw1a 1aa ", "SW1A1AA"), ("00184", "00184"), ("D-10115", "D-10115"), ("   ", None)])
def test_postcodes(macros, raw, postcode_std):
    assert one(macros, "normalise_postcode($v)", raw) == postcode_std


# ------------------------------------------------------------ source_records on a client

CRM = """id,first,last,mail,tel,street,town,zip,born
K1,Dott. Mario,Rossi, Mario.Rossi@Libero.IT ,+39 347 123 4567,"V. Roma, 12",Milano,20121 ,1980-05-17
K2,Anna,D'Angelo,anna@@x.it,12,,,,
K3,,,,,P.zza Duomo 1,MILANO,,
"""
# W1 types a new email at its second checkout; W2 writes 'surname name'
WEB = """acct,who,mail,when,total
W1,José Müller,JOSE@X.IT,2025-03-01,10
W1,José Müller,jose.muller@y.it,2025-05-01,12
W2,ROSSI  MARIO,mario.rossi@libero.it,2025-04-01,20
"""
# the store has no email column; its receipts carry phones in another spelling
STORE = """card;holder;tel;day;amount
L1;Sig. MARIO ROSSI;0039 347-1234567;01/06/2025;10,00
L1;Sig. MARIO ROSSI;0039 347-1234567;02/06/2025;5,00
L2;Luca;(415) 555-2671;03/06/2025;5,00
"""
# orders keyed by the CRM's contact id: linked through the CRM, no records of their own
PHONE_ORDERS = "contact,day,amount\nK1,2025-07-01,30\nK2,2025-07-02,15\n"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The client's warehouse after build_source_records (built once: tests only read it)."""
    folder = tmp_path_factory.mktemp("client")
    for name, text in [("crm.csv", CRM), ("web.csv", WEB), ("store.csv", STORE),
                       ("phone_orders.csv", PHONE_ORDERS)]:
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "config.yaml").write_text(yaml.safe_dump({
        "client": "t", "as_of": "2025-12-31",
        "sources": {
            "crm": {"kind": "customers", "path": "crm.csv",
                    "columns": {"customer_key": "id", "first_name": "first", "last_name": "last",
                                "email": "mail", "phone": "tel", "address": "street",
                                "city": "town", "postcode": "zip", "birth_date": "born"}},
            "web": {"kind": "transactions", "path": "web.csv",
                    "columns": {"customer_key": "acct", "name": "who", "email": "mail",
                                "order_date": "when", "amount": "total"}},
            "store": {"kind": "transactions", "path": "store.csv", "delimiter": ";",
                      "decimal": ",", "date_format": "%d/%m/%Y",
                      "columns": {"customer_key": "card", "name": "holder", "phone": "tel",
                                  "order_date": "day", "amount": "amount"}},
            "phone_orders": {"kind": "transactions", "path": "phone_orders.csv",
                             "linked_to": "crm",
                             "columns": {"customer_key": "contact", "order_date": "day",
                                         "amount": "amount"}},
        },
        "identity": {"default_region": "IT"},
    }), encoding="utf-8")
    cfg = load_config(folder / "config.yaml")
    con = duckdb.connect()
    build_load_counts(con, cfg)
    assert identify.build_source_records(con, cfg) == 7
    yield con
    con.close()


def records(con, columns: str) -> dict:
    rows = con.execute(f"SELECT source_record_id, {columns} FROM source_records").fetchall()
    return {row[0]: row[1:] for row in rows}


def test_names_from_their_roles_or_split_from_a_name(client):
    assert records(client, "name, first_name_std, last_name_std, name_std, name_sorted") == {
        "crm:K1": ("Dott. Mario Rossi", "mario", "rossi", "mario rossi", "mario rossi"),
        "crm:K2": ("Anna D'Angelo", "anna", "dangelo", "anna dangelo", "anna dangelo"),
        "crm:K3": (None, None, None, None, None),
        "web:W1": ("José Müller", "jose", "muller", "jose muller", "jose muller"),
        "web:W2": ("ROSSI  MARIO", "rossi", "mario", "rossi mario", "mario rossi"),
        "store:L1": ("Sig. MARIO ROSSI", "mario", "rossi", "mario rossi", "mario rossi"),
        "store:L2": ("Luca", "luca", None, "luca", "luca"),
    }


def test_emails_phones_and_the_other_fields_beside_their_raw_values(client):
    got = records(client, "email, email_std, phone, phone_e164")
    assert got["crm:K1"] == ("Mario.Rossi@Libero.IT", "mario.rossi@libero.it",  # as loaded
                             "+39 347 123 4567", "+393471234567")
    assert got["crm:K2"] == ("anna@@x.it", None, "12", None)          # both invalid
    assert got["web:W1"] == ("jose.muller@y.it", "jose.muller@y.it", None, None)  # latest
    assert got["store:L1"] == (None, None, "0039 347-1234567", "+393471234567")
    assert got["store:L2"][3] is None   # a US number written without +1, read as Italian
    assert records(client, "address_std, city_std, postcode_std, birth_date::VARCHAR")[
        "crm:K1"] == ("via roma 12", "milano", "20121", "1980-05-17")
    assert records(client, "address_std, city_std")["crm:K3"] == ("piazza duomo 1", "milano")


def test_a_source_lacking_a_role_has_it_null(client):
    store = client.execute("SELECT count(*), count(email), count(email_std), count(address), "
                           "count(birth_date) FROM source_records WHERE source = 'store'"
                           ).fetchall()
    assert store == [(2, 0, 0, 0, 0)]


def test_a_linked_source_has_no_records_of_its_own(client):
    sources = [r[0] for r in client.execute("SELECT DISTINCT source FROM source_records "
                                            "ORDER BY 1").fetchall()]
    assert sources == ["crm", "store", "web"]


def test_record_keys_hold_every_key_a_record_used(client):
    keys = client.execute("SELECT source_record_id, key_type, key_value FROM record_keys "
                          "ORDER BY ALL").fetchall()
    assert keys == [
        ("crm:K1", "email", "mario.rossi@libero.it"), ("crm:K1", "phone", "+393471234567"),
        ("store:L1", "phone", "+393471234567"),
        ("web:W1", "email", "jose.muller@y.it"), ("web:W1", "email", "jose@x.it"),
        ("web:W2", "email", "mario.rossi@libero.it"),
    ]


def test_rows_and_last_seen(client):
    assert records(client, "n_rows, last_seen::VARCHAR") == {
        "crm:K1": (1, None), "crm:K2": (1, None), "crm:K3": (1, None),   # no signup date
        "web:W1": (2, "2025-05-01"), "web:W2": (1, "2025-04-01"),
        "store:L1": (2, "2025-06-02"), "store:L2": (1, "2025-06-03")}


def test_profile_of_the_sources(client):
    profile = identify.profile_sources(client)
    assert profile.columns.tolist() == ["source", "field", "records", "completeness",
                                        "validity", "duplicate_records"]
    crm = profile[profile.source == "crm"].set_index("field")
    assert crm.loc["email"].tolist()[1:] == [3, pytest.approx(2 / 3), 0.5, 0]
    assert crm.loc["phone"].tolist()[1:] == [3, pytest.approx(2 / 3), 0.5, 0]
    assert crm.loc["address"].tolist()[1:4] == [3, pytest.approx(2 / 3), 1.0]
    assert crm.loc["birth_date"].tolist()[1:4] == [3, pytest.approx(1 / 3), 1.0]
    store = profile[profile.source == "store"].set_index("field")
    assert store.loc["email", "completeness"] == 0
    assert pd.isna(store.loc["email", "validity"])    # no value to judge
    assert store.loc["phone"].tolist()[1:] == [2, 1.0, 0.5, 0]
    assert profile.groupby("source").size().tolist() == [7, 7, 7]


def test_profile_counts_records_sharing_a_key_inside_a_source(client):
    client.execute("BEGIN")  # W2 typing W1's first email, undone after
    client.execute("INSERT INTO record_keys VALUES ('web:W2', 'email', 'jose@x.it')")
    web = identify.profile_sources(client).set_index(["source", "field"])
    client.execute("ROLLBACK")
    assert web.loc[("web", "email"), "duplicate_records"] == 2
    assert web.loc[("web", "phone"), "duplicate_records"] == 0
    assert pd.isna(web.loc[("web", "name"), "duplicate_records"])   # names are no keys


# ------------------------------------------------------------------------------ config

def test_a_config_mapping_phones_needs_a_region(write_config):
    content = {"client": "t", "as_of": "2025-12-31", "sources": {
        "shop": {"kind": "transactions", "path": "s.csv",
                 "columns": {"customer_key": "c", "order_date": "d", "amount": "a",
                             "phone": "tel"}}}}
    with pytest.raises(ConfigError, match=r"identity\.default_region.*'shop' map a phone"):
        load_config(write_config(content))
    content["identity"] = {"default_region": "gb"}
    assert load_config(write_config(content)).identity.default_region == "GB"
    del content["identity"], content["sources"]["shop"]["columns"]["phone"]
    assert load_config(write_config(content)).identity.default_region is None
