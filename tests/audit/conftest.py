"""Fixtures of the audit tests: settings for a store that SQL can reach."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_helpers import AUDIT_KEY

from ledger.settings import Settings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """An empty SQLite or PostgreSQL store with a known audit key."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    return Settings(database_url=url, audit_key=AUDIT_KEY, pool_size=2)
