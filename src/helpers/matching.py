"""Matching: which source records are one person, when they share no email or phone.

Records sharing a standardised email or phone are one customer by rule (``record_keys``,
helpers.identify). Every other link is a judgement made from evidence, and this module makes
it the way the record-linkage field does, with a Fellegi-Sunter model trained and run by
splink 5 on the warehouse's own DuckDB connection (the records never leave DuckDB):

* **Blocking.** Comparing every record with every other is n(n-1)/2 pairs, 5 billion for
  100,000 records. Only the pairs that agree on something specific are compared: the same
  email, phone, name (in any order), birth date, address, a last name in a postcode …
  (:data:`BLOCKING_RULES`, each saying why). ``match_blocking`` counts what each rule adds.
* **Comparisons and levels.** Each candidate pair is compared field by field (name, birth date,
  email, phone, location), each comparison sorting the pair into a level: the same value, a
  typo away, only the last name, … or nothing in common (:func:`comparisons`).
* **m and u.** For each level, *m* is the share of true matches that fall in it and *u* the
  share of non-matches. u is measured on random pairs of records (nearly all non-matches);
  m is estimated by expectation maximisation (EM) on blocks of candidate pairs, each block
  teaching the comparisons it was not blocked on.
* **Match weights.** A level's weight is log2(m / u): the evidence, in bits, that it gives for
  a match. A pair's match weight is the prior's weight (how likely two random records are one
  person, estimated from the deterministic rules) plus the weight of each of its levels; its
  match probability is 2^w / (1 + 2^w). A common name agreeing says less than a rare one (term
  frequency adjustment).
* **Thresholds.** From ``identity.match_threshold`` a pair links two records; from
  ``identity.review_threshold`` up to it, a person decides (``identity_review``, exported to
  ``exports/identity_review.csv``); the decisions named by ``identity.review_decisions`` are
  applied on the next run and override the model.

Tables written: ``match_pairs`` (the candidate pairs from the review threshold, and every pair
a reviewer decided), ``match_model`` (m, u and weight of every level), ``match_blocking``,
``match_weight_bins`` (the distribution of every candidate pair's weight) and, once
``customer_xref`` exists, ``identity_review``. :func:`evaluate` measures the result against a
truth file (identity.truth).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from helpers.config import RunConfig
from helpers.errors import DataContractError
from helpers.privacy import pii_expression
from helpers.tables import table
from helpers.warehouse import (
    build_table,
    on_all_cores,
    query,
    require_columns,
    require_tables,
    scalar,
    sql_text,
    table_names,
    write_table,
)

__all__ = ["COMPARISONS", "BlockingRule", "BLOCKING_RULES", "TRAINING_BLOCKS",
           "DETERMINISTIC_RULES", "DETERMINISTIC_RECALL", "U_MAX_PAIRS", "EM_MAX_PAIRS",
           "MIN_LEVEL_WEIGHT",
           "comparisons", "build_match_pairs", "read_review_decisions",
           "build_identity_review", "REVIEW_PII", "review_queue", "EVALUATION_MEASURES",
           "evaluate"]

#: The model's comparisons, by name; ``match_pairs`` has one weight column ``mw_<name>`` each.
COMPARISONS = ("name", "birth_date", "email", "phone", "location")

#: Random pairs of records on which u is measured: enough for a level met once in a million
#: non-matching pairs to be seen, few enough to take a second or two.
U_MAX_PAIRS = 1e6
#: Candidate pairs of one EM training block at most (a sample of larger blocks).
EM_MAX_PAIRS = 1e5
#: Share of the true matches the deterministic rules are taken to find, to turn the pairs they
#: find into the prior (splink's estimate_probability_two_random_records_match). A guess, as
#: there is no truth to measure it on (splink's own benchmarks take 0.7; exact keys find 0.72
#: of the demo's true pairs, exact name with birth date or address 0.5 of FEBRL's): a higher
#: guess makes a smaller, more cautious prior.
DETERMINISTIC_RECALL = 0.7
#: Fewest candidate pairs a training block needs for EM to learn from it.
MIN_EM_PAIRS = 20
#: The least weight a level may have. EM puts m near 0 for a level it rarely saw among the
#: matches of its blocks (two emails of one person, a customer who moved), and a weight of
#: -40 would let that one field overrule all the others; 10 bits against is 1000 to 1.
MIN_LEVEL_WEIGHT = -10

_SPLINK_LOG_LEVEL = logging.ERROR  # splink's notes on untrained levels: match_model shows them
#: The in-memory database splink works in (see _score).
_SCRATCH = "matching_scratch"


@dataclass(frozen=True)
class BlockingRule:
    """Which pairs of records to compare: ``condition`` on the two records ``l`` and ``r``."""

    name: str
    condition: str
    columns: tuple[str, ...]
    reason: str


#: Rules that make candidate pairs, in order (a pair counts for the first rule that finds it).
#: A rule is used when every column it needs holds data; each keeps the pairs few because what
#: it asks to agree on is specific to a person or a household. Every rule but the exact email
#: and phone pairs on a key of ``match_input`` that is NULL for a value on more than
#: ``identity.max_block_records`` records (sql/match_input.sql).
BLOCKING_RULES = (
    BlockingRule("same email", "l.email_std = r.email_std", ("email_std",),
                 "an email belongs to one person: linked by rule, scored for the record"),
    BlockingRule("same phone", "l.phone_e164 = r.phone_e164", ("phone_e164",),
                 "a phone belongs to one person or household: linked by rule, scored too"),
    BlockingRule("same name", "l.name_block = r.name_block", ("name_sorted",),
                 "the same words of a name in any order: often the only link between a web "
                 "account and a loyalty card (a name on more than identity.max_block_records "
                 "records is left to the other rules)"),
    BlockingRule("same birth date", "l.birth_date_block = r.birth_date_block", ("birth_date",),
                 "a name typed differently in both its words; a date holds few people"),
    BlockingRule("same address", "l.address_block = r.address_block", ("address_std",),
                 "a name typed differently or changed; an address holds a household"),
    BlockingRule("same last name, postcode and first initial",
                 "l.last_name_postcode_block = r.last_name_postcode_block",
                 ("last_name_std", "first_name_std", "postcode_std"),
                 "a first name typed differently (a typo seldom hits the first letter)"),
    BlockingRule("same first name, postcode and last initial",
                 "l.first_name_postcode_block = r.first_name_postcode_block",
                 ("last_name_std", "first_name_std", "postcode_std"),
                 "a last name typed differently"),
    BlockingRule("same postcode, house number and last initial",
                 "l.house_block = r.house_block",
                 ("postcode_std", "address_std", "last_name_std"),
                 "a first name and a street typed differently"),
    BlockingRule("same postcode, street and last initial",
                 "l.street_block = r.street_block",
                 ("postcode_std", "address_std", "last_name_std"),
                 "a name typed differently and a house number missing or mistyped"),
    BlockingRule("same email user", "l.email_user_block = r.email_user_block", ("email_std",),
                 "one user name at two email providers"),
    BlockingRule("same phone ending", "l.phone_tail_block = r.phone_tail_block", ("phone_e164",),
                 "one number read with two country or trunk prefixes"),
)

#: Blocks of candidate pairs on which EM learns m: each teaches the comparisons it does not
#: block on (a block of pairs sharing an email, nearly all matches, shows how names of one
#: person differ). Used when their column holds data.
TRAINING_BLOCKS = (
    BlockingRule("same email", "l.email_std = r.email_std", ("email_std",),
                 "teaches name, phone, location, birth date"),
    BlockingRule("same phone", "l.phone_e164 = r.phone_e164", ("phone_e164",),
                 "teaches name, email, location, birth date"),
    BlockingRule("same name", "l.name_sorted = r.name_sorted", ("name_sorted",),
                 "teaches email, phone, location, birth date"),
    BlockingRule("same birth date", "l.birth_date = r.birth_date", ("birth_date",),
                 "teaches name, email, phone, location"),
)

#: Pairs that are matches by rule; what they find, over DETERMINISTIC_RECALL, is the prior.
DETERMINISTIC_RULES = (
    BlockingRule("same email", "l.email_std = r.email_std", ("email_std",), ""),
    BlockingRule("same phone", "l.phone_e164 = r.phone_e164", ("phone_e164",), ""),
    BlockingRule("same name and birth date",
                 "l.name_sorted = r.name_sorted AND l.birth_date = r.birth_date",
                 ("name_sorted", "birth_date"), ""),
    BlockingRule("same name and address",
                 "l.name_sorted = r.name_sorted AND l.address_std = r.address_std",
                 ("name_sorted", "address_std"), ""),
)

#: The columns of match_input (sql/match_input.sql) whose presence decides the model.
_FIELDS = ("first_name_std", "last_name_std", "name_sorted", "email_std", "phone_e164",
           "address_std", "city_std", "postcode_std", "birth_date")


def _level(condition: str, label: str, **options) -> dict:
    return {"sql_condition": condition, "label_for_charts": label, **options}


def _null(*columns: str) -> dict:
    either = " AND ".join(f"({c}_l IS NULL OR {c}_r IS NULL)" for c in columns)
    return _level(either, "missing on either side", is_null_level=True)


def _jw(left: str, right: str, threshold: float) -> str:
    return f"jaro_winkler_similarity({left}_l, {right}_r) >= {threshold}"


def _names_alike(threshold: float) -> str:
    """First and last name alike, in the same order or swapped ('rossi mario')."""
    first, last = "first_name_std", "last_name_std"
    return (f"({_jw(first, first, threshold)} AND {_jw(last, last, threshold)}) OR "
            f"({_jw(first, last, threshold)} AND {_jw(last, first, threshold)})")


def _name() -> dict:
    first, last = "first_name_std", "last_name_std"
    # one record writes a name as its initial ('ROSSI M.'): the other word agrees, and the
    # initial is the other record's word's first letter, in either order
    initial = " OR ".join(
        f"({a}_l = {b}_r AND least(length({c}_l), length({d}_r)) = 1 "
        f"AND left({c}_l, 1) = left({d}_r, 1))"
        for a, b, c, d in ((last, last, first, first), (first, first, last, last),
                           (first, last, last, first), (last, first, first, last)))
    return {"output_column_name": "name", "comparison_levels": [
        _null("name_sorted"),
        _level("name_sorted_l = name_sorted_r", "same name, in any word order",
               tf_adjustment_column="name_sorted", tf_adjustment_weight=1.0),
        _level(_names_alike(0.92), "first and last name alike (Jaro-Winkler >= 0.92)"),
        _level(_names_alike(0.88), "first and last name alike (Jaro-Winkler >= 0.88)"),
        _level(initial, "one word agrees, the other written as its initial"),
        _level(f"{last}_l = {last}_r", "same last name only",
               tf_adjustment_column=last, tf_adjustment_weight=1.0),
        _level(f"{first}_l = {first}_r", "same first name only",
               tf_adjustment_column=first, tf_adjustment_weight=1.0),
        _level("ELSE", "different names"),
    ]}


def _birth_date() -> dict:
    digits = "strftime(birth_date_{side}, '%Y%m%d')"
    return {"output_column_name": "birth_date", "comparison_levels": [
        _null("birth_date"),
        _level("birth_date_l = birth_date_r", "same birth date"),
        # one edit leaves the year or the day and month as they were
        _level("(year(birth_date_l) = year(birth_date_r) OR (month(birth_date_l) = "
               "month(birth_date_r) AND day(birth_date_l) = day(birth_date_r))) AND "
               f"damerau_levenshtein({digits.format(side='l')}, {digits.format(side='r')}) <= 1",
               "one digit differs, or two are swapped"),
        _level("year(birth_date_l) = year(birth_date_r) AND month(birth_date_l) = "
               "day(birth_date_r) AND day(birth_date_l) = month(birth_date_r)",
               "day and month swapped"),
        _level("ELSE", "different birth dates"),
    ]}


def _email() -> dict:
    # a typo in the user name at the same provider: one letter, as digits tell namesakes
    # apart ('mario.rossi82', 'mario.rossi83'); the length test spares most pairs the edit
    # distance
    typo = ("email_domain_l = email_domain_r AND "
            "abs(length(email_user_l) - length(email_user_r)) <= 1 AND "
            "regexp_replace(email_user_l, '[^0-9]', '', 'g') = "
            "regexp_replace(email_user_r, '[^0-9]', '', 'g') AND "
            "damerau_levenshtein(email_user_l, email_user_r) <= 1")
    return {"output_column_name": "email", "comparison_levels": [
        _null("email_std"),
        _level("email_std_l = email_std_r", "same email"),
        _level(typo, "one letter differs"),
        _level("email_user_l = email_user_r", "same user name, another provider"),
        _level("ELSE", "different emails"),
    ]}


def _phone() -> dict:
    # one edit leaves the first or the last 6 characters as they were: the edit distance is
    # computed for the few pairs that keep one of them
    typo = ("(left(phone_e164_l, 6) = left(phone_e164_r, 6) OR "
            "right(phone_e164_l, 6) = right(phone_e164_r, 6)) AND "
            "damerau_levenshtein(phone_e164_l, phone_e164_r) <= 1")
    return {"output_column_name": "phone", "comparison_levels": [
        _null("phone_e164"),
        _level("phone_e164_l = phone_e164_r", "same phone"),
        _level("phone_tail_l = phone_tail_r", "same last 8 digits"),
        _level(typo, "one digit differs, or two are swapped"),
        _level("ELSE", "different phones"),
    ]}


def _location(present: set[str]) -> dict:
    """Address, postcode and city as one comparison: they say one thing (where a person
    lives), and as three comparisons would count it three times, enough to link two people
    of one household. Its levels allow a typo in each part."""
    parts = [c for c in ("address_std", "postcode_std", "city_std") if c in present]
    # the cheap tests first spare most pairs the string distances (a typo seldom hits the
    # first letter of a city; one edit leaves a postcode's first or last two characters)
    city_alike = ("left(city_std_l, 1) = left(city_std_r, 1) AND "
                  "jaro_winkler_similarity(city_std_l, city_std_r) >= 0.9")
    postcode_typo = ("length(postcode_std_l) = length(postcode_std_r) AND "
                     "(left(postcode_std_l, 2) = left(postcode_std_r, 2) OR "
                     "right(postcode_std_l, 2) = right(postcode_std_r, 2)) AND "
                     "damerau_levenshtein(postcode_std_l, postcode_std_r) <= 1")
    levels = [_null(*parts)]
    if "address_std" in present:
        levels += [
            _level("address_std_l = address_std_r", "same address"),
            # a house number missing on one side is no different number
            _level("coalesce(house_number_l = house_number_r, true) AND "
                   "jaro_winkler_similarity(street_l, street_r) >= 0.9",
                   "same house number, street alike (Jaro-Winkler >= 0.9)")]
    if {"postcode_std", "city_std"} <= present:
        levels.append(_level(f"postcode_std_l = postcode_std_r AND {city_alike}",
                             "same postcode, city alike"))
    if "postcode_std" in present:
        levels.append(_level("postcode_std_l = postcode_std_r", "same postcode"))
    near = [(condition, label) for part, condition, label in (
        ("postcode_std", postcode_typo, "postcode a typo away"),
        ("city_std", city_alike, "city alike (Jaro-Winkler >= 0.9)")) if part in present]
    levels.append(_level(" OR ".join(f"({condition})" for condition, _ in near),
                         ", or ".join(label for _, label in near)))
    levels.append(_level("ELSE", "elsewhere"))
    return {"output_column_name": "location", "comparison_levels": levels}


def comparisons(present: set[str]) -> list[dict]:
    """The model's comparisons (splink comparison dicts) for the fields that hold data.

    Parameters
    ----------
    present
        The columns of ``match_input`` holding data (``name_sorted``, ``email_std``,
        ``phone_e164``, ``birth_date``, ``address_std``, ``postcode_std``, ``city_std`` …).
    """
    made = []
    if "name_sorted" in present:
        made.append(_name())
    if "birth_date" in present:
        made.append(_birth_date())
    if "email_std" in present:
        made.append(_email())
    if "phone_e164" in present:
        made.append(_phone())
    if present & {"address_std", "postcode_std", "city_std"}:
        made.append(_location(present))
    return made


def _present_fields(con: duckdb.DuckDBPyConnection) -> tuple[int, set[str]]:
    """Records in match_input, and the fields that at least two of them have."""
    counts = con.execute(f"SELECT count(*), {', '.join(f'count({c})' for c in _FIELDS)} "
                         f"FROM match_input").fetchall()[0]
    return counts[0], {c for c, n in zip(_FIELDS, counts[1:], strict=True) if n >= 2}


def _block_pairs(con: duckdb.DuckDBPyConnection, rule: BlockingRule) -> int:
    """Candidate pairs a one-column equality rule makes (sum of n(n-1)/2 over its values)."""
    column = rule.columns[0]
    return scalar(con, f"SELECT coalesce(sum(n * (n - 1) // 2), 0) FROM (SELECT count(*) AS n "
                       f"FROM match_input WHERE {column} IS NOT NULL GROUP BY {column})")


def _prior_fallback(records: int) -> float:
    """The prior when no pair is a match by rule: about one match among all the pairs."""
    return 1 / max(records * (records - 1) / 2, 2)


def _train(linker, con: duckdb.DuckDBPyConnection, cfg: RunConfig, present: set[str]) -> int:
    """Estimate the prior, u and m (see the module's docstring); splink keeps them.
    Returns the number of EM sessions run, 0 (and nothing trained) when no training block
    has pairs enough to learn from."""
    blocks = [b for b in TRAINING_BLOCKS
              if set(b.columns) <= present and _block_pairs(con, b) >= MIN_EM_PAIRS]
    if not blocks:
        return 0
    deterministic = [r.condition for r in DETERMINISTIC_RULES if set(r.columns) <= present]
    if deterministic:
        try:
            linker.training.estimate_probability_two_random_records_match(
                deterministic, recall=DETERMINISTIC_RECALL)
        except ValueError:  # the rules find more pairs than the recall allows: a tiny
            pass            # client; splink's default prior (1 in 10,000) stays
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS,
                                                     seed=cfg.identity.seed)
    for block in blocks:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block.condition, estimate_without_term_frequencies=True, max_pairs=EM_MAX_PAIRS)
    return len(blocks)


def _completed(model: dict, records: int) -> dict:
    """The trained model with a value for every parameter, and none below the floor.

    A level never met among the random pairs gets the u of one such pair (a rarer level
    could not have been seen); a level EM never met gets m = u, a weight of 0: no evidence
    either way, rather than splink's defaults. No level weighs less than
    :data:`MIN_LEVEL_WEIGHT`. No pair matched by rule: about one match among all the pairs
    (:func:`_prior_fallback`).
    """
    sampled = min(U_MAX_PAIRS, max(records * (records - 1) / 2, 1))
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            u = level.setdefault("u_probability", 1 / sampled)
            m = level.setdefault("m_probability", u)
            level["m_probability"] = max(m, u * 2 ** MIN_LEVEL_WEIGHT)
    if not model.get("probability_two_random_records_match"):
        model["probability_two_random_records_match"] = _prior_fallback(records)
    return model


def _model_frame(model: dict | None) -> pd.DataFrame:
    """One row per comparison level (m, u, weight), then the prior (see match_model); no
    rows without a model."""
    rows = []
    for comparison in (model or {}).get("comparisons", []):
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        for number, level in enumerate(levels, start=1):
            m, u = level["m_probability"], level["u_probability"]
            rows.append({"comparison": comparison["output_column_name"], "level": number,
                         "label": level["label_for_charts"], "m_probability": m,
                         "u_probability": u, "match_weight": math.log2(m / u)})
    if model:
        prior = model["probability_two_random_records_match"]
        rows.append({"comparison": "prior", "level": None,
                     "label": "two records picked at random are one person",
                     "m_probability": prior, "u_probability": None,
                     "match_weight": math.log2(prior / (1 - prior))})
    columns = ["comparison", "level", "label", "m_probability", "u_probability",
               "match_weight"]
    return pd.DataFrame(rows, columns=columns).astype({
        "comparison": "str", "level": "Int32", "label": "str", "m_probability": "float",
        "u_probability": "Float64", "match_weight": "float"})


def _predictions_view(con: duckdb.DuckDBPyConnection, physical: str | None) -> None:
    """``match_predictions`` (temporary view): the scored pairs of splink's table
    ``physical``, one weight column per comparison of :data:`COMPARISONS` (a name's
    term-frequency adjustment included; NULL when the model has no such comparison).
    Without a model (``physical`` None), no pairs."""
    if physical is None:
        relation = ("(SELECT CAST(NULL AS VARCHAR) AS source_record_id_l, "
                    "CAST(NULL AS VARCHAR) AS source_record_id_r, "
                    "CAST(NULL AS DOUBLE) AS match_probability, "
                    "CAST(NULL AS DOUBLE) AS match_weight, '0' AS match_key WHERE false)")
        columns = set()
    else:
        relation = physical
        columns = {row[0] for row in con.execute(f"DESCRIBE {physical}").fetchall()}
    weights = []
    for name in COMPARISONS:
        if f"mw_{name}" not in columns:
            weights.append(f"CAST(NULL AS DOUBLE) AS mw_{name}")
        elif f"mw_tf_adj_{name}" in columns:
            weights.append(f"mw_{name} + coalesce(mw_tf_adj_{name}, 0) AS mw_{name}")
        else:
            weights.append(f"mw_{name}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW match_predictions AS SELECT source_record_id_l, "
                f"source_record_id_r, match_probability, match_weight, "
                f"CAST(match_key AS INTEGER) AS rule_order, {', '.join(weights)} "
                f"FROM {relation}")


def read_review_decisions(cfg: RunConfig) -> pd.DataFrame:
    """The reviewers' decisions (``identity.review_decisions``), one row per pair.

    The file is a CSV with the columns ``source_record_id_l``, ``source_record_id_r`` and
    ``decision`` (``match`` or ``no_match``; any other column is ignored, so the exported
    ``identity_review.csv`` with its decision column filled in is such a file). Rows with a
    blank decision are skipped; a pair decided twice takes its last decision. The pair's two
    ids may come in either order.

    Returns
    -------
    DataFrame
        source_record_id_l < source_record_id_r, decision; empty when no file is named.

    Raises
    ------
    DataContractError
        The file is missing, lacks a column, or has a decision that is neither ``match`` nor
        ``no_match`` (naming the file and the row).
    """
    columns = ["source_record_id_l", "source_record_id_r", "decision"]
    if not cfg.identity.review_decisions:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    path = cfg.resolve_path(cfg.identity.review_decisions)
    if not Path(path).is_file():
        raise DataContractError(f"identity.review_decisions: no file {path}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise DataContractError(f"{path}: no column(s) {', '.join(missing)}; the review "
                                f"decisions need {', '.join(columns)}")
    raw = raw[columns].apply(lambda column: column.str.strip())
    raw["decision"] = raw["decision"].str.lower()
    raw["row_number"] = range(2, len(raw) + 2)  # the header is row 1
    raw = raw[raw["decision"] != ""]
    wrong = raw[~raw["decision"].isin(["match", "no_match"])]
    if not wrong.empty:
        first = wrong.iloc[0]
        raise DataContractError(f"{path}, row {first['row_number']}: decision "
                                f"'{first['decision']}' is neither 'match' nor 'no_match'")
    pairs = pd.DataFrame({
        "source_record_id_l": raw[["source_record_id_l", "source_record_id_r"]].min(axis=1),
        "source_record_id_r": raw[["source_record_id_l", "source_record_id_r"]].max(axis=1),
        "decision": raw["decision"]})
    pairs = pairs.drop_duplicates(["source_record_id_l", "source_record_id_r"], keep="last")
    return pairs.sort_values(columns[:2]).reset_index(drop=True)


def build_match_pairs(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Train the matching model on ``source_records`` and write ``match_pairs``.

    Reads ``source_records`` (source_record_id and the standardised fields first_name_std,
    last_name_std, name_sorted, email_std, phone_e164, address_std, city_std,
    postcode_std, birth_date: the comparisons are chosen from those holding data) and the
    review decisions file (:func:`read_review_decisions`). One source (duplicates within it)
    and several are matched alike: every record is compared with every other that a
    blocking rule pairs it with.

    Writes ``match_pairs`` (candidate pairs from ``identity.review_threshold``, and every
    pair a reviewer decided, the decision overriding the model), ``match_model``,
    ``match_blocking`` and ``match_weight_bins``. With fewer than two comparisons to make
    (only names, say) no model is trained and only the reviewers' pairs are written.

    Returns
    -------
    int
        Rows of ``match_pairs``.
    """
    require_columns(con, "source_records", ("source_record_id", *_FIELDS))
    # a table, not a view: splink reads it from its scratch database (see _score). Text and
    # counts, in record order: the same on any number of threads (20-38 s on one at 10 M
    # order lines)
    with on_all_cores(con):
        build_table(con, "match_input", {"max_block": cfg.identity.max_block_records},
                    temporary=True)
    records, present = _present_fields(con)
    made = comparisons(present)
    rules = [r for r in BLOCKING_RULES if set(r.columns) <= present]
    write_table(con, "blocking_rules", pd.DataFrame({
        "rule_order": pd.Series(range(len(rules)), dtype="int32"),
        "rule": [r.name for r in rules], "condition": [r.condition for r in rules],
        "reason": [r.reason for r in rules]}), temporary=True)
    write_table(con, "review_decisions", read_review_decisions(cfg), temporary=True)
    con.execute(f"ATTACH ':memory:' AS {_SCRATCH}")
    try:
        # a model needs two comparisons at least: one to block on, one to learn from
        model, predictions = (_score(con, cfg, records, present, made, rules)
                              if len(made) >= 2 and rules else (None, None))
        _predictions_view(con, predictions)
        with on_all_cores(con):  # counts, and rows in an order of unique keys
            build_table(con, "match_blocking", {"all_pairs": records * (records - 1) // 2})
            build_table(con, "match_weight_bins")
            count = build_table(con, "match_pairs", {
                "review_threshold": cfg.identity.review_threshold})
        write_table(con, "match_model", _model_frame(model))
    finally:
        con.unregister("result_df")  # left registered by splink's estimate of the prior
        con.execute(f"DROP VIEW IF EXISTS match_predictions; DETACH {_SCRATCH}; "
                    f"DROP TABLE IF EXISTS match_input; DROP TABLE IF EXISTS blocking_rules; "
                    f"DROP TABLE IF EXISTS review_decisions")
    return count


def _score(con: duckdb.DuckDBPyConnection, cfg: RunConfig, records: int, present: set[str],
           made: list[dict], rules: list[BlockingRule]) -> tuple[dict | None, str | None]:
    """Train the model on ``match_input`` and score the candidate pairs.

    splink keeps its work in tables of the connection's default database: the scratch
    database (in memory) is made the default meanwhile, so that the warehouse file never
    holds them (the work then runs a sixth faster too). Training runs on the connection's
    one thread, scoring on every core (the same result: see :func:`on_all_cores`). Returns
    the completed model and the qualified name of splink's table of scored pairs; (None,
    None) when no training block has pairs enough for EM.
    """
    from splink import DuckDBAPI, Linker, SettingsCreator  # a second to import: only here

    home = scalar(con, "SELECT current_database()")
    con.execute(f"USE {_SCRATCH}")
    try:
        settings = SettingsCreator(
            link_type="dedupe_only", unique_id_column_name="source_record_id",
            comparisons=made, blocking_rules_to_generate_predictions=[
                r.condition for r in rules],
            retain_matching_columns=False, retain_intermediate_calculation_columns=True)
        db_api = DuckDBAPI(connection=con)
        records_sdf = db_api.register("match_input")
        linker = Linker(records_sdf, settings, log_level=_SPLINK_LOG_LEVEL)
        if not _train(linker, con, cfg, present):
            return None, None  # no block had pairs enough to learn m from: too few records
        model = _completed(linker.misc.save_model_to_json(), records)
        linker = Linker(records_sdf, model, log_level=_SPLINK_LOG_LEVEL)
        # Blocking and scoring work pair by pair (joins, then a fixed expression of the
        # pair's two records), with no sum across pairs: the same pairs and weights on any
        # number of threads, unlike training's sums of DOUBLE, which stay on one. The scored
        # pairs' order is the threads' own; every table made from them has its ORDER BY.
        with on_all_cores(con):
            predictions = linker.inference.predict().physical_name
    finally:
        con.execute(f'USE "{home}"')
    return model, f"{_SCRATCH}.main.{predictions}"


def build_identity_review(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> int:
    """Write ``identity_review``: the pairs a person should decide (sql/identity_review.sql).

    A pair is reviewed when the model gave it a match probability from
    ``identity.review_threshold`` up to ``identity.match_threshold``, no reviewer decided it
    yet, and its records ended in different customers (a pair already joined through other
    records needs no decision). Reads ``match_pairs``, ``customer_xref`` (source_record_id,
    customer_id) and ``source_records`` (the standardised fields shown side by side).
    Returns the number of pairs.
    """
    require_tables(con, "match_pairs", "customer_xref", "source_records")
    return build_table(con, "identity_review", {
        "review_threshold": cfg.identity.review_threshold,
        "match_threshold": cfg.identity.match_threshold})


#: Columns of ``identity_review`` holding a personal value, and the privacy role of each.
REVIEW_PII = {f"{role}_{side}": role for role in ("name", "email", "phone", "address",
                                                  "postcode") for side in ("l", "r")}


def review_queue(con: duckdb.DuckDBPyConnection, cfg: RunConfig, mode: str | None = None,
                 limit: int | None = None) -> pd.DataFrame:
    """``identity_review``, most likely matches first, its personal values (the columns of
    :data:`REVIEW_PII`) under a privacy mode: ``keep``, ``mask`` or ``hash``; None means the
    report's (``pii.report``, what a notebook shows). helpers.report exports it under
    ``pii.exports``. ``limit`` keeps the first rows only.
    """
    require_tables(con, "identity_review")
    mode = mode or cfg.pii.report
    columns = ", ".join(f"{pii_expression(REVIEW_PII[c], c, mode, cfg.client)} AS {c}"
                        if c in REVIEW_PII and mode != "keep" else c
                        for c in table("identity_review").column_names)
    con.execute(sql_text("macros"))
    return con.execute(f"SELECT {columns} FROM identity_review ORDER BY match_probability "
                       f"DESC, source_record_id_l, source_record_id_r"
                       + ("" if limit is None else f" LIMIT {int(limit)}")).df()


#: What :func:`evaluate` reports, in order: measure name → what it says.
EVALUATION_MEASURES = {
    "records": "source records in the truth file and in customer_xref",
    "records_without_truth": "source records the truth file does not name (not measured)",
    "true_pairs": "pairs of records of one person",
    "linked_pairs": "pairs of records in one customer",
    "correct_pairs": "pairs of records of one person in one customer",
    "precision": "correct_pairs / linked_pairs",
    "recall": "correct_pairs / true_pairs",
    "f1": "harmonic mean of precision and recall",
    "over_merged_customers": "customers holding records of two or more people",
    "split_people": "people whose records are in two or more customers",
    "name_only_true_pairs": "pairs of one person sharing no field but a name",
    "name_only_linked": "… of which in one customer",
    "name_only_in_review": "… of which in identity_review",
}


def evaluate(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> pd.DataFrame:
    """Pairwise precision, recall and F1 of ``customer_xref`` against the truth file.

    The truth (``identity.truth``: a CSV with columns source, source_key, person_id) says
    which source records are one real person. A *pair* of records is linked when both are in
    one customer, and correct when both are one person: precision is the share of linked
    pairs that are correct, recall the share of true pairs that are linked. Also counted:
    customers that over-merge two people, people split over several customers, and the true
    pairs that share no field but a name (no email, phone, address, postcode, city or birth
    date on both records): no model can tell them from namesakes, and they belong in the
    review queue (sql/match_evaluation.sql).

    Reads ``customer_xref`` (source, customer_key, customer_id), ``source_records``,
    ``record_keys`` and, when present, ``identity_review``.

    Returns
    -------
    DataFrame
        measure, value, meaning; one row per :data:`EVALUATION_MEASURES`.

    Raises
    ------
    DataContractError
        No truth file is named, or it is missing or lacks a column.
    """
    require_tables(con, "customer_xref", "source_records", "record_keys")
    if not cfg.identity.truth:
        raise DataContractError("identity.truth names no file: there is nothing to measure "
                                "the matching against")
    path = cfg.resolve_path(cfg.identity.truth)
    if not Path(path).is_file():
        raise DataContractError(f"identity.truth: no file {path}")
    truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("source", "source_key", "person_id") if c not in truth.columns]
    if missing:
        raise DataContractError(f"{path}: no column(s) {', '.join(missing)}; the truth file "
                                f"needs source, source_key, person_id")
    write_table(con, "truth_records", truth[["source", "source_key", "person_id"]],
                temporary=True)
    if "identity_review" not in table_names(con):
        con.execute("CREATE OR REPLACE TEMP VIEW identity_review AS SELECT "
                    "CAST(NULL AS VARCHAR) AS source_record_id_l, "
                    "CAST(NULL AS VARCHAR) AS source_record_id_r WHERE false")
    try:
        row = query(con, "match_evaluation").df().iloc[0]
    finally:
        con.execute("DROP TABLE truth_records; DROP VIEW IF EXISTS temp.identity_review")
    return pd.DataFrame({"measure": list(EVALUATION_MEASURES),
                         "value": [row[m] for m in EVALUATION_MEASURES],
                         "meaning": list(EVALUATION_MEASURES.values())})
