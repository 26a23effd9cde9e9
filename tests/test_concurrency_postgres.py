"""Concurrent writers on PostgreSQL: no lost update, stale versions refused,
order numbers distinct and increasing.

Eight threads share two ``Ledger`` instances (as two API workers would),
each with its own connection pool on the same database.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import pytest

from ledger.aggregates.errors import DomainError
from ledger.aggregates.readout import describe
from ledger.aggregates.values import PaymentTerms
from ledger.application import Ctx, Ledger, Result, StaleVersion
from ledger.clock import SimulatedClock
from ledger.settings import Settings
from strategies import ALL_CHECKS_PASS, CUSTOMER, DELIVERY, lines_of

pytestmark = pytest.mark.postgres

THREADS = 8
T = TypeVar("T")


@pytest.fixture
def ledgers(postgres_url: str) -> Iterator[list[Ledger]]:
    settings = Settings(database_url=postgres_url, pool_size=THREADS)
    clock = SimulatedClock(datetime(2026, 5, 1, tzinfo=UTC))
    apps = [Ledger(settings, clock), Ledger(settings, clock)]
    yield apps
    for app in apps:
        app.close()


def in_threads(work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` in THREADS threads started together; re-raise any error."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    if errors:
        raise errors[0]
    return results


def confirmed_order(ledger: Ledger) -> UUID:
    order_id = ledger.receive(
        Ctx(),
        channel="platform",
        customer=CUSTOMER,
        lines=lines_of(("A", 1000, "1.00"), ("B", 1000, "2.00")),
        delivery=DELIVERY,
    ).order.id
    ledger.verify(Ctx(), order_id, checks=dict(ALL_CHECKS_PASS))
    ledger.confirm(Ctx(), order_id, promised_date=date(2026, 6, 1), payment_terms=PaymentTerms())
    return order_id


def full_replay(ledger: Ledger, order_id: UUID) -> Any:
    order: Any = None
    event: Any
    for event in ledger.events.get(order_id):
        order = event.mutate(order)
    return order


def test_eight_writers_on_one_order_lose_no_update(ledgers: list[Ledger]) -> None:
    order_id = confirmed_order(ledgers[0])

    def work(i: int) -> dict[str, Any]:
        ledger = ledgers[i % 2]
        warehouse = f"仓-{i}"
        done: dict[str, Any] = {"versions": [], "allocated": 0, "complaints": [], "stale": 0}

        def attempt(command: Callable[[], Result]) -> Result | None:
            try:
                result = command()
            except StaleVersion:  # the retries ran out under contention: nothing written
                done["stale"] += 1
                return None
            except DomainError:
                return None
            done["versions"].append(result.version)
            return result

        for n in range(12):
            sku = "AB"[n % 2]
            kind = n % 4
            if kind in (0, 1):
                if attempt(
                    partial(
                        ledger.allocate_stock,
                        Ctx(actor=f"t{i}"),
                        order_id,
                        sku=sku,
                        quantity=3,
                        warehouse=warehouse,
                    )
                ):
                    done["allocated"] += 3
            elif kind == 2 and done["allocated"]:
                held = ledger.get_order(order_id).lines
                sku = next(s for s in "AB" if held[s].allocated.get(warehouse))
                if attempt(
                    partial(
                        ledger.release_stock,
                        Ctx(actor=f"t{i}"),
                        order_id,
                        sku=sku,
                        quantity=1,
                        warehouse=warehouse,
                    )
                ):
                    done["allocated"] -= 1
            elif kind == 2:
                attempt(
                    partial(
                        ledger.progress_production,
                        Ctx(actor=f"t{i}"),
                        order_id,
                        stage="组装",
                        percent=n,
                    )
                )
            else:
                complaint_id = f"C-{i}-{n}"
                if attempt(
                    partial(
                        ledger.file_complaint,
                        Ctx(actor=f"t{i}"),
                        order_id,
                        complaint_id=complaint_id,
                        channel="phone",
                        category="交期",
                        description="催货",
                    )
                ):
                    done["complaints"].append(complaint_id)
        return done

    outcomes = in_threads(work)

    versions = [v for outcome in outcomes for v in outcome["versions"]]
    assert len(versions) == len(set(versions)), "two commands claimed the same version"
    assert sum(len(o["versions"]) for o in outcomes) > THREADS * 6  # most got through

    stored = list(ledgers[0].events.get(order_id))
    assert len(stored) == 3 + len(versions)
    assert sorted(versions) == list(range(4, 4 + len(versions)))
    fresh = Ledger(ledgers[0].settings, SimulatedClock(datetime(2026, 5, 2, tzinfo=UTC)))
    try:
        for reader in (*ledgers, fresh):
            order = reader.get_order(order_id)
            assert order.version == len(stored)
            assert describe(order) == describe(full_replay(reader, order_id))
    finally:
        fresh.close()

    order = full_replay(ledgers[0], order_id)
    for i, outcome in enumerate(outcomes):
        held = sum(line.allocated.get(f"仓-{i}", 0) for line in order.lines.values())
        assert held == outcome["allocated"], f"thread {i}'s stock moves were lost"
    filed = sorted(c for outcome in outcomes for c in outcome["complaints"])
    assert sorted(order.complaints) == filed


def test_stale_expected_versions_are_refused_so_one_writer_wins_each_round(
    ledgers: list[Ledger],
) -> None:
    order_id = confirmed_order(ledgers[0])
    for round_ in range(4):
        seen = ledgers[0].get_order(order_id).version

        def work(i: int, seen: int = seen, round_: int = round_) -> bool:
            try:
                ledgers[i % 2].file_complaint(
                    Ctx(actor=f"t{i}", expected_version=seen),
                    order_id,
                    complaint_id=f"C-{round_}-{i}",
                    channel="email",
                    category="c",
                    description="d",
                )
            except StaleVersion:
                return False
            return True

        wins = in_threads(work)
        assert wins.count(True) == 1, wins
        assert ledgers[1].get_order(order_id).version == seen + 1
        assert len(list(ledgers[0].events.get(order_id))) == seen + 1


def test_concurrent_receipts_get_distinct_increasing_numbers(ledgers: list[Ledger]) -> None:
    per_thread = 8

    def work(i: int) -> list[str]:
        ledger = ledgers[i % 2]
        return [
            ledger.receive(
                Ctx(actor=f"t{i}"),
                channel="email",
                customer=CUSTOMER,
                lines=lines_of(("A", 1, "1.00")),
                delivery=DELIVERY,
            ).order.number
            for _ in range(per_thread)
        ]

    numbers = in_threads(work)
    everything = [n for batch in numbers for n in batch]
    assert len(set(everything)) == THREADS * per_thread
    for batch in numbers:
        sequences = [int(n.rsplit("-", 1)[1]) for n in batch]
        assert sequences == sorted(sequences) and len(set(sequences)) == per_thread
        assert all(n.startswith("SO-2026-") for n in batch)
    assert Counter(int(n.rsplit("-", 1)[1]) for n in everything) == Counter(
        range(1, THREADS * per_thread + 1)
    )
    for number in everything:
        assert ledgers[0].find_by_number(number).number == number


def test_the_same_idempotent_command_sent_by_eight_threads_is_written_once(
    ledgers: list[Ledger],
) -> None:
    def receive(i: int) -> Result:
        return ledgers[i % 2].receive(
            Ctx(actor=f"t{i}", idempotency_key="web-order-77"),
            channel="platform",
            customer=CUSTOMER,
            lines=lines_of(("A", 2, "1.00")),
            delivery=DELIVERY,
        )

    received = in_threads(receive)
    assert len({r.order.id for r in received}) == 1
    assert [r.replayed for r in received].count(False) == 1
    order_id = received[0].order.id

    def hold(i: int) -> Result:
        return ledgers[i % 2].hold(
            Ctx(actor=f"t{i}", idempotency_key="hold-77"), order_id, reason="信用审查"
        )

    held = in_threads(hold)
    assert {r.version for r in held} == {2}
    assert [r.replayed for r in held].count(False) == 1
    assert [e.originator_version for e in ledgers[0].events.get(order_id)] == [1, 2]
