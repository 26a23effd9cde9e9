"""Fixtures for the recorders' parts: empty datastores of each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from part_stores import datastore_for


@pytest.fixture
def pg_datastore(postgres_url: str) -> Iterator[PostgresDatastore]:
    """A datastore on this test's own (new, empty) PostgreSQL schema."""
    with datastore_for(postgres_url) as datastore:
        yield datastore


@pytest.fixture
def sqlite_datastore(tmp_path: Path) -> Iterator[SQLiteDatastore]:
    """A datastore on a new SQLite file."""
    with datastore_for(f"sqlite:///{quote(str(tmp_path / 'parts.db'))}") as datastore:
        yield datastore
