"""Order numbers for the demo, reserved before its stories run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

from ledger.application import Ledger
from ledger.settings import backend_of

PARALLEL_ALLOCATIONS = 8


def reserve_numbers(ledger: Ledger, needed: Mapping[int, int]) -> dict[int, Iterator[str]]:
    """Allocate every number the plan needs; each year's come out in increasing order.

    Every ``allocate_number`` is a transaction of its own (on PostgreSQL some
    10 ms here, pool check and commit included), so 20,000 of them one after
    another would take minutes. On PostgreSQL they run side by side: still
    unique, and sorted they are the same block a serial run would get, so an
    empty store numbers the same orders the same way. SQLite has one writer
    and the memory store is instant, so there they run one by one.
    """
    workers = PARALLEL_ALLOCATIONS if backend_of(ledger.settings) == "postgres" else 1
    workers = min(workers, max(1, ledger.settings.pool_size))
    reserved: dict[int, Iterator[str]] = {}
    with ThreadPoolExecutor(workers) as pool:
        for year, count in sorted(needed.items()):
            numbers = sorted(pool.map(ledger.allocate_number, [year] * count))
            reserved[year] = iter(numbers)
    return reserved
