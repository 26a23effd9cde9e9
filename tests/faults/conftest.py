"""A fresh PostgreSQL database for each fault test, dropped afterwards.

A database of its own (not the session's shared one): the store-away test
closes it to new connections for a moment, which must touch nothing else.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fault_support import Service, admin_connection, serving
from psycopg import sql


@pytest.fixture
def fault_database() -> Iterator[str]:
    """The URL of an empty database of this test's own."""
    yield from _database()


@pytest.fixture(scope="module")
def shared_database() -> Iterator[str]:
    """An empty database for one test module."""
    yield from _database()


@pytest.fixture(scope="module")
def service(shared_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`ledger serve` (runners in-process) on the module's database, started
    once per module: starting it takes seconds on a busy machine."""
    with serving(shared_database, tmp_path_factory.mktemp("serve")) as running:
        yield running


def _database() -> Iterator[str]:
    try:
        admin = admin_connection()
    except psycopg.OperationalError as e:
        message = f"PostgreSQL is not reachable at 127.0.0.1:5432 as postgres: {e}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(message)
    name = f"ledger_fault_{uuid.uuid4().hex[:12]}"
    ident = sql.Identifier(name)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {0}").format(ident))
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {0} ALLOW_CONNECTIONS true").format(ident))
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)").format(ident))
