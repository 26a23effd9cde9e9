"""Shared fixtures: hypothesis profiles, a throw-away PostgreSQL database,
and a ``database_url`` that runs a test once per backend.

Use ``database_url`` (or ``ledger_settings`` / ``make_settings``) in a test to run
it against ``memory``, ``sqlite`` and ``postgres``; each run gets a store of
its own (a fresh SQLite file, a fresh PostgreSQL schema). ``postgres_url``
gives only the PostgreSQL store.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql

from ledger.settings import Settings
from pg_databases import admin_connection, fresh_database

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

BACKENDS = ["memory", "sqlite", "postgres"]

MakeSettings = Callable[..., Settings]


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end."""
    yield from fresh_database("ledger_test")


@pytest.fixture
def postgres_url(postgres_dsn: str) -> Iterator[str]:
    """The session database with a schema of this test's own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{postgres_dsn}?schema={schema}"
    with admin_connection(postgres_dsn.rsplit("/", 1)[1]) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
    ids=BACKENDS,
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL for an empty store, once per backend."""
    backend: str = request.param
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{quote(str(tmp_path / 'ledger.db'))}"
    # Requested lazily so memory and SQLite runs never need PostgreSQL.
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(autouse=True)
def _no_ledger_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the shell's LEDGER_* variables out of the tests' settings."""
    for name in list(os.environ):
        if name.upper().startswith("LEDGER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def make_settings(database_url: str) -> MakeSettings:
    """Build ``Settings`` for this test's store; keyword arguments override."""

    def make(**overrides: Any) -> Settings:
        # Small pools: many tests each open their own.
        values: dict[str, Any] = {"database_url": database_url, "pool_size": 2}
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def ledger_settings(make_settings: MakeSettings) -> Settings:
    """``Settings`` for this test's store with the defaults."""
    return make_settings()
