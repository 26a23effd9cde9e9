"""Bar charts as geometry for server-rendered SVG (no chart library).

``grouped_bars`` lays out one group of bars per category, one bar per
series, on a "nice" value axis; the template draws rectangles from it and
an accessible table of the same numbers beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 34


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float]
    css: str  # "s1" | "s2": colour via the stylesheet


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    value: float
    text: str
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label)
    labels: list[tuple[float, str]]  # (x centre, category)
    series: list[Series]
    categories: list[str]
    plot: tuple[int, int, int, int] = field(default=(LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM))


def nice_max(value: float) -> float:
    """The smallest 1/2/2.5/5 x 10^k at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)


def integer_axis(value: float, ticks: int = 4) -> tuple[float, int]:
    """The top of a count axis and its number of steps, every step a whole
    number (1, 2, 3, 5 x 10^k): 3 orders -> (3, 3), 47 -> (60, 3), never 12.5."""
    if value <= 0:
        return 1.0, 1
    raw = value / ticks
    if raw <= 1:
        step = 1
    else:
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 3, 5, 10) if raw <= m * power)
    steps = max(1, math.ceil(value / step))
    return float(steps * step), steps


def short(value: float) -> str:
    """Compact axis/bar text: 1234567 -> 1.23M, 12500 -> 12.5k, 10^13 -> 10T."""
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}" if value % 1 else str(int(value))


def grouped_bars(
    categories: list[str], series: list[Series], ticks: int = 4, *, counts: bool = False
) -> Chart:
    """Bars on a "nice" axis; ``counts``: an axis of whole numbers only."""
    highest = max((v for s in series for v in s.values), default=0.0)
    if counts:
        top, ticks = integer_axis(highest, ticks)
    else:
        top = nice_max(highest)
    left, upper, right, lower = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    band = (right - left) / max(len(categories), 1)
    bar_w = band * 0.8 / max(len(series), 1)
    bars: list[Bar] = []
    for i, category in enumerate(categories):
        for j, s in enumerate(series):
            value = s.values[i]
            h = (lower - upper) * value / top
            x = left + i * band + band * 0.1 + j * bar_w
            title = f"{category} · {s.name}: {value:,.2f}".replace(".00", "")
            bars.append(Bar(x, lower - h, bar_w - 1, h, value, short(value), s.css, title))
    tick_marks = [
        (lower - (lower - upper) * k / ticks, short(top * k / ticks)) for k in range(ticks + 1)
    ]
    labels = [(left + (i + 0.5) * band, c) for i, c in enumerate(categories)]
    return Chart(WIDTH, HEIGHT, bars, tick_marks, labels, series, categories)


def as_float(value: str | int | Decimal | None) -> float:
    return float(value or 0)
