"""When the demo's orders arrive: a year of its own for each product family.

Each family has twelve monthly weights (its peaks and its slack), extra
demand in the four weeks before the Spring Festival (customers stock up
before factories close) and a trough in the two weeks from it, a dip in the
National Day week, growth year on year, and noise per month drawn from the
seed. ``Arrivals`` turns them into a weight per day of the window and draws
the day a story starts from its family's weights.

Orders meant to be in progress at the end of the window are placed near
its end; the others are drawn from the weights thinned by that work in
hand, so the number of orders received per day follows the pattern to the
end of the window instead of piling up (or thinning out) there.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ledger.demo.plan import Story

SPRING_FESTIVAL = {
    2015: date(2015, 2, 19), 2016: date(2016, 2, 8), 2017: date(2017, 1, 28),
    2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25),
    2021: date(2021, 2, 12), 2022: date(2022, 2, 1), 2023: date(2023, 1, 22),
    2024: date(2024, 2, 10), 2025: date(2025, 1, 29), 2026: date(2026, 2, 17),
    2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11),
    2033: date(2033, 1, 31), 2034: date(2034, 2, 19), 2035: date(2035, 2, 8),
}  # fmt: skip
BEFORE_FESTIVAL_DAYS = 28
CLOSED_DAYS = 14  # from the festival on, factories and offices close
CLOSED = 0.25
NATIONAL_DAY = 0.5  # 1–7 October
NOISE = 0.08  # spread of the monthly noise (log scale)
WIP_SHARE_OF_STUCK = 0.2  # of the orders in progress, this share is stuck anywhere in the window
SMOOTH_DAYS = 15


@dataclass(frozen=True)
class Season:
    """A family's year: weights per month (January first), the extra demand
    before the Spring Festival, and growth per year."""

    months: tuple[float, ...]
    before_festival: float
    growth: float


FLAT = Season((1.0,) * 12, 0.0, 0.0)
SEASONS = {
    # Industrial goods: restocking after the festival, year-end projects, a summer lull.
    "MOT": Season((1.0, 0.85, 1.25, 1.15, 1.05, 0.9, 0.8, 0.85, 1.1, 1.0, 1.15, 1.2), 0.25, 0.06),
    "HWR": Season((1.0, 0.85, 1.3, 1.2, 1.1, 0.9, 0.8, 0.85, 1.05, 1.0, 1.1, 1.1), 0.2, 0.05),
    "ELE": Season((1.0, 0.85, 1.1, 1.0, 0.95, 0.85, 0.85, 1.05, 1.25, 1.2, 1.1, 1.05), 0.3, 0.08),
    # Goods for shops: the autumn shopping season (Double 11, Christmas abroad) and the festival.
    "LGT": Season((1.0, 0.8, 0.9, 0.9, 0.85, 0.7, 0.75, 1.1, 1.45, 1.5, 1.3, 1.1), 0.5, 0.12),
    "CEL": Season((1.0, 0.75, 0.8, 0.85, 0.9, 0.7, 0.7, 1.15, 1.55, 1.6, 1.2, 1.0), 0.6, 0.15),
    "PKG": Season((1.0, 0.75, 0.85, 0.9, 0.9, 0.8, 0.95, 1.3, 1.5, 1.35, 1.15, 1.0), 0.4, 0.1),
    # Fans sell before summer, kettles and cups before winter.
    "HOM": Season((1.0, 0.9, 1.2, 1.35, 1.25, 0.8, 0.65, 0.9, 1.2, 1.35, 1.25, 1.05), 0.5, 0.1),
    # New offices after the festival and after the summer.
    "OFC": Season((0.9, 0.8, 1.45, 1.25, 1.0, 0.8, 0.75, 0.95, 1.3, 1.0, 1.0, 1.05), 0.15, 0.04),
}


def festival(year: int) -> date:
    """The Spring Festival (lunar new year) of ``year``; early February outside the table."""
    return SPRING_FESTIVAL.get(year, date(year, 2, 1))


def calendar_factor(day: date, season: Season) -> float:
    """The festival and National Day effects on one day."""
    factor = 1.0
    for feast in (festival(day.year), festival(day.year + 1)):
        before = (feast - day).days
        if 0 < before <= BEFORE_FESTIVAL_DAYS:
            factor *= 1 + season.before_festival
        elif 0 <= -before < CLOSED_DAYS:
            factor *= CLOSED
    if day.month == 10 and day.day <= 7:
        factor *= NATIONAL_DAY
    return factor


class Arrivals:
    """Each family's weight for every day of the window, and draws from them."""

    def __init__(self, rng: random.Random, start: date, days: int) -> None:
        self.start, self.days = start, days
        self.weights = {family: self._year(rng, season) for family, season in SEASONS.items()}
        self.available = [1.0] * days
        self._cumulative: dict[str, list[float]] = {}

    def _year(self, rng: random.Random, season: Season) -> list[float]:
        noise: dict[tuple[int, int], float] = {}
        weights = []
        for offset in range(self.days):
            day = self.start + timedelta(days=offset)
            month = (day.year, day.month)
            if month not in noise:
                noise[month] = math.exp(rng.gauss(0, NOISE))
            growth = (1 + season.growth) ** (offset / 365)
            weight = season.months[day.month - 1] * calendar_factor(day, season)
            weights.append(weight * growth * noise[month])
        return weights

    def weight(self, family: str) -> list[float]:
        """The family's weights per day (a flat year for a family without a season)."""
        if family not in self.weights:
            self.weights[family] = [1.0] * self.days
        return self.weights[family]

    def thin(self, busy: Sequence[float], families: Sequence[str]) -> None:
        """Leave room for ``busy`` (stories placed already, per day): a day's
        weight keeps the share of the stories expected that day not yet there."""
        expected = [0.0] * self.days
        for family, count in _counts(families).items():
            weights = self.weight(family)
            scale = count / (sum(weights) or 1.0)
            for day, weight in enumerate(weights):
                expected[day] += weight * scale
        smooth = _smoothed(busy, SMOOTH_DAYS)
        self.available = [
            max(0.0, 1 - placed / wanted) if wanted > 0 else 1.0
            for placed, wanted in zip(smooth, expected, strict=True)
        ]
        self._cumulative.clear()

    def draw(self, rng: random.Random, family: str, latest: float) -> float:
        """A start day in [0, ``latest``], drawn from the family's thinned weights."""
        cumulative = self._cumulative.get(family)
        if cumulative is None:
            thinned = (w * a for w, a in zip(self.weight(family), self.available, strict=True))
            cumulative = self._cumulative[family] = list(itertools.accumulate(thinned))
        last = min(int(latest), self.days - 1)
        total = cumulative[last]
        if total <= 0:
            return rng.uniform(0, latest)
        day = bisect.bisect_left(cumulative, rng.random() * total)
        return min(day + rng.random(), latest)


def _counts(families: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for family in families:
        counts[family] = counts.get(family, 0) + 1
    return counts


def _smoothed(values: Sequence[float], half: int) -> list[float]:
    """A moving average over ``2 * half + 1`` days."""
    sums = [0.0, *itertools.accumulate(values)]
    n = len(values)
    width = 2 * half + 1
    return [(sums[min(n, i + half + 1)] - sums[max(0, i - half)]) / width for i in range(n)]


def place_stories(stories: Sequence[Story], rng: random.Random, arrivals: Arrivals) -> list[float]:
    """Each story's start, in days after the window opens.

    Finished stories are drawn from their family's year, anywhere in the
    window: one that starts late is still under way at its end (the planner
    cuts its steps there), though never before its merge or split has made
    its orders, so that ``--orders`` orders are made. Of the stories meant to
    stay in progress, a fifth are stuck anywhere (the backlog) and the rest
    end in the last few weeks.
    The very first story opens the window so the data spans it.
    """
    days = arrivals.days
    starts = [0.0] * len(stories)
    busy = [0.0] * days
    drawn: list[int] = []
    for i, story in enumerate(stories):
        latest = max(0.0, days - 1 - story.length)
        if i == 0:
            starts[i] = rng.uniform(0, 1)
        elif story.settled or rng.random() < WIP_SHARE_OF_STUCK:
            drawn.append(i)
        else:
            starts[i] = max(0.0, latest - rng.expovariate(1 / 10))
            busy[min(int(starts[i]), days - 1)] += 1
    arrivals.thin(busy, [story.family for story in stories])
    for i in drawn:  # cut at the end, but never before its last order is made
        story = stories[i]
        starts[i] = arrivals.draw(rng, story.family, max(0.0, days - 1 - story.orders_until))
    return starts
