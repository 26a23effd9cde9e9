"""PostgreSQL: the connections a recorder keeps to write group-commit batches on.

Held between batches (one per batch in flight), so a batch needs no pool
check-out or ping, and the statements prepared on it stay prepared.
"""

from __future__ import annotations

import contextlib
import threading

from eventsourcing.postgres import PostgresDatastore
from psycopg import Connection
from psycopg.rows import DictRow


class WriterConnections:
    """Connections kept between batches to write them on (one per batch in flight)."""

    def __init__(self, datastore: PostgresDatastore) -> None:
        self.datastore = datastore
        self._lock = threading.Lock()
        self._idle: list[Connection[DictRow]] = []

    def take(self) -> Connection[DictRow]:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not (conn.closed or conn.broken):
                    return conn
                self._put_back(conn)
        pool = self.datastore.pool
        pool.open(self.datastore.pool_open_timeout is not None,
                  self.datastore.pool_open_timeout or 30.0)  # fmt: skip
        return pool.getconn()

    def keep(self, conn: Connection[DictRow]) -> None:
        with self._lock:
            self._idle.append(conn)

    def discard(self, conn: Connection[DictRow]) -> None:
        """Whatever state it is in (aborted pipeline, lost server, prepared
        statements psycopg believes in): close it, the next batch takes a fresh one."""
        conn.close()
        self._put_back(conn)

    def close(self) -> None:
        """Return the kept connections to the pool (before it closes)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            self._put_back(conn)

    def _put_back(self, conn: Connection[DictRow]) -> None:
        with contextlib.suppress(Exception):
            self.datastore.pool.putconn(conn)
