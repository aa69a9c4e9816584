"""Tests for helpers.demo_data: the fictional retailer's raw data and its ground truth."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from helpers import demo_data
from helpers.demo_data import generate

AS_OF = date(2025, 12, 31)
SMALL = 300

CSV_FILES = {
    "crm_contacts.csv": demo_data.CRM_COLUMNS,
    "webshop_orders.csv": demo_data.WEBSHOP_COLUMNS,
    "marketing_spend.csv": demo_data.MARKETING_COLUMNS,
    "nps_survey.csv": demo_data.NPS_COLUMNS,
    "campaign.csv": demo_data.CAMPAIGN_COLUMNS,
}


def _read(folder: Path, name: str) -> pd.DataFrame:
    """Read a CSV exactly as written: every cell as text, empty cells as ''."""
    sep = ";" if name == "store_receipts.csv" else ","
    return pd.read_csv(folder / name, sep=sep, dtype=str, keep_default_na=False)


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("demo")
    counts = generate(folder, customers=SMALL, seed=7, as_of=AS_OF)
    return folder, counts


@pytest.fixture(scope="module")
def bad_rows(demo) -> pd.DataFrame:
    folder, _ = demo
    return pd.read_csv(folder / "truth" / "bad_rows.csv")


def _clean(frame: pd.DataFrame, bad: pd.DataFrame, name: str) -> pd.DataFrame:
    """Drop the deliberately bad rows (row_number 2 = first data row = index 0)."""
    spoiled = bad.loc[bad["file"] == name, "row_number"] - 2
    return frame.drop(index=spoiled)


# --------------------------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_files(tmp_path):
    first = _digests(_generated(tmp_path / "a", seed=3))
    second = _digests(_generated(tmp_path / "b", seed=3))
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], f"{name} differs between two runs with one seed"


def test_different_seed_gives_different_files(tmp_path):
    first = _digests(_generated(tmp_path / "a", seed=3))
    other = _digests(_generated(tmp_path / "b", seed=4))
    for name in ("crm_contacts.csv", "webshop_orders.csv", "store_receipts.csv",
                 "truth/persons.csv"):
        assert first[name] != other[name]


def _generated(folder: Path, seed: int) -> Path:
    generate(folder, customers=SMALL, seed=seed, as_of=AS_OF)
    return folder


# --------------------------------------------------------------------------------------------
# Files and columns
# --------------------------------------------------------------------------------------------


def test_every_file_has_exactly_the_named_columns(demo):
    folder, _ = demo
    for name, columns in CSV_FILES.items():
        assert list(_read(folder, name).columns) == columns, name
    store = pd.read_csv(folder / "store_receipts.csv", sep=";", decimal=",", dtype=str)
    assert list(store.columns) == demo_data.STORE_COLUMNS
    products = pd.read_excel(folder / "products.xlsx", sheet_name="catalogue")
    assert list(products.columns) == demo_data.PRODUCT_COLUMNS
    tickets = pd.read_parquet(folder / "support_tickets.parquet")
    assert list(tickets.columns) == demo_data.TICKET_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(tickets["opened_at"])
    persons = pd.read_csv(folder / "truth" / "persons.csv")
    assert list(persons.columns) == demo_data.PERSON_COLUMNS
    record_map = pd.read_csv(folder / "truth" / "record_map.csv")
    assert list(record_map.columns) == ["source", "source_key", "person_id"]


def test_returned_counts_match_the_files(demo):
    folder, counts = demo
    assert set(counts) == {
        *demo_data.SOURCE_FILES, "truth/persons.csv", "truth/record_map.csv",
        "truth/bad_rows.csv", "truth/parameters.json",
    }
    for name, n in counts.items():
        if name.endswith(".csv"):
            assert len(_read(folder, name)) == n, name
    assert len(pd.read_excel(folder / "products.xlsx")) == counts["products.xlsx"]
    tickets = pd.read_parquet(folder / "support_tickets.parquet")
    assert len(tickets) == counts["support_tickets.parquet"]


def test_store_file_is_italian_style(demo, bad_rows):
    folder, _ = demo
    skip = bad_rows.loc[bad_rows["file"] == "store_receipts.csv", "row_number"] - 1
    store = pd.read_csv(folder / "store_receipts.csv", sep=";", decimal=",",
                        skiprows=skip.tolist(), dtype={"card_number": str, "phone": str})
    assert pd.api.types.is_float_dtype(store["amount"])
    assert pd.api.types.is_integer_dtype(store["qty"])
    assert (store["amount"] > 0).all()
    assert store["card_number"].str.fullmatch(r"LC\d{8}").all()
    dates = pd.to_datetime(store["receipt_date"], format="%d/%m/%Y")
    assert dates.max() <= pd.Timestamp(AS_OF)


def test_catalogue(demo):
    folder, _ = demo
    products = pd.read_excel(folder / "products.xlsx", sheet_name="catalogue")
    assert len(products) == demo_data.N_PRODUCTS
    assert products["sku"].is_unique
    assert products["category"].nunique() == len(demo_data.CATEGORIES)
    share = products["unit_cost"] / products["list_price"]
    assert share.between(0.39, 0.76).all()


# --------------------------------------------------------------------------------------------
# Size at the default size (speed is measured by benchmarks, never by timed tests)
# --------------------------------------------------------------------------------------------


def test_default_size_gives_about_60000_lines(tmp_path):
    counts = generate(tmp_path, customers=5000)
    total = counts["webshop_orders.csv"] + counts["store_receipts.csv"]
    assert 51_000 <= total <= 69_000
    campaign = _read(tmp_path, "campaign.csv")
    assert 800 <= len(campaign) <= 1000
    assert (campaign["group"] == "treated").mean() == pytest.approx(0.5, abs=0.01)


# --------------------------------------------------------------------------------------------
# Truth
# --------------------------------------------------------------------------------------------


def test_record_map_covers_every_source_key_once(demo):
    folder, _ = demo
    record_map = _read(folder, "truth/record_map.csv")
    assert not record_map.duplicated(["source", "source_key"]).any()
    assert set(record_map["person_id"]) <= set(_read(folder, "truth/persons.csv")["person_id"])
    mapped = {s: set(g["source_key"]) for s, g in record_map.groupby("source")}

    contacts = set(_read(folder, "crm_contacts.csv")["contact_id"])
    assert contacts == mapped["crm"]
    tickets = pd.read_parquet(folder / "support_tickets.parquet")
    for used in (set(tickets["contact_id"]), set(_read(folder, "nps_survey.csv")["contact_id"]),
                 set(_read(folder, "campaign.csv")["contact_id"])):
        assert used <= contacts
    accounts = set(_read(folder, "webshop_orders.csv")["account_id"]) - {""}
    assert accounts <= mapped["webshop"]
    cards = set(_read(folder, "store_receipts.csv")["card_number"]) - {""}
    assert cards <= mapped["store"]


def test_sources_hold_the_planned_traps(demo):
    folder, _ = demo
    persons = _read(folder, "truth/persons.csv")
    record_map = _read(folder, "truth/record_map.csv")
    # Households: one address, different people.
    shared = persons.groupby(["address", "city"])["person_id"].nunique()
    assert (shared > 1).sum() >= 0.05 * SMALL / 2
    # Someone has two CRM contacts.
    per_person = record_map[record_map["source"] == "crm"].groupby("person_id").size()
    assert (per_person > 1).any()
    # Phones are typed in several formats.
    phones = _read(folder, "crm_contacts.csv")["phone"]
    assert phones.str.startswith("+39 ").any() and phones.str.contains("-").any()
    assert phones.str.startswith("0039").any() and (phones == "").any()


def test_persons_truth_is_consistent(demo):
    folder, _ = demo
    persons = pd.read_csv(folder / "truth" / "persons.csv", keep_default_na=False)
    assert len(persons) == SMALL and persons["person_id"].is_unique
    alive = persons["alive_at_as_of"].astype(str) == "True"
    assert (persons.loc[alive, "death_date"] == "").all()
    dead = persons[~alive]
    assert (dead["death_date"] >= dead["acquisition_date"]).all()
    assert (persons["acquisition_date"] <= AS_OF.isoformat()).all()
    assert persons["email"].is_unique
    assert set(persons["customer_type"]) == {"private", "business"}
    parameters = json.loads((folder / "truth" / "parameters.json").read_text())
    assert parameters["bgnbd"]["alpha"] == demo_data.BGNBD_ALPHA_WEEKS
    assert parameters["gamma_gamma"]["p"] == demo_data.GG_P
    assert parameters["campaign"]["rate_uplift"] == demo_data.CAMPAIGN_RATE_UPLIFT
    assert parameters["customers"] == SMALL


# --------------------------------------------------------------------------------------------
# Bad rows, dates and returns
# --------------------------------------------------------------------------------------------

ORDER_FILES = {
    # file: (key column, date column, date format, amount column, decimal mark)
    "webshop_orders.csv": ("account_id", "order_ts", "%Y-%m-%d %H:%M:%S", "line_total", "."),
    "store_receipts.csv": ("card_number", "receipt_date", "%d/%m/%Y", "amount", ","),
}


def _parsed(frame: pd.DataFrame, name: str) -> tuple[pd.Series, pd.Series]:
    _, date_col, fmt, amount_col, mark = ORDER_FILES[name]
    dates = pd.to_datetime(frame[date_col], format=fmt, errors="coerce")
    amounts = pd.to_numeric(frame[amount_col].str.replace(mark, ".", regex=False),
                            errors="coerce")
    return dates, amounts


@pytest.mark.parametrize("name", sorted(ORDER_FILES))
def test_bad_rows_really_are_bad(demo, bad_rows, name):
    folder, _ = demo
    frame = _read(folder, name)
    key_col = ORDER_FILES[name][0]
    dates, amounts = _parsed(frame, name)
    listed = bad_rows[bad_rows["file"] == name]
    assert set(listed["kind"]) == set(demo_data.BAD_ROW_KINDS)
    as_of = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)  # anything before the next midnight
    for row_number, kind in zip(listed["row_number"], listed["kind"], strict=True):
        i = row_number - 2
        if kind == "duplicate":
            assert frame.iloc[i].equals(frame.iloc[i - 1]), row_number
        elif kind == "bad_date":
            assert pd.isna(dates.iloc[i]), row_number
        elif kind == "future_date":
            assert dates.iloc[i] >= as_of, row_number
        elif kind == "missing_key":
            assert frame[key_col].iloc[i] == "", row_number
        elif kind == "bad_amount":
            assert pd.isna(amounts.iloc[i]), row_number
        elif kind == "zero_amount":
            assert amounts.iloc[i] == 0, row_number


@pytest.mark.parametrize("name", sorted(ORDER_FILES))
def test_other_rows_are_clean_and_not_after_as_of(demo, bad_rows, name):
    folder, _ = demo
    clean = _clean(_read(folder, name), bad_rows, name)
    key_col = ORDER_FILES[name][0]
    dates, amounts = _parsed(clean, name)
    assert dates.notna().all()
    assert dates.max() < pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    assert dates.min() >= pd.Timestamp(demo_data.window_start(AS_OF, 3))
    assert amounts.notna().all() and (amounts != 0).all()
    assert (clean[key_col] != "").all()
    assert not clean.duplicated().any()


def test_returns_follow_their_purchase(demo, bad_rows):
    folder, _ = demo
    web = _clean(_read(folder, "webshop_orders.csv"), bad_rows, "webshop_orders.csv")
    web["ts"] = pd.to_datetime(web["order_ts"])
    web["qty"] = web["qty"].astype(int)
    web["line_total"] = web["line_total"].astype(float)
    returns = web[web["qty"] < 0]
    assert len(returns) > 0
    assert (returns["line_total"] < 0).all()
    bought = web[web["qty"] > 0].groupby("order_id")["ts"].max()
    first_return = returns.groupby("order_id")["ts"].min()
    assert (first_return >= bought.reindex(first_return.index)).all()
    assert (returns["ts"] < pd.Timestamp(AS_OF) + pd.Timedelta(days=1)).all()
    # A return has a new line number after the order's purchase lines.
    last_purchase_line = web[web["qty"] > 0].groupby("order_id")["order_line"].apply(
        lambda s: s.astype(int).max()
    )
    assert (returns["order_line"].astype(int).to_numpy()
            > last_purchase_line.reindex(returns["order_id"]).to_numpy()).all()
