"""Run the plan against the ledger: each step as a command on live orders,
stamped with its moment and metadata, saved in batches.

Driving the aggregates directly and saving many orders' events in one
transaction is what makes 20,000 orders take a minute instead of an hour;
the events are exactly those the application's commands would record. A
writer thread saves each batch while the next one is played.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TextIO
from uuid import UUID, uuid5

from eventsourcing.persistence import StoredEvent

from ledger.aggregates.context import Stamp, stamped
from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import SIDE_STAGES, STAGES, Order
from ledger.application import Ledger
from ledger.clock import SimulatedClock
from ledger.collection import few_collections
from ledger.demo.numbers import reserve_numbers
from ledger.demo.plan import Scene, Step
from ledger.demo.planner import YEARS, Plan, build_plan

DEMO_NAMESPACE = UUID("0d3e6f1a-2b6c-4f7e-9d3a-5e1c0de0d3e0")
BATCH_EVENTS = 5000  # about 200 orders' worth of events per transaction
BAR_WIDTH = 30


class DemoError(Exception):
    """A step of the demo was refused: the story and the domain disagree."""


@dataclass(frozen=True)
class DemoReport:
    """What a demo run did: orders per stage, and each order's number, stage, version."""

    orders: int = 0
    events: int = 0
    elapsed: float = 0.0
    stages: dict[str, int] = field(default_factory=dict)
    rows: list[tuple[str, str, int]] = field(default_factory=list)
    skipped: bool = False


def run_demo(
    ledger: Ledger,
    clock: SimulatedClock,
    *,
    orders: int = 300,
    seed: int = 2026,
    if_empty: bool = False,
    until: date | None = None,
    years: int = YEARS,
    out: TextIO = sys.stdout,
    progress: TextIO | None = sys.stderr,
) -> DemoReport:
    """Fill the ledger with ``orders`` orders received over ``years`` years
    whose stories end before ``until`` (default: today, UTC). ``clock`` must
    be the ledger's clock."""
    started = time.perf_counter()
    if if_empty:
        last = ledger.recorder.max_notification_id()
        if last:
            print(f"ledger demo: the store already holds {last} events; nothing to do", file=out)
            return DemoReport(skipped=True)
    bar = _Progress(progress)
    with few_collections():  # the scene keeps every order alive
        bar.note(f"planning {orders:,} orders")
        plan = build_plan(orders, seed, until or datetime.now(UTC).date(), years)
        bar.total = max(len(plan.steps), 1)
        bar.note(f"reserving {sum(plan.numbers_needed().values()):,} order numbers")
        scene, events = _execute(ledger, clock, plan, seed, bar)
    report = _report(scene, events, time.perf_counter() - started)
    _print_summary(report, out)
    return report


def _execute(
    ledger: Ledger, clock: SimulatedClock, plan: Plan, seed: int, bar: _Progress
) -> tuple[Scene, int]:
    scene = Scene(reserve_numbers(ledger, plan.numbers_needed()))
    batch: list[Any] = []
    snapshots = _Snapshots(ledger)
    last: dict[str, str] = {}  # story key -> correlation id of its previous step
    # Deterministic correlation ids: a seed-derived UUID whose last 12 hex
    # digits are the step's sequence number (cheaper than a uuid5 per step).
    prefix = str(uuid5(DEMO_NAMESPACE, str(seed)))[:24]
    with _Writer(ledger) as writer:
        for done, (at, step) in enumerate(plan.steps, start=1):
            clock.set(at)
            scene.at = clock.now()
            correlation = f"{prefix}{step.seq:012x}"
            meta = {"actor": step.actor, "correlation_id": correlation}
            meta["causation_id"] = last.get(step.key, "")
            if step.reason:
                meta["reason"] = step.reason
            _act(scene, step, Stamp(scene.at, meta))
            for order in scene.touched:
                events = order.collect_events()
                if events:
                    batch.extend(events)
                    snapshots.note(order, events)
            last[step.key] = correlation
            if len(batch) >= BATCH_EVENTS:
                bar.show(done, len(scene.orders), writer.submit(batch, snapshots))
                batch = []
        writer.submit(batch, snapshots)
        saved = writer.wait()
    bar.show(len(plan.steps), len(scene.orders), saved)
    bar.finish()
    return scene, saved


def _act(scene: Scene, step: Step, stamp: Stamp) -> None:
    scene.touched.clear()
    with stamped(stamp):
        try:
            step.act(scene)
        except DomainError as error:
            raise DemoError(
                f"step {step.what} of {step.key} at {stamp.at:%Y-%m-%d %H:%M} was refused: "
                f"{error.code}: {error.message}"
            ) from error


class _Writer:
    """Saves the batches on a thread of its own, one at a time and in order,
    while the next batch is played: the database's work (and psycopg's
    waiting for it, which releases the GIL) overlaps the domain's.

    At most one batch is in flight: ``submit`` first waits for the previous
    one, so the store records the batches in the order they were played.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-demo-writer")
        self.pending: Future[int] | None = None
        self.saved = 0

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        # On an error in the demo, a batch in flight still finishes (or fails) first.
        self.pool.shutdown(wait=True)

    def submit(self, batch: list[Any], snapshots: _Snapshots) -> int:
        """Start saving ``batch`` and the snapshots taken so far; the events
        saved (committed) until now."""
        saved = self.wait()
        taken, later = snapshots.handover()
        self.pending = self.pool.submit(_save, self.ledger, batch, taken, later)
        return saved

    def wait(self) -> int:
        """Wait for the batch in flight; raise its error if it failed."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.saved += pending.result()
        return self.saved


def _save(
    ledger: Ledger, batch: list[Any], snapshots: list[StoredEvent], later: list[tuple[UUID, int]]
) -> int:
    """Save the batch's events, in the order they happened, in one
    transaction, then the snapshots their orders reached.

    ``Application.save`` takes aggregates (whose events it files aggregate by
    aggregate) or single events (each checked, slowly, against a runtime
    protocol). One ``_Batch`` keeps the events in time
    order at the cost of one check.
    """
    if batch:
        ledger.save(_Batch(batch))
    if ledger.snapshots is not None:
        if snapshots:
            ledger.snapshots.recorder.insert_events(snapshots)
        for order_id, version in later:
            ledger.take_snapshot(order_id, version)
    return len(batch)


class _Snapshots:
    """The snapshots the library would take after saving the demo's orders
    (at every ``snapshot_interval``-th version), taken from the live orders.

    ``Application.save`` takes each one by reading the order back from the
    store up to that version and writes it in a transaction of its own. The
    demo holds the order in memory, at exactly that version when the step's
    last event reached it: the snapshot is encoded there and then (the
    order's state changes on) and all of a batch's go in one insert. Only
    when a step's earlier event reached the version (a merge, a split) is
    the snapshot left to the library's ``take_snapshot`` after the save.
    """

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        interval = type(ledger).snapshotting_intervals.get(Order)
        self.interval = interval if ledger.snapshots is not None and interval else 0
        self.snapshot_class: Any = getattr(Order, "Snapshot", type(ledger).snapshot_class)
        self.taken: list[StoredEvent] = []
        self.later: list[tuple[UUID, int]] = []

    def note(self, order: Order, events: Sequence[Any]) -> None:
        """Take the snapshots the order's new ``events`` call for."""
        interval = self.interval
        first = events[0].originator_version
        if not interval or order.version // interval == (first - 1) // interval:
            return  # no multiple of the interval reached (most steps)
        for event in events:
            version = event.originator_version
            if version % interval:
                continue
            if version == order.version:
                snapshot = self.snapshot_class.take(order)
                self.taken.append(self.ledger.mapper.to_stored_event(snapshot))
            else:
                self.later.append((order.id, version))

    def handover(self) -> tuple[list[StoredEvent], list[tuple[UUID, int]]]:
        """The snapshots to save with the batch played so far; starts afresh."""
        taken, later = self.taken, self.later
        self.taken, self.later = [], []
        return taken, later


class _Batch:
    """Events collected in time order, offered to ``Application.save`` as one
    collectable object (the library's ``CollectEventsProtocol``)."""

    id = UUID(int=0)  # save() files every object it collects by id; no event has this one
    version = 0

    def __init__(self, events: list[Any]) -> None:
        self._events = list(events)

    def collect_events(self) -> list[Any]:
        events, self._events = self._events, []
        return events


def _report(scene: Scene, events: int, elapsed: float) -> DemoReport:
    orders = list(scene.orders.values())
    stages = Counter(order.stage for order in orders)
    ordered = [s for s in (*STAGES, *SIDE_STAGES) if s in stages]
    rows = sorted((order.number, str(order.stage), order.version) for order in orders)
    return DemoReport(
        orders=len(orders),
        events=events,
        elapsed=elapsed,
        stages={stage: stages[stage] for stage in ordered},
        rows=rows,
    )


def _print_summary(report: DemoReport, out: TextIO) -> None:
    width = max((len(stage) for stage in report.stages), default=5) + 2
    print(f"{'stage':<{width}}{'orders':>8}", file=out)
    for stage, count in report.stages.items():
        print(f"{stage:<{width}}{count:>8,}", file=out)
    print(
        f"{'total':<{width}}{report.orders:>8,}   "
        f"events {report.events:,} · elapsed {report.elapsed:.1f}s",
        file=out,
    )


class _Progress:
    """A one-line progress bar on stderr, redrawn with a carriage return."""

    def __init__(self, stream: TextIO | None) -> None:
        self.stream, self.total = stream, 1
        self.started = time.perf_counter()

    def note(self, what: str) -> None:
        """Say what is being prepared before the bar starts moving."""
        if self.stream is not None:
            self.stream.write(f"\rdemo: {what}…")
            self.stream.flush()

    def show(self, done: int, orders: int, events: int) -> None:
        if self.stream is None:
            return
        filled = BAR_WIDTH * done // self.total
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        elapsed = time.perf_counter() - self.started
        self.stream.write(
            f"\rdemo [{bar}] {100 * done // self.total:3d}%  "
            f"{orders:,} orders  {events:,} events  {elapsed:.0f}s"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()
