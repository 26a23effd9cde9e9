"""The forecaster: it finds a known seasonal pattern, chooses additive or
multiplicative seasonality by the backtest, falls back as documented on
short, flat, zero and single-month series, and never fails."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.projections.forecast import (
    HOLDOUT,
    _bt,
    _hw,
    forecast,
    mase,
    smape,
)

# Demand by calendar month: a slack summer and a peak in October.
PATTERN = np.array([1.0, 0.6, 1.1, 1.0, 0.9, 0.7, 0.65, 1.0, 1.4, 1.7, 1.3, 1.1])
PEAK_MONTHS = {8, 9, 10, 11}  # September to December (0-based: 8..11)


def seasonal(months: int, *, seed: int, noise: float = 0.08, growth: float = 0.08) -> list[float]:
    """Monthly demand starting in January: level 100, ``growth`` a year, the pattern, noise."""
    rng = np.random.default_rng(seed)
    m = np.arange(months)
    demand = 100 * (1 + growth) ** (m / 12) * PATTERN[m % 12] * np.exp(rng.normal(0, noise, months))
    return [float(value) for value in demand]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("months", [36, 48])
def test_a_known_seasonal_pattern_is_found_and_its_peak_month_forecast(
    seed: int, months: int
) -> None:
    history = seasonal(months, seed=seed)
    made = forecast(history, 12)  # the next twelve months: January to December
    assert made.method.startswith("holt_winters_")
    assert int(np.argmax(made.values)) == 9  # October
    assert {i for i, peak in enumerate(made.peaks) if peak} <= PEAK_MONTHS
    truth = seasonal(months + 12, seed=seed, noise=0.0)[months:]
    error = np.mean(np.abs(np.array(made.values) - truth) / truth)
    assert error < 0.15
    assert made.backtest is not None and made.backtest.months == HOLDOUT
    # MASE over six months runs above 1 now and then even for a good forecast:
    # its scale, the seasonal naive error of the fitted months, is small here.
    assert made.backtest.mase is not None and made.backtest.mase < 3
    assert made.backtest.smape < 15


def test_the_seasonality_is_the_one_with_the_smaller_backtest_error() -> None:
    for seed in range(4):
        history = seasonal(40, seed=seed, growth=0.5)  # amplitude grows with the level
        made = forecast(history, 12)
        errors = {kind: _bt(_hw(kind))(np.asarray(history)) for kind in ("add", "mul")}
        kind = "add" if made.method == "holt_winters_additive" else "mul"
        other = "mul" if kind == "add" else "add"
        assert made.backtest == errors[kind]
        assert errors[kind] is not None and errors[other] is not None
        score = {kind: (bt.mase or math.inf, bt.smape) for kind, bt in errors.items() if bt}
        assert score[kind] <= score[other]


def test_a_series_with_an_empty_month_is_never_multiplicative() -> None:
    history = seasonal(36, seed=1)
    history[14] = 0.0
    assert forecast(history, 6).method == "holt_winters_additive"


def test_under_one_season_the_forecast_is_the_recent_mean() -> None:
    history = [4.0, 8.0, 6.0, 10.0, 2.0, 6.0, 6.0]
    made = forecast(history, 3)
    assert (made.method, made.reason) == ("recent_mean", "under one season of history")
    assert made.values == (6.0, 6.0, 6.0)
    assert all(lo < 6.0 < hi for lo, hi in zip(made.lower, made.upper, strict=True))
    assert made.backtest is not None and made.backtest.months == HOLDOUT  # fitted to one month


def test_under_two_seasons_each_month_repeats_the_same_month_last_year() -> None:
    history = list(seasonal(20, seed=2))
    made = forecast(history, 14)
    assert made.method == "seasonal_naive"
    last_season = [round(v, 4) for v in history[-12:]]
    assert list(made.values) == last_season + last_season[:2]
    widths = [hi - lo for lo, hi in zip(made.lower, made.upper, strict=True)]
    assert widths[12] > widths[0]  # a season further ahead is less certain
    assert made.backtest is not None  # fitted to the 14 months before the held-out six
    assert forecast(history[:15], 3).backtest is None  # 9 months: not a season to repeat


def test_a_single_month_is_forecast_as_itself() -> None:
    made = forecast([7.0], 4)
    assert (made.method, made.values, made.lower, made.upper) == (
        "recent_mean", (7.0,) * 4, (7.0,) * 4, (7.0,) * 4,
    )  # fmt: skip
    assert made.backtest is None


def test_a_flat_series_is_forecast_flat_with_no_spread_and_no_peaks() -> None:
    made = forecast([5.0] * 30, 12)
    assert (made.method, made.reason) == ("recent_mean", "every month the same")
    assert made.values == made.lower == made.upper == (5.0,) * 12
    assert not any(made.peaks)
    assert made.backtest is not None and made.backtest.mase is None  # no naive error to scale by
    assert made.backtest.smape == 0.0


def test_a_zero_series_and_no_history_forecast_zero() -> None:
    for history in ([0.0] * 40, []):
        made = forecast(history, 6)
        assert made.values == made.upper == (0.0,) * 6
        assert not any(made.peaks)
    assert forecast([], 6).method == "no_history"


def test_an_intermittent_series_is_forecast_by_its_recent_mean() -> None:
    history = [0.0] * 36
    for month in (3, 17, 29, 34):
        history[month] = 12.0
    made = forecast(history, 6)
    assert made.method == "recent_mean" and made.reason.startswith("intermittent")
    assert made.values == (2.0,) * 6  # the last twelve months hold 24


def test_mase_and_smape_on_known_values() -> None:
    train = np.array([10.0, 12.0, 11.0, 13.0])  # naive one-step errors 2, 1, 2: scale 5/3
    assert mase(train, np.array([14.0, 10.0]), np.array([13.0, 12.0])) == pytest.approx(0.9)
    assert mase(np.array([3.0, 3.0, 3.0]), np.array([4.0]), np.array([3.0])) is None
    assert smape(np.array([100.0, 0.0]), np.array([50.0, 0.0])) == pytest.approx(33.33, abs=0.01)


series = st.lists(
    st.one_of(st.just(0.0), st.floats(0, 1e7, allow_nan=False), st.integers(0, 50).map(float)),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(history=series, horizon=st.integers(1, 24))
def test_any_series_gets_a_finite_ordered_forecast(history: list[float], horizon: int) -> None:
    made = forecast(history, horizon)
    assert len(made.values) == len(made.lower) == len(made.upper) == len(made.peaks) == horizon
    for low, value, high in zip(made.lower, made.values, made.upper, strict=True):
        assert all(math.isfinite(x) for x in (low, value, high))
        assert 0 <= low <= value <= high
    flat = max(made.values) - min(made.values) < 1e-9
    assert made.peaks == tuple(not flat and v > made.threshold + 1e-9 for v in made.values)
