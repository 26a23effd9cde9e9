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

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql

from ledger.settings import Settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
BACKENDS = ["memory", "sqlite", "postgres"]

MakeSettings = Callable[..., Settings]


def _admin_connection(dbname: str = "postgres") -> psycopg.Connection[Any]:
    params = {**PG_ADMIN, "dbname": dbname}
    return psycopg.connect(**params, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A database of its own for this test session, dropped at the end."""
    try:
        admin = _admin_connection()
    except psycopg.OperationalError as e:
        message = f"PostgreSQL is not reachable at 127.0.0.1:5432 as postgres: {e}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(f"{message}; skipping the PostgreSQL tests")
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {0}").format(sql.Identifier(name)))
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def postgres_url(postgres_dsn: str) -> Iterator[str]:
    """The session database with a schema of this test's own."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{postgres_dsn}?schema={schema}"
    with _admin_connection(postgres_dsn.rsplit("/", 1)[1]) as conn:
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
