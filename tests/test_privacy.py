"""Privacy: the `pii:` setting, the masking macros on awkward values, stable tokens, and the
preview and raw-row SQL built from them."""

import hashlib
import json

import duckdb
import pandas as pd
import pytest

from helpers.config import ConfigError, load_config
from helpers.privacy import customer_preview, pii_expression, projection, raw_json_expression
from helpers.warehouse import sql_text, write_table

SHOP = {"kind": "transactions", "path": "shop.csv",
        "columns": {"customer_key": "acct", "order_date": "when", "amount": "total",
                    "name": "Nome Cliente", "email": "E-mail"}}
CRM = {"kind": "customers", "path": "crm.csv",
       "columns": {"customer_key": "id", "first_name": "Nome", "last_name": "Cognome",
                   "phone": "Cell", "address": "Via", "city": "Città"}}


def config(**overrides):
    content = {"client": "acme", "as_of": "2025-12-31",
               "sources": {"shop": dict(SHOP), "crm": dict(CRM)},
               "identity": {"default_region": "IT"}}
    content.update(overrides)
    return content


@pytest.fixture
def macros(con):
    con.execute(sql_text("macros"))
    return con


def token(value: str, client: str = "acme") -> str:
    return hashlib.sha256(f"{client}:{value}".encode()).hexdigest()[:12]


# ------------------------------------------------------------------------- the setting

def test_the_report_is_masked_and_the_exports_kept_by_default(write_config):
    cfg = load_config(write_config(config()))
    assert (cfg.pii.report, cfg.pii.exports) == ("mask", "keep")


@pytest.mark.parametrize("setting, report, exports", [
    ("hash", "hash", "hash"),
    ("keep", "keep", "keep"),
    ({"exports": "mask"}, "mask", "mask"),
    ({"report": "hash", "exports": "keep"}, "hash", "keep"),
])
def test_one_word_sets_both_modes_and_a_mapping_each(write_config, setting, report, exports):
    cfg = load_config(write_config(config(pii=setting)))
    assert (cfg.pii.report, cfg.pii.exports) == (report, exports)


@pytest.mark.parametrize("setting, message", [
    ("masked", r"'pii': 'masked' is not a privacy mode: use keep, mask, hash"),
    ({"reprot": "mask"}, r"unknown key 'pii.reprot' — did you mean 'report'\?"),
    ({"exports": "encrypt"}, r"'pii.exports': Input should be 'keep', 'mask' or 'hash'"),
])
def test_a_bad_setting_names_the_key(write_config, setting, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(config(pii=setting)))


# ------------------------------------------------------------------------- the macros

@pytest.mark.parametrize("value, masked", [
    ("Mario.Rossi@Example.COM", "m***@example.com"),
    ("  mario@libero.it ", "m***@libero.it"),
    ("@example.com", "***@example.com"),
    ("a@b@example.com", "a***@example.com"),
    ("no at sign", "***"),
    ("", None),
    ("   ", None),
    (None, None),
])
def test_mask_email(macros, value, masked):
    assert macros.execute("SELECT mask_email($v)", {"v": value}).fetchone()[0] == masked


@pytest.mark.parametrize("value, initials", [
    ("Mario Rossi", "M. R."),
    ("mario  rossi ", "M. R."),
    ("Mario", "M."),
    ("D'Angelo", "D."),
    ("Maria Grazia D'Angelo", "M. G. D."),
    ("O'Brien-Smith", "O."),
    ("élodie de la Tour", "É. D. L. T."),
    ("Niccolò Ñúñez", "N. Ñ."),
    ("(Mario) Rossi", "M. R."),
    ("mario.rossi@example.com", "M."),
    ("+39 347 123 4567", "3. 3. 1. 4."),
    ("Rossi & Figli", "R. & F."),
    ("", None),
    (None, None),
])
def test_name_initials(macros, value, initials):
    assert macros.execute("SELECT name_initials($v)", {"v": value}).fetchone()[0] == initials


@pytest.mark.parametrize("value, masked", [
    ("+39 347 123 4567", "+** *** *** **67"),
    ("3471234567", "********67"),
    ("0039-347-1234567 ", "****-***-*****67"),
    ("347 12345 ext 9", "*** ****5 *** 9"),
    ("(02) 1234.5678", "(**) ****.**78"),
    ("5", "*"),
    ("Ñ 12", "* 12"),
    ("call Mario", "**** *****"),
    ("", None),
    (None, None),
])
def test_mask_phone_stars_all_but_the_last_two_digits(macros, value, masked):
    assert macros.execute("SELECT mask_phone($v)", {"v": value}).fetchone()[0] == masked


@pytest.mark.parametrize("value, address, postcode", [
    ("Via Roma 1", "***", "Vi"),
    ("20121", "***", "20"),
    (" 00184 ", "***", "00"),
    ("", None, None),
    (None, None, None),
])
def test_mask_address_and_postcode(macros, value, address, postcode):
    row = macros.execute("SELECT mask_address($v), mask_postcode($v)", {"v": value}).fetchone()
    assert row == (address, postcode)


def test_a_token_is_sha256_of_client_and_normalised_value(macros):
    row = macros.execute("""
        SELECT pii_name('  Niccolò  ROSSI ', 'hash', 'acme'),
               pii_name('niccolo rossi', 'hash', 'acme'),
               pii_email(' Mario@Libero.IT', 'hash', 'acme'),
               pii_phone('+39 347 123 4567', 'hash', 'acme'),
               pii_phone('0039 3471234567', 'hash', 'acme'),
               pii_address('Via  Roma 1', 'hash', 'acme'), pii_postcode('20121', 'hash', 'acme'),
               pii_name('Niccolò Rossi', 'hash', 'other'), pii_name(NULL, 'hash', 'acme'),
               pii_name('   ', 'hash', 'acme')
    """).fetchone()
    assert row == (token("niccolo rossi"), token("niccolo rossi"), token("mario@libero.it"),
                   token("393471234567"), token("393471234567"), token("via roma 1"),
                   token("20121"), token("niccolo rossi", "other"), None, None)


def test_each_mode_of_each_personal_field(macros):
    row = macros.execute("""
        SELECT pii_name('Mario Rossi', 'keep', 'acme'), pii_name('Mario Rossi', 'mask', 'acme'),
               pii_email('m@x.it', 'keep', 'acme'), pii_email('m@x.it', 'mask', 'acme'),
               pii_phone('3471234567', 'mask', 'acme'), pii_address('Via Roma 1', 'mask', 'acme'),
               pii_postcode('20121', 'mask', 'acme')
    """).fetchone()
    assert row == ("Mario Rossi", "M. R.", "m@x.it", "m***@x.it", "********67", "***", "20")
    with pytest.raises(duckdb.Error, match="unknown privacy mode secret"):
        macros.execute("SELECT pii_name('Mario', 'secret', 'acme')").fetchall()


# ------------------------------------------------------------------------- SQL from Python

def test_projection_wraps_only_the_personal_columns():
    columns = ["customer_id", "name", "email", "city"]
    assert projection(columns, "keep", "acme") == "customer_id, name, email, city"
    assert projection(columns, "hash", "acme") == (
        "customer_id, pii_name(name, 'hash', 'acme') AS name, "
        "pii_email(email, 'hash', 'acme') AS email, city")
    with pytest.raises(ValueError, match="unknown privacy mode 'masked'"):
        pii_expression("name", "name", "masked", "acme")


CUSTOMERS = pd.DataFrame({
    "customer_id": ["C1", "C2", "C3"], "name": ["Mario Rossi", "Anna D'Angelo", None],
    "email": ["mario@x.it", None, "bea@y.it"], "phone": ["+39 347 123 4567", "3330001122", None],
    "address": ["Via Roma 1", None, None], "city": ["Milano", "Roma", None],
    "postcode": ["20121", None, None], "customer_type": ["private"] * 3,
    "acquisition_channel": [None] * 3, "signup_date": pd.to_datetime([None] * 3),
    "sources": ["crm,store", "store", "webshop"], "n_source_records": [2, 1, 3]})


def test_customer_preview_follows_the_report_mode(con, make_config):
    write_table(con, "customers", CUSTOMERS)
    preview = customer_preview(con, make_config(), n=2)
    assert preview.columns.tolist() == ["customer_id", "name", "email", "phone", "city",
                                        "sources", "n_source_records"]
    assert preview.astype(object).where(preview.notna(), None).values.tolist() == [
        ["C3", None, "b***@y.it", None, None, "webshop", 3],
        ["C1", "M. R.", "m***@x.it", "+** *** *** **67", "Milano", "crm,store", 2]]
    kept = customer_preview(con, make_config(pii="keep"))
    assert kept["name"].tolist()[1:] == ["Mario Rossi", "Anna D'Angelo"]
    hashed = customer_preview(con, make_config(pii={"report": "hash"}))
    assert hashed["phone"].tolist()[1:] == [token("393471234567", "test"),
                                           token("3330001122", "test")]


def test_raw_rows_mask_the_columns_mapped_to_personal_roles(con, write_config):
    cfg = load_config(write_config(config()))
    shop_row = {"acct": "7", "Nome Cliente": "Mario D'Angelo", "E-mail": "Mario@X.it",
                "total": "", "note": "Mario"}
    crm_row = {"id": "9", "Nome": "Anna", "Cognome": "", "Cell": 3471234567,
               "Via": "Via Roma 1", "Città": "Roma"}
    ragged = ["8", "Anna Bianchi", "", "anna@x.it", "EXTRA"]  # a line with a field too many
    write_table(con, "rejected_rows", pd.DataFrame({
        "source": ["shop", "crm", "shop"], "row_number": [2, 3, 4],
        "raw": [json.dumps(shop_row), json.dumps(crm_row), json.dumps(ragged)]}))
    con.execute(sql_text("macros"))

    def raw(mode):
        sql = f"SELECT {raw_json_expression(cfg, mode)} FROM rejected_rows ORDER BY row_number"
        return [json.loads(value) for (value,) in con.execute(sql).fetchall()]

    assert raw("keep") == [shop_row, crm_row, ragged]
    masked_shop, masked_crm, masked_ragged = raw("mask")
    assert masked_ragged == ["***", "***", "", "***", "***"]
    # only mapped personal columns change; order, blanks, numbers and the rest stay
    assert list(masked_shop) == list(shop_row) and list(masked_crm) == list(crm_row)
    assert masked_shop == {**shop_row, "Nome Cliente": "M. D.", "E-mail": "m***@x.it"}
    assert masked_crm == {**crm_row, "Nome": "A.", "Cell": "********67", "Via": "***"}
    hashed_shop, hashed_crm, _ = raw("hash")
    assert hashed_shop["E-mail"] == token("mario@x.it") and hashed_shop["note"] == "Mario"
    assert hashed_crm["Cell"] == token("3471234567") and hashed_crm["Cognome"] == ""


def test_a_rejected_survey_comment_is_masked_whole(con, write_config):
    survey = {"kind": "survey", "path": "nps.csv", "linked_to": "crm",
              "columns": {"customer_key": "id", "response_date": "day", "nps": "score",
                          "comment": "note"}}
    cfg = load_config(write_config(config(sources={"shop": dict(SHOP), "crm": dict(CRM),
                                                   "survey": survey})))
    row = {"id": "9", "day": "2025-03-01", "score": "11", "note": "Mario Rossi was rude"}
    write_table(con, "rejected_rows", pd.DataFrame({
        "source": ["survey"], "row_number": [2], "raw": [json.dumps(row)]}))
    con.execute(sql_text("macros"))
    masked = con.execute(f"SELECT {raw_json_expression(cfg, 'mask')} FROM rejected_rows")
    assert json.loads(masked.fetchone()[0]) == {**row, "note": "***"}
    hashed = con.execute(f"SELECT {raw_json_expression(cfg, 'hash')} FROM rejected_rows")
    assert json.loads(hashed.fetchone()[0])["note"] == token("mario rossi was rude")
