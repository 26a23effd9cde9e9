"""The demo's year: each product family arrives with its own peaks and slack
months, around the Spring Festival, growing year on year, and the work in
hand at the end does not pile up on the last months."""

from __future__ import annotations

import io
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.demo.plan import Story
from ledger.demo.planner import FINISHED, _counts, build_plan
from ledger.demo.runner import run_demo
from ledger.demo.seasons import SEASONS, Arrivals, festival, place_stories
from ledger.settings import Settings

START = date(2023, 7, 1)
DAYS = 3 * 365


def placed(per_family: int = 3000, seed: int = 11) -> list[tuple[str, date]]:
    """Finished stories of every family placed over three years: (family, day)."""
    rng = random.Random(seed)
    stories = [Story(family=f) for f in SEASONS for _ in range(per_family)]
    rng.shuffle(stories)
    starts = place_stories(stories, rng, Arrivals(rng, START, DAYS))
    days = (START + timedelta(days=int(d)) for d in starts)
    return [(story.family, day) for story, day in zip(stories, days, strict=True)]


@pytest.fixture(scope="module")
def arrivals() -> list[tuple[str, date]]:
    return placed()


def by_month(arrivals: list[tuple[str, date]], family: str) -> Counter[int]:
    return Counter(day.month for f, day in arrivals if f == family)


@pytest.mark.parametrize(
    ("family", "peak", "slack", "ratio"),
    [
        ("LGT", (9, 10), (6, 7), 1.6),  # lighting: the autumn shopping season
        ("CEL", (9, 10), (6, 7), 1.6),  # consumer electronics too
        ("PKG", (8, 9), (5, 6), 1.25),  # packaging leads the shops by a month
        ("HOM", (3, 4), (7, 8), 1.4),  # fans before summer
        ("MOT", (3, 12), (7, 8), 1.25),  # industry: restocking, year-end projects
        ("OFC", (3, 9), (6, 7), 1.4),  # new offices
    ],
)
def test_each_family_has_its_peak_and_its_slack_months(
    arrivals: list[tuple[str, date]], family: str, peak: tuple[int, int], slack: tuple[int, int],
    ratio: float,
) -> None:  # fmt: skip
    months = by_month(arrivals, family)
    assert sum(months[m] for m in peak) > ratio * sum(months[m] for m in slack)


def test_orders_come_before_the_spring_festival_and_pause_while_it_lasts(
    arrivals: list[tuple[str, date]],
) -> None:
    days = Counter(day for _, day in arrivals)
    for year in (2024, 2025, 2026):
        feast = festival(year)
        before = sum(days[feast - timedelta(days=d)] for d in range(1, 29)) / 28
        during = sum(days[feast + timedelta(days=d)] for d in range(14)) / 14
        assert during * 3 < before, year


def test_demand_grows_year_on_year(arrivals: list[tuple[str, date]]) -> None:
    first = sum(1 for _, day in arrivals if day < START + timedelta(days=365))
    last = sum(1 for _, day in arrivals if day >= START + timedelta(days=730))
    assert last > 1.1 * first


def test_the_same_seed_places_the_same_way() -> None:
    assert placed(50, seed=5) == placed(50, seed=5) != placed(50, seed=6)


def test_the_work_in_hand_is_a_few_months_of_orders_not_a_share_of_all_years() -> None:
    open_share = {
        years: sum(n for f, n in _counts(3000, years).items() if f not in FINISHED) / 3000
        for years in (1, 3)
    }
    assert open_share[3] < open_share[1] / 2.5
    assert sum(_counts(3000, 3).values()) == 3000


def test_the_months_received_stay_level_to_the_end_of_the_window() -> None:
    plan = build_plan(3000, 2026, date(2026, 12, 1))
    received = Counter(at.strftime("%Y-%m") for at, step in plan.steps if step.what == "receive")
    last_year = [received[f"2025-{m:02d}"] for m in range(1, 13)]
    for month in ("2026-09", "2026-10", "2026-11"):  # neither a pile nor a gap at the end
        before = received[f"2025-{month[5:]}"]
        assert 0.6 * before < received[month] < 1.6 * before, month
    assert min(received[f"{y}-02"] for y in (2024, 2025, 2026)) < sum(last_year) / 12


def test_a_story_cut_at_the_end_has_made_all_its_orders_first() -> None:
    rng = random.Random(3)
    late = [Story(family="CEL", orders_until=120.0) for _ in range(2000)]
    starts = place_stories([Story(family="CEL"), *late], rng, Arrivals(rng, START, DAYS))
    assert max(starts[1:]) + 120 < DAYS  # the merge or split before the window ends
    assert max(starts[1:]) > DAYS - 130  # and still late in it: cut there, under way


def test_the_demo_makes_exactly_the_orders_asked_for_though_stories_are_cut() -> None:
    clock = SimulatedClock(datetime(2000, 1, 1, tzinfo=UTC))
    ledger = Ledger(Settings(database_url="memory://"), clock)
    report = run_demo(ledger, clock, orders=900, seed=11, until=date(2026, 11, 30),
                      out=io.StringIO(), progress=None)  # fmt: skip
    assert report.orders == 900
