"""Fitting the BTYD purchase models and the Gamma-Gamma spend model: seeded, weighted, robust.

The models and their likelihoods are lifetimes' (``BetaGeoFitter``, ``ParetoNBDFitter``,
``ModifiedBetaGeoFitter``, ``GammaGammaFitter``); the kit adds how they are fitted:

* on the unique rows of sufficient statistics, with the number of customers sharing each row
  as its weight (the log-likelihood is a sum over customers, so equal histories add equal
  terms) — the same estimates as a fit on every customer, far faster;
* from ``clv.fit_starts`` seeded starting points, keeping the best likelihood and reporting
  how far apart the starts ended;
* judged converged by how far the estimates are from the maximum, measured in standard errors,
  not by the optimiser's flag (lifetimes gives up on fits whose gradient is 1e-6, its issue
  #396); a fit that truly fails is retried with Nelder-Mead, then with a small and growing
  penalizer, and ``ModelFit.how`` says in a sentence what was done;
* with the covariance of the log parameters from the Hessian of the total log-likelihood, so
  that intervals can be drawn (lifetimes' own ``variance_matrix_`` is wrong off the diagonal).

Like lifetimes, the optimisation runs on time rescaled so the oldest customer has T = 1 (and,
for Gamma-Gamma, on spend rescaled to a mean of 1): the starting points then suit any time
unit or currency, and in log parameters the rescaling only shifts log alpha (log beta, log v),
so the Hessian and the covariance are those of the caller's units.

References: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way" (BG/NBD);
Schmittlein, Morrison & Colombo (1987) and Fader & Hardie (2005), "A Note on Deriving the
Pareto/NBD Model" (Pareto/NBD); Batislam, Denizel & Filiztekin (2007) (MBG/NBD); Fader, Hardie
& Lee (2005), "RFM and CLV" and Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary
Value" (Gamma-Gamma).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import autograd
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.fitters import BaseFitter
from lifetimes.utils import _check_inputs
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

from helpers.config import RunConfig
from helpers.errors import TooLittleDataError
from helpers.warehouse import require_frame_columns

__all__ = ["CONVERGENCE_TOLERANCE", "INDEPENDENCE_WARNING_CORRELATION", "MIN_CUSTOMERS",
           "MIN_REPEAT_CUSTOMERS", "MODEL_NAMES", "MULTISTART_SAMPLE", "PARAMETER_NAMES",
           "PENALIZER_LADDER", "PURCHASE_MODELS", "FITTERS", "ModelFit", "fit_bgnbd",
           "fit_gamma_gamma",
           "fit_purchase_model", "fit_spend_model", "frequency_monetary_correlation",
           "pareto_nbd_log_likelihood", "repeat_customers"]

logger = logging.getLogger(__name__)

#: |Pearson r| between frequency and spend among repeat customers above which the Gamma-Gamma
#: independence assumption is reported as doubtful (FHL 2005 found 0.11 on CDNOW).
INDEPENDENCE_WARNING_CORRELATION = 0.3

#: Fewest customers with a purchase, and fewest of them with a repeat purchase, the models are
#: fitted on. Below that the parameters are not identified: lifetimes fails with a singular
#: matrix or returns values that mean nothing, so the run stops and says so instead.
MIN_CUSTOMERS = 20
MIN_REPEAT_CUSTOMERS = 10

PURCHASE_MODELS = ("bgnbd", "pareto_nbd", "mbgnbd")
MODEL_NAMES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "mbgnbd": "MBG/NBD",
               "gamma_gamma": "Gamma-Gamma"}
#: lifetimes' parameter names, in the order of its likelihoods.
PARAMETER_NAMES = {"bgnbd": ("r", "alpha", "a", "b"), "pareto_nbd": ("r", "alpha", "s", "beta"),
                   "mbgnbd": ("r", "alpha", "a", "b"), "gamma_gamma": ("p", "q", "v")}
#: lifetimes' fitter class of each model.
FITTERS: dict[str, type[BaseFitter]] = {
    "bgnbd": BetaGeoFitter, "pareto_nbd": ParetoNBDFitter, "mbgnbd": ModifiedBetaGeoFitter,
    "gamma_gamma": GammaGammaFitter}
#: Parameters in units of the rescaled data (time, or money for v): they scale back after the fit.
_SCALE_PARAMETERS = {"bgnbd": ("alpha",), "pareto_nbd": ("alpha", "beta"), "mbgnbd": ("alpha",),
                     "gamma_gamma": ("v",)}

#: A fit is accepted when one Newton step would move the estimates by at most this many
#: standard errors (sqrt(g' H^-1 g) on the total log-likelihood). At 1e-3 the numerical error is
#: a thousandth of the sampling error and the log-likelihood is within 1e-6 of its maximum,
#: whatever the optimiser's own flag says.
CONVERGENCE_TOLERANCE = 1e-3
#: Above this many customers the starting points are explored on a seeded random sample of this
#: size and only the best one is refined on all customers: the basins of the likelihood show on a
#: sample, and each start on a million customers would cost seconds.
MULTISTART_SAMPLE = 20_000
#: Penalizers (lifetimes' L2 penalty on the rescaled parameters, added to the mean negative
#: log-likelihood per customer) tried in turn when no start converges without one.
PENALIZER_LADDER = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
#: Log parameters on the rescaled data beyond +-this (a factor of 1e5) are taken as running off
#: to 0 or infinity, not as an estimate. It happens when the data show no spread between
#: customers in a trait: a Beta(a, b) or Gamma(shape, rate) then collapses to its mean with both
#: parameters growing without limit (lifetimes' BG/NBD stops there with "precision loss").
_LOG_PARAMETER_LIMIT = float(np.log(1e5))
#: In a fit that broke down, parameters beyond a factor of 100 are named as running off.
_RUNAWAY_HINT = float(np.log(100))
#: BFGS's gradient tolerance on the mean negative log-likelihood per customer; the Newton
#: steps that follow finish the job, so this need not be tight.
_BFGS_GTOL = 1e-6
_NEWTON_STEPS = 6
#: Finite-difference steps in log parameters for the Pareto/NBD likelihood (scipy's hyp2f1 has
#: no derivative in its parameters): about eps^(1/3) for gradients, eps^(1/4) for Hessians.
_GRADIENT_STEP = 1e-5
_HESSIAN_STEP = 1e-4


@dataclass(frozen=True, eq=False)
class ModelFit:
    """A fitted model with what a statistician needs to judge and use it.

    Attributes
    ----------
    model
        'bgnbd', 'pareto_nbd', 'mbgnbd' or 'gamma_gamma'.
    params
        Estimates in the caller's time unit and currency, lifetimes' names (r, alpha, a, b /
        r, alpha, s, beta / p, q, v).
    covariance
        Covariance of the log parameters (index and columns the parameter names): the inverse
        Hessian of the total negative log-likelihood (penalized if ``penalizer`` > 0) at the
        estimates (taken before the last Newton step, within 1e-3 standard errors of them).
    standard_errors
        Of ``params``, by the delta method: params * sqrt(diag(covariance)).
    log_likelihood
        Total over customers, unpenalized, in the caller's units.
    n_customers, n_params
        Customers fitted on (repeat customers for Gamma-Gamma) and parameters estimated.
    bic
        n_params * ln(n_customers) - 2 * log_likelihood.
    starts
        Starting points tried.
    log_likelihood_spread
        Best minus worst log-likelihood among the starts that converged (on the sample the
        starts ran on, see ``how``); 0 with one start.
    penalizer
        The penalizer in the final fit (0 unless ``clv.penalizer_coef`` or the retries set one).
    how
        A plain sentence on how the fit went.
    fitter
        The lifetimes fitter carrying ``params_``; its predictions use only ``params_``.
    """

    model: str
    params: pd.Series
    covariance: pd.DataFrame
    standard_errors: pd.Series
    log_likelihood: float
    n_customers: int
    n_params: int
    bic: float
    starts: int
    log_likelihood_spread: float
    penalizer: float
    how: str
    fitter: BaseFitter


# --- the likelihoods ---------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Data:
    """Unique rows of sufficient statistics and their weights (customers per row).

    ``columns`` are (frequency, recency, T) or, for Gamma-Gamma, (frequency, monetary_value),
    multiplied by ``scale``. ``pair_*`` serve the Pareto/NBD likelihood: its hypergeometric terms
    depend on (frequency, recency) and on (frequency, T) separately, and there are far fewer
    distinct pairs than rows.
    """

    model: str
    columns: tuple[np.ndarray, ...]
    weights: np.ndarray
    scale: float
    pair_frequency: np.ndarray | None = None
    pair_time: np.ndarray | None = None
    recency_pair: np.ndarray | None = None
    age_pair: np.ndarray | None = None

    @property
    def n_customers(self) -> float:
        return float(self.weights.sum())

    def rescaled(self, scale: float) -> _Data:
        """The same rows with the time (or money) columns multiplied by ``scale``."""
        first, *rest = self.columns
        pairs = self.pair_time * scale if self.pair_time is not None else None
        return _Data(self.model, (first, *(c * scale for c in rest)), self.weights,
                     self.scale * scale, self.pair_frequency, pairs, self.recency_pair,
                     self.age_pair)

    def subsample(self, rng: np.random.Generator, size: int) -> _Data:
        """``size`` customers drawn without replacement, as weights on the same rows."""
        weights = rng.multivariate_hypergeometric(self.weights.astype(np.int64), size)
        keep = weights > 0
        if self.model != "pareto_nbd":
            return _Data(self.model, tuple(c[keep] for c in self.columns),
                         weights[keep].astype(float), self.scale)
        return _pareto_data(tuple(c[keep] for c in self.columns), weights[keep].astype(float),
                            self.scale)


def _pareto_data(columns: tuple[np.ndarray, ...], weights: np.ndarray, scale: float) -> _Data:
    frequency, recency, age = columns
    pair_frequency = np.concatenate([frequency, frequency])
    pair_time = np.concatenate([recency, age])
    order = np.lexsort((pair_time, pair_frequency))
    sorted_frequency, sorted_time = pair_frequency[order], pair_time[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (np.diff(sorted_frequency) != 0) | (np.diff(sorted_time) != 0)
    index = np.empty(len(order), dtype=np.int64)
    index[order] = np.cumsum(first) - 1
    return _Data("pareto_nbd", columns, weights, scale, sorted_frequency[first],
                 sorted_time[first], index[:len(frequency)], index[len(frequency):])


def pareto_nbd_log_likelihood(params: Sequence[float], frequency: np.ndarray,
                              recency: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Each customer's Pareto/NBD log-likelihood, as lifetimes'
    ``ParetoNBDFitter._conditional_log_likelihood`` (Fader & Hardie's note 009, eq. 18), with
    the hypergeometric terms evaluated once per distinct (frequency, recency) and
    (frequency, T) pair.

    Parameters
    ----------
    params
        r, alpha, s, beta.
    frequency, recency, T
        Arrays of the customers' histories, in the time unit of alpha and beta.

    Returns
    -------
    numpy.ndarray
        One log-likelihood per customer.
    """
    columns = tuple(np.asarray(c, dtype=float) for c in (frequency, recency, T))
    data = _pareto_data(columns, np.ones(len(columns[0])), 1.0)
    return _pareto_log_likelihood(np.asarray(params, dtype=float), data)


def _pareto_log_likelihood(params: np.ndarray, data: _Data) -> np.ndarray:
    r, alpha, s, beta = params
    x, _, age = data.columns
    # A_0 = F(x, recency) - F(x, T), F(x, u) = 2F1(r+s+x, b; r+s+x+1; |alpha-beta|/(max+u)) /
    # (max+u)^(r+s+x), with b = r+x if alpha < beta else s+1 (lifetimes' _log_A_0).
    low, high = min(alpha, beta), max(alpha, beta)
    pair_rsx = r + s + data.pair_frequency
    second = r + data.pair_frequency if alpha < beta else s + 1.0
    log_f = (np.log(hyp2f1(pair_rsx, second, pair_rsx + 1.0,
                           (high - low) / (high + data.pair_time)))
             - pair_rsx * np.log(high + data.pair_time))
    log_f_recency, log_f_age = log_f[data.recency_pair], log_f[data.age_pair]
    with np.errstate(divide="ignore"):  # recency = T: A_0 = 0, its log -inf
        log_a0 = log_f_recency + np.log1p(-np.exp(np.minimum(log_f_age - log_f_recency, 0.0)))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = np.logaddexp(-(r + x) * np.log(alpha + age) - s * np.log(beta + age),
                      np.log(s) + log_a0 - np.log(r + s + x))
    return a1 + a2


def _objective(data: _Data, penalizer: float) -> Callable[[np.ndarray], float]:
    """Mean negative log-likelihood per customer plus the penalty, of the log parameters."""
    if data.model == "pareto_nbd":
        def pareto(log_params: np.ndarray) -> float:
            params = np.exp(log_params)
            with np.errstate(all="ignore"):
                log_likelihood = _pareto_log_likelihood(params, data)
            return (-float(np.sum(data.weights * log_likelihood)) / data.n_customers
                    + penalizer * float(np.sum(params ** 2)))
        return pareto
    static = FITTERS[data.model]._negative_log_likelihood

    def lifetimes_likelihood(log_params: np.ndarray) -> float:
        return static(log_params, *data.columns, data.weights, penalizer)
    return lifetimes_likelihood


@dataclass(frozen=True)
class _Derivatives:
    value_and_gradient: Callable[[np.ndarray], tuple[float, np.ndarray]]
    hessian: Callable[[np.ndarray], np.ndarray]


def _derivatives(data: _Data, objective: Callable) -> _Derivatives:
    """Exact gradients by autograd (lifetimes' likelihoods are written for it) and Hessians as
    their central differences (2k gradients: on a million customers several times faster than
    autograd's second pass through the polygamma function); central differences of the value
    for the Pareto/NBD, whose hyp2f1 has no derivative in its parameters."""
    if data.model != "pareto_nbd":
        value_and_gradient = autograd.value_and_grad(objective)

        def hessian_from_gradient(x: np.ndarray) -> np.ndarray:
            steps = np.eye(len(x)) * _GRADIENT_STEP
            columns = [value_and_gradient(x + h)[1] - value_and_gradient(x - h)[1]
                       for h in steps]
            result = np.array(columns) / (2 * _GRADIENT_STEP)
            return (result + result.T) / 2

        return _Derivatives(value_and_gradient, hessian_from_gradient)

    def value_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        steps = np.eye(len(x)) * _GRADIENT_STEP
        gradient = np.array([objective(x + h) - objective(x - h) for h in steps])
        return objective(x), gradient / (2 * _GRADIENT_STEP)

    def hessian(x: np.ndarray) -> np.ndarray:
        k, h = len(x), _HESSIAN_STEP
        steps = np.eye(k) * h
        centre = objective(x)
        result = np.empty((k, k))
        for i in range(k):
            result[i, i] = (objective(x + steps[i]) - 2 * centre + objective(x - steps[i])) / h**2
            for j in range(i):
                result[i, j] = result[j, i] = (
                    objective(x + steps[i] + steps[j]) - objective(x + steps[i] - steps[j])
                    - objective(x - steps[i] + steps[j]) + objective(x - steps[i] - steps[j])
                ) / (4 * h**2)
        return result

    return _Derivatives(value_and_gradient, hessian)


# --- one start, many starts --------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Attempt:
    """The outcome of one start: ``accepted`` when the estimates are a maximum (positive
    definite Hessian) within :data:`CONVERGENCE_TOLERANCE` standard errors; ``broke_down`` when
    not and the parameters ran off or the likelihood or its derivatives stopped being finite.
    ``hessian`` is that of the objective (mean per customer) at ``x``."""

    x: np.ndarray
    value: float
    accepted: bool
    broke_down: bool
    optimiser_success: bool
    optimiser_message: str
    stop_gradient: float
    distance: float
    hessian: np.ndarray | None


def _newton_step(gradient: np.ndarray, hessian: np.ndarray,
                 n_customers: float) -> tuple[float, np.ndarray | None]:
    """The Newton step and its length in standard errors, sqrt(g' H^-1 g) on the total
    log-likelihood; (inf, None) when the Hessian is not positive definite (not a maximum, or a
    direction the data do not bound)."""
    if not (np.all(np.isfinite(gradient)) and np.all(np.isfinite(hessian))):
        return np.inf, None
    try:
        lower = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return np.inf, None
    step = np.linalg.solve(lower.T, np.linalg.solve(lower, gradient))
    # mean objective: total gradient n*g, total Hessian n*H, so g_tot' H_tot^-1 g_tot = n g'H^-1 g
    return float(np.sqrt(max(n_customers * gradient @ step, 0.0))), step


class _Guard:
    """The objective as the optimisers see it: +inf where the likelihood is not a number
    (scipy's hyp2f1 gives NaN far out), so that a line search backs off instead of wandering;
    ``met_non_finite`` remembers that it happened."""

    def __init__(self, objective: Callable, derivatives: _Derivatives) -> None:
        self.objective, self.derivatives, self.met_non_finite = objective, derivatives, False

    def value(self, x: np.ndarray) -> float:
        value = self.objective(x)
        if np.isfinite(value):
            return value
        self.met_non_finite = True
        return np.inf

    def value_and_gradient(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = self.derivatives.value_and_gradient(x)
        if np.isfinite(value) and np.all(np.isfinite(gradient)):
            return value, gradient
        self.met_non_finite = True
        return np.inf, np.zeros_like(x)


def _stop_if_running_off(intermediate_result) -> None:
    """Stop an optimiser whose parameters run off (see :data:`_LOG_PARAMETER_LIMIT`): it will
    not come back, and far out each evaluation gets slow."""
    if not np.all(np.abs(intermediate_result.x) < _LOG_PARAMETER_LIMIT + 1):
        raise StopIteration


def _descend(objective: Callable, x: np.ndarray, value: float, step: np.ndarray
             ) -> np.ndarray | None:
    """``x - step``, halved up to three times until the objective falls; None if it never does."""
    for fraction in (1.0, 0.5, 0.25, 0.125):
        if objective(x - fraction * step) < value:
            return x - fraction * step
    return None


def _attempt(data: _Data, penalizer: float, start: np.ndarray, nelder_mead: bool = False,
             metric: np.ndarray | None = None) -> _Attempt:
    """From ``start``: BFGS (after Nelder-Mead if asked) or, given ``metric`` (a Hessian of the
    objective near the optimum, e.g. from a sample), quasi-Newton steps with that fixed
    matrix; then Newton steps with the Hessian until within tolerance of the maximum."""
    objective = _objective(data, penalizer)
    derivatives = _derivatives(data, objective)
    guard = _Guard(objective, derivatives)
    n = data.n_customers
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x, success, message, stop_gradient = start, True, "", 0.0
        if metric is not None:
            for _ in range(_NEWTON_STEPS):
                value, gradient = derivatives.value_and_gradient(x)
                distance, step = _newton_step(gradient, metric, n)
                if step is None or distance <= CONVERGENCE_TOLERANCE / 10:
                    break
                moved = _descend(objective, x, value, step)
                if moved is None:
                    break
                x = moved
        else:
            if nelder_mead:
                x = minimize(guard.value, x, method="Nelder-Mead",
                             callback=_stop_if_running_off,
                             options={"maxiter": 1000, "xatol": 1e-8, "fatol": 1e-12}).x
            result = minimize(guard.value_and_gradient, x, jac=True, method="BFGS",
                              callback=_stop_if_running_off,
                              options={"gtol": _BFGS_GTOL, "maxiter": 1000})
            x, success, message = result.x, bool(result.success), str(result.message)
            stop_gradient = (float(np.max(np.abs(result.jac)))
                             if np.all(np.isfinite(result.jac)) else np.inf)
        distance, hessian = np.inf, None
        for _ in range(_NEWTON_STEPS):
            if not np.all(np.abs(x) < _LOG_PARAMETER_LIMIT):
                break
            value, gradient = derivatives.value_and_gradient(x)
            hessian = derivatives.hessian(x)
            distance, step = _newton_step(gradient, hessian, n)
            if step is None:
                break
            if distance <= CONVERGENCE_TOLERANCE:
                # one last step with this Hessian: Newton's quadratic convergence takes the
                # estimates from within 1e-3 standard errors to about 1e-6 of the maximum
                if objective(x - step) <= value:
                    x = x - step
                break
            moved = _descend(objective, x, value, step)
            if moved is None:
                break
            x = moved
        value = objective(x)
    inside = bool(np.all(np.abs(x) < _LOG_PARAMETER_LIMIT))
    accepted = bool(distance <= CONVERGENCE_TOLERANCE and np.isfinite(value) and inside)
    computable = bool(not guard.met_non_finite and np.isfinite(value)
                      and np.isfinite(stop_gradient) and hessian is not None
                      and np.all(np.isfinite(hessian)))
    return _Attempt(x, float(value), accepted, not accepted and not (inside and computable),
                    success, message, stop_gradient, distance, hessian)


@dataclass(frozen=True)
class _Search:
    """The accepted best start and the sentence fragments saying how it was found."""

    best: _Attempt
    penalizer: float
    spread: float
    how: list[str]


def _ran_off_phrase(ran_off: dict[str, str], names: Sequence[str]) -> str:
    """'a and b grew without limit' or 'r shrank towards 0, b grew without limit'."""
    by_direction: dict[str, list[str]] = {}
    for name in names:
        if name in ran_off:
            by_direction.setdefault(ran_off[name], []).append(name)
    return ", ".join(f"{_and(group)} {direction}" for direction, group in by_direction.items())


def _and(words: Sequence[str]) -> str:
    """'p', 'p and q', 'p, q and v'."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _searched(data: _Data, attempts: list[_Attempt], penalizer: float,
              notes: list[str]) -> _Search | None:
    """The best accepted attempt with the sentences on how the search went; None if none."""
    accepted = [a for a in attempts if a.accepted]
    if not accepted:
        return None
    best = min(accepted, key=lambda a: a.value)
    spread = data.n_customers * (max(a.value for a in accepted) - best.value)
    if len(attempts) == 1:
        agreement = ""
    elif spread < 1e-3:
        agreement = " (all to the same log-likelihood, within 0.001)"
    else:
        agreement = f" (log-likelihoods up to {spread:.3g} apart; the best was kept)"
    how = [f"converged from {len(accepted)} of {len(attempts)} starting points{agreement}"]
    short = [a for a in accepted if not a.optimiser_success]
    if short:
        worst = max(short, key=lambda a: a.stop_gradient)
        how.append(f"BFGS stopped short from {len(short)} of them, at a gradient up to "
                   f"{worst.stop_gradient:.1g} (scipy: '{worst.optimiser_message}'), which is "
                   f"converged in substance: Newton steps put the estimates within "
                   f"{max(a.distance for a in short):.1g} standard errors of the maximum, so "
                   f"they were accepted")
    return _Search(best, penalizer, spread, how + notes)


def _note_runaways(runaways: dict[str, str], attempts: list[_Attempt],
                   names: Sequence[str]) -> None:
    """Record the parameters that ran far out in attempts that broke down."""
    for attempt in attempts:
        if attempt.broke_down:
            runaways.update((n, "grew without limit" if v > 0 else "shrank towards 0")
                            for n, v in zip(names, attempt.x, strict=True)
                            if abs(v) > _RUNAWAY_HINT)


def _search(data: _Data, starts: list[np.ndarray], base_penalizer: float,
            model: str) -> _Search:
    """Every start through the retry ladder, stopping at the first rung where some start is
    accepted: BFGS; then Nelder-Mead and BFGS from the starts where BFGS failed without
    breaking down (where it ran off or the likelihood stopped being computable, Nelder-Mead
    runs off too); then BFGS with each larger penalizer of :data:`PENALIZER_LADDER`, which
    holds what ran off at finite values."""
    names = PARAMETER_NAMES[model]
    configured = ([f"with the penalizer of {base_penalizer:g} set in clv.penalizer_coef"]
                  if base_penalizer > 0 else [])
    attempts = [_attempt(data, base_penalizer, start) for start in starts]
    search = _searched(data, attempts, base_penalizer, configured)
    if search is not None:
        return search
    runaways: dict[str, str] = {}
    _note_runaways(runaways, attempts, names)
    retry = [start for start, a in zip(starts, attempts, strict=True) if not a.broke_down]
    if retry:
        attempts = [_attempt(data, base_penalizer, start, nelder_mead=True) for start in retry]
        search = _searched(data, attempts, base_penalizer, configured + [
            f"BFGS alone converged from none, so Nelder-Mead was run first from the "
            f"{len(retry)} starting points where BFGS had failed without breaking down"])
        if search is not None:
            return search
        _note_runaways(runaways, attempts, names)
    for penalizer in (p for p in PENALIZER_LADDER if p > base_penalizer):
        attempts = [_attempt(data, penalizer, start) for start in starts]
        why = (f" ({_ran_off_phrase(runaways, names)}: the data show too little difference "
               f"between customers in that trait to estimate its spread)" if runaways else "")
        search = _searched(data, attempts, penalizer, [
            f"no start converged without a penalty{', even after Nelder-Mead' if retry else ''}"
            f"{why}, so a penalizer of {penalizer:g} on the rescaled parameters was used; it "
            f"holds the estimates at finite values"])
        if search is not None:
            return search
        _note_runaways(runaways, attempts, names)
    raise TooLittleDataError(
        f"the {MODEL_NAMES[model]} model could not be fitted to these "
        f"{data.n_customers:,.0f} customers: from {len(starts)} starting points, with BFGS, "
        f"Nelder-Mead and penalizers up to {PENALIZER_LADDER[-1]:g}, no fit reached a maximum "
        f"of the likelihood. Their purchase histories are too few or too alike to tell the "
        f"parameters apart; check the as-of date and the transaction sources, or choose "
        f"another model in clv.purchase_models")


def _starts(n_params: int, cfg: RunConfig) -> list[np.ndarray]:
    """``clv.fit_starts`` starting points in log parameters of the rescaled data: all
    parameters 1 first, then seeded draws from a standard normal (0.14 to 7 for 95% of them)."""
    rng = np.random.default_rng(cfg.clv.seed)
    return [np.zeros(n_params)] + [rng.normal(0.0, 1.0, n_params)
                                   for _ in range(cfg.clv.fit_starts - 1)]


def _fit(data: _Data, cfg: RunConfig) -> tuple[_Search, np.ndarray]:
    """The search (its starts on a sample for large data); returns it and the Hessian of the
    total objective at the best estimates: of the negative log-likelihood, or with a penalizer
    of the penalized one (the posterior's curvature if the penalty is read as a prior; the
    unpenalized curvature can vanish where a penalizer was needed)."""
    model = data.model
    starts = _starts(len(PARAMETER_NAMES[model]), cfg)
    if data.n_customers <= MULTISTART_SAMPLE:
        search = _search(data, starts, cfg.clv.penalizer_coef, model)
    else:
        sample = data.subsample(np.random.default_rng([cfg.clv.seed, 1]), MULTISTART_SAMPLE)
        on_sample = _search(sample, starts, cfg.clv.penalizer_coef, model)
        # the sample's Hessian (per customer) is within a few percent of the full data's, so
        # steps with it reach the full maximum in a few gradients; BFGS and the ladder if not
        refined = _attempt(data, on_sample.penalizer, on_sample.best.x,
                           metric=on_sample.best.hessian)
        how = on_sample.how + [f"the starts ran on a random {MULTISTART_SAMPLE:,} of the "
                               f"{data.n_customers:,.0f} customers and the best was then "
                               f"refined on all of them"]
        if refined.accepted:
            search = _Search(refined, on_sample.penalizer, on_sample.spread, how)
        else:
            again = _search(data, [on_sample.best.x], on_sample.penalizer, model)
            search = _Search(again.best, again.penalizer, on_sample.spread,
                             how + again.how[1:])
    return search, data.n_customers * search.best.hessian


# --- building the result -----------------------------------------------------------------------

def _unique_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, ...]:
    """The distinct rows of ``columns`` (sorted) and, last, how many customers share each."""
    counts = frame.groupby(list(columns), sort=True).size()
    rows = counts.index.to_frame(index=False)
    return (*(rows[c].to_numpy(dtype=float) for c in columns), counts.to_numpy(dtype=float))


def _model_fit(model: str, data: _Data, cfg: RunConfig, original_columns: Sequence[str]
               ) -> ModelFit:
    """Fit ``data`` (unique rows, caller's units) and package the result."""
    names = PARAMETER_NAMES[model]
    label = MODEL_NAMES[model]
    # time rescaled so the oldest customer has T = 1, as lifetimes does; money to mean 1
    scale = (1.0 / data.columns[2].max() if model != "gamma_gamma"
             else data.n_customers / float(np.sum(data.weights * data.columns[1])))
    scaled = data.rescaled(scale)
    try:
        search, hessian = _fit(scaled, cfg)
        covariance = np.linalg.inv(hessian)
        np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError as exc:
        raise TooLittleDataError(
            f"the {label} model cannot be estimated from these {data.n_customers:,.0f} "
            f"customers: their purchase histories are too alike or too few to tell its "
            f"parameters apart ({exc})") from exc

    log_params = search.best.x - np.array([np.log(scale) if n in _SCALE_PARAMETERS[model]
                                           else 0.0 for n in names])
    params = pd.Series(np.exp(log_params), index=list(names))
    log_likelihood = -data.n_customers * _objective(data, 0.0)(log_params)
    covariance_frame = pd.DataFrame(covariance, index=list(names), columns=list(names))
    standard_errors = params * np.sqrt(np.diag(covariance))

    fitter = FITTERS[model](penalizer_coef=search.penalizer)
    fitter.params_ = params
    fitter.data = pd.DataFrame(dict(zip([*original_columns, "weights"],
                                        [*data.columns, data.weights], strict=True)))
    # lifetimes' own attributes: the variance of the raw parameters (delta method, correct off
    # the diagonal) so that ``fitter.summary`` is right, and the minimised value in lifetimes'
    # scaling (time rescaled to max T = 1, money not)
    fitter.variance_matrix_ = covariance_frame * np.outer(params, params)
    fitter.standard_errors_ = fitter._compute_standard_errors()
    fitter.confidence_intervals_ = fitter._compute_confidence_intervals()
    if model == "gamma_gamma":
        fitter._negative_log_likelihood_ = (-log_likelihood / data.n_customers
                                            + search.penalizer * float(np.sum(params ** 2)))
    else:
        fitter._scale = scale
        fitter._negative_log_likelihood_ = search.best.value
        # lifetimes attaches ``predict`` in ``fit``; GammaGammaFitter.customer_lifetime_value
        # calls it
        fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time

    n_customers = int(round(data.n_customers))
    how = "; ".join(search.how)
    logger.info("%s fit on %d customers: %s", label, n_customers, how)
    return ModelFit(
        model=model, params=params, covariance=covariance_frame,
        standard_errors=standard_errors, log_likelihood=float(log_likelihood),
        n_customers=n_customers, n_params=len(names),
        bic=float(len(names) * np.log(n_customers) - 2 * log_likelihood),
        starts=cfg.clv.fit_starts, log_likelihood_spread=float(search.spread),
        penalizer=float(search.penalizer), how=how[0].upper() + how[1:] + ".", fitter=fitter)


def _require_enough_customers(n_customers: int, n_repeat: int, model_name: str) -> None:
    """Stop with :class:`TooLittleDataError` below :data:`MIN_CUSTOMERS` customers or
    :data:`MIN_REPEAT_CUSTOMERS` repeat customers."""
    if n_customers < MIN_CUSTOMERS or n_repeat < MIN_REPEAT_CUSTOMERS:
        raise TooLittleDataError(
            f"too little data to fit the {model_name} model: {n_customers} customers bought up "
            f"to the as-of date and {n_repeat} of them more than once; the kit needs at least "
            f"{MIN_CUSTOMERS} customers and {MIN_REPEAT_CUSTOMERS} repeat customers to value "
            f"customers. Check the as-of date and that the transaction sources were loaded")


# --- public fitting functions ------------------------------------------------------------------

def fit_purchase_model(summary: pd.DataFrame, model: str, cfg: RunConfig, *,
                       columns: Sequence[str] = ("frequency", "recency", "T")) -> ModelFit:
    """Fit a BTYD purchase model (BG/NBD, Pareto/NBD or MBG/NBD) by maximum likelihood.

    Fitted on the unique (frequency, recency, T) rows weighted by their counts, from
    ``clv.fit_starts`` seeded starting points, with the retries described in the module
    docstring. ``how`` in the result says what was done.

    Parameters
    ----------
    summary
        One row per customer with the three ``columns``: repeat purchases, time of the last
        purchase and age, both since the first purchase, in model time units (from
        :func:`rfm_summary` or the calibration columns of the calibration/holdout summary).
    model
        'bgnbd', 'pareto_nbd' or 'mbgnbd'.
    cfg
        Uses ``clv.fit_starts``, ``clv.seed`` and ``clv.penalizer_coef`` (an explicit penalty;
        leave it at 0: the fit adds one by itself only when it cannot converge without).
    columns
        Names of the frequency, recency and T columns.

    Returns
    -------
    ModelFit

    Raises
    ------
    helpers.errors.TooLittleDataError
        Fewer than :data:`MIN_CUSTOMERS` customers or :data:`MIN_REPEAT_CUSTOMERS` repeat
        customers, or histories that do not identify the parameters (no start reaches a
        maximum, or the information matrix is singular).
    ValueError
        For an unknown model, or histories lifetimes rejects (recency > T, recency > 0 with
        no repeat purchase, a fractional frequency).
    """
    if model not in PURCHASE_MODELS:
        raise ValueError(f"unknown purchase model '{model}': choose one of {PURCHASE_MODELS}")
    require_frame_columns(summary, "summary", columns)
    _require_enough_customers(len(summary), int((summary[columns[0]] > 0).sum()),
                              MODEL_NAMES[model])
    frequency, recency, age, weights = _unique_rows(summary, columns)
    _check_inputs(frequency, recency, age)
    if model == "pareto_nbd":
        data = _pareto_data((frequency, recency, age), weights, 1.0)
    else:
        data = _Data(model, (frequency, recency, age), weights, 1.0)
    return _model_fit(model, data, cfg, ("frequency", "recency", "T"))


def frequency_monetary_correlation(summary: pd.DataFrame,
                                   columns: Sequence[str] = ("frequency", "monetary_value")
                                   ) -> float:
    """Pearson correlation of frequency and monetary value among repeat customers.

    The Gamma-Gamma model assumes a customer's spend per purchase is independent of how often
    they buy; a correlation near 0 supports it.

    Parameters
    ----------
    summary
        The two ``columns`` (frequency, monetary value); customers with both > 0 count.

    Returns
    -------
    float
        NaN with fewer than two repeat customers or no variation.
    """
    require_frame_columns(summary, "summary", columns)
    repeat = repeat_customers(summary, columns)
    return float(repeat[columns[0]].corr(repeat[columns[1]]))


def repeat_customers(summary: pd.DataFrame,
                     columns: Sequence[str] = ("frequency", "monetary_value")) -> pd.DataFrame:
    """Customers the Gamma-Gamma model learns from: a repeat purchase of positive mean value."""
    frequency, monetary_value = columns
    return summary[(summary[frequency] > 0) & (summary[monetary_value] > 0)]


def fit_spend_model(summary: pd.DataFrame, cfg: RunConfig, *,
                    columns: Sequence[str] = ("frequency", "monetary_value")) -> ModelFit:
    """Fit the Gamma-Gamma model of spend per purchase, on repeat customers.

    Fitted on the unique (frequency, monetary_value) rows weighted by their counts, from
    seeded starting points, as :func:`fit_purchase_model`. Checks the model's independence
    assumption (see :func:`frequency_monetary_correlation`): the correlation is logged, and a
    ``UserWarning`` is issued when its absolute value exceeds
    :data:`INDEPENDENCE_WARNING_CORRELATION`; the fit goes ahead either way.

    Parameters
    ----------
    summary
        One row per customer with the two ``columns``: repeat purchases and mean spend over
        repeat purchase days. Only customers with both > 0 are used.
    cfg
        Uses ``clv.fit_starts``, ``clv.seed`` and ``clv.penalizer_coef``.
    columns
        Names of the frequency and monetary value columns.

    Returns
    -------
    ModelFit
        ``params`` p, q, v; ``n_customers`` counts repeat customers.

    Raises
    ------
    helpers.errors.TooLittleDataError
        Too few customers or repeat customers (see :func:`fit_purchase_model`), or spends that
        do not identify the parameters.
    ValueError
        If the fit gives q <= 1: the population mean spend v·p/(q−1) that one-time buyers are
        valued at is then not defined.
    """
    require_frame_columns(summary, "summary", columns)
    repeat = repeat_customers(summary, columns)
    _require_enough_customers(len(summary), len(repeat), "Gamma-Gamma")
    correlation = frequency_monetary_correlation(summary, columns)
    logger.info("Gamma-Gamma independence check: corr(frequency, monetary_value) = %.3f "
                "over %d repeat customers", correlation, len(repeat))
    if abs(correlation) > INDEPENDENCE_WARNING_CORRELATION:
        warnings.warn(
            f"frequency and monetary_value correlate (Pearson r = {correlation:.2f} over "
            f"{len(repeat)} repeat customers): the Gamma-Gamma model assumes spend per purchase "
            f"does not depend on purchase frequency, so expected spend and CLV may be biased",
            UserWarning, stacklevel=2,
        )
    frequency, monetary_value, weights = _unique_rows(repeat, columns)
    _check_inputs(frequency, monetary_value=monetary_value)
    fit = _model_fit("gamma_gamma", _Data("gamma_gamma", (frequency, monetary_value), weights,
                                          1.0), cfg, ("frequency", "monetary_value"))
    if fit.params["q"] <= 1:
        raise ValueError(f"the Gamma-Gamma fit on {len(repeat)} repeat customers gave "
                         f"q = {fit.params['q']:.3f} <= 1, so the population mean spend is not "
                         f"defined; check monetary_value for outliers")
    return fit


def fit_bgnbd(summary: pd.DataFrame, cfg: RunConfig) -> BetaGeoFitter:
    """The BG/NBD fitter of :func:`fit_purchase_model` on ``frequency``, ``recency``, ``T``."""
    return fit_purchase_model(summary, "bgnbd", cfg).fitter


def fit_gamma_gamma(summary: pd.DataFrame, cfg: RunConfig) -> GammaGammaFitter:
    """The Gamma-Gamma fitter of :func:`fit_spend_model` on ``frequency``,
    ``monetary_value``."""
    return fit_spend_model(summary, cfg).fitter
