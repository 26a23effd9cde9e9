"""A fresh PostgreSQL database for each fault test, dropped afterwards.

A database of its own (not the session's shared one): the store-away test
closes it to new connections for a moment, which must touch nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fault_support import Service, serving

from pg_databases import fresh_database


@pytest.fixture
def fault_database() -> Iterator[str]:
    """The URL of an empty database of this test's own."""
    yield from fresh_database("ledger_fault")


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    """An empty database for one test module."""
    yield from fresh_database("ledger_fault")


@pytest.fixture(scope="module")
def service(shared_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`ledger serve` (runners in-process) on the module's database, started
    once per module: starting it takes seconds on a busy machine."""
    with serving(shared_database, tmp_path_factory.mktemp("serve")) as running:
        yield running
