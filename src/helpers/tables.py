"""The table contract: every warehouse table, the notebook that writes it, and its columns.

This registry is the one place where the warehouse is described (as dbt's ``schema.yml`` or
Kedro's ``catalog.yml``). ``docs/tables.md`` is generated from it (``make docs``),
:func:`helpers.warehouse.require_columns` checks against it, and a test runs the demo and
fails when the warehouse and this registry differ by a table or a column.

Run ``python -m helpers.tables`` to print the Markdown of ``docs/tables.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.config import DATE_ROLES, RATING_PREFIX, ROLES, is_number_role

__all__ = ["Column", "Table", "TABLES", "STAGE_TABLE_PREFIX", "table", "stage_of",
           "stage_column_type", "render_markdown"]

#: Staged sources are tables named ``stage_<source>``, one per source in the config.
STAGE_TABLE_PREFIX = "stage_"


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type and meaning."""

    name: str
    type: str
    meaning: str


@dataclass(frozen=True)
class Table:
    """One warehouse table: who writes it, what one row is, and its columns in order."""

    name: str
    stage: str
    row: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _columns(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_IDENTITY = (
    ("name", "VARCHAR", "full name as the source wrote it (first and last name joined)"),
    ("email", "VARCHAR", "email as the source wrote it"),
    ("phone", "VARCHAR", "phone as the source wrote it"),
    ("address", "VARCHAR", "street address"),
    ("city", "VARCHAR", "city"),
    ("postcode", "VARCHAR", "postcode"),
    ("birth_date", "DATE", "date of birth"),
    ("customer_type", "VARCHAR", "business or private, as the source says"),
    ("acquisition_channel", "VARCHAR", "channel that acquired the customer"),
    ("signup_date", "DATE", "date the customer signed up"),
)


def _with_sources(fields: tuple[tuple[str, str, str], ...]) -> tuple[tuple[str, str, str], ...]:
    """Each golden-record field followed by ``<field>_source``, the source that gave it."""
    return tuple(spec for name, type_, meaning in fields for spec in (
        (name, type_, meaning),
        (f"{name}_source", "VARCHAR", f"the source that gave {name} (sql/customers.sql)")))


#: A pair of source records (helpers.matching), in a fixed order.
_PAIR = (
    ("source_record_id_l", "VARCHAR", "one record of the pair"),
    ("source_record_id_r", "VARCHAR", "the other (source_record_id_l < source_record_id_r)"),
)

#: The weight of each comparison of the matching model for one pair (helpers.matching).
_MATCH_WEIGHTS = tuple(
    (f"mw_{name}", "DOUBLE", f"weight of the {what} comparison: log2(m / u) of the pair's "
                             f"level; 0 when a record lacks it, NULL when the model has none")
    for name, what in (("name", "name (term frequency included)"),
                       ("birth_date", "birth date"), ("email", "email"), ("phone", "phone"),
                       ("location", "address, postcode and city")))

#: The standardised fields of both records of a pair under review, side by side.
_REVIEW_SIDES = tuple(
    (f"{field}_{side}", type_, f"{meaning} of record {side} (source_records.{column})")
    for field, column, type_, meaning in (
        ("name", "name_std", "VARCHAR", "name"), ("email", "email_std", "VARCHAR", "email"),
        ("phone", "phone_e164", "VARCHAR", "phone"),
        ("address", "address_std", "VARCHAR", "address"),
        ("postcode", "postcode_std", "VARCHAR", "postcode"),
        ("city", "city_std", "VARCHAR", "city"), ("birth_date", "birth_date", "DATE",
                                                   "birth date"))
    for side in ("l", "r"))


_REGISTRY = (
    # ---------------------------------------------------------------- 01 identify
    Table("load_counts", "01_identify", "one source file", _columns(
        ("source", "VARCHAR", "source name in the config"),
        ("kind", "VARCHAR", "customers, transactions, products, support, marketing, survey "
                            "or campaign"),
        ("file", "VARCHAR", "path of the file read"),
        ("rows_in", "BIGINT", "data rows in the file"),
        ("accepted", "BIGINT", "rows accepted (rows_in - excluded - rejected)"),
        ("excluded", "BIGINT", "rows dated after as_of (not after the run's day): left out of "
                               "this analysis, not bad data"),
        ("rejected", "BIGINT", "rows set aside in rejected_rows"),
    )),
    Table("rejected_rows", "01_identify", "one input row set aside", _columns(
        ("source", "VARCHAR", "source name in the config"),
        ("file", "VARCHAR", "path of the file"),
        ("row_number", "BIGINT", "row in the file (header = 1; for Excel, the sheet row)"),
        ("reason", "VARCHAR", "why the row was set aside, naming the column"),
        ("raw", "VARCHAR", "JSON of the row's raw values"),
    )),
    Table("source_records", "01_identify", "one customer key in one source", _columns(
        ("source", "VARCHAR", "source name in the config"),
        ("customer_key", "VARCHAR", "the source's own customer key"),
        ("source_record_id", "VARCHAR", "source || ':' || customer_key"),
        *_IDENTITY,
        # standardised for matching (sql/macros.sql, helpers.standardise): NULL when absent
        # or not valid; each the key's most recent standardised value
        ("first_name_std", "VARCHAR", "first name: lower-case ASCII words, accents folded, "
                                      "titles and punctuation removed; from a name alone, "
                                      "its first word"),
        ("last_name_std", "VARCHAR", "last name, standardised as first_name_std; from a name "
                                     "alone, the words after the first"),
        ("name_std", "VARCHAR", "every word of the name, standardised, in the source's order"),
        ("name_sorted", "VARCHAR", "the words of name_std in alphabetical order "
                                   "('rossi mario' = 'mario rossi')"),
        ("email_std", "VARCHAR", "email trimmed and lower-cased; NULL when not an address"),
        ("phone_e164", "VARCHAR", "phone in E.164 ('+393471234567'), read in "
                                  "identity.default_region; NULL when not a valid number"),
        ("address_std", "VARCHAR", "address as lower-case ASCII words, abbreviations spelled "
                                   "out ('V. Roma 1' -> 'via roma 1')"),
        ("city_std", "VARCHAR", "city as lower-case ASCII words"),
        ("postcode_std", "VARCHAR", "postcode upper-cased without spaces"),
        ("last_seen", "DATE", "latest order date of the key; for a contact list, its signup "
                              "date"),
        ("n_rows", "BIGINT", "source rows carrying this key"),
    )),
    Table("record_keys", "01_identify", "one matching key a source record used", _columns(
        ("source_record_id", "VARCHAR", "the source record"),
        ("key_type", "VARCHAR", "'email' or 'phone'"),
        ("key_value", "VARCHAR", "the email_std or phone_e164 of one of the record's rows"),
    )),
    # the matching model (helpers.matching)
    Table("match_pairs", "01_identify", "one pair of source records the model scored from "
          "identity.review_threshold, or a reviewer decided", _columns(
        *_PAIR,
        ("match_probability", "DOUBLE", "the model's probability that the two records are "
                                        "one person; NULL for a reviewer's pair it did not "
                                        "compare"),
        ("match_weight", "DOUBLE", "log2 of the odds of that probability: the prior's "
                                   "weight plus every comparison's"),
        ("decided_by", "VARCHAR", "'model', or 'review' when a reviewer's decision "
                                  "(identity.review_decisions) overrides it"),
        ("decision", "VARCHAR", "the reviewer's 'match' or 'no_match'; NULL if not reviewed"),
        ("blocking_rule", "VARCHAR", "the first blocking rule that paired the records "
                                     "(match_blocking.rule)"),
        *_MATCH_WEIGHTS,
    )),
    Table("match_model", "01_identify", "one comparison level of the trained model, then "
          "the prior", _columns(
        ("comparison", "VARCHAR", "name, birth_date, email, phone or location; 'prior' for "
                                  "the prior"),
        ("level", "INTEGER", "1 = the most alike; the last level is 'nothing in common'"),
        ("label", "VARCHAR", "what the two records have in common at this level"),
        ("m_probability", "DOUBLE", "share of true matches at this level (EM); for the "
                                    "prior, the probability that two records picked at "
                                    "random are one person"),
        ("u_probability", "DOUBLE", "share of non-matches at this level (random pairs)"),
        ("match_weight", "DOUBLE", "log2(m / u): the evidence of the level, in bits; for "
                                   "the prior, log2 of its odds"),
    )),
    Table("match_blocking", "01_identify", "one blocking rule of the model", _columns(
        ("rule_order", "INTEGER", "0 = applied first"),
        ("rule", "VARCHAR", "its name"),
        ("condition", "VARCHAR", "the SQL condition on the two records l and r"),
        ("reason", "VARCHAR", "why pairs agreeing on it are worth comparing"),
        ("pairs", "BIGINT", "candidate pairs it adds to the earlier rules'"),
        ("cumulative_pairs", "BIGINT", "candidate pairs of this rule and the earlier ones"),
        ("all_pairs", "BIGINT", "pairs of records without blocking: n(n-1)/2"),
    )),
    Table("match_weight_bins", "01_identify", "one bin of the candidate pairs' match "
          "weights, half a weight wide", _columns(
        ("bin_start", "DOUBLE", "match weight from"),
        ("bin_end", "DOUBLE", "match weight up to (not included)"),
        ("pairs", "BIGINT", "candidate pairs in the bin"),
    )),
    Table("customer_xref", "01_identify", "one source record, linked to its customer",
          _columns(
        ("source", "VARCHAR", "source name in the config"),
        ("customer_key", "VARCHAR", "the source's own customer key"),
        ("source_record_id", "VARCHAR", "source || ':' || customer_key"),
        ("customer_id", "VARCHAR", "the kit's customer id ('C0000001'…): kept from "
                                   "identity.previous_xref, else numbered in the order of the "
                                   "customer's smallest source_record_id"),
        ("match_rule", "VARCHAR", "the strongest link of the record: email, phone, "
                                  "email+phone (a shared key), review (a reviewer's match), "
                                  "model (match_probability from identity.match_threshold) "
                                  "or single record"),
        ("match_probability", "DOUBLE", "probability of that link: 1 for a shared key or a "
                                        "reviewer's match; NULL for a single record"),
    )),
    Table("customers", "01_identify", "one customer (golden record)", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        *_with_sources(_IDENTITY),
        ("sources", "VARCHAR", "sources the customer appears in, e.g. 'crm,webshop'"),
        ("n_source_records", "BIGINT", "source records linked to the customer"),
    )),
    Table("transactions", "01_identify", "one accepted order line", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("source", "VARCHAR", "source name in the config"),
        ("source_row", "BIGINT", "row in the source file"),
        ("order_id", "VARCHAR", "order id (customer key and date when the source has none)"),
        ("order_date", "DATE", "date of the order"),
        ("amount", "DOUBLE", "line amount in the run currency; negative = return"),
        ("quantity", "DOUBLE", "units (NULL if not given)"),
        ("product_id", "VARCHAR", "product (NULL if not given)"),
        ("category", "VARCHAR", "product category (NULL without a catalogue)"),
        ("cost", "DOUBLE", "cost of goods from the catalogue's unit cost; NULL if unknown"),
        ("is_return", "BOOLEAN", "amount < 0"),
    )),
    Table("support_contacts", "01_identify", "one support contact", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("source", "VARCHAR", "support source name in the config"),
        ("contact_date", "DATE", "date of the contact"),
        ("cost", "DOUBLE", "handling cost (the ticket's, else costs.cost_per_support_contact)"),
    )),
    Table("marketing_spend", "01_identify", "one accepted row of a marketing source: spend of "
          "one channel in one period (empty without a marketing source)", _columns(
        ("source", "VARCHAR", "marketing source name in the config"),
        ("spend_date", "DATE", "first day of the period the spend is for (a 'YYYY-MM' month "
                               "becomes its first day; a date is kept)"),
        ("channel", "VARCHAR", "the channel, trimmed and lower-case (as acquisition_channel "
                               "should be written to match it)"),
        ("amount", "DOUBLE", "spend in the run currency, 0 or more"),
    )),
    Table("survey_answers", "01_identify", "one survey answer of a known customer (empty "
          "without a survey source)", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("source", "VARCHAR", "survey source name in the config"),
        ("source_row", "BIGINT", "row in the source file"),
        ("response_date", "DATE", "date of the answer"),
        ("nps", "INTEGER", "likelihood to recommend, 0-10"),
        ("comment", "VARCHAR", "free-text comment (personal data: never logged); NULL when "
                               "empty"),
    )),
    Table("survey_ratings", "01_identify", "one driver rating of one survey answer (a driver "
          "left empty has no row)", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("source", "VARCHAR", "survey source name in the config"),
        ("source_row", "BIGINT", "row in the source file (survey_answers.source_row)"),
        ("driver", "VARCHAR", "the driver's name in the source's drivers (e.g. 'problems')"),
        ("rating", "DOUBLE", "the rating, on the survey's own scale"),
    )),
    Table("campaign_exposure", "01_identify", "one customer exposed to a campaign, or held "
          "out of it (empty without a campaign source)", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("source", "VARCHAR", "campaign source name in the config"),
        ("campaign_id", "VARCHAR", "the campaign, as the file names it"),
        ("exposure_date", "DATE", "date the customer was exposed (or would have been)"),
        ("exposure_group", "VARCHAR", "'treated' or 'control'"),
    )),
    Table("identity_review", "01_identify", "one pair of records in two customers that a "
          "person should decide: match_probability from identity.review_threshold up to "
          "identity.match_threshold, not yet decided", _columns(
        *_PAIR,
        ("match_probability", "DOUBLE", "the model's probability that they are one person"),
        ("match_weight", "DOUBLE", "its match weight"),
        ("decision", "VARCHAR", "empty: the reviewer writes 'match' or 'no_match', and names "
                                "the file in identity.review_decisions"),
        ("customer_id_l", "VARCHAR", "the customer of record l (customer_xref)"),
        ("customer_id_r", "VARCHAR", "the customer of record r"),
        ("blocking_rule", "VARCHAR", "the blocking rule that paired them"),
        *_MATCH_WEIGHTS,
        *_REVIEW_SIDES,
    )),
    # ---------------------------------------------------------------- 02 differentiate
    Table("acquisition_costs", "02_differentiate", "one month and acquisition channel "
          "within the marketing spend's months: its spend shared by the customers it "
          "acquired (empty without marketing spend)", _columns(
        ("month", "DATE", "first day of the month"),
        ("channel", "VARCHAR", "acquisition channel, trimmed and lower-case; 'unknown' for "
                               "customers without one"),
        ("spend", "DOUBLE", "marketing spend on the channel in the month"),
        ("customers_acquired", "BIGINT", "customers whose first transaction is in the month, "
                                         "from the channel"),
        ("pooled", "DOUBLE", "spend of a channel that acquired nobody, passed to the month's "
                             "customers of unknown channel"),
        ("allocated", "DOUBLE", "spend carried by the customers acquired (the unknown row "
                                "also carries the pooled spend)"),
        ("unallocated", "DOUBLE", "spend no customer carries: the channel acquired nobody and "
                                  "the month has no customer of unknown channel"),
        ("cost_per_customer", "DOUBLE", "allocated / customers_acquired"),
    )),
    Table("customer_value", "02_differentiate",
          "one customer with a transaction up to as_of: value today and RFMT", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("first_purchase", "DATE", "first transaction of any kind"),
        ("last_purchase", "DATE", "last purchase (positive amount)"),
        ("n_orders", "BIGINT", "distinct orders with a positive amount"),
        ("revenue", "DOUBLE", "sum of positive amounts"),
        ("returns", "DOUBLE", "sum of |negative amounts|"),
        ("net_revenue", "DOUBLE", "revenue - returns"),
        ("cost_of_goods", "DOUBLE", "catalogue cost, else amount × (1 - gross_margin_rate)"),
        ("gross_margin", "DOUBLE", "net_revenue - cost_of_goods"),
        ("margin_rate", "DOUBLE", "gross_margin / net_revenue (NULL when net_revenue <= 0)"),
        ("support_cost", "DOUBLE", "support contacts' cost"),
        ("service_cost", "DOUBLE", "orders × cost_per_order + yearly cost × years as customer"),
        ("profit", "DOUBLE", "gross_margin - support_cost - service_cost"),
        ("acquisition_channel", "VARCHAR", "customers.acquisition_channel, trimmed and "
                                           "lower-case; 'unknown' when missing"),
        ("acquisition_cost", "DOUBLE", "cost_per_customer of the month and channel of "
                                       "acquisition (acquisition_costs); NULL when the "
                                       "marketing spend does not cover that month"),
        ("profit_after_acquisition", "DOUBLE", "profit - acquisition_cost"),
        ("n_orders_12m", "BIGINT", "orders in the current window (the last "
                                   "differentiate.current_value_days, 365 by default)"),
        ("revenue_12m", "DOUBLE", "positive amounts in the current window"),
        ("net_revenue_12m", "DOUBLE", "net revenue in the current window"),
        ("gross_margin_12m", "DOUBLE", "gross margin in the current window"),
        ("support_cost_per_year", "DOUBLE", "support cost in the current window"),
        ("cost_to_serve_12m", "DOUBLE", "support, order and yearly cost of the current window"),
        ("profit_12m", "DOUBLE", "current value: gross_margin_12m - cost_to_serve_12m"),
        ("recency_days", "BIGINT", "days from last purchase to as_of"),
        ("frequency", "BIGINT", "= n_orders"),
        ("monetary", "DOUBLE", "net_revenue / n_orders"),
        ("tenure_days", "BIGINT", "days from first purchase to as_of"),
        ("r_score", "INTEGER", "recency quintile score, 5 = most recent"),
        ("f_score", "INTEGER", "frequency quintile score, 5 = most orders"),
        ("m_score", "INTEGER", "monetary quintile score, 5 = highest"),
        ("t_score", "INTEGER", "tenure quintile score, 5 = longest"),
        ("rfm_cell", "VARCHAR", "e.g. 'R5F3M4'"),
        ("rfmt_score", "DOUBLE", "the four scores weighted by rfmt_weights (sum 1)"),
        ("rfm_segment", "VARCHAR", "named RFM segment (differentiate.rfm_segments, else "
                                   "helpers.differentiate.rfm.DEFAULT_RFM_SEGMENTS)"),
    )),
    Table("equity_metrics", "02_differentiate", "one period (differentiate.period, ending "
          "on as_of, as_of - 1 period, …) and segment ('All', then each value of "
          "differentiate.segment_by)", _columns(
        ("period_start", "DATE", "the period is (period_start, period_end]"),
        ("period_end", "DATE", "last day of the period"),
        ("period", "VARCHAR", "its name: '2025-12', '2025Q4' or '2025' for a calendar month, "
                              "quarter or year, else its last day"),
        ("segment", "VARCHAR", "'All', or a value of differentiate.segment_by ('unknown' "
                               "when missing)"),
        ("gross_new_customers", "BIGINT", "customers whose first transaction is in the period"),
        ("net_new_customers", "BIGINT", "new customers who bought in its last "
                                        "differentiate.net_new_days days"),
        ("active_existing_customers", "BIGINT",
         "existing customers (first transaction on or before the period start and "
         "active_days before its end) who bought in the active_days up to its end"),
        ("active_customers", "BIGINT", "customers who bought in the active_days up to its end"),
        ("customers_to_date", "BIGINT", "customers whose first transaction is on or before "
                                        "its end"),
        ("share_active", "DOUBLE", "active_customers / customers_to_date"),
        ("revenue", "DOUBLE", "net amounts in the period (returns dated in it deducted)"),
        ("revenue_new", "DOUBLE", "net amounts of new customers"),
        ("revenue_existing", "DOUBLE", "net amounts of existing customers"),
        ("revenue_per_new_customer", "DOUBLE", "revenue_new / gross_new_customers"),
        ("revenue_per_existing_customer", "DOUBLE",
         "revenue_existing / active_existing_customers"),
        ("revenue_per_customer", "DOUBLE", "revenue / active_customers"),
        ("orders", "BIGINT", "distinct orders with a positive amount in the period"),
        ("orders_new", "BIGINT", "orders of new customers"),
        ("orders_existing", "BIGINT", "orders of existing customers"),
        ("purchase_frequency", "DOUBLE", "orders / active_customers"),
        ("acquisition_cost", "DOUBLE", "acquisition cost of the period's new customers (for "
                                       "'All' plus the spend no customer carried); NULL "
                                       "without marketing spend"),
        ("acquisition_cost_per_new_customer", "DOUBLE",
         "acquisition_cost / gross_new_customers"),
        ("support_cost", "DOUBLE", "support contacts in the period"),
        ("support_cost_new", "DOUBLE", "support cost of the period's new customers"),
        ("support_cost_existing", "DOUBLE", "support cost of existing customers"),
        ("cost_to_serve", "DOUBLE", "support cost + orders × cost_per_order + yearly cost × "
                                    "the part of the period each customer was on file"),
        ("cost_to_serve_per_customer", "DOUBLE", "cost_to_serve / customers_to_date"),
    )),
    Table("cohorts", "02_differentiate", "one acquisition cohort in one period from its "
          "acquisition on (the periods of equity_metrics)", _columns(
        ("cohort", "VARCHAR", "name of the period of the first transaction, e.g. '2024Q1'"),
        ("cohort_end", "DATE", "last day of that period"),
        ("period", "VARCHAR", "name of the period observed"),
        ("period_end", "DATE", "last day of the period observed"),
        ("periods_since_acquisition", "INTEGER", "0 for the acquisition period"),
        ("customers_in_cohort", "BIGINT", "customers acquired in the cohort's period"),
        ("active_customers", "BIGINT", "cohort members buying in the period"),
        ("retention_rate", "DOUBLE", "active_customers / customers_in_cohort"),
        ("revenue", "DOUBLE", "net amounts of the cohort in the period"),
        ("revenue_per_customer", "DOUBLE", "revenue / customers_in_cohort"),
    )),
    # initiatives and satisfaction (helpers.differentiate.initiatives, .satisfaction)
    Table("campaign_tracking", "02_differentiate", "one campaign, group and week since "
          "exposure: the group's cumulative purchases and revenue per customer (empty "
          "without a campaign source)", _columns(
        ("campaign_id", "VARCHAR", "the campaign"),
        ("exposure_group", "VARCHAR", "'control' or 'treated'"),
        ("week", "INTEGER", "0 = days 0-6 from each customer's own exposure day, 1 = days "
                            "7-13, …"),
        ("days_followed", "INTEGER", "days from exposure to the week's end (the last week "
                                     "cut at the campaign's window_days)"),
        ("customers", "BIGINT", "customers of the group followed over the whole window"),
        ("purchases_per_customer", "DOUBLE", "orders with a positive amount from exposure to "
                                             "the week's end, per customer of the group"),
        ("revenue_per_customer", "DOUBLE", "positive amounts over the same days, per customer"),
        ("net_revenue_per_customer", "DOUBLE", "amounts net of returns, per customer"),
    )),
    Table("campaign_effects", "02_differentiate", "one campaign and metric: treated against "
          "control over the days after exposure (empty without a campaign source)", _columns(
        ("campaign_id", "VARCHAR", "the campaign"),
        ("metric", "VARCHAR", "'purchases' (orders with a positive amount), 'revenue' "
                              "(positive amounts) or 'net_revenue' (returns deducted)"),
        ("unit", "VARCHAR", "e.g. 'purchases per customer', 'EUR of revenue per customer'"),
        ("exposure_start", "DATE", "first exposure date of a customer compared"),
        ("exposure_end", "DATE", "last exposure date of a customer compared"),
        ("window_days", "INTEGER", "days each customer is followed from their exposure day "
                                   "(included): differentiate.campaign_window_days, else "
                                   "from the last exposure to as_of"),
        ("n_treated", "BIGINT", "treated customers compared"),
        ("n_control", "BIGINT", "control customers compared"),
        ("in_both_groups", "BIGINT", "customers listed as treated and as control, left out"),
        ("window_too_short", "BIGINT", "customers exposed too late to be followed for "
                                       "window_days by as_of, left out"),
        ("mean_treated", "DOUBLE", "mean of the metric per treated customer over the window "
                                   "(0 for one who bought nothing)"),
        ("mean_control", "DOUBLE", "mean per control customer"),
        ("difference", "DOUBLE", "mean_treated - mean_control: the campaign's effect per "
                                 "customer"),
        ("ci_low", "DOUBLE", "lower bound of its 95% interval (Welch's unequal-variance t)"),
        ("ci_high", "DOUBLE", "upper bound"),
        ("p_value", "DOUBLE", "two-sided p-value of no difference (Welch's t test)"),
        ("pre_mean_treated", "DOUBLE", "the same mean over the window_days before exposure"),
        ("pre_mean_control", "DOUBLE", "the control group's, before exposure"),
        ("pre_difference", "DOUBLE", "the difference before exposure: near 0 when the groups "
                                     "were comparable"),
        ("pre_ci_low", "DOUBLE", "lower bound of its 95% interval"),
        ("pre_ci_high", "DOUBLE", "upper bound"),
        ("pre_p_value", "DOUBLE", "p-value of no difference before exposure"),
        ("comparable", "BOOLEAN", "the interval before exposure holds 0 (NULL when not "
                                  "measurable)"),
        ("verdict", "VARCHAR", "in words: 'effect of X ± Y …' or 'no detectable effect …', "
                               "with a warning when the groups were not comparable"),
    )),
    Table("satisfaction", "02_differentiate", "one group of respondents (everyone, then each "
          "RFM segment and customer type): their NPS from their latest answer up to as_of "
          "(empty without a survey source)", _columns(
        ("breakdown", "VARCHAR", "'all', 'rfm_segment' or 'customer_type'"),
        ("segment", "VARCHAR", "'All', or the group's value ('unknown' when the customer has "
                               "none)"),
        ("respondents", "BIGINT", "customers with an answer"),
        ("promoters", "BIGINT", "respondents scoring 9-10"),
        ("passives", "BIGINT", "respondents scoring 7-8"),
        ("detractors", "BIGINT", "respondents scoring 0-6"),
        ("share_promoters", "DOUBLE", "promoters / respondents"),
        ("share_detractors", "DOUBLE", "detractors / respondents"),
        ("nps", "DOUBLE", "100 × (share_promoters - share_detractors), -100 to +100"),
        ("nps_low", "DOUBLE", "lower bound of its 95% interval (normal, multinomial "
                              "variance; cut at -100)"),
        ("nps_high", "DOUBLE", "upper bound (cut at +100)"),
        ("mean_score", "DOUBLE", "mean 0-10 score"),
    )),
    Table("driver_ratings", "02_differentiate", "one group of respondents (as in "
          "satisfaction) and driver: its mean rating (empty without a survey source)",
          _columns(
        ("breakdown", "VARCHAR", "'all', 'rfm_segment' or 'customer_type'"),
        ("segment", "VARCHAR", "'All', or the group's value"),
        ("driver", "VARCHAR", "the driver's name in the config (e.g. 'problems')"),
        ("ratings", "BIGINT", "respondents who rated it in their latest answer"),
        ("mean_rating", "DOUBLE", "their mean rating, on the survey's scale"),
    )),
    Table("nps_drivers", "02_differentiate", "one driver: how far promoters and detractors "
          "rate it apart, most separating first (empty without a survey source)", _columns(
        ("driver", "VARCHAR", "the driver's name in the config"),
        ("ratings", "BIGINT", "respondents who rated it in their latest answer"),
        ("mean_promoters", "DOUBLE", "mean rating of the promoters (9-10)"),
        ("mean_passives", "DOUBLE", "mean rating of the passives (7-8)"),
        ("mean_detractors", "DOUBLE", "mean rating of the detractors (0-6)"),
        ("separation", "DOUBLE", "mean_promoters - mean_detractors"),
        ("separation_low", "DOUBLE", "lower bound of its 95% interval (Welch's t)"),
        ("separation_high", "DOUBLE", "upper bound"),
        ("separation_p_value", "DOUBLE", "p-value of no separation"),
        ("spearman", "DOUBLE", "rank correlation of the rating with the 0-10 score"),
        ("spearman_p_value", "DOUBLE", "its p-value"),
    )),
    # ---------------------------------------------------------------- 03 clv
    Table("model_fit", "03_clv", "one parameter or check of a fitted model", _columns(
        ("model", "VARCHAR", "'bgnbd', 'pareto_nbd', 'mbgnbd' or 'gamma_gamma'"),
        ("fitted_on", "VARCHAR", "'calibration' (validated on the holdout) or 'whole history'"),
        ("metric", "VARCHAR", "parameter (r, alpha, a, b, s, beta, p, q, v), cov_log_X_log_Y "
                              "(covariance of the log parameters) or check name"),
        ("value", "DOUBLE", "its value"),
        ("low", "DOUBLE", "a parameter's lower interval bound (clv.interval_level)"),
        ("high", "DOUBLE", "a parameter's upper interval bound"),
    )),
    Table("model_comparison", "03_clv", "one purchase model: its fit and holdout errors",
          _columns(
        ("model", "VARCHAR", "'bgnbd', 'pareto_nbd' or 'mbgnbd'"),
        ("log_likelihood", "DOUBLE", "total log-likelihood of the calibration fit"),
        ("n_params", "BIGINT", "parameters estimated"),
        ("bic", "DOUBLE", "n_params * ln(customers) - 2 * log_likelihood; lower is better"),
        ("holdout_mae", "DOUBLE", "mean absolute error of each customer's holdout repeat "
                                  "purchases (NULL without a holdout)"),
        ("holdout_rmse", "DOUBLE", "root mean squared error of the same"),
        ("holdout_actual_total", "DOUBLE", "repeat purchases made in the holdout"),
        ("holdout_predicted_total", "DOUBLE", "repeat purchases the model expected there"),
        ("holdout_total_error", "DOUBLE", "(predicted - actual) / actual"),
        ("starts", "BIGINT", "starting points of the fit"),
        ("log_likelihood_spread", "DOUBLE", "best minus worst log-likelihood over the starts"),
        ("penalizer", "DOUBLE", "penalty the fit needed (0: plain maximum likelihood)"),
        ("how", "VARCHAR", "how the fit went, in a sentence"),
        ("chosen", "BOOLEAN", "the model that scores customers in clv"),
    )),
    Table("holdout_by_frequency", "03_clv",
          "one model and calibration frequency: mean holdout purchases, actual and predicted",
          _columns(
        ("model", "VARCHAR", "purchase model"),
        ("frequency_cal", "BIGINT", "repeat purchases in the calibration period (7: 7 or more)"),
        ("customers", "BIGINT", "customers with that calibration frequency"),
        ("actual_mean", "DOUBLE", "their mean repeat purchases in the holdout"),
        ("predicted_mean", "DOUBLE", "the model's mean expectation for them"),
    )),
    Table("purchase_tracking", "03_clv",
          "one model and week: the calibration cohort's repeat purchases, actual and expected",
          _columns(
        ("model", "VARCHAR", "purchase model (fitted on the calibration period)"),
        ("period", "BIGINT", "week number from the cohort's first purchase, from 0"),
        ("period_start", "DATE", "first day of the week"),
        ("repeat_purchases", "BIGINT", "repeat purchase days of the cohort in the week"),
        ("expected_repeat_purchases", "DOUBLE", "the model's expectation for the week"),
        ("expected_cumulative", "DOUBLE", "expected repeat purchases up to the week's end"),
    )),
    Table("clv", "03_clv", "one customer with a purchase: expected future value", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("frequency", "BIGINT", "repeat purchase days"),
        ("recency", "DOUBLE", "age at last purchase, in time units"),
        ("T", "DOUBLE", "age at as_of, in time units"),
        ("monetary_value", "DOUBLE", "mean value of repeat purchase days (0 if none)"),
        ("p_alive", "DOUBLE", "probability the customer is still active"),
        ("expected_purchases", "DOUBLE", "expected repeat purchases over the horizon"),
        ("expected_avg_spend", "DOUBLE", "expected spend per purchase (Gamma-Gamma)"),
        ("margin_rate", "DOUBLE", "gross margin rate applied"),
        ("clv", "DOUBLE", "discounted expected gross margin over the horizon"),
        ("expected_service_cost", "DOUBLE", "discounted expected cost to serve"),
        ("clv_net", "DOUBLE", "clv - expected_service_cost"),
        ("clv_low", "DOUBLE", "lower bound of clv's interval (parameter uncertainty)"),
        ("clv_high", "DOUBLE", "upper bound of clv's interval"),
    )),
    Table("customer_equity", "03_clv",
          "one scenario: total customer equity now or with better retention", _columns(
        ("model", "VARCHAR", "the purchase model scoring customers"),
        ("scenario", "VARCHAR", "'now' or 'dropout -10%' ..."),
        ("dropout_cut", "DOUBLE", "share of dropout removed (0 now)"),
        ("total_equity", "DOUBLE", "sum of clv over the customers"),
        ("gain", "DOUBLE", "total_equity minus total_equity now"),
        ("gain_share", "DOUBLE", "gain / total_equity now"),
        ("total_equity_low", "DOUBLE", "lower bound of total equity now (NULL otherwise)"),
        ("total_equity_high", "DOUBLE", "upper bound of total equity now"),
    )),
    # ---------------------------------------------------------------- 04 segment
    Table("segments", "04_segment", "one customer in customer_value, with a value tier",
          _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("current_value", "DOUBLE", "customer_value.profit_12m"),
        ("profit_to_date", "DOUBLE", "customer_value.profit_after_acquisition, else profit "
                                     "(notebook 02's below-zero basis)"),
        ("future_value", "DOUBLE", "clv.clv_net (0 when not scored)"),
        ("future_value_low", "DOUBLE", "clv.clv_low - expected_service_cost (NULL when not "
                                       "scored)"),
        ("future_value_high", "DOUBLE", "clv.clv_high - expected_service_cost"),
        ("p_alive", "DOUBLE", "clv.p_alive (NULL when not scored)"),
        ("rfmt_score", "DOUBLE", "customer_value.rfmt_score"),
        ("tier", "VARCHAR", "Most valuable, Most growable, Maintain or Below zero"),
        ("tier_reason", "VARCHAR", "the customer's figures against the thresholds"),
    )),
    Table("customer_categories", "04_segment", "one customer and product category they "
          "bought (empty without a catalogue)", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("category", "VARCHAR", "product category"),
        ("orders", "BIGINT", "distinct orders with a positive line in the category"),
        ("units", "DOUBLE", "units bought (a line without quantity counts 1)"),
        ("net_revenue", "DOUBLE", "amounts in the category, returns subtracted"),
        ("gross_margin", "DOUBLE", "net_revenue - cost of goods"),
        ("mean_unit_price", "DOUBLE", "positive amounts / units"),
        ("first_purchase", "DATE", "first positive line in the category"),
        ("last_purchase", "DATE", "last positive line in the category"),
    )),
    Table("category_affinity", "04_segment", "one ordered pair of distinct categories "
          "(antecedent -> consequent), baskets = each customer's whole history", _columns(
        ("antecedent", "VARCHAR", "the category the customer bought"),
        ("consequent", "VARCHAR", "the category the rule points to"),
        ("customers_antecedent", "BIGINT", "customers who bought the antecedent"),
        ("customers_consequent", "BIGINT", "customers who bought the consequent"),
        ("customers_both", "BIGINT", "customers who bought both (0: never together)"),
        ("support", "DOUBLE", "customers_both / customers with any category"),
        ("confidence", "DOUBLE", "customers_both / customers_antecedent"),
        ("lift", "DOUBLE", "confidence / (customers_consequent / customers with any "
                           "category); 1 = independent"),
        ("trusted", "BOOLEAN", "customers_both >= segment.min_pair_customers; only trusted "
                               "pairs are used for cross-sell"),
    )),
    Table("price_bands", "04_segment", "one product of a category with 3 products or more, "
          "in its price band", _columns(
        ("category", "VARCHAR", "product category"),
        ("product_id", "VARCHAR", "product"),
        ("units", "DOUBLE", "units sold on positive lines up to as_of"),
        ("unit_price", "DOUBLE", "mean price paid per unit (positive amounts / units)"),
        ("gross_margin", "DOUBLE", "margin of those lines (catalogue cost, else "
                                   "gross_margin_rate)"),
        ("unit_margin", "DOUBLE", "gross_margin / units"),
        ("band_rank", "BIGINT", "1 entry, 2 mid, 3 premium: the category's products in three "
                                "near-equal groups by unit_price"),
        ("band", "VARCHAR", "entry, mid or premium"),
        ("band_floor", "DOUBLE", "a mean unit price above this is in the band or higher "
                                 "(NULL for entry)"),
        ("band_ceiling", "DOUBLE", "a mean unit price up to this is in the band or lower: "
                                   "halfway to the next band's cheapest (NULL for premium)"),
    )),
    Table("cross_sell", "04_segment", "one customer with a category to cross-sell: the "
          "best one they never bought", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("category", "VARCHAR", "the category to offer (never one the customer bought)"),
        ("because_of", "VARCHAR", "the category they bought whose rule recommends it"),
        ("lift", "DOUBLE", "lift of because_of -> category (> 1, trusted)"),
        ("confidence", "DOUBLE", "confidence of because_of -> category"),
        ("expected_value", "DOUBLE", "confidence × mean yearly margin the category's buyers "
                                     "bring on it, in currency over one year"),
    )),
    Table("up_sell", "04_segment", "one customer with an up-sell: the category where one "
          "price band up is worth the most", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("category", "VARCHAR", "a category the customer buys"),
        ("current_band", "VARCHAR", "band of their mean unit price: entry or mid"),
        ("proposed_band", "VARCHAR", "the band above: mid or premium"),
        ("units_per_year", "DOUBLE", "units bought in the category / years as customer "
                                     "(at least 1)"),
        ("unit_margin_gain", "DOUBLE", "margin per unit of the proposed band less the "
                                       "current band's"),
        ("uptake_rate", "DOUBLE", "share of the category's buyers in current_band who also "
                                  "bought in proposed_band"),
        ("expected_value", "DOUBLE", "units_per_year × unit_margin_gain × uptake_rate, in "
                                     "currency over one year (> 0)"),
    )),
    Table("clusters", "04_segment", "one customer in customer_value: their behavioural cluster",
          _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("cluster", "INTEGER", "cluster number, 1 = highest mean clv_net (k chosen by "
                               "silhouette in segment.clusters.k_min..k_max)"),
        ("cluster_name", "VARCHAR", "name generated from the cluster's mean features, e.g. "
                                    "'recent, frequent, high-CLV customers; mostly coffee'"),
    )),
    Table("driver_segments", "04_segment", "one survey respondent: the driver they rate "
          "lowest and the offer it suggests (empty without a survey)", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("nps", "INTEGER", "likelihood to recommend of the latest answer, 0-10"),
        ("weakest_driver", "VARCHAR", "the driver rated lowest (ties: first by name); NULL "
                                      "when the answer rates none"),
        ("weakest_rating", "DOUBLE", "its rating"),
        ("driver_group", "VARCHAR", "the weakest driver when rated at or below "
                                    "segment.driver_concern_at, else 'no concern'; 'not "
                                    "rated'"),
        ("offer", "VARCHAR", "segment.driver_offers of the group"),
    )),
    Table("first_baskets", "04_segment", "one customer with a purchase: what was known at "
          "acquisition, and the realised first-year value", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("first_purchase", "DATE", "first day with a purchase line (amount 0 or more)"),
        ("acquisition_channel", "VARCHAR", "golden record's channel, lower-case; 'unknown' "
                                           "if none"),
        ("customer_type", "VARCHAR", "golden record's type, lower-case; 'unknown' if none"),
        ("city", "VARCHAR", "golden record's city, lower-case; 'unknown' if none"),
        ("first_source", "VARCHAR", "sources of the first day's lines, e.g. 'store,webshop'"),
        ("first_basket_value", "DOUBLE", "gross amount of the first day's purchase lines"),
        ("first_basket_lines", "BIGINT", "purchase lines of the first day"),
        ("first_basket_units", "DOUBLE", "units of the first day (a line without quantity "
                                         "is 1)"),
        ("first_basket_categories", "BIGINT", "categories in the first basket (NULL without "
                                              "a catalogue)"),
        ("first_category", "VARCHAR", "category the first basket spent most on (NULL "
                                      "without a catalogue)"),
        ("days_observed", "BIGINT", "as_of - first_purchase, in days"),
        ("n_purchase_days", "BIGINT", "days with a purchase line up to as_of"),
        ("first_year_value", "DOUBLE", "gross spend of days 1-365 after the first purchase "
                                       "day (repeat purchases); NULL when fewer than 365 "
                                       "days are observed"),
        ("first_year_purchase_days", "BIGINT", "repeat purchase days in that year; NULL "
                                               "likewise"),
    )),
    Table("early_value", "04_segment", "one new customer (one purchase day, in the last 365 "
          "days) or prospect (no transaction): estimated first-year value", _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("status", "VARCHAR", "'new' or 'prospect'"),
        ("predicted_first_year_value", "DOUBLE", "estimated gross spend of the year after the "
                                                 "first purchase day (for a prospect: if they "
                                                 "buy)"),
        ("acquisition_channel", "VARCHAR", "as in first_baskets"),
        ("customer_type", "VARCHAR", "as in first_baskets"),
    )),
    Table("actions", "04_segment", "one customer in segments: what to do with them and why",
          _columns(
        ("customer_id", "VARCHAR", "the kit's customer id"),
        ("tier", "VARCHAR", "the value tier"),
        ("cluster", "INTEGER", "behavioural cluster (clusters)"),
        ("cluster_name", "VARCHAR", "its descriptive name"),
        ("rfm_segment", "VARCHAR", "customer_value.rfm_segment"),
        ("p_alive", "DOUBLE", "probability the customer is still active"),
        ("clv", "DOUBLE", "segments.future_value (net CLV)"),
        ("clv_low", "DOUBLE", "lower bound of its interval"),
        ("clv_high", "DOUBLE", "upper bound of its interval"),
        ("action", "VARCHAR", "retain, develop, win back, maintain or reduce cost to serve"),
        ("treatment", "VARCHAR", "what the action does (segment.actions)"),
        ("offer", "VARCHAR", "the concrete offer"),
        ("offer_type", "VARCHAR", "standard, concern (survey driver), cross-sell or up-sell"),
        ("offer_value", "DOUBLE", "expected value of a cross-sell or up-sell offer"),
        ("channel", "VARCHAR", "email, sms or store"),
        ("priority", "BIGINT", "1 is served first"),
        ("value_at_stake", "DOUBLE", "what the action protects or wins (see "
                                     "helpers.segment.actions.build_actions)"),
        ("budget", "DOUBLE", "the action's budget_share of the value at stake"),
        ("reason", "VARCHAR", "why this customer, why this offer, in one line"),
    )),
)

#: Every fixed-name warehouse table, by name.
TABLES: dict[str, Table] = {t.name: t for t in _REGISTRY}


def table(name: str) -> Table:
    """The registered table ``name``.

    Raises
    ------
    KeyError
        Naming the registered tables, when ``name`` is not one of them.
    """
    if name not in TABLES:
        raise KeyError(f"'{name}' is not a registered warehouse table; registered: "
                       f"{', '.join(TABLES)} (see helpers/tables.py)")
    return TABLES[name]


def stage_of(name: str) -> str:
    """The notebook that writes table ``name`` (``stage_<source>`` tables included)."""
    if name.startswith(STAGE_TABLE_PREFIX):
        return "01_identify"
    return TABLES[name].stage if name in TABLES else "?"


def stage_column_type(role: str) -> str:
    """DuckDB type of a role's column in a ``stage_<source>`` table."""
    if role == "_row":
        return "BIGINT"
    if role in DATE_ROLES:
        return "DATE"
    if is_number_role(role):
        return "DOUBLE"
    return "VARCHAR"


def _stage_section() -> list[str]:
    roles = sorted({r for kind in ROLES.values() for part in kind.values() for r in part})
    typed = ", ".join(f"`{r}` {stage_column_type(r)}" for r in roles)
    return [
        "### `stage_<source>` — one accepted row of a source file",
        "",
        "One table per source in the config. Columns: `_row` BIGINT (the row in the file), "
        "then one column per role the source maps, named by the role and typed: " + typed
        + f"; a survey source adds `{RATING_PREFIX}<driver>` DOUBLE per driver it rates.",
        "",
    ]


def render_markdown() -> str:
    """The text of ``docs/tables.md``, generated from this registry."""
    lines = [
        "# Warehouse tables",
        "",
        "<!-- Generated from src/helpers/tables.py by `make docs`; do not edit by hand. -->",
        "",
        "Every run writes one DuckDB file, `reports/<client>/<as_of>/warehouse.duckdb`; the "
        "notebooks pass data to each other only through these tables. Dates are DATE, money "
        "is DOUBLE in the run's currency.",
        "",
    ]
    for stage in sorted({t.stage for t in _REGISTRY}):
        lines += [f"## Written by {stage}", ""]
        if stage == "01_identify":
            lines += _stage_section()
        for entry in (t for t in _REGISTRY if t.stage == stage):
            lines += [f"### `{entry.name}` — {entry.row}", "",
                      "| column | type | meaning |", "|---|---|---|"]
            lines += [f"| `{c.name}` | {c.type} | {c.meaning} |" for c in entry.columns]
            lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
