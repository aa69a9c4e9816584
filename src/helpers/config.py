"""Run configuration: one YAML file is the single source of truth for a run.

The YAML is validated once, here, with pydantic. Unknown or misspelled keys are errors
that name the key and the file, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import difflib
import importlib.resources
import re
from datetime import date
from pathlib import Path
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = ["KIT_ROOT", "DEMO_CONFIG", "ROLES", "DATE_ROLES", "NUMBER_ROLES", "RATING_PREFIX",
           "LINKED_KINDS", "EXPOSURE_GROUPS", "DAYS_PER_UNIT", "is_number_role", "ConfigError",
           "SourceConfig", "CostConfig", "CLVConfig", "RFMTWeights",
           "RFMSegmentRule", "DifferentiateConfig", "TierConfig", "TIERS", "ACTIONS",
           "ActionRule", "ClusterConfig", "SegmentConfig", "IdentityConfig",
           "QualityConfig", "PII_MODES", "PrivacyConfig",
           "RunConfig", "load_config"]

#: The kit's folder (the git checkout); reports land in ``KIT_ROOT / "reports"`` by default.
KIT_ROOT = Path(__file__).resolve().parents[2]
#: The config notebooks use when none is given: the synthetic demo client.
DEMO_CONFIG = KIT_ROOT / "configs" / "demo.yaml"

#: Roles a source column can play, per kind of source. Left: the kit's role; the YAML maps
#: each role to the client's own column name.
IDENTITY_ROLES = (
    "customer_key", "name", "first_name", "last_name", "email", "phone",
    "address", "city", "postcode", "birth_date", "customer_type", "signup_date",
    "acquisition_channel",
)
ROLES = {
    "customers": {"required": ("customer_key",), "optional": IDENTITY_ROLES[1:]},
    "transactions": {
        "required": ("customer_key", "order_date", "amount"),
        "optional": IDENTITY_ROLES[1:] + ("order_id", "quantity", "product_id"),
    },
    "products": {"required": ("product_id", "unit_cost"), "optional": ("category", "unit_price")},
    "support": {"required": ("customer_key", "contact_date"), "optional": ("cost",)},
    "marketing": {"required": ("period", "channel", "amount"), "optional": ()},
    "survey": {"required": ("customer_key", "response_date", "nps"), "optional": ("comment",)},
    "campaign": {"required": ("customer_key", "campaign_id", "exposure_date", "exposure_group"),
                 "optional": ()},
}
#: Roles parsed as dates and as numbers; every other role is text. A ``period`` is a date or
#: a month ('2025-03': its first day).
DATE_ROLES = ("order_date", "contact_date", "signup_date", "birth_date", "period",
              "response_date", "exposure_date")
NUMBER_ROLES = ("amount", "quantity", "unit_cost", "unit_price", "cost", "nps")
#: A survey driver's rating is staged as the number role ``rating_<driver>``.
RATING_PREFIX = "rating_"
#: Kinds whose rows carry the customer key of another source, named by ``linked_to``.
LINKED_KINDS = ("support", "survey", "campaign")
#: The words a campaign file may use for each exposure group (compared trimmed, lower-case).
EXPOSURE_GROUPS = {"treated": ("treated", "treatment", "test"), "control": ("control", "holdout")}

#: A source's name becomes part of table names (``stage_<name>``) and SQL literals, so it
#: must be a plain lower-case identifier.
SOURCE_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")

#: Days in one model time unit. Weeks are fractional (days / 7), as in Fader-Hardie-Lee.
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0}


def is_number_role(role: str) -> bool:
    """Whether a role's values are numbers (:data:`NUMBER_ROLES` and survey ratings)."""
    return role in NUMBER_ROLES or role.startswith(RATING_PREFIX)


class ConfigError(ValueError):
    """A run configuration that cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceConfig(_Strict):
    """One input file and how its columns map to the kit's roles."""

    kind: Literal["customers", "transactions", "products", "support", "marketing", "survey",
                  "campaign"]
    path: str = Field(description="file path, relative to the config file; "
                                  "'package:NAME/PATH' reads a file shipped inside a package")
    format: Literal["csv", "xlsx", "parquet"] | None = None
    sheet: str | int = 0
    delimiter: str = Field(",", description="one ASCII character, or 'whitespace'")
    decimal: Literal[".", ","] = "."
    encoding: str = "utf-8"
    header: bool = True
    column_names: list[str] | None = None
    date_format: str | None = None
    duplicate_lines: Literal["reject", "keep"] = Field(
        default="reject",
        description="'keep' when the file has no line id and identical lines are real "
                    "repeat purchases",
    )
    zero_amount_lines: Literal["reject", "keep"] = Field(
        default="reject",
        description="'keep' when a line of amount 0 is a real purchase (a free item, a "
                    "promotion): it then counts as a purchase occasion worth 0",
    )
    linked_to: str | None = Field(
        default=None,
        description="the customers or transactions source whose customer_key this source's "
                    "rows carry (support tickets logged against CRM contacts, orders keyed by "
                    "the CRM's contact id): its rows are linked through that source's records",
    )
    max_rejected_share: float | None = Field(
        default=None, ge=0, le=1,
        description="this source's own limit on rejected rows (default: quality's)")
    columns: dict[str, str]
    drivers: dict[str, str] = Field(
        default={},
        description="survey sources only: each satisfaction driver's name and the column of "
                    "its rating (problems: problems_score); an empty rating is no rating")

    @field_validator("delimiter")
    @classmethod
    def _delimiter_usable(cls, value: str) -> str:
        # the reader splits the file's bytes, so a delimiter must be one ASCII byte
        if value == "whitespace" or (len(value) == 1 and value.isascii()
                                     and value not in "\"\r\n"):
            return value
        raise ValueError(f"'{value}' cannot be a delimiter: use one ASCII character such as "
                         f"',' ';' '|' or a tab, or 'whitespace' for space-aligned files")

    @model_validator(mode="after")
    def _roles_fit_kind(self) -> SourceConfig:
        allowed = ROLES[self.kind]
        known = set(allowed["required"]) | set(allowed["optional"])
        problems = [_unknown_message(f"columns.{role}", role, known)
                    for role in self.columns if role not in known]
        missing = [r for r in allowed["required"] if r not in self.columns]
        if missing:
            problems.append(f"a '{self.kind}' source must map the role(s) {missing} "
                            f"under 'columns'")
        if problems:
            raise ValueError("; ".join(problems))
        if not self.header and not self.column_names:
            raise ValueError("header: false needs column_names (the names to give the columns)")
        if self.linked_to and self.kind == "transactions" and len(self.columns) > 0 and \
                set(self.columns) & set(IDENTITY_ROLES[1:]):
            raise ValueError("a transactions source with linked_to takes its customers' "
                             "identity from the linked source: map no identity role "
                             f"({sorted(set(self.columns) & set(IDENTITY_ROLES[1:]))}) here")
        if self.kind in LINKED_KINDS and not self.linked_to:
            raise ValueError(f"a '{self.kind}' source needs linked_to: the source whose "
                             f"customer_key its rows carry")
        if self.kind == "marketing" and self.linked_to:
            raise ValueError("a 'marketing' source holds spend per period and channel, with no "
                             "customer key: remove linked_to")
        if self.drivers and self.kind != "survey":
            raise ValueError(f"drivers: only a 'survey' source has driver ratings; remove "
                             f"'drivers' from this '{self.kind}' source")
        bad = [name for name in self.drivers if not SOURCE_NAME_PATTERN.match(name)]
        if bad:
            raise ValueError(f"driver name(s) {bad} must start with a lower-case letter and hold "
                             f"only lower-case letters, digits and '_' (e.g. 'price')")
        return self

    @property
    def roles(self) -> dict[str, str]:
        """Every role mapped to a column of the file: ``columns``, then each survey driver's
        rating as ``rating_<driver>``."""
        return {**self.columns, **{RATING_PREFIX + d: col for d, col in self.drivers.items()}}

    @property
    def file_format(self) -> str:
        """The declared format, or the one the file suffix implies."""
        if self.format:
            return self.format
        suffix = Path(self.path).suffix.lower().lstrip(".")
        return {"txt": "csv", "xls": "xlsx"}.get(suffix, suffix)


class CostConfig(_Strict):
    """Cost assumptions, in the run's currency."""

    gross_margin_rate: float = Field(0.35, ge=0, le=1,
                                     description="margin on revenue when no unit cost is known")
    cost_per_order: float = Field(0.0, ge=0, description="fulfilment/handling cost per order")
    cost_per_support_contact: float = Field(
        0.0, ge=0, description="used when a support source has no cost column")
    cost_per_customer_per_year: float = Field(0.0, ge=0,
                                              description="fixed cost of serving a customer")


class CLVConfig(_Strict):
    """Lifetime-value model settings."""

    horizon_months: int = Field(12, gt=0)
    annual_discount_rate: float = Field(0.10, ge=0, lt=1)
    penalizer_coef: float = Field(
        0.0, ge=0, description="L2 penalty on the BTYD parameters; 0 reproduces the published "
                               "estimates. Leave it at 0: a fit that fails retries by itself "
                               "and says what it did")
    purchase_models: list[Literal["bgnbd", "pareto_nbd", "mbgnbd"]] = Field(
        default=["bgnbd", "pareto_nbd", "mbgnbd"], min_length=1,
        description="purchase models fitted on the calibration period and compared on the "
                    "holdout")
    purchase_model: Literal["auto", "bgnbd", "pareto_nbd", "mbgnbd"] = Field(
        "auto", description="the model that scores customers: 'auto' takes the one with the "
                            "smallest holdout error")
    holdout_days: int = Field(
        182, ge=0, description="days at the end of the history held out to validate the "
                               "models (0: no holdout validation)")
    calibration_end: date | None = Field(
        None, description="last day of the calibration period; overrides holdout_days")
    fit_starts: int = Field(5, ge=1, description="starting points of each model's fit")
    bootstrap_draws: int = Field(
        200, ge=20, description="parameter draws behind the CLV intervals")
    interval_level: float = Field(0.95, gt=0, lt=1,
                                  description="coverage of the CLV and parameter intervals")
    retention_steps: list[float] = Field(
        default=[0.10, 0.20],
        description="relative cuts in the dropout probability for the value-of-loyalty "
                    "scenarios (0.10: one customer in ten who would drop out stays)")
    seed: int = Field(42, description="seed of the fits' starting points and the bootstrap")
    truth: str | None = Field(
        None, description="JSON of a simulation's true model parameters (the demo's "
                          "truth/parameters.json), shown beside the estimates")

    @field_validator("retention_steps")
    @classmethod
    def _steps_are_cuts(cls, steps: list[float]) -> list[float]:
        if any(not 0 < step < 1 for step in steps):
            raise ValueError(f"retention_steps must lie strictly between 0 and 1: {steps}")
        return sorted(set(steps))

    @model_validator(mode="after")
    def _scoring_model_is_fitted(self) -> CLVConfig:
        if self.purchase_model not in ("auto", *self.purchase_models):
            raise ValueError(f"purchase_model '{self.purchase_model}' is not among "
                             f"purchase_models {self.purchase_models}")
        return self


class RFMTWeights(_Strict):
    """Relative weights of Recency, Frequency, Monetary value and Tenure in the RFMT score."""

    recency: float = Field(0.3, ge=0)
    frequency: float = Field(0.3, ge=0)
    monetary: float = Field(0.3, ge=0)
    tenure: float = Field(0.1, ge=0)

    @model_validator(mode="after")
    def _not_all_zero(self) -> RFMTWeights:
        if self.recency + self.frequency + self.monetary + self.tenure <= 0:
            raise ValueError("at least one RFMT weight must be positive")
        return self


class RFMSegmentRule(_Strict):
    """One named RFM segment: the customers whose R, F and M scores (1-5) fall in its ranges."""

    name: str = Field(min_length=1)
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)

    @model_validator(mode="after")
    def _ranges_are_scores(self) -> RFMSegmentRule:
        for letter in ("r", "f", "m"):
            low, high = getattr(self, letter)
            if not 1 <= low <= high <= 5:
                raise ValueError(f"segment '{self.name}': {letter} must be [low, high] with "
                                 f"1 <= low <= high <= 5, got [{low}, {high}]")
        return self


class DifferentiateConfig(_Strict):
    """How customers' value today is measured and reported (notebook 02)."""

    period: Literal["month", "quarter", "year"] = Field(
        "year", description="length of one period of the customer-equity report and of the "
                            "cohort matrix")
    current_value_days: int = Field(
        365, gt=0, description="window of the current value (revenue_12m, profit_12m, ...), "
                               "ending on as_of")
    net_new_days: int = Field(
        90, gt=0, description="a new customer is still there at a period's end (net new) "
                              "when they bought in its last this many days")
    active_days: int = Field(
        365, gt=0, description="a customer is active when they bought in this many days up "
                               "to a period's end; existing when their first purchase is at "
                               "least this many days before it")
    segment_by: Literal["acquisition_channel", "customer_type", "rfm_segment", "none"] = Field(
        "acquisition_channel", description="the customer attribute the equity report is "
                                           "broken down by ('none': the whole base only)")
    rfm_segments: list[RFMSegmentRule] | None = Field(
        None, description="named RFM segments, first matching rule wins: each rule gives a "
                          "name and score ranges r, f, m (e.g. [4, 5]); every R, F, M "
                          "combination must fall under some rule. Default: the kit's map "
                          "(helpers.differentiate.DEFAULT_RFM_SEGMENTS)")
    campaign_window_days: int | None = Field(
        None, gt=0, description="days after exposure over which a campaign's effect is "
                                "measured (default: up to as_of)")

    @model_validator(mode="after")
    def _net_new_within_a_period(self) -> DifferentiateConfig:
        shortest = {"month": 28, "quarter": 89, "year": 365}[self.period]
        if self.net_new_days >= shortest:
            raise ValueError(f"net_new_days ({self.net_new_days}) must be shorter than a "
                             f"{self.period} ({shortest} days at the shortest): otherwise every "
                             f"new customer counts as still there at the period's end; for "
                             f"{self.period}s try {shortest // 3}")
        return self

    @model_validator(mode="after")
    def _segments_cover_every_score(self) -> DifferentiateConfig:
        if self.rfm_segments is None:
            return self

        def covered(r: int, f: int, m: int) -> bool:
            return any(rule.r[0] <= r <= rule.r[1] and rule.f[0] <= f <= rule.f[1]
                       and rule.m[0] <= m <= rule.m[1] for rule in self.rfm_segments)

        uncovered = [f"R{r}F{f}M{m}" for r in range(1, 6) for f in range(1, 6)
                     for m in range(1, 6) if not covered(r, f, m)]
        if uncovered:
            raise ValueError(f"rfm_segments leave {len(uncovered)} score combination(s) "
                             f"without a segment, e.g. {', '.join(uncovered[:5])}: add a last "
                             f"rule with no ranges to catch the rest")
        return self


class TierConfig(_Strict):
    """Thresholds that decide the value tiers."""

    most_valuable_share: float = Field(
        0.2, gt=0, lt=1, description="top share of customers by current value")
    most_growable_ratio: float = Field(
        1.5, gt=1, description="future value at least this multiple of current value")
    most_growable_share: float = Field(
        0.2, gt=0, lt=1, description="...and among this top share of customers by future value")


#: The value tiers, most valuable first (the order reports show them in).
TIERS = ("Most valuable", "Most growable", "Maintain", "Below zero")
#: The actions a customer can get, in the order of their default priority.
ACTIONS = ("retain", "develop", "win back", "maintain", "reduce cost to serve")


class ActionRule(_Strict):
    """What one action means, what it offers by default and what it may spend."""

    treatment: str = Field(min_length=1, description="what the action does, for the playbook")
    offer: str = Field(min_length=1, description="the offer when no product or survey "
                                                  "signal gives a more concrete one")
    priority: int = Field(ge=1, description="1 is served first")
    budget_share: float = Field(
        ge=0, le=1, description="share of the value at stake the action may spend")


#: The kit's playbook: the articles' strategies (keep the most valuable at all costs, develop
#: the growable, win back the lapsing, cut the cost of the below-zero ones).
DEFAULT_ACTIONS = {
    "retain": ActionRule(treatment="keep at all costs: dedicated contact, service first, "
                                   "recognition", offer="loyalty reward and early access",
                         priority=1, budget_share=0.10),
    "develop": ActionRule(treatment="grow the relationship: cross-sell and up-sell, direct "
                                    "communication", offer="offer on a complementary category",
                          priority=2, budget_share=0.20),
    "win back": ActionRule(treatment="reactivate before they are gone: personal reminder "
                                     "with an incentive", offer="reactivation voucher",
                           priority=3, budget_share=0.10),
    "maintain": ActionRule(treatment="keep informed at low cost", offer="seasonal newsletter",
                           priority=4, budget_share=0.02),
    "reduce cost to serve": ActionRule(
        treatment="serve through cheaper channels, stop costly extras",
        offer="self-service and digital-only contact", priority=5, budget_share=0.0),
}

#: What each survey driver's concern suggests offering (seed 002: value orients the
#: relationship, satisfaction drivers orient the offer). A driver not listed gets
#: "address <driver> first".
DEFAULT_DRIVER_OFFERS = {
    "problems": "fix first: service call and a goodwill gesture",
    "benefits": "show the benefits: product advice and how-to content",
    "price": "value offer: bundle or volume price",
    "no concern": "ask for a review or a referral",
}

#: Compensation front-line staff may grant without escalation, per tier and complaint
#: severity, in the run's currency.
DEFAULT_RECOVERY = {
    "Most valuable": {"minor": 25.0, "moderate": 75.0, "severe": 200.0},
    "Most growable": {"minor": 15.0, "moderate": 50.0, "severe": 120.0},
    "Maintain": {"minor": 10.0, "moderate": 25.0, "severe": 60.0},
    "Below zero": {"minor": 0.0, "moderate": 10.0, "severe": 25.0},
}


class ClusterConfig(_Strict):
    """Behavioural clusters (notebook 04)."""

    k_min: int = Field(3, ge=2, description="fewest clusters tried (two clusters usually "
                                             "just split active from lapsed customers)")
    k_max: int = Field(8, ge=2, description="most clusters tried; k is chosen by silhouette")
    bootstrap: int = Field(20, ge=2, description="bootstrap refits behind the stability "
                                                 "figure (adjusted Rand index)")
    sample_size: int = Field(20_000, ge=100, description="above this many customers, k, the "
                             "stability and the clusters come from a seeded sample of this "
                             "many; everyone is then put in their nearest cluster")

    @model_validator(mode="after")
    def _range_ordered(self) -> ClusterConfig:
        if self.k_min > self.k_max:
            raise ValueError(f"k_min ({self.k_min}) must not exceed k_max ({self.k_max})")
        return self


class SegmentConfig(_Strict):
    """How customers are grouped and what each one gets (notebook 04)."""

    win_back_p_alive: float = Field(
        0.5, gt=0, lt=1, description="a customer not Below zero and less likely than this "
                                     "to be active is won back instead of their tier's action")
    clusters: ClusterConfig = ClusterConfig()
    min_pair_customers: int = Field(
        30, ge=1, description="cross-sell trusts a pair of categories bought by at least "
                              "this many customers")
    early_value_holdout_share: float = Field(
        0.25, gt=0, lt=1, description="latest share of the customers with a full first year "
                                      "that validates the early-value model")
    early_value_sample_size: int = Field(
        50_000, ge=100, description="the early-value models train on a seeded sample of this "
                                    "many customers when there are more")
    driver_concern_at: float = Field(
        2, description="a survey driver rated at or below this (on the survey's scale) is a "
                       "concern")
    driver_offers: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_DRIVER_OFFERS),
        description="offer suggested by each driver's concern, and by 'no concern'")
    actions: dict[str, ActionRule] = Field(
        default_factory=lambda: dict(DEFAULT_ACTIONS),
        description="the playbook: treatment, default offer, priority and budget share of "
                    "each action (retain, develop, win back, maintain, reduce cost to serve)")
    recovery: dict[str, dict[str, float]] = Field(
        default_factory=lambda: {tier: dict(limits) for tier, limits in DEFAULT_RECOVERY.items()},
        description="compensation limits by tier and complaint severity, for front-line staff")
    seed: int = Field(42, description="seed of the clusters and the early-value model")

    @field_validator("actions", mode="before")
    @classmethod
    def _every_action(cls, actions: object) -> object:
        """Actions the config leaves out keep the kit's rule; an unknown action is an error."""
        if not isinstance(actions, dict):
            return actions
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown action(s) {', '.join(map(str, unknown))}: the actions "
                             f"are {', '.join(ACTIONS)}")
        return {a: actions.get(a, DEFAULT_ACTIONS[a]) for a in ACTIONS}

    @field_validator("driver_offers", mode="before")
    @classmethod
    def _offers_over_defaults(cls, offers: object) -> object:
        """The config's driver offers add to (or replace) the kit's."""
        return {**DEFAULT_DRIVER_OFFERS, **offers} if isinstance(offers, dict) else offers

    @field_validator("recovery")
    @classmethod
    def _limits_cover_tiers(cls, recovery: dict[str, dict[str, float]]
                            ) -> dict[str, dict[str, float]]:
        if sorted(recovery) != sorted(TIERS):
            raise ValueError(f"recovery must give limits for each tier: {', '.join(TIERS)}")
        severities = list(recovery[TIERS[0]])
        for tier, limits in recovery.items():
            if list(limits) != severities:
                raise ValueError(f"recovery: every tier must list the same severities in the "
                                 f"same order ({', '.join(severities)}); {tier} lists "
                                 f"{', '.join(limits)}")
            values = list(limits.values())
            if any(v < 0 for v in values) or values != sorted(values):
                raise ValueError(f"recovery limits of {tier} must be 0 or more and rise with "
                                 f"severity: {limits}")
        return {tier: recovery[tier] for tier in TIERS}


class IdentityConfig(_Strict):
    """How source records are standardised, matched and reviewed (notebook 01)."""

    default_region: str | None = Field(
        None, description="ISO 3166 country code (e.g. IT) for phone numbers written without "
                          "their international prefix; required when a source maps a phone")
    match_threshold: float = Field(
        0.95, gt=0, lt=1, description="match probability from which two records are linked")
    review_threshold: float = Field(
        0.5, gt=0, lt=1, description="pairs from this probability up to match_threshold go "
                                     "to exports/identity_review.csv for a person to decide")
    previous_xref: str | None = Field(
        None, description="a previous run's customer_xref (CSV or Parquet, or its "
                          "warehouse.duckdb): existing customers keep their customer_id")
    review_decisions: str | None = Field(
        None, description="CSV of reviewed pairs (source_record_id_l, source_record_id_r, "
                          "decision: match or no_match), applied on the next run")
    truth: str | None = Field(
        None, description="CSV mapping source records to real people (source, source_key, "
                          "person_id), to measure matching: precision, recall, F1")
    max_block_records: int = Field(
        50, ge=2, description="a blocking key (a name, address, birth date, postcode with "
                              "initials ...) on more records than this pairs none of them "
                              "(their other keys still do): keeps the candidate pairs "
                              "linear in the records")
    seed: int = Field(42, description="seed of the model's random sampling")

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        import phonenumbers  # only configs that set a region pay for the import

        if value is not None and value.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region '{value}': use an ISO 3166 code such as IT, "
                             f"GB, US or DE")
        return value.upper() if value else value

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> IdentityConfig:
        if self.review_threshold > self.match_threshold:
            raise ValueError("review_threshold must not exceed match_threshold")
        return self


class QualityConfig(_Strict):
    """Data-quality gates: a run stops rather than publish a report on too many bad rows."""

    max_rejected_share: float = Field(
        0.05, ge=0, le=1, description="most rejected rows allowed, as a share of the rows in "
                                      "(rows after the as-of date not counted), per source "
                                      "and over all sources")


#: How personal data appears: as written, masked for reading, or a stable token per value.
PIIMode = Literal["keep", "mask", "hash"]
PII_MODES = get_args(PIIMode)


class PrivacyConfig(_Strict):
    """How personal data (names, emails, phones, addresses, postcodes) appears in the outputs."""

    report: PIIMode = Field(
        "mask", description="the report, the executed notebooks, anything showing customers")
    exports: PIIMode = Field(
        "keep", description="exports/: the CRM load file the client asked for")


class SparkConfig(_Strict):
    """Where the transaction-level SQL runs when ``engine: spark`` (helpers.spark)."""

    master: str = Field("local[2]", description="Spark master URL: local[N] on this machine, "
                                                "or a cluster's, e.g. spark://host:7077 or yarn")
    conf: dict[str, str] = Field(
        default_factory=dict, description="Spark settings passed through as they are, e.g. "
                                          "spark.executor.memory: 8g")


class RunConfig(_Strict):
    """A whole run: who the client is, what date the analysis stands on, and the inputs."""

    client: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$",
                        description="names the report folder: a letter or digit first, so it "
                                    "can never be '..' or hidden")
    as_of: date
    currency: str = "EUR"
    locale: str = Field("en", description="how the report writes numbers, money and dates "
                                          "(a CLDR locale such as en, it, de_CH)")
    time_unit: Literal["day", "week"] = "week"
    timezone: str = Field("UTC", description="IANA zone the dates are in: time-zoned timestamps "
                                             "are converted to it before the date is taken")
    memory_limit: str = Field(
        "3GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description="most memory the warehouse (DuckDB) holds; beyond it, it works on disk "
                    "beside warehouse.duckdb. The notebooks' tables of one row per customer "
                    "come on top (about 1 GB per million customers)")
    sources: dict[str, SourceConfig]
    costs: CostConfig = CostConfig()
    clv: CLVConfig = CLVConfig()
    rfmt_weights: RFMTWeights = RFMTWeights()
    tiers: TierConfig = TierConfig()
    segment: SegmentConfig = SegmentConfig()
    differentiate: DifferentiateConfig = DifferentiateConfig()
    identity: IdentityConfig = IdentityConfig()
    quality: QualityConfig = QualityConfig()
    pii: PrivacyConfig = PrivacyConfig()
    engine: Literal["duckdb", "spark"] = Field(
        "duckdb", description="where the transaction-level SQL of src/helpers/sql/ runs: in "
                              "the run's DuckDB warehouse, or on Spark (the `spark:` section)")
    spark: SparkConfig = SparkConfig()
    config_file: Path = Field(default=Path("."), exclude=True)

    @field_validator("pii", mode="before")
    @classmethod
    def _pii_shorthand(cls, value: object) -> object:
        """``pii: mask`` sets the report and the exports mode at once."""
        if not isinstance(value, str):
            return value
        if value not in PII_MODES:
            raise ValueError(f"'{value}' is not a privacy mode: use {', '.join(PII_MODES)}, "
                             f"or a mapping with 'report' and 'exports'")
        return {"report": value, "exports": value}

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        from babel import Locale, UnknownLocaleError  # only configs that set one pay for it

        try:
            Locale.parse(value.replace("-", "_"))
        except (UnknownLocaleError, ValueError):
            raise ValueError(f"unknown locale '{value}': use a language code such as en, it "
                             f"or de, optionally with a region (en_GB, de_CH)") from None
        return value.replace("-", "_")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}': use an IANA name such as "
                             f"'Europe/Rome' or 'UTC'") from None
        return value

    @field_validator("sources")
    @classmethod
    def _sources_usable(cls, sources: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        for name in sources:
            if not SOURCE_NAME_PATTERN.match(name):
                suggestion = re.sub(r"[^a-z0-9_]", "_", name.lower()).strip("_") or "source"
                if not suggestion[0].isalpha():
                    suggestion = "s_" + suggestion
                raise ValueError(f"source name '{name}' must start with a lower-case letter and "
                                 f"hold only lower-case letters, digits and '_' (it names "
                                 f"warehouse tables); try '{suggestion}'")
        if not any(s.kind == "transactions" for s in sources.values()):
            raise ValueError("at least one source must be of kind 'transactions'")
        for name, source in sources.items():
            if source.linked_to is None:
                continue
            if source.linked_to not in sources:
                raise ValueError(f"{name}.linked_to names '{source.linked_to}', "
                                 f"which is not a source")
            target = sources[source.linked_to]
            if source.kind not in (*LINKED_KINDS, "transactions") or \
                    target.kind not in ("customers", "transactions") or target.linked_to:
                raise ValueError(f"{name}.linked_to: a {source.kind} source cannot be linked to "
                                 f"the {target.kind} source '{source.linked_to}'; linked_to "
                                 f"lets a support, survey, campaign or transactions source use "
                                 f"the keys of a customers or transactions source that is not "
                                 f"itself linked")
        return sources

    @model_validator(mode="after")
    def _phones_have_a_region(self) -> RunConfig:
        # '347 123 4567' is a number only in the country it was written in
        phoned = [name for name, source in self.sources.items() if "phone" in source.columns]
        if phoned and self.identity.default_region is None:
            raise ValueError(
                f"missing key 'identity.default_region': source(s) "
                f"{', '.join(repr(n) for n in phoned)} map a phone, and phones written without "
                f"their country code are read as numbers of that region: set it to an ISO "
                f"3166 code such as IT, GB, US or DE")
        return self

    @model_validator(mode="after")
    def _calibration_before_as_of(self) -> RunConfig:
        # the holdout runs from the day after calibration_end to as_of: it must hold a day
        if self.clv.calibration_end is not None and self.clv.calibration_end >= self.as_of:
            raise ValueError(
                f"'clv.calibration_end' ({self.clv.calibration_end}) must be before as_of "
                f"({self.as_of}): the models are validated on the days after it, up to as_of")
        return self

    @property
    def days_per_unit(self) -> float:
        """Days in one model time unit (1 for day, 7 for week)."""
        return DAYS_PER_UNIT[self.time_unit]

    def source_path(self, name: str) -> Path:
        """Absolute path of a source file (relative paths are relative to the config file)."""
        return self.resolve_path(self.sources[name].path)

    def resolve_path(self, raw: str) -> Path:
        """Absolute path of a file the config names: relative to the config file;
        'package:NAME/PATH' is a file shipped inside a package."""
        if raw.startswith("package:"):
            package, _, inner = raw.removeprefix("package:").partition("/")
            return Path(str(importlib.resources.files(package).joinpath(inner)))
        path = Path(raw)
        return path if path.is_absolute() else (self.config_file.parent / path).resolve()


def _unknown_message(location: str, key: str, known: set[str] | list[str]) -> str:
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1)
    hint = f" — did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{location}'{hint} (allowed: {', '.join(sorted(map(str, known)))})"


def _model_at(location: tuple) -> type[BaseModel]:
    """The config section (model class) that holds the key at ``location``."""
    model: type[BaseModel] = RunConfig
    for part in location[:-1]:
        if model is RunConfig and part == "sources":
            return SourceConfig  # sources.<name>.<key>: the key belongs to one source
        annotation = model.model_fields[str(part)].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return model


def _explain(error: dict) -> str:
    """Turn one pydantic error into a line that names the key."""
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        known = [k for k in _model_at(error["loc"]).model_fields if k != "config_file"]
        return _unknown_message(location, error["loc"][-1], known)
    if error["type"] == "missing":
        return f"missing key '{location}'"
    message = error["msg"].removeprefix("Value error, ")
    return f"'{location}': {message}" if location else message


def load_config(path: str | Path, as_of: str | date | None = None) -> RunConfig:
    """Read and validate a run configuration.

    Parameters
    ----------
    path
        The YAML file.
    as_of
        Overrides the file's ``as_of`` (an ISO date string or a date), e.g. from ``--as-of``.

    Returns
    -------
    RunConfig
        The validated configuration; ``config_file`` holds the absolute path it came from.

    Raises
    ------
    ConfigError
        Naming the file and every offending key.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    if as_of:
        raw["as_of"] = as_of
    if "config_file" in raw:
        raise ConfigError(f"{path}: unknown key 'config_file'")
    try:
        return RunConfig(**raw, config_file=path)
    except ValidationError as exc:
        lines = [_explain(error) for error in exc.errors()]
        raise ConfigError(f"{path}: invalid configuration:\n  - " + "\n  - ".join(lines)) from None
