"""The whole demo as one time-ordered list of steps, from a seed.

The fates (the stage each order ends in) are dealt from a deck in fixed
proportions, so even a small demo shows every stage, and ``--orders N``
means exactly N orders in the store: a split into k parts uses k + 1 of
them, a merge of m orders m + 1. The fates of orders still in progress
are the work in hand, about the last few months' orders: their shares
shrink with the years the demo spans (``IN_HAND_MONTHS`` of them), and the
finished fates take the rest.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ledger.demo.people import Client, make_clients
from ledger.demo.plan import YEAR_DAYS, Step, Story, moment
from ledger.demo.seasons import Arrivals, place_stories
from ledger.demo.stories import StoryBook

# Share of each fate, in percent of the orders.
FATES = {
    "received": 4,
    "verified": 3,
    "rejected": 3,
    "confirmed": 5,
    "in_production": 9,
    "ready_to_ship": 6,
    "shipped": 8,
    "delivered": 4,
    "invoiced": 5,
    "settled": 5,
    "archived": 30,
    "on_hold": 5,
    "cancelled": 6,
    "split": 3,
    "merged": 4,
}
FINISHED = ("archived", "cancelled", "rejected", "settled", "split", "merged")
EVERY_FATE_FROM = 40  # with this many orders, every fate appears at least once
YEARS = 3
IN_HAND_MONTHS = 3  # the shares of FATES in progress are those of this many months' orders


@dataclass(frozen=True)
class Plan:
    """The steps in the order they happen, each with its moment."""

    steps: list[tuple[datetime, Step]]
    orders: int
    window_start: date

    def numbers_needed(self) -> Counter[int]:
        """How many new order numbers each year's steps take."""
        return Counter(at.year for at, step in self.steps if step.numbered)


def build_plan(orders: int, seed: int, until: date, years: int = YEARS) -> Plan:
    """Write every story for ``orders`` orders over ``years`` years before
    ``until`` and merge their steps by time."""
    rng = random.Random(seed)
    clients = make_clients(rng, max(12, orders // 6))
    # A few customers order often, most only now and then.
    weights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(clients))))
    book = StoryBook(rng)
    keys = (f"o{n}" for n in itertools.count(1))
    take = keys.__next__
    days = YEAR_DAYS * years
    window_start = until - timedelta(days=days)
    stories = []
    for kind, fates in _deal(rng, orders, years):
        client = rng.choices(clients, cum_weights=weights)[0]
        stories.append(_write(book, kind, fates, client, take))
    starts = place_stories(stories, rng, Arrivals(rng, window_start, days))
    timed: list[tuple[datetime, int, Step]] = []
    for story, start in zip(stories, starts, strict=True):
        # A story longer than the window is squeezed into it; one that would
        # go on after the window is cut there (its order is still under way).
        scale = min(1.0, (days - 1) / story.length) if story.length else 1.0
        for step in story.steps:
            day = start + step.day * scale
            if day < days:
                timed.append((moment(window_start, day), step.seq, step))
    timed.sort(key=lambda t: (t[0], t[1]))
    return Plan([(at, step) for at, _, step in timed], orders, window_start)


def _write(
    book: StoryBook, kind: str, fates: list[str], client: Client, take: Callable[[], str]
) -> Story:
    if kind == "split":
        return book.split(take(), client, [(take(), fate) for fate in fates])
    if kind == "merge":
        return book.merge([take() for _ in fates[1:]], client, (take(), fates[0]))
    return book.single(take(), client, fates[0])


def _counts(orders: int, years: int = 1) -> dict[str, int]:
    """Largest-remainder shares of the fates, every fate at least once when
    there are enough orders (taken from the most common fate)."""
    scale = IN_HAND_MONTHS / (12 * years)
    shares = {f: w if f in FINISHED else w * scale for f, w in FATES.items()}
    total = sum(shares.values())
    exact = {fate: orders * weight / total for fate, weight in shares.items()}
    counts = {fate: int(share) for fate, share in exact.items()}
    by_remainder = sorted(FATES, key=lambda f: (-(exact[f] - counts[f]), f))
    for fate in by_remainder[: orders - sum(counts.values())]:
        counts[fate] += 1
    if orders >= EVERY_FATE_FROM:
        for fate in FATES:
            if counts[fate] == 0:
                counts[fate] = 1
                counts["archived"] -= 1
    return counts


def _deal(rng: random.Random, orders: int, years: int) -> list[tuple[str, list[str]]]:
    """Stories as (kind, fates): ("single", [fate]), ("split", [child fates...]),
    ("merge", [result fate, "merged" per source...])."""
    counts = _counts(orders, years)
    simple = [f for f, n in counts.items() if f not in ("split", "merged") for _ in range(n)]
    rng.shuffle(simple)
    deck = deque(simple)
    stories: list[tuple[str, list[str]]] = []
    for _ in range(counts["split"]):
        parts = 2 if rng.random() < 0.7 else 3
        if len(deck) < parts:
            deck.append("archived")
            continue
        stories.append(("split", [deck.pop() for _ in range(parts)]))
    sources = counts["merged"]
    while sources >= 2 and deck:
        size = 3 if sources == 3 or (sources >= 5 and rng.random() < 0.4) else 2
        stories.append(("merge", [deck.pop(), *["merged"] * size]))
        sources -= size
    deck.extend(["archived"] * sources)
    stories.extend(("single", [fate]) for fate in deck)
    rng.shuffle(stories)
    return stories
