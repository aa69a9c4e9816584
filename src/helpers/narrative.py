"""The report's words: the executive summary, the decisions and the assumptions (notebook 05).

Every sentence is generated from the run's warehouse, so it is true of this client on this
as-of date; numbers are written in the run's currency and locale by babel (the library that
great_tables formats with). Nothing here comes from the data's free text, so nothing needs
escaping; the tables that show data text go through :func:`helpers.display.report_table`.
"""

from __future__ import annotations

import duckdb
import pandas as pd
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent

from helpers.config import RunConfig
from helpers.differentiate import equity_changes
from helpers.segment import playbook, tier_summary
from helpers.warehouse import read_table, require_columns, require_tables, scalar

__all__ = ["DECISION_ACTIONS", "PERIOD_MEASURES", "decisions", "executive_summary",
           "period_table", "assumptions"]

#: The actions a decision can be about, with the sentence that asks for it. Maintain is the
#: default treatment of everyone else, not a decision.
DECISION_ACTIONS = {
    "retain": "Protect the {customers} most valuable customers with a retention programme",
    "develop": "Grow the {customers} most growable customers with cross-selling and "
               "up-selling",
    "win back": "Win back the {customers} lapsing customers before they are gone",
    "reduce cost to serve": "Cut the cost of serving the {customers} below-zero customers",
}


class _Writer:
    """Numbers in the run's currency and locale."""

    def __init__(self, cfg: RunConfig):
        self.currency, self.locale = cfg.currency, cfg.locale

    def money(self, value: float) -> str:
        """Whole units: the summary's figures are totals, cents would be noise."""
        return format_currency(round(value), self.currency, locale=self.locale,
                               format="¤#,##0", currency_digits=False)

    def price(self, value: float) -> str:
        """With the currency's decimals: a cost per order of 3.50 is not 4."""
        return format_currency(value, self.currency, locale=self.locale)

    def count(self, value: float) -> str:
        return format_decimal(int(value), locale=self.locale)

    def share(self, value: float) -> str:
        return format_percent(value, locale=self.locale, format="#,##0%")

    def date(self, value) -> str:
        """In English, as the report's sentences are."""
        return format_date(value, format="long", locale="en_GB")


def decisions(con: duckdb.DuckDBPyConnection, cfg: RunConfig, n: int = 3) -> pd.DataFrame:
    """The ``n`` decisions with the most value at stake, one per action.

    Reads ``actions`` through :func:`helpers.segment.playbook` (tier, action, customers,
    value_at_stake, budget).

    Returns
    -------
    DataFrame
        decision (a Markdown sentence), action, customers, value_at_stake, budget; the actions of
        :data:`DECISION_ACTIONS` with customers, largest value at stake first (ties by action
        name).
    """
    book = playbook(con)
    per_action = (book[book["action"].isin(DECISION_ACTIONS)]
                  .groupby("action", as_index=False)[["customers", "value_at_stake", "budget"]]
                  .sum())
    per_action = per_action[per_action["customers"] > 0].sort_values(
        ["value_at_stake", "action"], ascending=[False, True]).head(n)
    write = _Writer(cfg)
    per_action.insert(0, "decision", [
        _markdown(DECISION_ACTIONS[row.action].format(customers=write.count(row.customers))
                  + f": {write.money(row.value_at_stake)} at stake, a budget of "
                  + f"{write.money(row.budget)}.")
        for row in per_action.itertuples()])
    return per_action.reset_index(drop=True)


def executive_summary(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> list[str]:
    """The report's first paragraph, as Markdown sentences generated from the figures
    (a '$' is escaped, so dollar amounts do not start a formula).

    Reads ``customers``, ``customer_value`` (recency_days), ``customer_equity`` (scenario,
    total_equity and its interval), ``segments`` (through
    :func:`helpers.segment.tier_summary`; tier, profit_to_date), ``equity_metrics`` (the
    'All' rows) and ``actions`` (:func:`decisions`).

    Returns
    -------
    list of str
        In order: the customers and how many are active; the total customer equity with its
        interval; the top tier's share of profit; the customers who cost more than they
        brought and the below-zero tier among them; the change since the previous period;
        and the three decisions, each with the value at stake.
    """
    require_tables(con, "customers", "customer_value", "customer_equity", "segments",
                   "equity_metrics", "actions")
    require_columns(con, "customer_value", ("recency_days",))
    write = _Writer(cfg)
    active_days = cfg.differentiate.active_days
    contacts = scalar(con, "SELECT count(*) FROM customers")
    buyers, active = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE recency_days < ?) FROM customer_value",
        [active_days]).fetchall()[0]
    sentences = [
        f"On {write.date(cfg.as_of)}, **{write.count(buyers)} customers** have bought "
        f"(of {write.count(contacts)} customers on file); **{write.count(active)} "
        f"({write.share(active / buyers if buyers else 0)}) are active**, having bought in "
        f"the last {active_days} days."]

    now = con.execute("SELECT total_equity, total_equity_low, total_equity_high "
                      "FROM customer_equity WHERE scenario = 'now'").fetchall()
    if now:
        total, low, high = now[0]
        interval = (f" (95% interval {write.money(low)} to {write.money(high)})"
                    if low is not None and high is not None else "")
        sentences.append(
            f"**Customer equity** — what all of them are expected to bring in margin over the "
            f"next {cfg.clv.horizon_months} months, discounted — is "
            f"**{write.money(total)}**{interval}.")

    tiers = tier_summary(con).set_index("tier")
    profit = tiers["current_value_total"].sum()
    top = tiers.loc["Most valuable"]
    if profit > 0 and top["customers"] > 0:
        sentences.append(
            f"The **Most valuable** tier, {write.share(top['share_of_customers'])} of "
            f"customers, brings **{write.share(top['current_value_total'] / profit)} of the "
            f"profit** of the last {cfg.differentiate.current_value_days} days.")

    below = tiers.loc["Below zero"]
    in_deficit, deficit = con.execute(
        "SELECT count(*), -sum(profit_to_date) FROM segments WHERE profit_to_date < 0"
    ).fetchall()[0]
    if in_deficit:
        lost = -scalar(con, "SELECT coalesce(sum(profit_to_date), 0) FROM segments "
                            "WHERE tier = 'Below zero'")
        sentences.append(
            f"**{write.count(in_deficit)} customers ({write.share(in_deficit / buyers)}) have "
            f"cost more than they brought so far** ({write.money(deficit)} in all, after "
            f"acquisition cost where it is known). For **{write.count(below['customers'])} "
            f"of them ({write.share(below['share_of_customers'])} of all customers), the Below "
            f"zero tier, "
            f"the expected future profit will not make it up**: they account for "
            f"{write.money(lost)} of the loss.")
    else:
        sentences.append("No customer has cost more than they brought so far.")

    sentences.append(_change_sentence(read_table(con, "equity_metrics"), cfg, write))

    sentences = [_markdown(sentence) for sentence in sentences]
    chosen = decisions(con, cfg)
    if len(chosen):
        sentences.append(f"**The data supports {len(chosen)} decisions:** "
                         + " ".join(f"({i}) {text}" for i, text
                                    in enumerate(chosen["decision"], start=1)))
    return sentences


def _markdown(text: str) -> str:
    """``text`` safe as Markdown in a notebook: a '$' (the dollar's sign) would start a
    formula."""
    return text.replace("$", r"\$")


def _change_sentence(equity_metrics: pd.DataFrame, cfg: RunConfig, write: _Writer) -> str:
    """Active customers, new customers and revenue per customer in the last period against
    the one before ('All' rows of ``equity_metrics``)."""
    whole = equity_metrics[equity_metrics["segment"] == "All"]
    changes = equity_changes(whole, ("active_customers", "gross_new_customers",
                                     "revenue_per_customer"))
    if changes.empty:
        return (f"There is only one {cfg.differentiate.period} of history: no change to "
                f"report yet.")
    last = changes[changes["period_end"] == changes["period_end"].max()].set_index("metric")

    def moved(metric: str, label: str, money: bool = False) -> str:
        row = last.loc[metric]
        shown = write.money(row["value"]) if money else write.count(row["value"])
        if pd.isna(row["relative_change"]):
            return f"{label} {shown}"
        sign = "+" if row["relative_change"] >= 0 else "−"
        return f"{label} {shown} ({sign}{write.share(abs(row['relative_change']))})"

    return (f"In the {cfg.differentiate.period} to {write.date(last['period_end'].iloc[0])}, "
            f"against the one before: {moved('active_customers', 'active customers')}, "
            f"{moved('gross_new_customers', 'new customers')}, "
            f"{moved('revenue_per_customer', 'revenue per active customer', money=True)}.")


def assumptions(cfg: RunConfig) -> pd.DataFrame:
    """The run's method and assumptions, for the report's appendix.

    Returns
    -------
    DataFrame
        assumption, value, meaning: margins and costs, the CLV horizon, discount rate and
        models, the windows, the tier thresholds and the win-back level, as configured.
    """
    write = _Writer(cfg)
    costs, clv, tiers = cfg.costs, cfg.clv, cfg.tiers
    rows = [
        ("Gross margin rate", write.share(costs.gross_margin_rate),
         "margin on revenue for products without a unit cost in the catalogue"),
        ("Cost per order", write.price(costs.cost_per_order),
         "picking, packing and payment, per order"),
        ("Cost per customer per year", write.price(costs.cost_per_customer_per_year),
         "keeping a customer on file"),
        ("CLV horizon", f"{clv.horizon_months} months", "how far ahead CLV counts"),
        ("Annual discount rate", write.share(clv.annual_discount_rate),
         "what future margin is worth today"),
        ("Purchase models compared", ", ".join(clv.purchase_models),
         f"scoring model: {clv.purchase_model} (auto = smallest holdout error)"),
        ("Holdout", f"{clv.holdout_days} days", "the end of the history that validates the "
                                                  "models"),
        ("Current-value window", f"{cfg.differentiate.current_value_days} days",
         "profit counted as today's value"),
        ("Active customer", f"bought in the last {cfg.differentiate.active_days} days",
         "used for active counts"),
        ("Most valuable", f"top {write.share(tiers.most_valuable_share)} by current value",
         "and a positive current value"),
        ("Most growable", f"top {write.share(tiers.most_growable_share)} by CLV, and CLV at "
                          f"least {tiers.most_growable_ratio:g} × current value", ""),
        ("Below zero", "profit to date < 0 and profit to date + CLV < 0",
         "profit after acquisition cost where the marketing spend is known"),
        ("Win back", f"P(alive) < {cfg.segment.win_back_p_alive:g}",
         "lapsing customers not below zero"),
    ]
    return pd.DataFrame(rows, columns=["assumption", "value", "meaning"])


#: The equity measures the report shows period by period, and how each is written.
PERIOD_MEASURES = {
    "gross_new_customers": ("New customers", "count"),
    "net_new_customers": ("… still buying at the period's end", "count"),
    "active_customers": ("Active customers", "count"),
    "share_active": ("Share of customers to date who are active", "share"),
    "revenue": ("Revenue", "money"),
    "revenue_per_customer": ("Revenue per active customer", "money"),
    "purchase_frequency": ("Orders per active customer", "decimal"),
    "acquisition_cost_per_new_customer": ("Acquisition cost per new customer", "money"),
    "cost_to_serve_per_customer": ("Cost to serve per customer", "money"),
}


def period_table(equity_metrics: pd.DataFrame, cfg: RunConfig, periods: int = 4) -> pd.DataFrame:
    """The last ``periods`` periods of the equity report, one column per period.

    Reads the 'All' rows of ``equity_metrics`` (period_end, period and the measures of
    :data:`PERIOD_MEASURES`). Transposed, so the table stays within a page however many
    measures it has; every cell is text written in the run's currency and locale (a column
    mixes counts, shares and money).

    Returns
    -------
    DataFrame
        measure, then one column per period (oldest first).
    """
    write = _Writer(cfg)
    formats = {"count": write.count, "share": write.share, "money": write.price,
               "decimal": lambda v: format_decimal(v, format="#,##0.00", locale=write.locale)}
    recent = (equity_metrics[equity_metrics["segment"] == "All"]
              .sort_values("period_end").tail(periods).set_index("period"))
    rows = {label: [("" if pd.isna(v) else formats[kind](v)) for v in recent[measure]]
            for measure, (label, kind) in PERIOD_MEASURES.items()}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(recent.index))
    return table.reset_index(names="measure")
