"""Fixtures of the integration tests: a populated store per SQL backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from feed_support import populate
from psycopg import sql

from ledger.application import Ledger
from pg_databases import admin_connection


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def populated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ledger]:
    """A store holding the log of ``feed_support.populate``, once per module and backend."""
    if request.param == "sqlite":
        ledger = populate(f"sqlite:///{tmp_path_factory.mktemp('feed') / 'ledger.db'}")
        yield ledger
        ledger.close()
        return
    dsn: str = request.getfixturevalue("postgres_dsn")
    schema = f"feed_{uuid.uuid4().hex[:12]}"
    ledger = populate(f"{dsn}?schema={schema}")
    yield ledger
    ledger.close()
    with admin_connection(dsn.rsplit("/", 1)[1]) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"
