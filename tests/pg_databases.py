"""Scratch PostgreSQL databases for the tests: the server at 127.0.0.1:5432
(user `postgres`, trust auth), a database with a random name per use,
dropped afterwards. Under CI=true an unreachable server fails the run;
elsewhere the PostgreSQL tests are skipped, saying why."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


def admin_connection(dbname: str = "postgres") -> psycopg.Connection[Any]:
    params: dict[str, Any] = {**PG_ADMIN, "dbname": dbname}
    return psycopg.connect(**params, autocommit=True, connect_timeout=3)


def fresh_database(prefix: str) -> Iterator[str]:
    """Yield the URL of a new empty database named ``<prefix>_<random>``;
    drop it afterwards (even if a test closed it to new connections)."""
    try:
        admin = admin_connection()
    except psycopg.OperationalError as e:
        message = f"PostgreSQL is not reachable at 127.0.0.1:5432 as postgres: {e}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(f"{message}; skipping the PostgreSQL tests")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    ident = sql.Identifier(name)
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {0}").format(ident))
        try:
            yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {0} ALLOW_CONNECTIONS true").format(ident))
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {0} WITH (FORCE)").format(ident))
