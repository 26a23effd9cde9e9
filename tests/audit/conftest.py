"""Fixtures of the audit tests: settings for a store that SQL can reach."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from audit_helpers import AUDIT_KEY, make_ledger

from ledger.application import Ledger
from ledger.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """An empty SQLite or PostgreSQL store with a known audit key."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    return Settings(database_url=url, audit_key=AUDIT_KEY, pool_size=2)


@pytest.fixture
def opened() -> Iterator[Callable[[Settings], Ledger]]:
    """``opened(settings)``: a ledger on ``settings``, closed after the test
    (PostgreSQL connections are shared with everything else on the server)."""
    ledgers: list[Ledger] = []

    def open_ledger(settings: Settings) -> Ledger:
        ledgers.append(make_ledger(settings))
        return ledgers[-1]

    yield open_ledger
    for ledger in ledgers:
        ledger.close()
