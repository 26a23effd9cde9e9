"""Webhook subscriptions and their deliveries, in the store's own database.

``ledger_webhooks`` holds each subscription with its position in the log,
tracked as a read model's is: the deliveries found in a page of the log
(``ledger_webhook_deliveries``, one row per matching event) and the new
position are written in one transaction, each write naming the position it
read, so an event is taken in exactly once even when a delivering process
is killed half-way. A delivery row holds no payload (it is read from the
log at each attempt, so an erasure reaches the retries too): only where
the event is, its order, version and type, and how its attempts went.

Statuses: ``pending`` (not tried yet), ``retrying`` (failed, tried again at
``next_attempt_at``), ``delivered``, ``failed`` (the last attempt failed).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.persistence.creation import create_racing
from ledger.projections.view_sqlite import checked_name

UNDELIVERED = ("pending", "retrying", "failed")
STATUSES = ("pending", "retrying", "delivered", "failed")
_DELIVERY_COLUMNS = (
    "webhook_id, position, order_id, version, type, status, attempts, generation, "
    "next_attempt_at, last_attempt_at, delivered_at, last_status, last_error"
)


@dataclass(frozen=True)
class Subscription:
    id: str
    url: str
    events: tuple[str, ...]
    description: str
    secret: str  # sealed (see ``signing.SecretBox``)
    status: str  # active | disabled
    disabled_reason: str | None
    created_at: str
    position: int


@dataclass(frozen=True)
class Delivery:
    """A delivery row as the deliverer plans with it."""

    position: int
    order_id: str
    version: int
    type: str
    status: str
    attempts: int
    generation: int


@dataclass(frozen=True)
class Attempted:
    """What one attempt changes on its delivery row."""

    position: int
    generation: int
    status: str
    attempts: int
    next_attempt_at: float | None
    at: float
    delivered_at: float | None
    last_status: int | None
    last_error: str | None


class _Memory:
    """An in-process SQLite database for the in-memory store (one process)."""

    def __init__(self) -> None:
        self._conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def transaction(self, *, commit: bool) -> Iterator[sqlite3.Cursor]:
        with self._lock:
            cursor = self._conn.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            except BaseException:
                self._conn.rollback()
                raise
            if commit:
                self._conn.commit()
            else:
                self._conn.rollback()


class WebhookStore:
    """The two tables, on SQLite (the store's file, or memory) or PostgreSQL."""

    def __init__(self, datastore: Any, postgres: bool) -> None:
        self.datastore = datastore
        self.postgres = postgres
        self.schema = f'"{checked_name(datastore.schema.lower())}"' if postgres else ""
        prefix = f"{self.schema}." if postgres else ""
        self.webhooks = f"{prefix}ledger_webhooks"
        self.deliveries = f"{prefix}ledger_webhook_deliveries"

    @classmethod
    def of(cls, app: Any) -> WebhookStore:
        """The webhook tables in the application's store (created if missing)."""
        datastore = getattr(app.factory, "datastore", None)
        postgres = type(datastore).__name__ == "PostgresDatastore"
        store = cls(datastore if datastore is not None else _Memory(), postgres)
        create_racing(store.create_tables)
        return store

    @contextlib.contextmanager
    def _tx(self, commit: bool = True) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _sql(self, statement: str) -> str:
        return statement if self.postgres else statement.replace("%s", "?")

    def _run(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> None:
        cursor.execute(self._sql(statement), tuple(params))

    def _rows(self, cursor: Any, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor.execute(self._sql(statement), tuple(params))
        return [dict(row) for row in cursor.fetchall()]

    def create_tables(self) -> None:
        real = "DOUBLE PRECISION"
        with self._tx() as c:
            if self.postgres:
                c.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.webhooks} (id TEXT PRIMARY KEY, "
                "url TEXT NOT NULL, events TEXT NOT NULL, description TEXT NOT NULL, "
                "secret TEXT NOT NULL, status TEXT NOT NULL, disabled_reason TEXT, "
                "created_at TEXT NOT NULL, position BIGINT NOT NULL)"
            )
            c.execute(
                f"CREATE TABLE IF NOT EXISTS {self.deliveries} (webhook_id TEXT NOT NULL, "
                "position BIGINT NOT NULL, order_id TEXT NOT NULL, version BIGINT NOT NULL, "
                "type TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, "
                f"generation INTEGER NOT NULL, next_attempt_at {real}, last_attempt_at {real}, "
                f"delivered_at {real}, last_status INTEGER, last_error TEXT, "
                "PRIMARY KEY (webhook_id, position))"
            )
            for name, columns in (("order", "order_id"), ("status", "status")):
                c.execute(
                    f"CREATE INDEX IF NOT EXISTS ledger_webhook_deliveries_{name} "
                    f"ON {self.deliveries} (webhook_id, {columns}, position)"
                )

    # -- subscriptions ----------------------------------------------------------

    def add(self, subscription: Subscription) -> None:
        s = subscription
        with self._tx() as c:
            self._run(c, f"INSERT INTO {self.webhooks} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                      (s.id, s.url, json.dumps(list(s.events)), s.description, s.secret,
                       s.status, s.disabled_reason, s.created_at, s.position))  # fmt: skip

    def get(self, webhook_id: str) -> Subscription | None:
        with self._tx(commit=False) as c:
            rows = self._rows(c, f"SELECT * FROM {self.webhooks} WHERE id = %s", (webhook_id,))
        return _subscription(rows[0]) if rows else None

    def all(self) -> list[Subscription]:
        with self._tx(commit=False) as c:
            rows = self._rows(c, f"SELECT * FROM {self.webhooks} ORDER BY created_at, id")
        return [_subscription(row) for row in rows]

    def delete(self, webhook_id: str) -> bool:
        with self._tx() as c:
            self._run(c, f"DELETE FROM {self.deliveries} WHERE webhook_id = %s", (webhook_id,))
            gone = self._rows(
                c, f"DELETE FROM {self.webhooks} WHERE id = %s RETURNING id", (webhook_id,)
            )
        return bool(gone)

    def disable(self, webhook_id: str, reason: str) -> None:
        with self._tx() as c:
            self._run(c, f"UPDATE {self.webhooks} SET status = 'disabled', disabled_reason = %s "
                         "WHERE id = %s", (reason, webhook_id))  # fmt: skip

    def replay(self, webhook_id: str, start: int, now: float) -> bool:
        """Deliver again every matching event from position ``start`` on (and
        make the subscription active again); False if there is no such subscription."""
        with self._tx() as c:
            found = self._rows(
                c, f"UPDATE {self.webhooks} SET status = 'active', disabled_reason = NULL, "
                "position = CASE WHEN position >= %s THEN %s ELSE position END "
                "WHERE id = %s RETURNING id", (start, start - 1, webhook_id),
            )  # fmt: skip
            self._run(
                c, f"UPDATE {self.deliveries} SET status = 'pending', attempts = 0, "
                "next_attempt_at = %s, generation = generation + 1 "
                "WHERE webhook_id = %s AND position >= %s", (now, webhook_id, start),
            )  # fmt: skip
        return bool(found)

    # -- the deliverer's side ---------------------------------------------------

    def take_in(self, webhook_id: str, expected: int, position: int, rows: list[tuple[Any, ...]],
                now: float) -> bool:  # fmt: skip
        """Add delivery rows (position, order_id, version, type) and move the
        subscription from ``expected`` to ``position``, together; False (and
        nothing written) if it is no longer at ``expected`` or not active."""
        with self._tx() as c:
            moved = self._rows(
                c, f"UPDATE {self.webhooks} SET position = %s WHERE id = %s AND position = %s "
                "AND status = 'active' RETURNING id", (position, webhook_id, expected),
            )  # fmt: skip
            if moved and rows:
                c.executemany(self._sql(
                    f"INSERT INTO {self.deliveries} ({_DELIVERY_COLUMNS}) VALUES "
                    "(%s, %s, %s, %s, %s, 'pending', 0, 0, %s, NULL, NULL, NULL, NULL) "
                    "ON CONFLICT (webhook_id, position) DO NOTHING"
                ), [(webhook_id, *row, now) for row in rows])  # fmt: skip
        return bool(moved)

    def due(self, webhook_id: str, now: float, limit: int) -> list[Delivery]:
        """Deliveries to attempt now: each the first undelivered one of its order
        (a later one waits for it), then the pending ones after it, in log order."""
        with self._tx(commit=False) as c:
            heads = self._rows(
                c, f"SELECT * FROM {self.deliveries} d WHERE d.webhook_id = %s "
                "AND d.status IN ('pending', 'retrying') AND d.next_attempt_at <= %s "
                f"AND NOT EXISTS (SELECT 1 FROM {self.deliveries} e "
                "WHERE e.webhook_id = d.webhook_id AND e.order_id = d.order_id "
                "AND e.position < d.position AND e.status <> 'delivered') "
                "ORDER BY d.position LIMIT %s", (webhook_id, now, limit),
            )  # fmt: skip
            if not heads:
                return []
            orders = sorted({row["order_id"] for row in heads})
            marks = ", ".join("%s" for _ in orders)
            following = self._rows(
                c, f"SELECT * FROM {self.deliveries} WHERE webhook_id = %s "
                f"AND status = 'pending' AND order_id IN ({marks}) AND position > %s "
                "ORDER BY position LIMIT %s",
                (webhook_id, *orders, heads[0]["position"], limit * 4),
            )  # fmt: skip
        rows = {row["position"]: row for row in [*heads, *following]}
        return [_delivery(rows[p]) for p in sorted(rows)]

    def record(self, webhook_id: str, attempts: Sequence[Attempted]) -> None:
        """The outcome of attempts (a row replayed meanwhile is left as replayed)."""
        if not attempts:
            return
        with self._tx() as c:
            c.executemany(self._sql(
                f"UPDATE {self.deliveries} SET status = %s, attempts = %s, next_attempt_at = %s, "
                "last_attempt_at = %s, delivered_at = %s, last_status = %s, last_error = %s "
                "WHERE webhook_id = %s AND position = %s AND generation = %s"
            ), [(a.status, a.attempts, a.next_attempt_at, a.at, a.delivered_at, a.last_status,
                 a.last_error, webhook_id, a.position, a.generation)
                for a in attempts])  # fmt: skip

    def log(
        self, webhook_id: str, status: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of the deliveries, newest first, and how many match."""
        where, params = "webhook_id = %s", [webhook_id]
        if status is not None:
            where, params = f"{where} AND status = %s", [webhook_id, status]
        with self._tx(commit=False) as c:
            rows = self._rows(c, f"SELECT * FROM {self.deliveries} WHERE {where} "
                                "ORDER BY position DESC LIMIT %s OFFSET %s",
                             (*params, limit, offset))  # fmt: skip
            total = self._rows(c, f"SELECT COUNT(*) AS n FROM {self.deliveries} WHERE {where}",
                              params)  # fmt: skip
        return rows, int(total[0]["n"])

    def prune(self, before: float) -> None:
        """Forget deliveries delivered before ``before`` (the log keeps the events)."""
        with self._tx() as c:
            self._run(c, f"DELETE FROM {self.deliveries} WHERE status = 'delivered' "
                         "AND delivered_at < %s", (before,))  # fmt: skip

    def counts(self, webhook_id: str) -> dict[str, int]:
        with self._tx(commit=False) as c:
            rows = self._rows(c, f"SELECT status, COUNT(*) AS n FROM {self.deliveries} "
                                "WHERE webhook_id = %s GROUP BY status", (webhook_id,))  # fmt: skip
        counted = {row["status"]: int(row["n"]) for row in rows}
        return {status: counted.get(status, 0) for status in STATUSES}


def _subscription(row: dict[str, Any]) -> Subscription:
    return Subscription(
        id=row["id"], url=row["url"], events=tuple(json.loads(row["events"])),
        description=row["description"], secret=row["secret"], status=row["status"],
        disabled_reason=row["disabled_reason"], created_at=row["created_at"],
        position=int(row["position"]),
    )  # fmt: skip


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        position=int(row["position"]), order_id=row["order_id"], version=int(row["version"]),
        type=row["type"], status=row["status"], attempts=int(row["attempts"]),
        generation=int(row["generation"]),
    )  # fmt: skip
