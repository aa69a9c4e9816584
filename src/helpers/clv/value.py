"""Scoring customers: probability alive, expected purchases and spend, discounted CLV.

The purchase models (BG/NBD ``'bgnbd'``, Pareto/NBD ``'pareto_nbd'``, modified BG/NBD
``'mbgnbd'``) all predict a customer's purchases in the same two factors::

    E[X(t) | x, t_x, T] = P(alive | x, t_x, T) × E[X(t) | alive, x, T]

The second factor depends on the history only through the number of repeat purchases x and
the age T, never through the recency t_x, and it is the only one that needs the
hypergeometric function (BG/NBD, MBG/NBD). Customers share far fewer (x, T) pairs than
histories (1 million simulated customers over three years have about 40,000), so this
module evaluates it once per distinct pair, for all months of the horizon at once, and
multiplies by a closed-form probability alive per customer. The formulas are lifetimes' own
(``conditional_probability_alive``, ``conditional_expected_number_of_purchases_up_to_time``,
``GammaGammaFitter.conditional_expected_average_profit`` and ``customer_lifetime_value``)
and the tests hold them equal to lifetimes to 1e-6 relative.

Parameters are plain: a model name and a :class:`pandas.Series` with lifetimes' parameter
names (:data:`MODEL_PARAMS`, :data:`SPEND_PARAMS`); intervals also take the covariance
matrix of the *logarithms* of the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.polynomial import chebyshev
from scipy.special import hyp2f1
from scipy.stats import norm

from helpers.clv.fitting import PARAMETER_NAMES, PURCHASE_MODELS
from helpers.clv.summary import SUMMARY_COLUMNS
from helpers.config import RunConfig
from helpers.warehouse import require_frame_columns

__all__ = ["DAYS_PER_MONTH", "LIFETIMES_FREQ", "LIFETIMES_MONTH", "MODEL_PARAMS",
           "SPEND_PARAMS", "CLV_COLUMNS", "p_alive", "expected_purchases", "expected_spend",
           "discounted_clv", "score_customers", "parameter_intervals", "clv_intervals",
           "with_dropout_cut", "loyalty_scenarios"]

#: Average days in a calendar month (365.25 / 12): converts the horizon in months to time units.
DAYS_PER_MONTH = 30.4375

#: ``freq`` argument of lifetimes' ``customer_lifetime_value`` for each model time unit. It
#: names the unit T is measured in; lifetimes turns each month of ``time`` into 30 units for
#: 'D' and 4.345 units for 'W' (4.345 weeks = 30.4 days, so 'W' is right for weeks).
LIFETIMES_FREQ = {"day": "D", "week": "W"}

#: The month of lifetimes' ``customer_lifetime_value`` in model time units (its ``factor``):
#: 30 days, or 4.345 weeks. :func:`discounted_clv` steps through the horizon as it does.
LIFETIMES_MONTH = {"day": 30.0, "week": 4.345}

#: Parameter names of each purchase model, in lifetimes' order (helpers.clv.fitting's).
MODEL_PARAMS = {model: PARAMETER_NAMES[model] for model in PURCHASE_MODELS}
#: Parameter names of the Gamma-Gamma spend model.
SPEND_PARAMS = PARAMETER_NAMES["gamma_gamma"]

CLV_COLUMNS = (
    "customer_id", "frequency", "recency", "T", "monetary_value", "p_alive",
    "expected_purchases", "expected_avg_spend", "margin_rate", "clv",
    "expected_service_cost", "clv_net",
)

#: Customers scored together in :func:`clv_intervals`: bounds the customers × draws matrix
#: (10,000 customers × 200 draws = 16 MB).
INTERVAL_CHUNK = 10_000
#: Chebyshev degrees tried, in turn, for the draws' E[X(t) | alive] as a function of age.
CHEBYSHEV_DEGREES = (8, 12, 16, 24, 32, 48, 64)
#: Largest relative error of that interpolation, checked at the estimate, that is accepted.
CHEBYSHEV_TOLERANCE = 1e-7


# --- inputs ----------------------------------------------------------------------------------

def _unpack(model: str, params: pd.Series) -> tuple[float, ...]:
    """The purchase model's parameters as floats in lifetimes' order."""
    if model not in MODEL_PARAMS:
        raise ValueError(f"unknown purchase model '{model}': use one of "
                         f"{', '.join(MODEL_PARAMS)}")
    return _named(params, MODEL_PARAMS[model], model)


def _named(params: pd.Series, names: Sequence[str], model: str) -> tuple[float, ...]:
    missing = [n for n in names if n not in params.index]
    if missing:
        raise ValueError(f"the {model} parameters lack {', '.join(missing)}; "
                         f"they have {', '.join(map(str, params.index))}")
    return tuple(float(params[n]) for n in names)


def _arrays(*values) -> list[np.ndarray]:
    """Float arrays of one common shape (at least one dimension), as lifetimes broadcasts."""
    return np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in values))


def _distinct(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of equal-length 1-D ``columns``, and each row's position among them."""
    frame = pd.DataFrame(dict(enumerate(columns)))
    codes = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
    representative = np.empty(codes.max(initial=-1) + 1, dtype=np.int64)
    representative[codes] = np.arange(len(codes))  # any row of a group: they are equal
    return [column[representative] for column in columns], codes


def _per_distinct(func: Callable[..., np.ndarray], *columns: np.ndarray) -> np.ndarray:
    """``func(*columns)`` computed once per distinct row of ``columns`` (1-D, equal length);
    ``func`` may stack several results on leading axes."""
    distinct, codes = _distinct(*columns)
    return func(*distinct)[..., codes]


# --- the models ------------------------------------------------------------------------------

def _alive_expectation(model: str, theta: Sequence, t, x, T) -> np.ndarray:
    """E[X(t) | alive, x, T]: expected repeat purchases in the next t units of a customer known
    to be alive at T after x repeat purchases (lifetimes' formulas without their P(alive)
    denominator). Arguments broadcast; ``theta`` may hold arrays that broadcast too."""
    if model == "pareto_nbd":
        r, alpha, s, beta = theta
        # E[lambda | alive] times E[(1 - exp(-mu t)) / mu | alive] (Hardie's note 009, (41))
        return ((r + x) * (beta + T) / (alpha + T)
                * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1))
    r, alpha, a, b = theta
    # E[(1 − (1 + p·t/(alpha+T))^-(r+x)) / p] over the dropout probability p of a customer
    # alive at T: p ~ Beta(a, b + x), or Beta(a, b + x + 1) in MBG/NBD, where the first
    # purchase is also a chance to drop out (Wagner & Hoppe 2008)
    first = 1 if model == "mbgnbd" else 0
    big_a, big_b, big_c = r + x, b + x + first, a + b + x - 1 + first
    z = t / (alpha + T + t)
    log_decay = np.log((alpha + T) / (alpha + t + T))  # log(1 − z)
    with np.errstate(divide="ignore"):
        log_hyp = np.log(hyp2f1(big_a, big_b, big_c, z))
    overflow = np.isinf(log_hyp)
    if overflow.any():
        # lifetimes' fallback where the series overflows: Euler's transformation (lifetimes
        # has it for BG/NBD only and returns NaN there for MBG/NBD)
        o_a, o_b, o_c, o_z, o_decay = (np.broadcast_to(v, log_hyp.shape)[overflow]
                                       for v in (big_a, big_b, big_c, z, log_decay))
        log_hyp[overflow] = (np.log(hyp2f1(o_c - o_a, o_c - o_b, o_c, o_z))
                             + (o_c - o_a - o_b) * o_decay)
    return big_c / (a - 1) * (1 - np.exp(log_hyp + (r + x) * log_decay))


def _pareto_log_hyp(theta: Sequence, x, age) -> np.ndarray:
    """log of the hypergeometric term of the Pareto/NBD likelihood's A_0 at age = recency or
    T, less (r+s+x)·log(max(alpha, beta) + age) (Hardie's note 009, (19)-(20), as lifetimes'
    ``_log_A_0``)."""
    r, alpha, s, beta = theta
    rsx = r + s + x
    top = np.maximum(alpha, beta)
    second = np.where(alpha < beta, r + x, s + 1)
    hyp = hyp2f1(rsx, second, rsx + 1, np.abs(alpha - beta) / (top + age))
    return np.log(hyp) - rsx * np.log(top + age)


def _terms_at_T(model: str, theta: Sequence, x, T) -> np.ndarray:
    """The parts of the log odds of having dropped out that depend on (x, T) only.

    BG/NBD and MBG/NBD: the odds are (a / (b + x − 1)) · ((alpha + T) / (alpha + t_x))^(r+x)
    (b + x for MBG/NBD; 0 for a BG/NBD customer without repeat purchases, who cannot have
    dropped out), so the (x, T) part is (r + x)·log(alpha + T) + log(a / (b + x − 1)).
    Pareto/NBD: log(s / (r + s + x)) + (r + x)·log(alpha + T) + s·log(beta + T), and the A_0
    term at T (:func:`_pareto_log_hyp`). Stacked on a first axis; arguments broadcast."""
    if model == "pareto_nbd":
        r, alpha, s, beta = theta
        return np.stack(np.broadcast_arrays(
            np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T),
            _pareto_log_hyp(theta, x, T)))
    r, alpha, a, b = theta
    log_dropout = (np.log(a / (b + x)) if model == "mbgnbd"
                   else np.where(x == 0, -np.inf, np.log(a / (b + np.maximum(x, 1) - 1))))
    return ((r + x) * np.log(alpha + T) + log_dropout)[None]


def _terms_at_recency(model: str, theta: Sequence, x, recency) -> np.ndarray:
    """The parts of the log odds of having dropped out that depend on (x, recency) only:
    (r + x)·log(alpha + t_x), or the Pareto/NBD's A_0 term at t_x. As :func:`_terms_at_T`."""
    if model == "pareto_nbd":
        return _pareto_log_hyp(theta, x, recency)[None]
    r, alpha, _, _ = theta
    return ((r + x) * np.log(alpha + recency))[None]


def _alive(model: str, at_T: np.ndarray, at_recency: np.ndarray) -> np.ndarray:
    """P(alive) from :func:`_terms_at_T` and :func:`_terms_at_recency`."""
    # 1 / (1 + odds of having dropped out); in place, as the bootstrap's arrays are large
    with np.errstate(over="ignore", invalid="ignore"):
        if model == "pareto_nbd":
            (common, at_age), (at_last,) = at_T, at_recency
            # odds = exp(common) · A_0, A_0 = exp(at_last) − exp(at_age) (0 if t_x = T);
            # at_age <= at_last, so an overflow means P(alive) = 0
            odds = np.exp(common + at_last)
            shrink = np.exp(at_age - at_last)
            odds *= np.subtract(1, shrink, out=shrink)
        else:
            odds = np.exp(at_T[0] - at_recency[0])
        odds += 1
        return np.reciprocal(odds, out=odds)


def p_alive(model: str, params: pd.Series, frequency, recency, T) -> np.ndarray:
    """Probability that a customer with this history has not dropped out, at T.

    lifetimes' ``conditional_probability_alive`` of the model, vectorised. In BG/NBD a
    customer can only drop out right after a repeat purchase, so one-time buyers get 1; in
    MBG/NBD also at the first purchase; in Pareto/NBD at any time.

    Parameters
    ----------
    model
        ``'bgnbd'``, ``'pareto_nbd'`` or ``'mbgnbd'``.
    params
        The model's parameters, named as in :data:`MODEL_PARAMS`.
    frequency, recency, T
        Repeat purchases, time of the last purchase and age, in model time units (arrays
        that broadcast).

    Returns
    -------
    numpy.ndarray
    """
    theta = _unpack(model, params)
    x, recency, T = _arrays(frequency, recency, T)
    shape = x.shape
    x, recency, T = x.ravel(), recency.ravel(), T.ravel()
    if model == "pareto_nbd":  # the hypergeometric terms: once per distinct pair
        at_T = _per_distinct(lambda *v: _terms_at_T(model, theta, *v), x, T)
        at_recency = _per_distinct(lambda *v: _terms_at_recency(model, theta, *v), x, recency)
    else:
        at_T = _terms_at_T(model, theta, x, T)
        at_recency = _terms_at_recency(model, theta, x, recency)
    return _alive(model, at_T, at_recency).reshape(shape)


def expected_purchases(model: str, params: pd.Series, t, frequency, recency, T) -> np.ndarray:
    """Expected repeat purchases in the next ``t`` time units, given the customer's history.

    lifetimes' ``conditional_expected_number_of_purchases_up_to_time`` of the model,
    vectorised: P(alive) (:func:`p_alive`) times the expectation of a customer alive at T,
    which is computed once per distinct (t, frequency, T).

    Parameters
    ----------
    model, params
        As :func:`p_alive`.
    t
        Length of the prediction period, in model time units (scalar or array).
    frequency, recency, T
        The histories, as :func:`p_alive`.

    Returns
    -------
    numpy.ndarray
    """
    theta = _unpack(model, params)
    t, x, recency, T = _arrays(t, frequency, recency, T)
    alive = _per_distinct(lambda *v: _alive_expectation(model, theta, *v),
                          t.ravel(), x.ravel(), T.ravel()).reshape(x.shape)
    return alive * p_alive(model, params, x, recency, T)


def expected_spend(params: pd.Series, frequency, monetary_value) -> np.ndarray:
    """Expected spend per purchase (Gamma-Gamma), lifetimes'
    ``conditional_expected_average_profit``: a weighted mean of the customer's own mean spend
    and the population mean v·p/(q−1), the customer's weight p·x/(p·x + q − 1) growing with
    the number x of repeat purchases. One-time buyers (x = 0) get the population mean.

    Parameters
    ----------
    params
        Gamma-Gamma parameters ``p``, ``q``, ``v``.
    frequency, monetary_value
        Repeat purchases and mean spend per repeat purchase day (arrays that broadcast).
    """
    p, q, v = _named(params, SPEND_PARAMS, "gamma_gamma")
    x, m = _arrays(frequency, monetary_value)
    return _spend(_mean_spend(p, q, v), _spend_weight(p, q, x), m)


def _mean_spend(p, q, v):
    return v * p / (q - 1)


def _spend_weight(p, q, x):
    return p * x / (p * x + q - 1)


def _spend(mean, weight, m):
    """(1 − weight)·mean + weight·m, in place on the first temporary."""
    spend = m - mean
    spend *= weight
    spend += mean
    return spend


# --- discounted CLV --------------------------------------------------------------------------

def _months(horizon_months: int, monthly_discount_rate: float,
            time_unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Month ends in model time units and their discount factors, stepped as lifetimes'
    ``_customer_lifetime_value`` steps them (``np.arange(1, time + 1) * factor``)."""
    if time_unit not in LIFETIMES_MONTH:
        raise ValueError(f"time_unit must be one of {', '.join(LIFETIMES_MONTH)}: {time_unit}")
    factor = LIFETIMES_MONTH[time_unit]
    ends = np.arange(1, horizon_months + 1) * factor
    return ends, (1 + monthly_discount_rate) ** -(ends / factor)


def _discounted_alive(model: str, theta: Sequence, x, T,
                      months: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Σ over months of the month's E[X | alive, x, T] discounted to today (broadcasts x, T).

    lifetimes evaluates each month's purchases as E(end) − E(end − month); E(end − month)
    is the previous month's E(end), and E(0) = 0."""
    ends, discount = months
    cumulative = _alive_expectation(model, theta, ends, np.asarray(x)[..., None],
                                    np.asarray(T)[..., None])
    # sums, not matrix products: BLAS threads cost more than these small products
    return np.sum(np.diff(cumulative, axis=-1, prepend=0.0) * discount, axis=-1)


def discounted_clv(model: str, params: pd.Series, spend_params: pd.Series, frequency, recency,
                   T, monetary_value, *, horizon_months: int, monthly_discount_rate: float,
                   time_unit: str) -> np.ndarray:
    """Discounted expected revenue over the horizon: lifetimes' ``customer_lifetime_value``.

    The sum over months m = 1..H of the expected repeat purchases in month m times the
    expected spend per purchase (:func:`expected_spend`), divided by (1 + d)^m. It equals
    ``GammaGammaFitter.customer_lifetime_value(fitter, frequency, recency, T,
    monetary_value, time=H, discount_rate=d, freq=...)`` for the same parameters, including
    its month: 30 days when T is in days (``freq='D'``) and 4.345 weeks when in weeks
    (``freq='W'``), so 12 months cover 360 days or 365.2 days.

    Parameters
    ----------
    model, params
        As :func:`p_alive`.
    spend_params
        Gamma-Gamma parameters ``p``, ``q``, ``v``.
    frequency, recency, T, monetary_value
        The histories (1-D arrays of one length, or scalars).
    horizon_months
        H, whole months.
    monthly_discount_rate
        d.
    time_unit
        ``'day'`` or ``'week'``: the unit of recency and T.

    Returns
    -------
    numpy.ndarray
    """
    x, recency, T, m = (v.ravel() for v in _arrays(frequency, recency, T, monetary_value))
    months = _months(horizon_months, monthly_discount_rate, time_unit)
    _, purchases = _discounted_purchases(model, params, x, recency, T, months)
    return purchases * expected_spend(spend_params, x, m)


def _discounted_purchases(model: str, params: pd.Series, x, recency, T,
                          months: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, ...]:
    """P(alive) and the discounted expected purchases over ``months`` of each customer."""
    theta = _unpack(model, params)
    alive = p_alive(model, params, x, recency, T)
    return alive, alive * _per_distinct(
        lambda *v: _discounted_alive(model, theta, *v, months), x, T)


def _history(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's histories indexed and sorted by customer_id, one row each."""
    require_frame_columns(summary, "summary", SUMMARY_COLUMNS)
    history = summary.set_index("customer_id")[list(SUMMARY_COLUMNS[1:])].sort_index()
    if not history.index.is_unique:
        raise ValueError("summary must have one row per customer_id; duplicated: "
                         f"{history.index[history.index.duplicated()][:5].tolist()}")
    return history.astype(float)


def _per_customer(values: pd.Series | None, customers: pd.Index, default: float,
                  name: str) -> pd.Series:
    """``values`` (indexed by customer_id) aligned to ``customers``; missing/NaN -> default."""
    if values is None:
        return pd.Series(default, index=customers, dtype=float)
    if not values.index.is_unique:
        raise ValueError(f"{name} must have one value per customer_id; "
                         f"duplicated: {values.index[values.index.duplicated()][:5].tolist()}")
    return values.reindex(customers).astype(float).fillna(default)


def _monthly_rate(cfg: RunConfig) -> float:
    return (1 + cfg.clv.annual_discount_rate) ** (1 / 12) - 1


def _clv_kwargs(cfg: RunConfig) -> dict:
    return {"horizon_months": cfg.clv.horizon_months,
            "monthly_discount_rate": _monthly_rate(cfg), "time_unit": cfg.time_unit}


def score_customers(summary: pd.DataFrame, purchase_model: str, purchase_params: pd.Series,
                    spend_params: pd.Series, cfg: RunConfig,
                    margin_rate: pd.Series | None = None,
                    support_cost_per_year: pd.Series | None = None) -> pd.DataFrame:
    """The ``clv`` table: each customer's expected future purchases, spend, and value.

    Over a horizon of ``H = cfg.clv.horizon_months`` months, discounted monthly at
    ``d = (1 + cfg.clv.annual_discount_rate) ** (1/12) - 1``:

    - ``p_alive``: probability the customer has not dropped out (:func:`p_alive`); always 1
      for one-time buyers under BG/NBD, since there a customer can only drop out right after
      a repeat purchase;
    - ``expected_purchases``: expected repeat purchases within H months, a month being
      :data:`DAYS_PER_MONTH` days (:func:`expected_purchases`, conditional on the history);
    - ``expected_avg_spend``: expected value per purchase (Gamma-Gamma,
      :func:`expected_spend`); for one-time buyers the population mean, which is the model's
      answer when nothing is known;
    - ``clv``: :func:`discounted_clv` (equal to lifetimes' ``customer_lifetime_value`` with
      ``time=H`` and ``discount_rate=d``) — the sum over months m = 1..H of the month's
      expected purchases times expected spend, divided by (1+d)**m — times ``margin_rate``:
      discounted expected gross margin. lifetimes' month is 30 days when T is in days (so 12
      months cover 360 days) and 4.345 weeks when in weeks (365 days), slightly shorter than
      the calendar months of ``expected_purchases``;
    - ``expected_service_cost``: (expected_purchases × ``cfg.costs.cost_per_order`` +
      p_alive × support cost per year × H/12) / (1+d)**(H/2), i.e. spread over the horizon
      and discounted as if paid at its middle;
    - ``clv_net`` = clv − expected_service_cost.

    Parameters
    ----------
    summary
        From :func:`rfm_summary`: columns ``customer_id``, ``frequency``, ``recency``, ``T``,
        ``monetary_value``; one row per customer.
    purchase_model, purchase_params
        ``'bgnbd'``, ``'pareto_nbd'`` or ``'mbgnbd'`` and its parameters
        (:data:`MODEL_PARAMS`), e.g. a fitted lifetimes model's ``params_``.
    spend_params
        Gamma-Gamma parameters ``p``, ``q``, ``v``.
    cfg
        Uses ``time_unit``, ``days_per_unit``, ``clv.horizon_months``,
        ``clv.annual_discount_rate``, ``costs.gross_margin_rate``, ``costs.cost_per_order``.
    margin_rate
        Gross margin rate per customer, indexed by customer_id (e.g. from product costs);
        customers absent or NaN get ``cfg.costs.gross_margin_rate``.
    support_cost_per_year
        Support cost per customer per year, indexed by customer_id; absent or NaN means 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``,
        ``p_alive``, ``expected_purchases``, ``expected_avg_spend``, ``margin_rate``, ``clv``,
        ``expected_service_cost``, ``clv_net``; sorted by customer_id.
    """
    history = _history(summary)
    x, recency, T, m = (history[c].to_numpy() for c in SUMMARY_COLUMNS[1:])
    theta = _unpack(purchase_model, purchase_params)
    horizon = cfg.clv.horizon_months
    monthly_rate = _monthly_rate(cfg)
    months = _months(horizon, monthly_rate, cfg.time_unit)

    scores = history.copy()
    alive, discounted = _discounted_purchases(purchase_model, purchase_params, x, recency, T,
                                              months)
    scores["p_alive"] = alive
    horizon_units = horizon * DAYS_PER_MONTH / cfg.days_per_unit
    scores["expected_purchases"] = alive * _per_distinct(
        lambda *v: _alive_expectation(purchase_model, theta, horizon_units, *v), x, T)
    scores["expected_avg_spend"] = expected_spend(spend_params, x, m)
    scores["margin_rate"] = _per_customer(margin_rate, history.index,
                                          cfg.costs.gross_margin_rate, "margin_rate")
    scores["clv"] = discounted * scores["expected_avg_spend"] * scores["margin_rate"]
    support = _per_customer(support_cost_per_year, history.index, 0.0, "support_cost_per_year")
    service_cost = (scores["expected_purchases"] * cfg.costs.cost_per_order
                    + scores["p_alive"] * support * horizon / 12)
    scores["expected_service_cost"] = service_cost / (1 + monthly_rate) ** (horizon / 2)
    scores["clv_net"] = scores["clv"] - scores["expected_service_cost"]
    return scores.reset_index()[list(CLV_COLUMNS)]


# --- uncertainty -----------------------------------------------------------------------------

def _covariance(cov: pd.DataFrame, names: Sequence[str], model: str) -> np.ndarray:
    """The covariance of the log parameters ``names``, checked to be usable."""
    missing = [n for n in names if n not in cov.index or n not in cov.columns]
    if missing:
        raise ValueError(f"the covariance of the {model} parameters has no row or column for "
                         f"{', '.join(missing)}")
    sigma = cov.loc[list(names), list(names)].to_numpy(dtype=float)
    if not np.isfinite(sigma).all() or (np.diag(sigma) < 0).any():
        raise ValueError(f"the covariance of the {model} parameters is not a valid matrix, so "
                         f"their uncertainty is unknown; the fit's information matrix is "
                         f"probably singular: check the fit before asking for intervals")
    return sigma


def parameter_intervals(params: pd.Series, cov: pd.DataFrame, level: float) -> pd.DataFrame:
    """Interval of each parameter from the normal approximation of its logarithm.

    ``exp(log θ ± z·se(log θ))``, z the normal quantile of ``(1 + level) / 2``: positive,
    and asymmetric like the likelihood of a positive parameter.

    Parameters
    ----------
    params
        Parameter values by name.
    cov
        Covariance matrix of the logarithms of ``params`` (index and columns: the names).
    level
        Coverage, e.g. 0.95.

    Returns
    -------
    pandas.DataFrame
        Columns ``param``, ``estimate``, ``low``, ``high``, in the order of ``params``.
    """
    names = list(params.index)
    se = np.sqrt(np.diag(_covariance(cov, names, "model")))
    z = norm.ppf((1 + level) / 2)
    estimate = params.to_numpy(dtype=float)
    return pd.DataFrame({"param": names, "estimate": estimate,
                         "low": estimate * np.exp(-z * se), "high": estimate * np.exp(z * se)})


def _log_normal_draws(params: pd.Series, cov: pd.DataFrame, names: Sequence[str], model: str,
                      draws: int, rng: np.random.Generator) -> np.ndarray:
    """``draws`` × parameters, from the normal distribution of the log parameters."""
    mean = np.log(_named(params, names, model))
    return np.exp(rng.multivariate_normal(mean, _covariance(cov, names, model), size=draws))


def _age_grid(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct x, distinct ages, and the position of each (x, T) pair among them."""
    xs, x_code = np.unique(x, return_inverse=True)
    ages, age_code = np.unique(T, return_inverse=True)
    return xs, ages, x_code, age_code


def _chebyshev_in_age(model: str, theta: Sequence, grid: tuple[np.ndarray, ...], months,
                      degree: int) -> np.ndarray:
    """:func:`_discounted_alive` at each (x, T) pair of ``grid`` (:func:`_age_grid`),
    interpolated in log(alpha + T).

    Computed exactly at ``degree`` Chebyshev ages for each distinct x, then interpolated to
    every distinct age: the function is analytic in log(alpha + T), its singularities well
    off the real axis, so a dozen ages usually give 8 digits (:func:`_interpolation_degree`
    checks)."""
    xs, ages, x_code, age_code = grid
    log_age = np.log(theta[1] + ages)
    middle, half = (log_age[-1] + log_age[0]) / 2, (log_age[-1] - log_age[0]) / 2
    angles = np.pi * (np.arange(degree) + 0.5) / degree
    node_ages = np.exp(middle + half * np.cos(angles)) - theta[1]
    values = _discounted_alive(model, theta, xs[:, None], node_ages[None, :], months)
    coefficients = np.einsum("xk,kj->xj", values,
                             np.cos(np.outer(angles, np.arange(degree))) * (2 / degree))
    coefficients[:, 0] /= 2
    polynomials = chebyshev.chebvander((log_age - middle) / half, degree - 1)
    return np.einsum("pj,pj->p", coefficients[x_code], polynomials[age_code])


def _interpolation_degree(model: str, theta: Sequence, grid: tuple[np.ndarray, ...], months,
                          exact: np.ndarray) -> int | None:
    """The smallest Chebyshev degree that reproduces ``exact`` (the discounted purchases of
    each pair of ``grid`` at the estimate) within :data:`CHEBYSHEV_TOLERANCE`, when it costs
    fewer evaluations than the pairs themselves; None: evaluate every pair."""
    xs, ages, _, _ = grid
    for degree in CHEBYSHEV_DEGREES:
        if len(ages) < 2 or len(xs) * degree >= len(exact):
            return None
        approx = _chebyshev_in_age(model, theta, grid, months, degree)
        with np.errstate(divide="ignore", invalid="ignore"):
            if np.max(np.abs(approx - exact) / np.abs(exact)) <= CHEBYSHEV_TOLERANCE:
                return degree
    return None


def _row_quantiles(values: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """``np.quantile(values, levels, axis=1).T`` (linear interpolation), by sorting each row
    in place: for rows of a few hundred draws, several times faster than partitioning."""
    values.sort(axis=1)
    position = (values.shape[1] - 1) * np.asarray(levels)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, values.shape[1] - 1)
    return values[:, below] + (position - below) * (values[:, above] - values[:, below])


def clv_intervals(summary: pd.DataFrame, model: str, purchase_params: pd.Series,
                  purchase_cov: pd.DataFrame, spend_params: pd.Series, spend_cov: pd.DataFrame,
                  cfg: RunConfig, margin_rate: pd.Series | None = None
                  ) -> tuple[pd.DataFrame, pd.Series]:
    """Intervals for each customer's CLV and for total customer equity (parametric bootstrap).

    Draws ``cfg.clv.bootstrap_draws`` parameter vectors of each model from the normal
    distribution of its log parameters (estimate and covariance from the fit; seed
    ``cfg.clv.seed``; the purchase and spend models are independent), scores every customer's
    CLV (as the ``clv`` column of :func:`score_customers`) under each draw, and takes the
    central ``cfg.clv.interval_level`` percentile interval per customer and for the total.
    The interval reflects the uncertainty of the parameters, not the randomness of a
    customer's future. Spend draws with q ≤ 1 (an infinite mean spend) are left out.

    For speed, each draw's E[purchases | alive] is computed per distinct (frequency, T) and,
    for BG/NBD and MBG/NBD, interpolated in age from a few Chebyshev ages per frequency,
    with a degree checked against the exact values at the estimate; customers are scored
    in chunks, all draws at once.

    Parameters
    ----------
    summary
        Columns ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``.
    model, purchase_params
        As :func:`score_customers`.
    purchase_cov
        Covariance of the log purchase parameters (index and columns: their names).
    spend_params, spend_cov
        Gamma-Gamma ``p``, ``q``, ``v`` and the covariance of their logs.
    cfg
        Uses ``clv.bootstrap_draws``, ``clv.seed``, ``clv.interval_level`` and what
        :func:`score_customers` uses for ``clv``.
    margin_rate
        As :func:`score_customers`.

    Returns
    -------
    per_customer : pandas.DataFrame
        Columns ``customer_id``, ``clv_low``, ``clv_high``; sorted by customer_id.
    total : pandas.Series
        ``estimate`` (total customer equity, the sum of ``clv``), ``low``, ``high`` and
        ``draws`` (the draws used).
    """
    history = _history(summary)
    x, recency, T, m = (history[c].to_numpy() for c in SUMMARY_COLUMNS[1:])
    margin = _per_customer(margin_rate, history.index, cfg.costs.gross_margin_rate,
                           "margin_rate").to_numpy()
    theta = _unpack(model, purchase_params)
    months = _months(cfg.clv.horizon_months, _monthly_rate(cfg), cfg.time_unit)

    rng = np.random.default_rng(cfg.clv.seed)
    purchase_draws = _log_normal_draws(purchase_params, purchase_cov, MODEL_PARAMS[model],
                                       model, cfg.clv.bootstrap_draws, rng)
    spend_draws = _log_normal_draws(spend_params, spend_cov, SPEND_PARAMS, "gamma_gamma",
                                    cfg.clv.bootstrap_draws, rng)
    finite_spend = spend_draws[:, 1] > 1
    if not finite_spend.any():
        raise ValueError("every draw of the Gamma-Gamma parameters has q <= 1, an infinite "
                         "mean spend: the spend model is too uncertain to give intervals")
    purchase_draws, spend_draws = purchase_draws[finite_spend], spend_draws[finite_spend]

    # Everything but the final products is computed per distinct (x, T), (x, t_x) or x, as
    # tables with one column per draw; each chunk of customers gathers its rows of them.
    (pair_x, pair_T), pair = _distinct(x, T)
    (last_x, last_age), last = _distinct(x, recency)
    xs, x_code = np.unique(x, return_inverse=True)
    grid = _age_grid(pair_x, pair_T)
    estimate_pairs = _discounted_alive(model, theta, pair_x, pair_T, months)
    degree = _interpolation_degree(model, theta, grid, months, estimate_pairs)
    discounted = np.stack([
        _discounted_alive(model, draw, pair_x, pair_T, months) if degree is None
        else _chebyshev_in_age(model, draw, grid, months, degree)
        for draw in purchase_draws], axis=1)
    thetas = tuple(purchase_draws.T[:, None, :])
    at_T = _terms_at_T(model, thetas, pair_x[:, None], pair_T[:, None])
    at_recency = _terms_at_recency(model, thetas, last_x[:, None], last_age[:, None])
    p, q, v = spend_draws.T
    mean_spend, spend_weight = _mean_spend(p, q, v), _spend_weight(p, q, xs[:, None])

    estimate = np.sum(p_alive(model, purchase_params, x, recency, T) * estimate_pairs[pair]
                      * expected_spend(spend_params, x, m) * margin)
    totals = np.zeros(len(purchase_draws))
    bounds = np.empty((len(x), 2))
    tail = (1 - cfg.clv.interval_level) / 2
    for start in range(0, len(x), INTERVAL_CHUNK):
        rows = slice(start, start + INTERVAL_CHUNK)
        values = _alive(model, np.take(at_T, pair[rows], axis=1),
                        np.take(at_recency, last[rows], axis=1))
        values *= np.take(discounted, pair[rows], axis=0)
        values *= _spend(mean_spend, np.take(spend_weight, x_code[rows], axis=0),
                         m[rows, None])
        values *= margin[rows, None]
        totals += values.sum(axis=0)
        bounds[rows] = _row_quantiles(values, (tail, 1 - tail))
    per_customer = pd.DataFrame({"customer_id": history.index, "clv_low": bounds[:, 0],
                                 "clv_high": bounds[:, 1]})
    low, high = np.quantile(totals, [tail, 1 - tail])
    total = pd.Series({"estimate": estimate, "low": low, "high": high,
                       "draws": float(len(totals))}, name="total_equity")
    return per_customer, total


# --- the value of loyalty --------------------------------------------------------------------

def with_dropout_cut(model: str, params: pd.Series, cut: float) -> pd.Series:
    """The purchase model's parameters with dropout lowered by the share ``cut``.

    - BG/NBD and MBG/NBD: after each purchase a customer drops out with probability
      p ~ Beta(a, b), of mean a / (a + b). The cut multiplies that mean by (1 − cut) and keeps
      a + b, which sets how much customers differ (the spread of p around its mean), so
      a' = (1 − cut)·a and b' = b + cut·a: every customer keeps their place in the
      distribution, about (1 − cut) times as likely to leave after a purchase.
    - Pareto/NBD: a customer's dropout rate is mu ~ Gamma(s, rate beta). The cut multiplies
      every customer's rate by (1 − cut), which is exactly Gamma(s, rate beta / (1 − cut)).

    Parameters
    ----------
    model, params
        As :func:`p_alive`.
    cut
        Share of dropout removed, in [0, 1): 0.1 lowers dropout by 10%.
    """
    r, alpha, third, fourth = _unpack(model, params)
    if not 0 <= cut < 1:
        raise ValueError(f"a dropout cut must lie in [0, 1): {cut}")
    if model == "pareto_nbd":
        values = (r, alpha, third, fourth / (1 - cut))
    else:
        values = (r, alpha, (1 - cut) * third, fourth + cut * third)
    return pd.Series(values, index=list(MODEL_PARAMS[model]), dtype=float)


def loyalty_scenarios(summary: pd.DataFrame, model: str, purchase_params: pd.Series,
                      spend_params: pd.Series, cfg: RunConfig,
                      margin_rate: pd.Series | None = None) -> pd.DataFrame:
    """Total customer equity now and if dropout were lowered by each of
    ``cfg.clv.retention_steps`` (:func:`with_dropout_cut` says what a cut means per model).

    Each scenario scores every customer's ``clv`` as :func:`score_customers` does, with the
    cut parameters, and sums it: the gain is what the same customers would be worth over the
    same horizon if fewer of them left.

    Parameters
    ----------
    summary
        Columns ``customer_id``, ``frequency``, ``recency``, ``T``, ``monetary_value``.
    model, purchase_params, spend_params, cfg, margin_rate
        As :func:`score_customers`.

    Returns
    -------
    pandas.DataFrame
        Columns ``scenario`` ('now', 'dropout -10%' …), ``dropout_cut``, ``total_equity``,
        ``gain`` (over now) and ``gain_share`` (gain / equity now); one row per scenario,
        'now' first.
    """
    history = _history(summary)
    x, recency, T, m = (history[c].to_numpy() for c in SUMMARY_COLUMNS[1:])
    margin = _per_customer(margin_rate, history.index, cfg.costs.gross_margin_rate,
                           "margin_rate").to_numpy()
    cuts = [0.0, *cfg.clv.retention_steps]
    equity = np.array([
        np.sum(discounted_clv(model, with_dropout_cut(model, purchase_params, cut),
                              spend_params, x, recency, T, m, **_clv_kwargs(cfg)) * margin)
        for cut in cuts])
    return pd.DataFrame({
        "scenario": ["now", *(f"dropout -{cut:.0%}" for cut in cuts[1:])],
        "dropout_cut": cuts, "total_equity": equity, "gain": equity - equity[0],
        "gain_share": (equity - equity[0]) / equity[0]})
