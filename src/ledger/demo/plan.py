"""Stories as timed steps: what happens to which order, when, and by whom.

A story is written in days relative to its own start, then placed somewhere
in the window of years before ``--until`` (``seasons.place_stories``). All
stories' steps are then merged by time, so the store records them in the
order they happened.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from ledger.aggregates.order import Order
from ledger.aggregates.values import Line
from ledger.demo.people import Client

YEAR_DAYS = 365
CENT = Decimal("0.01")
# Steps fall into working hours in China: 09:00–19:00 Beijing time.
WORKDAY_START_UTC = time(1, 0)
WORKDAY_HOURS = 10


class Scene:
    """What a step acts on while the demo runs: the live orders and the moment.

    ``touched`` lists, in order, the orders a step read or created, so their
    new events can be collected in the order they were triggered.
    """

    def __init__(self, numbers: Mapping[int, Iterator[str]]) -> None:
        self._numbers = numbers
        self.orders: dict[str, Order] = {}
        self.touched: list[Order] = []
        self.at = datetime(2000, 1, 1, tzinfo=UTC)

    def order(self, key: str) -> Order:
        order = self.orders[key]
        self.touched.append(order)
        return order

    def add(self, key: str, order: Order) -> None:
        self.orders[key] = order
        self.touched.append(order)

    def day(self, offset: float = 0) -> date:
        """The calendar date ``offset`` days from now."""
        return (self.at + timedelta(days=offset)).date()

    def new_number(self) -> str:
        """The next reserved order number of the current year, e.g. SO-2026-000123."""
        return next(self._numbers[self.at.year])


Act = Callable[[Scene], None]


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to build, and there are many
class Step:
    """One command in a story; ``day`` is relative until the story is placed."""

    day: float
    seq: int
    key: str
    actor: str
    act: Act
    what: str
    reason: str = ""
    numbered: bool = False  # takes a new order number


@dataclass
class Track:
    """One order's thread through a story: its key and how far in time it got."""

    key: str
    day: float = 0.0


@dataclass
class Story:
    """The steps of one order, or of the orders a split or merge ties together."""

    steps: list[Step] = field(default_factory=list)
    settled: bool = True  # ends in a closed state: may lie anywhere in the window
    family: str = ""  # of the first order's first product: when in the year it arrives
    orders_until: float = 0.0  # the day of its last step that makes an order (a merge, a split)

    @property
    def length(self) -> float:
        return max((step.day for step in self.steps), default=0.0)


class Writer:
    """Appends steps to a story; the sequence number keeps equal times stable."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.story = Story()
        self._seq = 0

    def start(self, story: Story) -> None:
        self.story = story

    def step(
        self,
        track: Track,
        gap: tuple[float, float],
        actor: str,
        what: str,
        act: Act,
        reason: str = "",
        *,
        numbered: bool = False,
        creates: bool = False,
    ) -> None:
        """``act`` happens ``gap`` (a range of days) after the track's last step;
        ``creates``: it makes new orders (a split's parts)."""
        track.day += self.rng.uniform(*gap)
        step = Step(track.day, self._seq, track.key, actor, act, what, reason, numbered)
        self.story.steps.append(step)
        if numbered or creates:
            self.story.orders_until = max(self.story.orders_until, track.day)
        self._seq += 1


def moment(window_start: date, day: float) -> datetime:
    """A day offset as a time in working hours; monotonic, to the second."""
    whole = math.floor(day)
    seconds = int((day - whole) * WORKDAY_HOURS * 3600)
    start = datetime.combine(window_start + timedelta(days=whole), WORKDAY_START_UTC, UTC)
    return start + timedelta(seconds=seconds)


@dataclass
class Profile:
    """What the planner knows about an order while it writes its story."""

    track: Track
    client: Client
    lines: list[Line]
    merchandiser: str
    sales: str
    prepay: Decimal = Decimal(0)
    produced: bool = False
    ship: dict[str, int] = field(default_factory=dict)  # sku -> quantity that will ship
    short: tuple[str, int] | None = None  # a remainder written off after the first dispatch
    open_purchases: list[tuple[str, int]] = field(default_factory=list)
    open_issues: list[str] = field(default_factory=list)
    open_complaints: list[str] = field(default_factory=list)
    compensations: list[str] = field(default_factory=list)  # resolved issues to credit
    counter: int = 0

    def fork(self, track: Track, lines: list[Line]) -> Profile:
        """A new order of the same customer and staff (a split part, a merged order)."""
        return Profile(track, self.client, lines, self.merchandiser, self.sales)

    def next_id(self, prefix: str) -> str:
        """An id unique within the order: QI-1, CP-2..."""
        self.counter += 1
        return f"{prefix}-{self.counter}"
