"""The pool's pre-ping, skipped for connections lent moments ago
(``persistence.pg_pool``): a connection idle for longer is pinged, and a dead
one found by the ping is replaced, so a check-out never lends a connection
known to be broken."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.postgres import PostgresDatastore

from ledger.persistence.pg_pool import FreshCheck

pytestmark = pytest.mark.postgres


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fresh_check(datastore: PostgresDatastore, clock: Clock) -> FreshCheck:
    check = datastore.pool._check
    fresh = check.__self__  # type: ignore[union-attr]
    assert isinstance(fresh, FreshCheck)
    fresh.clock = clock
    return fresh


def _backend(datastore: PostgresDatastore) -> int:
    with datastore.get_connection() as conn:
        row: Any = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()
        return int(row["pid"])


def test_the_ledgers_pool_pings_only_connections_idle_for_longer_than_the_window(
    pg_datastore: PostgresDatastore,
) -> None:
    clock = Clock()
    fresh = _fresh_check(pg_datastore, clock)
    pg_datastore.pool.wait(timeout=10)  # every connection of its minimum size is open
    for _ in range(2 * pg_datastore.pool.max_size):  # each lent and returned once
        _backend(pg_datastore)
    pings, skipped = fresh.pings, fresh.skipped
    clock.now += fresh.window / 2
    for _ in range(3):
        _backend(pg_datastore)
    assert (fresh.pings, fresh.skipped) == (pings, skipped + 3)
    clock.now += fresh.window * 2
    _backend(pg_datastore)
    assert (fresh.pings, fresh.skipped) == (pings + 1, skipped + 3)


def test_a_connection_killed_while_idle_is_replaced_at_check_out_after_the_window(
    pg_datastore: PostgresDatastore, postgres_dsn: str
) -> None:
    import psycopg

    clock = Clock()
    fresh = _fresh_check(pg_datastore, clock)
    pids = set()
    held = [pg_datastore.pool.getconn() for _ in range(2)]
    for conn in held:
        pids.add(int(conn.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]))  # type: ignore[index]
        pg_datastore.pool.putconn(conn)
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    clock.now += fresh.window * 2
    # Every check-out pings (the window passed), finds the dead ones, and
    # lends a working connection: never an error.
    for _ in range(4):
        assert _backend(pg_datastore) not in pids
    assert fresh.pings >= 1


def test_a_connection_lent_moments_ago_is_pinged_when_not_plainly_idle(
    postgres_dsn: str,
) -> None:
    import psycopg

    clock = Clock()
    fresh = FreshCheck(window=1.0, clock=clock)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        fresh.check(conn)  # never lent before: pinged
        fresh.check(conn)
        assert (fresh.pings, fresh.skipped) == (1, 1)
        conn.execute("BEGIN")  # in a transaction: pinged, not trusted
        fresh.check(conn)
        assert fresh.pings == 2
        conn.execute("ROLLBACK")
    with pytest.raises(psycopg.OperationalError):  # closed since: the ping finds it broken
        fresh.check(conn)
    assert fresh.pings == 3
