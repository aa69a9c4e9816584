"""Category affinity, cross-sell and up-sell on hand-made baskets whose rules and offers are
worked out by hand, and on random seeded baskets checked against pandas."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from helpers.config import CostConfig, RunConfig
from helpers.segment.affinity import build_affinity, price_band_summary, top_pairs
from helpers.segment.categories import build_customer_categories
from helpers.warehouse import MissingTableError, read_table, write_table

AS_OF = date(2025, 12, 31)

# Coffee (A), grinders (G), tea (T), mugs (M); 10 customers.
# Buyers: A 5, G 4, T 5, M 3. Together: A&G 3 (c01-c03), T&M 2 (c05, c06), A&T 2 (c03,
# c10), G&T 1 (c03), A&M and G&M none.
# A->G: support 3/10, confidence 3/5, lift 0.6 / 0.4 = 1.5; G->A: confidence 3/4, lift 1.5.
# T->M: confidence 2/5, lift 0.4 / 0.3 = 4/3; M->T: confidence 2/3, lift 4/3.
# A->T: lift 0.4 / 0.5 = 0.8 (below 1: never recommended).
BASKETS = {
    "c01": ["coffee", "grinders"],
    "c02": ["coffee", "grinders"],
    "c03": ["coffee", "grinders", "tea"],
    "c04": ["coffee"],
    "c05": ["mugs", "tea"],
    "c06": ["mugs", "tea"],
    "c07": ["tea"],
    "c08": ["grinders"],
    "c09": ["mugs"],
    "c10": ["coffee", "tea"],
}
# Gross margin per customer and category: 10 x the customer's number (c03 -> 30).
# Everyone has been a customer 730 days (tenure_days 729: 2 years), but c08 100 days,
# which counts as one year. Grinders' margin per year: c01 5, c02 10, c03 15, c08 80:
# mean 27.5.
TENURE_DAYS = {customer: 729 for customer in BASKETS} | {"c08": 100}


def basket_warehouse(baskets: dict[str, list[str]],
                     tenure_days: dict[str, int] | None = None) -> duckdb.DuckDBPyConnection:
    """A warehouse with ``customer_categories`` from ``baskets``, ``customer_value``
    (tenure_days, 729 by default) and no transactions."""
    con = duckdb.connect()
    rows = [(customer, category, 10.0 * int(customer[1:]))
            for customer, categories in baskets.items() for category in categories]
    categories = pd.DataFrame(rows, columns=["customer_id", "category", "gross_margin"])
    categories["units"] = 1.0
    categories["mean_unit_price"] = 10.0
    write_table(con, "customer_categories", categories)
    tenure_days = tenure_days or {}
    write_table(con, "customer_value", pd.DataFrame(
        {"customer_id": list(baskets),
         "tenure_days": [tenure_days.get(c, 729) for c in baskets]}))
    write_table(con, "transactions", transactions([]))
    return con


def transactions(lines: list[tuple]) -> pd.DataFrame:
    """``transactions`` from (customer_id, order_id, product_id, category, quantity, amount,
    cost) lines, all on 2025-06-01."""
    frame = pd.DataFrame(lines, columns=["customer_id", "order_id", "product_id", "category",
                                         "quantity", "amount", "cost"])
    frame.insert(1, "source", "shop")
    frame["order_date"] = date(2025, 6, 1)
    return frame.astype({"quantity": float, "amount": float, "cost": float})


def affinity(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return read_table(con, "category_affinity").set_index(["antecedent", "consequent"])


def offers(con: duckdb.DuckDBPyConnection, name: str) -> pd.DataFrame:
    return read_table(con, name).set_index("customer_id")


@pytest.fixture(scope="module")
def config(make_config):
    """The run config; ``config(n)`` trusts pairs of ``n`` customers (30 by default)."""
    def make(min_pair_customers: int = 30):
        return make_config(AS_OF, costs=CostConfig(gross_margin_rate=0.4),
                           segment={"min_pair_customers": min_pair_customers})
    return make


def test_support_confidence_and_lift_by_hand(config):
    con = basket_warehouse(BASKETS, TENURE_DAYS)
    counts = build_affinity(con, config(3))
    assert counts["category_affinity"] == 12  # every ordered pair of 4 categories
    rules = affinity(con)
    coffee_grinders = rules.loc[("coffee", "grinders")]
    assert coffee_grinders[["customers_antecedent", "customers_consequent",
                            "customers_both"]].tolist() == [5, 4, 3]
    assert coffee_grinders["support"] == pytest.approx(0.3)
    assert coffee_grinders["confidence"] == pytest.approx(0.6)
    assert coffee_grinders["lift"] == pytest.approx(1.5)
    assert rules.loc[("grinders", "coffee"), "confidence"] == pytest.approx(0.75)
    assert rules.loc[("tea", "mugs"), "lift"] == pytest.approx(4 / 3)
    assert rules.loc[("mugs", "tea"), "confidence"] == pytest.approx(2 / 3)
    assert rules.loc[("coffee", "tea"), "lift"] == pytest.approx(0.8)
    assert rules.loc[("coffee", "mugs"), ["customers_both", "support", "confidence",
                                          "lift"]].tolist() == [0, 0, 0, 0]
    # only coffee & grinders were bought together by 3 customers
    assert sorted(rules.index[rules["trusted"]]) == [("coffee", "grinders"),
                                                     ("grinders", "coffee")]
    assert top_pairs(con, 5)[["antecedent", "consequent"]].values.tolist() == [
        ["grinders", "coffee"], ["coffee", "grinders"]]  # equal lift: higher confidence first


def test_cross_sell_by_hand(config):
    con = basket_warehouse(BASKETS, TENURE_DAYS)
    build_affinity(con, config(2))  # trusts A&G, T&M and A&T
    got = offers(con, "cross_sell")
    # c01, c02 (A, G) and c05, c06 (T, M) have no rule of lift > 1 to a new category
    assert got[["category", "because_of"]].to_dict("index") == {
        "c03": {"category": "mugs", "because_of": "tea"},
        "c04": {"category": "grinders", "because_of": "coffee"},
        "c07": {"category": "mugs", "because_of": "tea"},
        "c08": {"category": "coffee", "because_of": "grinders"},
        "c09": {"category": "tea", "because_of": "mugs"},
        # grinders (lift 1.5, from coffee) beats mugs (4/3, from tea)
        "c10": {"category": "grinders", "because_of": "coffee"},
    }
    assert got.loc["c10", "lift"] == pytest.approx(1.5)
    assert got.loc["c10", "confidence"] == pytest.approx(0.6)
    # confidence 0.6 x grinders' mean margin per year 27.5
    assert got.loc["c04", "expected_value"] == pytest.approx(0.6 * 27.5)
    # confidence 2/5 x mugs' margin per year: (50 + 60 + 90) / 2 / 3
    assert got.loc["c07", "expected_value"] == pytest.approx(0.4 * 200 / 6)


def test_untrusted_pairs_are_never_recommended(config):
    con = basket_warehouse(BASKETS, TENURE_DAYS)
    build_affinity(con, config(3))  # tea & mugs (2 customers) not trusted
    got = offers(con, "cross_sell")
    assert got["category"].to_dict() == {"c04": "grinders", "c08": "coffee",
                                         "c10": "grinders"}
    build_affinity(con, config(4))  # no pair is trusted
    assert read_table(con, "cross_sell").empty


def test_equal_lift_goes_to_the_higher_confidence(config):
    # 16 customers: A->B lift (2/4) / (4/16) = 2, A->C lift (1/4) / (2/16) = 2;
    # X->Y and X->Z: the same lift and confidence
    baskets = {"a1": ["A", "B"], "a2": ["A", "B"], "a3": ["A", "C"], "a4": ["A"],
               "b1": ["B"], "b2": ["B"], "c1": ["C"],
               "x1": ["X"], "x2": ["X", "Y"], "x3": ["X", "Z"]}
    baskets |= {f"d{i}": ["D"] for i in range(1, 7)}
    con = basket_warehouse(baskets)
    build_affinity(con, config(1))
    rules = affinity(con)
    assert rules.loc[("A", "B"), "lift"] == rules.loc[("A", "C"), "lift"] == 2
    got = offers(con, "cross_sell")
    assert got.loc["a4", "category"] == "B"  # confidence 0.5 against 0.25
    assert got.loc["a1", "category"] == "C"  # the one new category A points to
    assert got.loc["x1", "category"] == "Y"  # a full tie: first by name


# Coffee: products k0 (EUR 4, unit margin 0.5, 3 units sold), k1 (5, 1, 5 units), k2 (10, 3),
# k3 (20, 8): bands entry (k0, k1: margin per unit (1.5 + 5) / 8 = 0.8125), mid, premium;
# limits 7.5 and 15. Cups: u1 (2, 0.5), u2 (4, 1), u3 (8, 3); limits 3 and 6. Tea has 2
# products: no bands. Everyone but p3 (2 years) has been a customer for one year; p4 and
# p8 buy premium only, p5 tea only: no up-sell for them.
# Coffee, entry -> mid uptake: of p1 (5), p2 (7.5, on the limit: entry) and p9 (4), p2
# bought mid: 1/3; mid -> premium: of p3 (10) and p6 (15, on the limit: mid), p6 bought
# premium: 1/2. Cups, entry -> mid: of p1 (2) and p7 (3, on the limit), p7 bought mid: 1/2.
SHOP = [
    ("p1", "o1", "k1", "coffee", 4, 20, 16), ("p1", "o1", "u1", "cups", 2, 4, 3),
    ("p2", "o2", "k1", "coffee", 1, 5, 4), ("p2", "o2", "k2", "coffee", 1, 10, 7),
    ("p3", "o3", "k2", "coffee", 2, 20, 14),
    ("p4", "o4", "k3", "coffee", 1, 20, 12),
    ("p5", "o5", "t1", "tea", 1, 3, 2), ("p5", "o5", "t2", "tea", 1, 6, 4),
    ("p6", "o6", "k2", "coffee", 1, 10, 7), ("p6", "o6", "k3", "coffee", 1, 20, 12),
    ("p7", "o7", "u1", "cups", 1, 2, 1.5), ("p7", "o7", "u2", "cups", 1, 4, 3),
    ("p8", "o8", "u3", "cups", 1, 8, 5),
    ("p9", "o9", "k0", "coffee", 3, 12, 10.5),
]
# units per year x unit margin gain x uptake
EXPECTED_UP_SELL = {
    "p1": ("coffee", "entry", "mid", 4 * (3 - 0.8125) / 3),  # beats cups: 2 x 0.5 x 0.5
    "p2": ("coffee", "entry", "mid", 2 * (3 - 0.8125) / 3),
    "p3": ("coffee", "mid", "premium", 2 / 2 * (8 - 3) * 0.5),  # 2 units in 2 years
    "p6": ("coffee", "mid", "premium", 2 * (8 - 3) * 0.5),
    "p7": ("cups", "entry", "mid", 2 * (1 - 0.5) * 0.5),
    "p9": ("coffee", "entry", "mid", 3 * (3 - 0.8125) / 3),
}


def shop_warehouse(cfg: RunConfig, lines: list[tuple], tenure_days: int = 364):
    """A warehouse with ``transactions`` from ``lines``, ``customer_categories`` built from
    them and ``customer_value`` (everyone ``tenure_days``)."""
    con = duckdb.connect()
    tx = transactions(lines)
    write_table(con, "transactions", tx)
    build_customer_categories(con, cfg)
    write_table(con, "customer_value", pd.DataFrame(
        {"customer_id": sorted(tx["customer_id"].unique()), "tenure_days": tenure_days}))
    return con


def test_price_bands_and_up_sell_by_hand(config):
    con = shop_warehouse(config(), SHOP)
    con.execute("UPDATE customer_value SET tenure_days = 729 WHERE customer_id = 'p3'")
    counts = build_affinity(con, config())
    assert counts["price_bands"] == 7  # tea has too few products
    bands = price_band_summary(con).set_index(["category", "band"])
    assert bands.loc["coffee", "unit_margin"].tolist() == pytest.approx([0.8125, 3, 8])
    assert bands.loc["coffee", "band_ceiling"].tolist()[:2] == pytest.approx([7.5, 15])
    assert bands.loc["cups", "band_floor"].tolist()[1:] == pytest.approx([3, 6])
    got = offers(con, "up_sell")
    assert got.index.tolist() == sorted(EXPECTED_UP_SELL)
    for customer, (category, current, proposed, value) in EXPECTED_UP_SELL.items():
        row = got.loc[customer]
        assert (row["category"], row["current_band"], row["proposed_band"]) == (
            category, current, proposed), customer
        assert row["expected_value"] == pytest.approx(value), customer
    assert got.loc["p1", "uptake_rate"] == pytest.approx(1 / 3)


def random_shop(seed: int = 7, customers: int = 300) -> list[tuple]:
    """Order lines of ``customers`` with tastes: each favours some of 6 categories of 4-6
    products at random prices and margins."""
    rng = np.random.default_rng(seed)
    categories = [f"cat{i}" for i in range(6)]
    products = [(category, f"{category}-p{j}", rng.uniform(5, 100))
                for category in categories for j in range(rng.integers(4, 7))]
    lines = []
    for c in range(customers):
        taste = rng.dirichlet(np.full(len(categories), 0.3))
        for o in range(rng.integers(1, 8)):
            category = categories[rng.choice(len(categories), p=taste)]
            choices = [p for p in products if p[0] == category]
            _, product, price = choices[rng.integers(len(choices))]
            quantity = int(rng.integers(1, 4))
            amount = round(price * quantity * rng.uniform(0.9, 1.1), 2)
            lines.append((f"r{c:03d}", f"o{c}-{o}", product, category, quantity, amount,
                          round(amount * rng.uniform(0.3, 0.8), 2)))
    return lines


def test_random_baskets_against_pandas(config):
    con = shop_warehouse(config(), random_shop())
    build_affinity(con, config(5))
    bought = read_table(con, "customer_categories")
    # the association rules from the customer x category incidence matrix
    incidence = pd.crosstab(bought["customer_id"], bought["category"]).clip(upper=1)
    together = incidence.T @ incidence
    buyers = pd.Series(np.diag(together), index=together.index)
    share = buyers / len(incidence)
    rules = affinity(con)
    expected = together.stack().rename_axis(["antecedent", "consequent"]).loc[rules.index]
    antecedent = buyers.loc[rules.index.get_level_values(0)].to_numpy()
    consequent = share.loc[rules.index.get_level_values(1)].to_numpy()
    assert len(rules) == 6 * 5
    assert rules["customers_both"].tolist() == expected.tolist()
    assert rules["support"].to_numpy() == pytest.approx(expected / len(incidence))
    assert rules["confidence"].to_numpy() == pytest.approx(expected / antecedent)
    assert rules["lift"].to_numpy() == pytest.approx(expected / antecedent / consequent)

    # cross-sell: the best new category by (lift, confidence, name) over the trusted rules
    # of lift > 1 from the customer's own categories
    usable = rules[rules["trusted"] & (rules["lift"] > 1)].reset_index()
    pairs = bought[["customer_id", "category"]].merge(
        usable, left_on="category", right_on="antecedent")
    owned = set(zip(bought["customer_id"], bought["category"], strict=True))
    pairs = pairs[[(c, b) not in owned for c, b in
                   zip(pairs["customer_id"], pairs["consequent"], strict=True)]]
    best = (pairs.sort_values(["customer_id", "lift", "confidence", "consequent",
                               "antecedent"], ascending=[True, False, False, True, True])
            .groupby("customer_id").head(1).set_index("customer_id"))
    got = offers(con, "cross_sell")
    assert len(got) > 50
    assert got["category"].to_dict() == best["consequent"].to_dict()
    assert got["because_of"].to_dict() == best["antecedent"].to_dict()
    assert not any((c, b) in owned for c, b in zip(got.index, got["category"], strict=True))

    # up-sell: one band up, in a category the customer buys
    up = offers(con, "up_sell")
    assert len(up) > 50 and (up["expected_value"] > 0).all()
    assert all((c, b) in owned for c, b in zip(up.index, up["category"], strict=True))
    rank = {"entry": 1, "mid": 2, "premium": 3}
    assert (up["proposed_band"].map(rank) == up["current_band"].map(rank) + 1).all()


def test_without_a_catalogue_everything_is_empty(config):
    con = basket_warehouse({})
    assert build_affinity(con, config()) == {"category_affinity": 0, "price_bands": 0,
                                             "cross_sell": 0, "up_sell": 0}


def test_fails_naming_the_missing_table(config):
    con = basket_warehouse(BASKETS)
    con.execute("DROP TABLE customer_categories")
    with pytest.raises(MissingTableError, match="customer_categories"):
        build_affinity(con, config())


def test_lines_after_as_of_do_not_count(config):
    # without p6, nobody in coffee's mid band bought premium up to as_of (uptake 0: no
    # proposal); p3's premium purchase the day after as_of must not change that
    future = ("p3", "o10", "k3", "coffee", 1, 30, 12)
    con = shop_warehouse(config(), [line for line in SHOP if line[0] != "p6"] + [future])
    con.execute("UPDATE transactions SET order_date = ? WHERE order_id = 'o10'",
                [AS_OF + timedelta(days=1)])
    build_customer_categories(con, config())
    build_affinity(con, config())
    bands = price_band_summary(con).set_index(["category", "band"])
    assert bands.loc[("coffee", "premium"), "dearest"] == 20
    assert "p3" not in offers(con, "up_sell").index
