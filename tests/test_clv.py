"""Tests for helpers.clv: RFM summary in DuckDB, BG/NBD and Gamma-Gamma fits, CLV scoring."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import lifetimes
import matplotlib
import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.generate_data import beta_geometric_nbd_model
from lifetimes.utils import summary_data_from_transaction_data
from matplotlib.axes import Axes

from helpers import clv
from helpers.display import plot_clv_distribution, plot_frequency_fit, plot_p_alive
from helpers.errors import TooLittleDataError
from helpers.warehouse import MissingColumnError, MissingTableError

matplotlib.use("Agg")

AS_OF = date(2024, 3, 31)
TRUE_BGNBD = {"r": 0.8, "alpha": 40.0, "a": 0.8, "b": 2.5}  # alpha per day
TRUE_GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "v": 15.0}  # mean spend v·p/(q−1) = 30
RECOVERY_TOLERANCE = 0.25


def warehouse_with(rows: list[tuple[str, str, float]]) -> duckdb.DuckDBPyConnection:
    """In-memory warehouse whose ``transactions`` table (docs/tables.md) holds ``rows``."""
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE transactions (
            customer_id VARCHAR, source VARCHAR, source_row BIGINT, order_id VARCHAR,
            order_date DATE, amount DOUBLE, quantity DOUBLE, product_id VARCHAR,
            category VARCHAR, cost DOUBLE, is_return BOOLEAN)
    """)
    con.executemany(
        "INSERT INTO transactions VALUES (?, 'shop', ?, ?, CAST(? AS DATE), ?, NULL, NULL, "
        "NULL, NULL, ? < 0)",
        [(cid, i, f"O{i}", day, amount, amount) for i, (cid, day, amount) in enumerate(rows)],
    )
    return con


# --- rfm_summary on a hand-written log -------------------------------------------------------

HAND_ROWS = [
    # A: two orders on 1 Jan (one occasion worth 15); a purchase fully returned the same day
    # on 12 Feb (net 0: no occasion); a purchase after as_of (ignored).
    ("A", "2024-01-01", 10.0), ("A", "2024-01-01", 5.0), ("A", "2024-01-15", 20.0),
    ("A", "2024-02-12", 30.0), ("A", "2024-02-12", -30.0), ("A", "2024-03-04", 40.0),
    ("A", "2024-04-10", 100.0),
    # B: one-time buyer.
    ("B", "2024-02-01", 25.0),
    # C: partial return on the first day (net 40); a purchase on as_of itself (counts).
    ("C", "2024-01-10", 50.0), ("C", "2024-01-10", -10.0), ("C", "2024-03-31", 12.0),
    # D: first day nets to zero, so the customer starts on 5 Feb.
    ("D", "2024-01-05", 20.0), ("D", "2024-01-05", -20.0), ("D", "2024-02-05", 30.0),
    # E: only buys after as_of: not a customer yet.
    ("E", "2024-04-02", 70.0),
]
# Days from first to last occasion and to as_of (2024 is a leap year).
HAND_DAYS = pd.DataFrame({
    "customer_id": ["A", "B", "C", "D"],
    "frequency": [2, 0, 1, 0],
    "recency": [63.0, 0.0, 81.0, 0.0],
    "T": [90.0, 59.0, 81.0, 55.0],
    "monetary_value": [30.0, 0.0, 12.0, 0.0],
    "first_purchase": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-10", "2024-02-05"]),
    "last_purchase": pd.to_datetime(["2024-03-04", "2024-02-01", "2024-03-31", "2024-02-05"]),
})


@pytest.mark.parametrize("time_unit, days", [("day", 1.0), ("week", 7.0)])
def test_rfm_summary_hand_computed(time_unit, days, make_config):
    summary = clv.rfm_summary(warehouse_with(HAND_ROWS), make_config(AS_OF, time_unit))
    expected = HAND_DAYS.assign(recency=HAND_DAYS["recency"] / days, T=HAND_DAYS["T"] / days)
    assert list(summary.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(summary, expected, check_dtype=False)


def test_rfm_summary_names_missing_table_and_column(make_config):
    with pytest.raises(MissingTableError, match="transactions"):
        clv.rfm_summary(duckdb.connect(), make_config(AS_OF, "day"))
    con = duckdb.connect()
    con.execute("CREATE TABLE transactions AS SELECT 'A' AS customer_id, DATE '2024-01-01' "
                "AS order_date")
    with pytest.raises(MissingColumnError, match="amount"):
        clv.rfm_summary(con, make_config(AS_OF, "day"))


# --- rfm_summary against lifetimes' own definition -------------------------------------------

def random_log(seed: int = 11, n_rows: int = 400) -> pd.DataFrame:
    """A seeded transaction log with same-day repeats, partial returns and rows after AS_OF."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n_rows), unit="D")
    log = pd.DataFrame({
        "customer_id": [f"C{i:03d}" for i in rng.integers(0, 60, n_rows)],
        "order_date": days,
        "amount": rng.lognormal(3.0, 0.6, n_rows).round(2),
    })
    # A same-day partial return on every 8th row: the day still nets positive, so lifetimes
    # (which sums a day's amounts and counts every day) and the kit (which drops days netting
    # to <= 0) define the same occasions. Non-positive days are covered by the hand test.
    returns = log.iloc[::8].assign(amount=lambda d: -(0.3 * d["amount"]).round(2))
    return pd.concat([log, returns], ignore_index=True)


def test_rfm_summary_matches_lifetimes_definition(make_config):
    log = random_log()
    con = warehouse_with(list(log.assign(order_date=log["order_date"].dt.strftime("%Y-%m-%d"))
                              .itertuples(index=False, name=None)))
    ours = clv.rfm_summary(con, make_config(AS_OF, "day")).set_index("customer_id")
    reference = summary_data_from_transaction_data(
        log, "customer_id", "order_date", monetary_value_col="amount",
        observation_period_end=AS_OF.isoformat(), freq="D")
    assert len(ours) == len(reference) > 40
    assert ours["frequency"].sum() > 100  # plenty of repeat purchases to compare
    pd.testing.assert_frame_equal(
        ours[["frequency", "recency", "T", "monetary_value"]],
        reference.loc[ours.index], check_dtype=False, check_names=False, check_index_type=False)
    # Weeks: lifetimes' freq='W' snaps dates to calendar weeks and counts whole weeks, whereas
    # the kit uses exact fractional weeks (days / 7) as Fader-Hardie-Lee do, so the reference
    # for weeks is lifetimes' daily summary divided by 7.
    weekly = clv.rfm_summary(con, make_config(AS_OF, "week")).set_index("customer_id")
    pd.testing.assert_series_equal(weekly["recency"], reference.loc[weekly.index, "recency"] / 7,
                                   check_names=False, check_index_type=False)
    pd.testing.assert_series_equal(weekly["T"], reference.loc[weekly.index, "T"] / 7,
                                   check_names=False, check_index_type=False)


# --- fits on a simulated population with known parameters ------------------------------------

@pytest.fixture(scope="module")
def population() -> pd.DataFrame:
    """3,000 simulated BG/NBD customers (days) with Gamma-Gamma spends, as a summary."""
    # lifetimes' generator draws from numpy's global RandomState: seed it, then restore it.
    state = np.random.get_state()
    np.random.seed(7)
    try:
        ages = np.random.default_rng(1).integers(200, 731, 3000).astype(float)
        sim = beta_geometric_nbd_model(ages, *TRUE_BGNBD.values(), size=3000)
    finally:
        np.random.set_state(state)
    rng = np.random.default_rng(2)
    frequency = sim["frequency"].to_numpy()
    # Spend per purchase ~ Gamma(p, rate nu), nu ~ Gamma(q, rate v); the mean of x purchases
    # is then Gamma(p·x, rate x·nu). One-time buyers have no repeat spend (0, as lifetimes).
    nu = rng.gamma(TRUE_GAMMA_GAMMA["q"], 1 / TRUE_GAMMA_GAMMA["v"], len(sim))
    repeat = frequency > 0
    monetary = np.zeros(len(sim))
    monetary[repeat] = rng.gamma(TRUE_GAMMA_GAMMA["p"] * frequency[repeat],
                                 1 / (frequency[repeat] * nu[repeat]))
    return pd.DataFrame({
        "customer_id": [f"S{i:05d}" for i in range(len(sim))],
        "frequency": frequency.astype(int),
        "recency": sim["recency"].to_numpy(),
        "T": sim["T"].to_numpy(),
        "monetary_value": monetary,
    })


@pytest.fixture(scope="module")
def fits(population, make_config):
    """BG/NBD and Gamma-Gamma fitted on the population (``ModelFit``s)."""
    cfg = make_config(AS_OF, "day")
    return clv.fit_purchase_model(population, "bgnbd", cfg), clv.fit_spend_model(population, cfg)


@pytest.fixture(scope="module")
def models(fits):
    """The lifetimes fitters of ``fits``."""
    return fits[0].fitter, fits[1].fitter


def test_fit_recovers_bgnbd_parameters(models):
    bgf, _ = models
    assert isinstance(bgf, BetaGeoFitter)
    for name, truth in TRUE_BGNBD.items():
        assert bgf.params_[name] == pytest.approx(truth, rel=RECOVERY_TOLERANCE), name


def test_fit_recovers_gamma_gamma_parameters(models, population):
    _, ggf = models
    assert isinstance(ggf, GammaGammaFitter)
    assert len(ggf.data) == (population["frequency"] > 0).sum()
    for name, truth in TRUE_GAMMA_GAMMA.items():
        assert ggf.params_[name] == pytest.approx(truth, rel=RECOVERY_TOLERANCE), name


def test_gamma_gamma_reports_dependence_without_failing(make_config):
    rng = np.random.default_rng(3)
    frequency = rng.integers(1, 20, 300)
    summary = pd.DataFrame({
        "customer_id": [f"K{i}" for i in range(300)], "frequency": frequency,
        "monetary_value": 10.0 * frequency * rng.lognormal(0, 0.3, 300),
    })
    assert clv.frequency_monetary_correlation(summary) > 0.8
    # such strongly dependent data only converges with some regularisation
    with pytest.warns(UserWarning, match="Gamma-Gamma model assumes"):
        clv.fit_gamma_gamma(summary, make_config(AS_OF, "day", clv={"penalizer_coef": 0.001}))


def test_gamma_gamma_needs_repeat_customers(make_config):
    one_timers = pd.DataFrame({"customer_id": ["A"], "frequency": [0], "monetary_value": [0.0]})
    with pytest.raises(TooLittleDataError, match="1 customers .* 0 of them more than once"):
        clv.fit_gamma_gamma(one_timers, make_config(AS_OF, "day"))


def cdnow_sample_warehouse() -> duckdb.DuckDBPyConnection:
    """The CDNOW sample shipped with lifetimes as a warehouse's ``transactions``."""
    path = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
    raw = pd.read_csv(path, sep=r"\s+", header=None,
                      names=["customer", "sample_id", "date", "cds", "dollars"])
    con = duckdb.connect()
    con.register("raw", raw)
    con.execute("CREATE TABLE transactions AS SELECT printf('C%05d', customer) AS customer_id, "
                "strptime(CAST(date AS VARCHAR), '%Y%m%d')::DATE AS order_date, "
                "dollars AS amount FROM raw")
    return con


def test_cdnow_sample_reproduces_published_estimates(make_config):
    """The CDNOW sample shipped with lifetimes, 39 weeks to 1997-09-30, as in FHL (2005)."""
    con = cdnow_sample_warehouse()
    cfg = make_config(date(1997, 9, 30), "week")
    summary = clv.rfm_summary(con, cfg)
    # FHL count 2,357 customers, 8 of them with only a $0 first purchase: a day whose lines
    # are $0 is a purchase (only a source with zero_amount_lines: keep lets such lines in)
    assert len(summary) == 2357 and summary["frequency"].sum() == 2457
    published = {
        "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
        "pareto_nbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    }
    for model, values in published.items():
        fit = clv.fit_purchase_model(summary, model, cfg)
        for name, value in values.items():
            assert fit.params[name] == pytest.approx(value, rel=0.005), (model, name)
    spend = clv.fit_spend_model(summary, cfg)
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert spend.params[name] == pytest.approx(value, rel=0.005), name


# --- score_customers -------------------------------------------------------------------------

HAND_HISTORIES = pd.DataFrame({
    "customer_id": ["X3", "X1", "X2"],  # unsorted on purpose
    "frequency": [0, 5, 10],
    "recency": [0.0, 300.0, 300.0],
    "T": [100.0, 310.0, 310.0],
    "monetary_value": [0.0, 40.0, 40.0],
})
COSTS = {"gross_margin_rate": 0.35, "cost_per_order": 2.0}


def test_score_customers_values(models, make_config):
    bgf, ggf = models
    cfg = make_config(AS_OF, "day", costs=COSTS)
    scores = clv.score_customers(
        HAND_HISTORIES, "bgnbd", bgf.params_, ggf.params_, cfg,
        margin_rate=pd.Series({"X1": 0.5, "nobody": 0.9}),
        support_cost_per_year=pd.Series({"X2": 120.0}),
    )
    assert list(scores.columns) == list(clv.CLV_COLUMNS)
    assert scores["customer_id"].tolist() == ["X1", "X2", "X3"]
    s = scores.set_index("customer_id")
    assert s["margin_rate"].tolist() == [0.5, 0.35, 0.35]

    history = HAND_HISTORIES.set_index("customer_id").sort_index()
    monthly = 1.1 ** (1 / 12) - 1
    gross = ggf.customer_lifetime_value(bgf, history["frequency"], history["recency"],
                                        history["T"], history["monetary_value"], time=12,
                                        discount_rate=monthly, freq="D")
    np.testing.assert_allclose(s["clv"], gross * s["margin_rate"], rtol=1e-12)
    np.testing.assert_allclose(s["clv_net"], s["clv"] - s["expected_service_cost"], rtol=1e-12)
    x2 = s.loc["X2"]
    assert x2["expected_service_cost"] == pytest.approx(
        (x2["expected_purchases"] * 2.0 + x2["p_alive"] * 120.0) / (1 + monthly) ** 6)
    # Same recency and T, more purchases: a more active customer (recency close to T).
    assert s.loc["X2", "expected_purchases"] > s.loc["X1", "expected_purchases"] > 0
    # A one-time buyer is valued at the population mean spend v·p/(q−1).
    p, q, v = ggf.params_[["p", "q", "v"]]
    assert s.loc["X3", "expected_avg_spend"] == pytest.approx(v * p / (q - 1))
    assert s.loc["X3", "p_alive"] == 1.0


def test_score_customers_population_properties(models, population, make_config):
    bgf, ggf = models
    cfg = make_config(AS_OF, "day", costs=COSTS)
    scores = clv.score_customers(population, "bgnbd", bgf.params_, ggf.params_, cfg)
    assert len(scores) == len(population)
    assert scores["p_alive"].between(0, 1).all()
    assert (scores["expected_purchases"] >= 0).all() and (scores["clv"] >= 0).all()
    again = clv.score_customers(population, "bgnbd", bgf.params_, ggf.params_, cfg)
    pd.testing.assert_frame_equal(scores, again)
    longer = clv.score_customers(population, "bgnbd", bgf.params_, ggf.params_, make_config(
        AS_OF, "day", costs=COSTS, clv={"horizon_months": 24}))
    assert (longer["clv"] > scores["clv"]).all()
    assert (longer["expected_purchases"] > scores["expected_purchases"]).all()


def test_score_customers_same_answers_in_weeks(models, population, make_config):
    """The same population measured in weeks gives the same p_alive and expected purchases."""
    bgf, ggf = models
    cfg = make_config(AS_OF, "week", clv={"penalizer_coef": 0.0})
    in_weeks = population.assign(recency=population["recency"] / 7, T=population["T"] / 7)
    weekly_bgf = clv.fit_bgnbd(in_weeks, cfg)
    # lifetimes fits on time rescaled to max T = 1, so only alpha changes: a weekly rate is
    # 7 daily rates.
    assert weekly_bgf.params_["alpha"] == pytest.approx(bgf.params_["alpha"] / 7, rel=1e-6)
    days = clv.score_customers(HAND_HISTORIES, "bgnbd", bgf.params_, ggf.params_,
                               make_config(AS_OF, "day"))
    weeks = clv.score_customers(
        HAND_HISTORIES.assign(recency=HAND_HISTORIES["recency"] / 7, T=HAND_HISTORIES["T"] / 7),
        "bgnbd", weekly_bgf.params_, ggf.params_, cfg)
    for column in ("p_alive", "expected_purchases", "expected_avg_spend"):
        np.testing.assert_allclose(weeks[column], days[column], rtol=1e-6)
    # lifetimes' CLV month is 30 days for 'D' but 4.345 weeks (30.4 days) for 'W'.
    ratio = weeks["clv"] / days["clv"]
    assert ((ratio > 1.0) & (ratio < 1.02)).all()


# --- model_fit_table and plots ---------------------------------------------------------------

def test_model_fit_table(fits, population, make_config):
    purchase, spend = fits
    fit = clv.model_fit_table(population, [purchase], spend, make_config(AS_OF, "day"))
    assert list(fit.columns) == ["model", "fitted_on", "metric", "value", "low", "high"]
    assert fit["value"].dtype == float and set(fit["fitted_on"]) == {clv.WHOLE_HISTORY}
    values = fit.set_index(["model", "metric"])["value"]
    buckets = [str(k) for k in range(7)] + ["7plus"]
    for name in ["r", "alpha", "a", "b", "log_likelihood", "bic", "n_customers",
                 "cov_log_r_log_alpha", "cov_log_b_log_b",
                 *(f"customers_with_{k}_repeat_{kind}" for k in buckets
                   for kind in ("actual", "expected"))]:
        assert ("bgnbd", name) in values.index, name
    for name in ["p", "q", "v", "log_likelihood", "n_customers", "freq_monetary_corr"]:
        assert ("gamma_gamma", name) in values.index, name
    parameters = fit[fit["low"].notna()]
    assert set(parameters["metric"]) == {"r", "alpha", "a", "b", "p", "q", "v"}
    assert ((parameters["low"] < parameters["value"])
            & (parameters["value"] < parameters["high"])).all()

    n = len(population)
    actual = [values["bgnbd", f"customers_with_{k}_repeat_actual"] for k in buckets]
    expected = [values["bgnbd", f"customers_with_{k}_repeat_expected"] for k in buckets]
    assert sum(actual) == values["bgnbd", "n_customers"] == n
    assert sum(expected) == pytest.approx(n)
    # In-sample on data from the model itself, each bucket should be close.
    np.testing.assert_allclose(expected, actual, atol=0.02 * n)
    # P(no repeat by T) summed customer by customer with the library's function.
    assert values["bgnbd", "customers_with_0_repeat_expected"] == pytest.approx(
        sum(purchase.fitter.probability_of_n_purchases_up_to_time(t, 0)
            for t in population["T"]))
    # The log-likelihood is lifetimes' own (its static likelihood is a mean per customer).
    history = [population[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T")]
    assert values["bgnbd", "log_likelihood"] == pytest.approx(
        -n * BetaGeoFitter._negative_log_likelihood(
            np.log(purchase.params.to_numpy()), *history, np.ones(n), 0.0))
    repeat = population[population["frequency"] > 0]
    assert values["gamma_gamma", "n_customers"] == len(repeat)
    assert values["gamma_gamma", "log_likelihood"] == pytest.approx(
        -len(repeat) * GammaGammaFitter._negative_log_likelihood(
            np.log(spend.params.to_numpy()), repeat["frequency"].to_numpy(dtype=float),
            repeat["monetary_value"].to_numpy(), np.ones(len(repeat)), 0.0))
    assert abs(values["gamma_gamma", "freq_monetary_corr"]) < 0.1


def test_plots_return_axes(fits, population, make_config):
    purchase, spend = fits
    cfg = make_config(AS_OF, "day")
    scores = clv.score_customers(population, "bgnbd", purchase.params, spend.params, cfg)
    fit = clv.model_fit_table(population, [purchase], spend, cfg)
    ax = plot_frequency_fit(fit)
    assert isinstance(ax, Axes) and len(ax.patches) >= 16
    assert isinstance(plot_p_alive(scores), Axes)
    assert isinstance(plot_clv_distribution(scores), Axes)
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize(("customers", "repeaters", "match"), [
    (0, 0, "0 customers bought"),
    (19, 19, "19 customers bought"),
    (500, 9, "9 of them more than once"),
])
def test_too_little_data_is_said_in_words(make_config, customers, repeaters, match):
    summary = pd.DataFrame({
        "customer_id": [f"K{i}" for i in range(customers)],
        "frequency": [2] * repeaters + [0] * (customers - repeaters),
        "recency": [30.0] * repeaters + [0.0] * (customers - repeaters),
        "T": [60.0] * customers,
        "monetary_value": [20.0] * repeaters + [0.0] * (customers - repeaters),
    })
    with pytest.raises(TooLittleDataError, match=match):
        clv.fit_bgnbd(summary, make_config(AS_OF, "day"))


def test_models_rebuilt_from_model_fit_score_exactly_as_the_fitted_ones(fits, population,
                                                                      make_config, con):
    """build_clv reads the models back from the warehouse: same parameters, same CLV."""
    from helpers.tables import table
    from helpers.warehouse import write_table

    purchase, spend = fits
    cfg = make_config(AS_OF, "day", costs=COSTS)
    write_table(con, "model_fit", clv.model_fit_table(population, [purchase], spend, cfg))
    chosen = pd.DataFrame({"model": ["bgnbd"], "chosen": [True]})
    write_table(con, "model_comparison",
                chosen.reindex(columns=table("model_comparison").column_names))
    stored = clv.fitted_models(con)
    assert stored.purchase_model == "bgnbd"
    pd.testing.assert_series_equal(stored.purchase_params, purchase.params, check_names=False)
    pd.testing.assert_frame_equal(stored.purchase_cov, purchase.covariance, check_names=False)
    pd.testing.assert_frame_equal(
        clv.score_customers(population, "bgnbd", stored.purchase_params, stored.spend_params,
                            cfg),
        clv.score_customers(population, "bgnbd", purchase.params, spend.params, cfg))
    con.execute("DELETE FROM model_fit WHERE metric = 'q'")
    with pytest.raises(ValueError, match=r"no gamma_gamma parameter\(s\) \['q'\]"):
        clv.fitted_models(con)


@pytest.mark.parametrize(("clv_settings", "why"), [
    ({"holdout_days": 0}, "the config sets no holdout period"),
    ({"calibration_end": date(1997, 1, 3)}, "the calibration period up to 1997-01-03 is too thin"),
])
def test_without_a_usable_holdout_the_models_are_chosen_by_bic(make_config, clv_settings, why):
    """No holdout, or one that leaves too little to fit on: every model is fitted on the whole
    history, the smallest BIC scores customers, and each row says why it was not validated."""
    con = cdnow_sample_warehouse()
    cfg = make_config(date(1998, 6, 30), "week",
                      clv={"purchase_models": ["bgnbd", "mbgnbd"], **clv_settings})
    clv.build_model_fit(con, cfg)
    comparison = con.execute("SELECT * FROM model_comparison ORDER BY bic").df()
    assert len(comparison) == 2 and comparison["holdout_mae"].isna().all()
    assert comparison["chosen"].tolist() == [True, False]
    assert comparison["how"].str.contains(why).all()
    for empty in ("holdout_by_frequency", "purchase_tracking"):
        assert con.execute(f"SELECT count(*) FROM {empty}").fetchall() == [(0,)]
    assert clv.fitted_models(con).purchase_model == comparison["model"].iloc[0]


def test_true_parameters_are_converted_to_the_runs_time_unit(make_config, tmp_path):
    (tmp_path / "truth.json").write_text(json.dumps({
        "bgnbd": {"r": 1.0, "alpha": 6.0, "a": 0.9, "b": 4.0, "time_unit": "weeks"},
        "gamma_gamma": {"p": 6.0, "q": 4.0, "gamma": 35.0}}))
    truth_file = str(tmp_path / "truth.json")
    weeks = clv.true_parameters(make_config(AS_OF, "week", clv={"truth": truth_file}))
    days = clv.true_parameters(make_config(AS_OF, "day", clv={"truth": truth_file}))
    alpha = {name: frame.set_index("metric").loc["alpha", "true_value"]
             for name, frame in (("weeks", weeks), ("days", days))}
    # alpha is a scale of time: 6 weeks are 42 days
    assert alpha == {"weeks": 6.0, "days": 42.0}
    assert weeks.set_index("metric").loc["v", "true_value"] == 35.0
    assert clv.true_parameters(make_config(AS_OF, "week")) is None


def test_parameter_table_says_which_intervals_hold_the_truth(make_config, tmp_path):
    (tmp_path / "truth.json").write_text(json.dumps({
        "bgnbd": {"r": 1.0, "alpha": 6.0, "a": 0.9, "b": 4.0, "time_unit": "weeks"},
        "gamma_gamma": {"p": 6.0, "q": 4.0, "v": 35.0}}))
    fits = pd.DataFrame({
        "model": ["bgnbd", "bgnbd", "bgnbd", "pareto_nbd"],
        "fitted_on": ["whole history", "whole history", "whole history", "calibration"],
        "metric": ["r", "alpha", "log_likelihood", "s"],
        "value": [1.05, 6.4, -100.0, 0.6], "low": [0.98, 6.1, None, 0.3],
        "high": [1.11, 6.7, None, 1.1]})
    table = clv.parameter_table(fits, make_config(AS_OF, "week",
                                                  clv={"truth": str(tmp_path / "truth.json")}))
    assert table["metric"].tolist() == ["r", "alpha", "s"]  # parameters only, in order
    assert table["covered"].iloc[:2].tolist() == [True, False]
    assert pd.isna(table["covered"].iloc[2])  # the truth has no Pareto/NBD
    assert "true_value" not in clv.parameter_table(fits, make_config(AS_OF, "week")).columns
