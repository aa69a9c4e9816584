"""Cross-sell and up-sell: which categories go together, and what to offer whom (notebook 04).

Reads ``customer_categories`` (:mod:`.categories`), ``transactions`` and ``customer_value``
and writes, all in SQL (one file per table in ``src/helpers/sql/``):

* ``category_affinity`` — support, confidence and lift of every ordered pair of categories;
* ``price_bands`` — each product's price band within its category (entry, mid, premium);
* ``cross_sell`` — per customer, the best category not yet bought, and the one that drives it;
* ``up_sell`` — per customer, the category where one price band up is worth the most.

Without a product catalogue (``customer_categories`` empty) all four tables are empty.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.differentiate.value import DAYS_PER_YEAR
from helpers.warehouse import build_table, require_columns

__all__ = ["build_affinity", "top_pairs", "price_band_summary"]

CATEGORY_COLUMNS = ("customer_id", "category", "units", "gross_margin", "mean_unit_price")
TRANSACTION_COLUMNS = ("customer_id", "order_date", "amount", "quantity", "product_id",
                       "category", "cost")

TOP_PAIRS_SQL = """
SELECT *
FROM category_affinity
WHERE trusted AND lift > 1
ORDER BY lift DESC, confidence DESC, antecedent, consequent
LIMIT $n
"""

BAND_SUMMARY_SQL = """
SELECT
    category,
    band,
    COUNT(*) AS products,
    MIN(unit_price) AS cheapest,
    MAX(unit_price) AS dearest,
    MIN(band_floor) AS band_floor,
    MIN(band_ceiling) AS band_ceiling,
    SUM(units) AS units,
    SUM(gross_margin) / SUM(units) AS unit_margin
FROM price_bands
GROUP BY category, band_rank, band
ORDER BY category, band_rank
"""


def build_affinity(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> dict[str, int]:
    """Write ``category_affinity``, ``price_bands``, ``cross_sell`` and ``up_sell``.

    Reads ``customer_categories`` (customer_id, category, units, gross_margin,
    mean_unit_price), ``transactions`` (customer_id, order_date, amount, quantity,
    product_id, category, cost) and ``customer_value`` (customer_id, tenure_days).

    Parameters
    ----------
    con
        The run's warehouse.
    cfg
        Uses ``as_of`` and ``costs.gross_margin_rate`` (lines whose product has no unit
        cost), as :func:`~helpers.segment.categories.build_customer_categories` does, and
        ``segment.min_pair_customers``.

    Returns
    -------
    dict
        Rows written per table, in the order built.

    Notes
    -----
    **Affinity** (``category_affinity``). A basket is everything a customer ever bought
    (their rows of ``customer_categories``), not one order: few customers buy two
    categories in one order. Over the N customers with a category, for the rule A -> B:
    ``support = customers_both / N``, ``confidence = customers_both / customers_antecedent``
    (the share of A's buyers who bought B), ``lift = confidence / (customers_consequent /
    N)`` (how much likelier A's buyers are to buy B than anyone; 1 = independent). Every
    ordered pair of distinct categories has a row, with 0s when never bought together;
    ``trusted`` is ``customers_both >= segment.min_pair_customers``: a lift from fewer
    co-buyers is too noisy to act on.

    **Cross-sell** (``cross_sell``). For each customer, the candidates are the categories B
    they never bought with a trusted rule A -> B of lift > 1 from a category A they bought.
    The best is the rule of highest lift; ties go to the higher confidence, then to B's name,
    then to A's. ``because_of`` is A. ``expected_value = confidence x margin_per_year(B)``,
    in the run currency over one year, where ``margin_per_year(B)`` is the mean over B's
    buyers of their gross margin on B divided by their years as customer
    (``(tenure_days + 1) / 365``, at least 1: a few weeks' margin is not scaled up to a
    year). A customer with no candidate gets no row.

    **Price bands** (``price_bands``). A product's unit price and margin are what was paid
    and earned per unit on its positive lines up to as_of (a line without quantity counts
    1). Within a category of at least 3 products, the products in price order (ties by
    product_id) are split in three groups as equal as can be: entry, mid, premium. A band
    ends halfway between its dearest product and the next band's cheapest
    (``band_ceiling``, the next band's ``band_floor``). Smaller categories have no bands.

    **Up-sell** (``up_sell``). A customer's band in a category is the band whose floor and
    ceiling hold their ``mean_unit_price`` (on a limit: the lower band); the proposal is the
    band above. ``expected_value = units_per_year x unit_margin_gain x uptake_rate``, in
    the run currency over one year: units they bought in the category per year as customer
    (as above), times the margin per unit of the band above less their band's (each band's
    total margin / units), times the share of the category's buyers in their band who also
    bought a product of the band above. Each customer gets the category of the highest
    expected value (ties by category name), and only a positive one: no row otherwise.
    """
    require_columns(con, "customer_categories", CATEGORY_COLUMNS)
    require_columns(con, "transactions", TRANSACTION_COLUMNS)
    require_columns(con, "customer_value", ("customer_id", "tenure_days"))
    return {
        "category_affinity": build_table(con, "category_affinity",
                                         {"min_customers": cfg.segment.min_pair_customers}),
        "price_bands": build_table(con, "price_bands", {
            "as_of": cfg.as_of, "gross_margin_rate": cfg.costs.gross_margin_rate}),
        "cross_sell": build_table(con, "cross_sell", {"days_per_year": DAYS_PER_YEAR}),
        "up_sell": build_table(con, "up_sell",
                               {"as_of": cfg.as_of, "days_per_year": DAYS_PER_YEAR}),
    }


def top_pairs(con: duckdb.DuckDBPyConnection, n: int = 10) -> pd.DataFrame:
    """The ``n`` trusted pairs of highest lift above 1 (``category_affinity``).

    Returns
    -------
    DataFrame
        The columns of ``category_affinity``, by lift, then confidence (both descending),
        then antecedent and consequent.
    """
    require_columns(con, "category_affinity", ("antecedent", "consequent", "confidence",
                                               "lift", "trusted"))
    return con.execute(TOP_PAIRS_SQL, {"n": n}).df()


def price_band_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each category's price bands, cheapest first (``price_bands``).

    Returns
    -------
    DataFrame
        category, band, products, cheapest and dearest (products' unit prices), band_floor
        and band_ceiling (NaN at the ends), units, unit_margin (margin per unit sold).
    """
    require_columns(con, "price_bands", ("category", "band", "band_rank", "units",
                                         "unit_price", "gross_margin", "band_floor",
                                         "band_ceiling"))
    return con.execute(BAND_SUMMARY_SQL).df()
