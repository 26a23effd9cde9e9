"""Forecasting one monthly series (complete months, oldest first).

The method follows from what the series has (``choose``):

- no month at all: ``no_history``, zeros;
- under one season (12 months): ``recent_mean``, the mean of its months;
- a flat series (every month the same): ``recent_mean``, that value;
- intermittent (orders in fewer than half of its last 24 months): ``recent_mean``
  of the last 12 months, since a seasonal model would only echo chance orders;
- under two seasons (24 months): ``seasonal_naive``, each month as the same
  month a year earlier;
- otherwise Holt-Winters exponential smoothing (statsmodels) with a damped
  additive trend and additive or multiplicative seasonality (multiplicative
  only when every month is positive), whichever forecasts the held-out last
  six months better. Should a fit fail, the series falls back to ``seasonal_naive``.

The backtest fits the chosen method to all but the last ``HOLDOUT`` months
and compares its forecast of them with what happened: MASE (scaled by the
mean absolute seasonal difference of the fitted months, or month-to-month
difference under 13 months; undefined when that is zero) and sMAPE (in
percent). It is missing when the method cannot be fitted to the shorter
series. The interval is 80 %: for Holt-Winters the 10th and 90th percentiles
of simulated paths (residuals resampled, a fixed random state), for the
others a normal approximation from the spread of their own errors. No
forecast or bound goes below zero. A month is a peak when its forecast lies
above the 75th percentile of the series over the last twelve months and the
next twelve (a flat forecast has no peak).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

SEASON = 12
HOLDOUT = 6
Z80 = 1.2815515655446004  # the normal quantile of 0.9: an 80 % interval
PATHS = 400
RANDOM_STATE = 20260101
PEAK_QUANTILE = 0.75
FIT_FAILURES = (ValueError, ArithmeticError, np.linalg.LinAlgError, IndexError)

Method = Callable[[np.ndarray, int], "Path"]


@dataclass(frozen=True)
class Path:
    """A method's forecast: points and the 80 % bounds."""

    values: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


@dataclass(frozen=True)
class Backtest:
    """How well the method forecast the held-out last months."""

    months: int
    mase: float | None
    smape: float


@dataclass(frozen=True)
class Forecast:
    """A series' forecast for the next months, with how far to trust it."""

    method: str
    reason: str
    values: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    peaks: tuple[bool, ...]
    threshold: float
    backtest: Backtest | None


def forecast(history: Sequence[float], horizon: int) -> Forecast:
    """Forecast ``horizon`` months after ``history``; never raises on a short,
    flat, zero or single-month series."""
    y = np.asarray(history, dtype=float)
    method, reason, run, check = choose(y)
    path, backtest = run(y, horizon), check(y)
    if method.startswith("holt_winters") and not _finite(path):
        method, reason = "seasonal_naive", "the Holt-Winters fit failed"
        path, backtest = _snaive(y, horizon), _bt(_snaive)(y)
    values = np.maximum(path.values, 0.0)
    threshold, peaks = _peaks(y, values)
    return Forecast(
        method,
        reason,
        _rounded(values),
        _rounded(np.clip(path.lower, 0.0, values)),
        _rounded(np.maximum(path.upper, values)),
        peaks,
        round(threshold, 4),
        backtest,
    )


def _peaks(y: np.ndarray, values: np.ndarray) -> tuple[float, tuple[bool, ...]]:
    """The 75th percentile of the last season and the next one, and the
    forecast months above it. Both seasons count so that growth alone does not
    make every coming month a peak; a flat forecast has none."""
    around = np.concatenate([y[-SEASON:], values[:SEASON]])
    threshold = float(np.quantile(around, PEAK_QUANTILE)) if len(around) else 0.0
    if len(values) == 0 or np.ptp(values) < 1e-9:
        return threshold, (False,) * len(values)
    return threshold, tuple(bool(v > threshold + 1e-9) for v in values)


def choose(y: np.ndarray) -> tuple[str, str, Method, Callable[[np.ndarray], Backtest | None]]:
    """The method for a series, why, how to run it and how to backtest it."""
    n = len(y)
    if n == 0:
        return "no_history", "no complete month yet", _zeros, lambda _: None
    if n < SEASON:
        return "recent_mean", "under one season of history", _mean, _bt(_mean)
    if np.all(y == y[0]):
        return "recent_mean", "every month the same", _mean, _bt(_mean)
    if np.count_nonzero(y[-2 * SEASON :]) * 2 < min(n, 2 * SEASON):
        return "recent_mean", "intermittent: orders in under half of the months", _mean, _bt(_mean)
    if n < 2 * SEASON:
        return "seasonal_naive", "under two seasons of history", _snaive, _bt(_snaive)
    kind, backtest = _best_seasonality(y)
    name = "holt_winters_additive" if kind == "add" else "holt_winters_multiplicative"
    return name, "two seasons or more", _hw(kind), lambda _: backtest


# -- methods ------------------------------------------------------------------------


def _zeros(y: np.ndarray, h: int) -> Path:
    zero = np.zeros(h)
    return Path(zero, zero, zero)


def _mean(y: np.ndarray, h: int) -> Path:
    """The mean of the last season's months (all, when fewer), spread by their deviation."""
    recent = y[-SEASON:]
    level = float(recent.mean()) if len(recent) else 0.0
    spread = float(recent.std(ddof=1)) if len(recent) > 1 else 0.0
    half = Z80 * spread * math.sqrt(1 + 1 / max(len(recent), 1))
    values = np.full(h, level)
    return Path(values, values - half, values + half)


def _snaive(y: np.ndarray, h: int) -> Path:
    """Each month as the same month of the last season; the spread of the
    year-on-year differences grows with each season ahead."""
    last = y[-SEASON:]
    values = np.array([last[i % SEASON] for i in range(h)])
    changes = y[SEASON:] - y[:-SEASON]
    spread = float(changes.std(ddof=1)) if len(changes) > 1 else float(y.std(ddof=1))
    seasons_ahead = np.array([1 + i // SEASON for i in range(h)])
    half = Z80 * spread * np.sqrt(seasons_ahead)
    return Path(values, values - half, values + half)


def _fit(y: np.ndarray, kind: str) -> Any:
    """Holt-Winters with a damped additive trend and ``kind`` seasonality,
    fitted by SLSQP (L-BFGS-B's numeric gradients took ten times longer for
    the same error on seasonal test series).

    The starting states come from statsmodels' heuristic decomposition; it
    needs two seasons, so a shorter series (a backtest's fitted months)
    starts from its first season (its mean, no trend, its pattern)."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # slow to import: only to forecast

    options: dict[str, Any] = {"initialization_method": "heuristic"}
    if len(y) < 2 * SEASON:
        level = float(y[:SEASON].mean())
        pattern = y[:SEASON] - level if kind == "add" else y[:SEASON] / level
        options = {
            "initialization_method": "known",
            "initial_level": level,
            "initial_trend": 0.0,
            "initial_seasonal": pattern,
        }
    model = ExponentialSmoothing(
        y, trend="add", damped_trend=True, seasonal=kind, seasonal_periods=SEASON, **options
    )
    return model.fit(use_brute=False, method="SLSQP")


def _hw(kind: str) -> Method:
    def run(y: np.ndarray, h: int) -> Path:
        warm_up()  # statsmodels' import sets warning filters of its own: before ours
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence notes: the backtest judges the fit
                fitted = _fit(y, kind)
                values = np.asarray(fitted.forecast(h))
                paths = fitted.simulate(
                    h, repetitions=PATHS, error=kind, random_errors="bootstrap",
                    rng=np.random.default_rng(RANDOM_STATE), anchor="end",
                )  # fmt: skip
        except FIT_FAILURES:
            nothing = np.full(h, np.nan)
            return Path(nothing, nothing, nothing)
        lower, upper = np.percentile(np.asarray(paths).reshape(h, -1), [10, 90], axis=1)
        return Path(values, lower, upper)

    return run


def _best_seasonality(y: np.ndarray) -> tuple[str, Backtest | None]:
    """Additive or multiplicative, by the error on the held-out months."""
    kinds = ["add", "mul"] if np.all(y > 0) else ["add"]
    scored = [(kind, _bt(_hw(kind))(y)) for kind in kinds]
    usable = [(kind, bt) for kind, bt in scored if bt is not None]
    if not usable:
        return "add", None
    return min(usable, key=lambda item: _score(item[1]))


def _score(backtest: Backtest) -> tuple[float, float]:
    mase = backtest.mase if backtest.mase is not None else math.inf
    return (mase, backtest.smape)


# -- backtest ------------------------------------------------------------------------


def _bt(method: Method) -> Callable[[np.ndarray], Backtest | None]:
    """The method's error on the last ``HOLDOUT`` months, fitted to those before."""

    def check(y: np.ndarray) -> Backtest | None:
        train, actual = y[:-HOLDOUT], y[-HOLDOUT:]
        if len(train) < _needs(method):
            return None
        predicted = np.maximum(method(train, HOLDOUT).values, 0.0)
        if not np.all(np.isfinite(predicted)):
            return None
        return Backtest(HOLDOUT, mase(train, actual, predicted), smape(actual, predicted))

    return check


def _needs(method: Method) -> int:
    """The fewest months a method can be fitted to."""
    if method is _mean:
        return 1
    if method is _snaive:
        return SEASON
    return SEASON + HOLDOUT  # Holt-Winters: a season to start from, more to learn from


def mase(train: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> float | None:
    """Mean absolute error scaled by the in-sample naive error (seasonal when possible)."""
    lag = SEASON if len(train) > SEASON else 1
    if len(train) <= lag:
        return None
    scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
    if scale == 0:
        return None
    return round(float(np.mean(np.abs(actual - predicted))) / scale, 4)


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in percent (0–200); a month
    where both are zero counts as no error."""
    total = np.abs(actual) + np.abs(predicted)
    safe = np.where(total == 0, 1.0, total)
    terms = np.where(total == 0, 0.0, 2 * np.abs(actual - predicted) / safe)
    return round(float(np.mean(terms)) * 100, 2)


def _finite(path: Path) -> bool:
    return bool(np.all(np.isfinite(path.values)) and np.all(np.isfinite(path.lower)))


def _rounded(values: np.ndarray) -> tuple[float, ...]:
    return tuple(round(float(v), 4) for v in values)


def warm_up() -> None:
    """Import statsmodels (slow to import) ahead of the first forecast."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # noqa: F401
