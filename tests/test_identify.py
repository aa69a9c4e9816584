"""Identity resolution on a small three-system client, with hand-worked answers."""

import pytest

from helpers import identify
from helpers.config import load_config
from helpers.warehouse import read_table

CRM = """id,first,last,email,phone
K1,Mario,Rossi, Mario.Rossi@Libero.it ,+39 347 1234567
K2,Anna,Bianchi,,
K3,Luca,Verdi,luca@x.it,
"""
# W1 types Mario's email in capitals; W2 is Anna with no shared key; W3 shares Luca's email,
# and also uses a phone that links it to loyalty card L2.
WEB = """acct,name,email,when,sku,qty,total
W1,MARIO ROSSI,MARIO.ROSSI@LIBERO.IT,2025-03-01,P1,2,20.00
W1,MARIO ROSSI,mario.rossi@libero.it,2025-03-01,P2,1,5.00
W2,anna bianchi,anna@y.it,2025-04-01,P1,1,10.00
W3,Luca Verdi,luca@x.it,2025-05-01,P9,1,8.00
"""
STORE = """card;holder;tel;day;sku;qty;amount
L1;ROSSI MARIO;0039 3471234567;01/06/2025;P1;1;10,00
L1;ROSSI MARIO;0039 3471234567;02/06/2025;P1;-1;-10,00
L2;VERDI LUCA;333-9876543;03/06/2025;P2;1;5,00
L9;NESSUNO;;04/06/2025;P2;1;5,00
"""
PRODUCTS = "sku,cat,cost\nP1,Casa,4.0\nP2,Libri,2.5\n"
TICKETS = "contact,opened\nK1,2025-07-01\nK1,2025-08-01\nK404,2025-08-02\n"

# Where the phone link comes from: W3 has no phone, so Luca's card L2 must join through CRM.
CRM = CRM.replace("luca@x.it,", "luca@x.it,3339876543")


@pytest.fixture
def client(write_config, tmp_path, con, identify_chain):
    for name, text in [("crm.csv", CRM), ("web.csv", WEB), ("store.csv", STORE),
                       ("products.csv", PRODUCTS), ("tickets.csv", TICKETS)]:
        (tmp_path / name).write_text(text, encoding="utf-8")
    cfg = load_config(write_config({
        "client": "t", "as_of": "2025-12-31",
        "sources": {
            "crm": {"kind": "customers", "path": "crm.csv",
                    "columns": {"customer_key": "id", "first_name": "first", "last_name": "last",
                                "email": "email", "phone": "phone"}},
            "web": {"kind": "transactions", "path": "web.csv",
                    "columns": {"customer_key": "acct", "name": "name", "email": "email",
                                "order_date": "when", "product_id": "sku", "quantity": "qty",
                                "amount": "total"}},
            "store": {"kind": "transactions", "path": "store.csv", "delimiter": ";",
                      "decimal": ",", "date_format": "%d/%m/%Y",
                      "columns": {"customer_key": "card", "name": "holder", "phone": "tel",
                                  "order_date": "day", "product_id": "sku", "quantity": "qty",
                                  "amount": "amount"}},
            "catalogue": {"kind": "products", "path": "products.csv",
                          "columns": {"product_id": "sku", "category": "cat",
                                      "unit_cost": "cost"}},
            "tickets": {"kind": "support", "path": "tickets.csv", "linked_to": "crm",
                        "columns": {"customer_key": "contact", "contact_date": "opened"}},
        },
        "costs": {"cost_per_support_contact": 6.0},
        "identity": {"default_region": "IT"},
    }))
    return identify_chain(con, cfg)


def groups(con):
    rows = con.execute("SELECT customer_id, list(source_record_id ORDER BY source_record_id) "
                       "FROM customer_xref GROUP BY 1 ORDER BY 1").fetchall()
    return sorted(members for _, members in rows)


def test_records_link_on_normalised_email_and_phone_transitively(client, con):
    assert groups(con) == sorted([
        ["crm:K1", "store:L1", "web:W1"],      # email (case, spaces) + phone (+39 / 0039)
        ["crm:K2"], ["web:W2"],                # same person, but no shared key: kept apart
        ["crm:K3", "store:L2", "web:W3"],      # web→crm by email, crm→store by phone
        ["store:L9"],
    ])


def test_normalised_keys(client, con):
    keys = dict(con.execute("SELECT source_record_id, phone_e164 FROM source_records "
                            "WHERE phone_e164 IS NOT NULL").fetchall())
    assert keys == {"crm:K1": "+393471234567", "store:L1": "+393471234567",
                    "crm:K3": "+393339876543", "store:L2": "+393339876543"}
    emails = dict(con.execute("SELECT source_record_id, email_std FROM source_records "
                              "WHERE email_std IS NOT NULL").fetchall())
    assert emails["crm:K1"] == emails["web:W1"] == "mario.rossi@libero.it"


def test_golden_record_prefers_the_first_source_in_the_config(client, con):
    mario = con.execute("SELECT c.name, c.email, c.sources, c.n_source_records FROM customers c "
                        "JOIN customer_xref x USING (customer_id) "
                        "WHERE x.source_record_id = 'crm:K1'").fetchall()
    assert mario == [("Mario Rossi", "Mario.Rossi@Libero.it", "crm,store,web", 3)]
    assert con.execute("SELECT count(*) FROM customers").fetchall() == [(5,)]


def test_transactions_carry_customer_and_cost_of_goods(client, con):
    rows = con.execute("""
        SELECT x.source_record_id, t.amount, t.cost, t.category, t.is_return
        FROM transactions t JOIN customer_xref x
          ON x.customer_id = t.customer_id AND x.source = t.source
        ORDER BY t.source, t.source_row""").fetchall()
    assert rows == [
        ("store:L1", 10.0, 4.0, "Casa", False),
        ("store:L1", -10.0, -4.0, "Casa", True),
        ("store:L2", 5.0, 2.5, "Libri", False),
        ("store:L9", 5.0, 2.5, "Libri", False),
        ("web:W1", 20.0, 8.0, "Casa", False),
        ("web:W1", 5.0, 2.5, "Libri", False),
        ("web:W2", 10.0, 4.0, "Casa", False),
        ("web:W3", 8.0, None, None, False),    # P9 is not in the catalogue: no cost known
    ]


def test_support_contacts_link_and_unknown_keys_are_rejected(client, con):
    linked = con.execute("SELECT count(*), sum(cost) FROM support_contacts").fetchall()
    assert linked == [(2, 12.0)]
    assert con.execute("SELECT source, row_number, reason FROM rejected_rows").fetchall() == [
        ("tickets", 4, "customer key not found in source 'crm'")]


def test_counts_reconcile(client, con):
    identify.reconcile(con, client)
    counts = read_table(con, "load_counts").set_index("source")
    assert counts.loc["tickets", ["rows_in", "accepted", "excluded", "rejected"]].tolist() == [
        3, 2, 0, 1]
    assert (counts.rows_in == counts.accepted + counts.excluded + counts.rejected).all()
    assert counts.loc["web", "accepted"] == 4


def test_summaries_for_the_notebook(client, con):
    profile = identify.profile_sources(con).set_index(["source", "field"])["completeness"]
    assert profile[("crm", "email")] == pytest.approx(2 / 3)   # K2 has neither email nor phone
    assert profile[("crm", "phone")] == pytest.approx(2 / 3)
    assert profile[("web", "email")] == 1 and profile[("web", "phone")] == 0
    assert profile[("store", "phone")] == pytest.approx(2 / 3)  # L9 has no phone
    rules = dict(identify.match_summary(con).itertuples(index=False))
    assert rules == {"single record": 3, "email+phone": 2, "email": 2, "phone": 2}
    sizes = dict(identify.records_per_customer(con).itertuples(index=False))
    assert sizes == {1: 3, 3: 2}
    largest = identify.largest_customers(con, n=2)
    assert largest["records"].tolist() == [3, 3]
    assert largest["sources"].tolist() == ["crm,store,web"] * 2
    # Mario: 'mario rossi' in every system; Luca: 'luca verdi' likewise; one email each
    assert largest["different_names"].tolist() == [1, 1]
    assert largest["different_emails"].tolist() == [1, 1]
