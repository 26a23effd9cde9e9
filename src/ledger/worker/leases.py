"""Leases: which process runs a projection or a scheduled job.

On PostgreSQL a lease is a session-level advisory lock
(``pg_try_advisory_lock``) on a connection of its own: it is held until
released or until the process dies (its connection closes), so another
process takes over at its next try. On SQLite it is an exclusive ``flock``
on a file beside the store, with the same lifetime. The in-memory store
lives in one process, so its leases are always granted.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from ledger.files import open_private, private_dirs
from ledger.settings import DatabaseTarget, Settings

log = logging.getLogger(__name__)


class Lease(Protocol):
    def acquire(self) -> bool:
        """Try to hold the lease (again); True while this process holds it."""
        ...

    def release(self) -> None: ...


class LocalLease:
    """Always granted: one process owns an in-memory store."""

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


class FileLease:
    """An exclusive, non-blocking ``flock`` on ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        if self._file is not None:
            return True
        private_dirs(self.path.parent)
        file = open_private(self.path)  # held open while the lease is
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            file.close()
            return False
        self._file = file
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def advisory_key(target: DatabaseTarget, name: str) -> int:
    """A signed 64-bit lock key for ``name`` in this database and schema."""
    text = f"ledger:{target.dbname}:{target.schema or 'public'}:{name}"
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), signed=True)


class AdvisoryLease:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    def __init__(self, target: DatabaseTarget, name: str) -> None:
        self.target = target
        self.name = name
        self.key = advisory_key(target, name)
        self._conn: Any = None
        self.error: Exception | None = None  # why the last acquire could not even ask

    def _connect(self) -> Any:
        import psycopg  # PostgreSQL leases only: an embedded store never loads it

        t = self.target
        return psycopg.connect(
            host=t.host, port=t.port, user=t.user, password=t.password,
            dbname=t.dbname, autocommit=True, connect_timeout=10,
            application_name=f"ledger lease {self.name}"[:63],
        )  # fmt: skip

    def acquire(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT 1")
                return True
            except Exception:  # the connection died, and the lock with it
                log.warning("lost the lease %s; trying to take it again", self.name)
                self._close()
        self.error = None
        try:
            conn = self._connect()
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
        except Exception as error:
            log.warning("could not ask for the lease %s: %s", self.name, error)
            self.error = error
            return False
        if not (row and row[0]):
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
            except Exception:
                log.warning("releasing the lease %s failed; closing it", self.name)
            self._close()

    def _close(self) -> None:
        try:
            self._conn.close()
        finally:
            self._conn = None


def lease_factory(settings: Settings) -> Callable[[str], Lease]:
    """Leases for the store ``settings`` name."""
    target = settings.database
    if target.backend == "postgres":
        return lambda name: AdvisoryLease(target, name)
    if target.backend == "sqlite":
        folder = Path(os.path.abspath(target.path + ".locks"))
        return lambda name: FileLease(folder / name.replace(":", "-"))
    return lambda name: LocalLease()
