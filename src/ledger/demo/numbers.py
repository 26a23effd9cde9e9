"""Order numbers for the demo, reserved before its stories run."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ledger.application import Ledger


def reserve_numbers(ledger: Ledger, needed: Mapping[int, int]) -> dict[int, Iterator[str]]:
    """Allocate every number the plan needs, one block per year in one
    transaction; each year's come out in increasing order, the same block a
    one-by-one run on an empty store would get."""
    return {
        year: iter(ledger.allocate_numbers(year, count))
        for year, count in sorted(needed.items())
        if count > 0
    }
