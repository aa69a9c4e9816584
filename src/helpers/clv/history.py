"""The probability-alive history of a few chosen customers, day by day.

lifetimes draws this with ``plot_history_alive``, which is broken on pandas 3, evaluates the
model one day at a time in a Python loop and counts time in whole periods of its ``freq``
(days, or whole weeks: never the fractional weeks the kit fits on).
Here DuckDB builds each customer's daily calendar with the purchases made so far
(``sql/purchase_history.sql``, on the purchase occasions every summary of
:mod:`helpers.clv.summary` counts) and the purchase model's own
``conditional_probability_alive`` is evaluated on all (customer, day) points at once: the
same definition as lifetimes' ``calculate_alive_path``, in the model's time unit.
:func:`helpers.display.plot_alive_history` draws it.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from helpers.clv.summary import on_purchase_occasions
from helpers.config import RunConfig
from helpers.warehouse import require_frame_columns

__all__ = ["HISTORY_COLUMNS", "FOLLOW_COLUMNS", "alive_history", "customers_to_follow"]

HISTORY_COLUMNS = ("customer_id", "date", "t", "frequency", "recency", "p_alive", "purchase")
FOLLOW_COLUMNS = ("customer_id", "frequency", "recency", "T", "p_alive")


def alive_history(con: duckdb.DuckDBPyConnection, cfg: RunConfig, fitter,
                  customer_ids: Sequence, *, days_per_unit: float | None = None
                  ) -> pd.DataFrame:
    """Probability alive of each chosen customer on every day from the first purchase to as_of.

    On each day the model sees the purchases made up to and including that day: frequency
    (repeat purchase days so far), recency (first to latest purchase so far) and age t (first
    purchase to this day), so p_alive jumps up on a purchase day and decays between purchases.
    Purchase days are those :func:`helpers.clv.rfm_summary` counts (``sql/purchase_occasions.sql``:
    same-day lines merged, returns netted), so each customer's last row is their current
    summary row and current p_alive.

    Parameters
    ----------
    con
        The run's warehouse; needs ``transactions`` with ``customer_id``, ``order_date`` and
        ``amount``.
    cfg
        Uses ``as_of`` and ``days_per_unit``.
    fitter
        A fitted lifetimes purchase model with ``params_`` (BetaGeoFitter, ParetoNBDFitter,
        ModifiedBetaGeoFitter).
    customer_ids
        The customers to follow: a handful (one row per customer per day is returned), e.g.
        from :func:`customers_to_follow`.
    days_per_unit
        Days in the model's time unit; None takes the config's (the unit the model was
        fitted in).

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``date``, ``t`` (age in model time units), ``frequency``,
        ``recency``, ``p_alive`` and ``purchase`` (True on a purchase day); customers in the
        order given, days in date order.
    """
    ids = [str(customer_id) for customer_id in dict.fromkeys(customer_ids)]
    if not ids:
        raise ValueError("No customers were given to follow: pass a few customer ids, for "
                         "example customers_to_follow(clv)['customer_id'].")
    if getattr(fitter, "params_", None) is None:
        raise ValueError(f"The {type(fitter).__name__} has no parameters yet: fit it (or load "
                         f"its parameters from model_fit) before drawing its history.")
    params = {"as_of": cfg.as_of, "customer_ids": ids,
              "days_per_unit": float(days_per_unit or cfg.days_per_unit)}
    history = on_purchase_occasions(con, cfg, "purchase_history", params)
    missing = sorted(set(ids) - set(history["customer_id"]))
    if missing:
        raise ValueError(f"Customer(s) {missing} made no purchase on or before {cfg.as_of}, so "
                         f"there is no history to follow: choose customers from the clv table.")
    frequency, recency, age = (history[c].to_numpy(dtype=float)
                               for c in ("frequency", "recency", "t"))
    history["p_alive"] = np.asarray(fitter.conditional_probability_alive(frequency, recency, age),
                                    dtype=float)
    history["frequency"] = history["frequency"].astype(int)
    history["purchase"] = history["purchase"].astype(bool)
    # the SQL sorts by customer_id; a stable sort puts the customers back in the order given
    order = history["customer_id"].map({customer_id: i for i, customer_id in enumerate(ids)})
    history = history.iloc[np.argsort(order.to_numpy(), kind="stable")]
    return history[list(HISTORY_COLUMNS)].reset_index(drop=True)


def customers_to_follow(clv_table: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """A deterministic choice of customers whose histories tell the buy-till-you-die story.

    In this order: a ``loyal`` repeat buyer (the highest p_alive among repeat buyers with at
    least the median number of repeat purchases), a ``lapsed`` one (the lowest p_alive in that
    group), a ``one-time`` buyer (the longest-standing customer with no repeat purchase).
    Beyond three, or where a kind is missing, the ``other`` customers with the most repeat
    purchases. Ties go to the smaller customer_id.

    Parameters
    ----------
    clv_table
        One row per customer with ``customer_id``, ``frequency``, ``recency``, ``T`` and
        ``p_alive`` (e.g. the ``clv`` table).
    n
        How many customers (at most the number in the table).

    Returns
    -------
    pandas.DataFrame
        The chosen rows: ``role`` (loyal, lapsed, one-time, other) and the columns above.
    """
    require_frame_columns(clv_table, "clv table", FOLLOW_COLUMNS)
    if n < 1:
        raise ValueError(f"n must be at least 1 (got {n}).")
    table = clv_table[list(FOLLOW_COLUMNS)].sort_values("customer_id", kind="stable")
    repeat = table[table["frequency"] > 0]
    regular = repeat[repeat["frequency"] >= repeat["frequency"].median()]
    one_time = table[table["frequency"] == 0]
    candidates = [
        ("loyal", regular.sort_values("p_alive", ascending=False, kind="stable")),
        ("lapsed", regular.sort_values("p_alive", kind="stable")),
        ("one-time", one_time.sort_values("T", ascending=False, kind="stable")),
    ]
    chosen: list[tuple[str, object]] = []
    for role, ranked in candidates:
        taken = {customer_id for _, customer_id in chosen}
        free = ranked.loc[~ranked["customer_id"].isin(taken), "customer_id"]
        if len(free) and len(chosen) < n:
            chosen.append((role, free.iloc[0]))
    taken = {customer_id for _, customer_id in chosen}
    others = table[~table["customer_id"].isin(taken)].sort_values(
        "frequency", ascending=False, kind="stable")
    chosen += [("other", customer_id)
               for customer_id in others["customer_id"].iloc[:n - len(chosen)]]
    roles = pd.DataFrame(chosen, columns=["role", "customer_id"])
    return roles.merge(table, on="customer_id", how="left", validate="one_to_one")
