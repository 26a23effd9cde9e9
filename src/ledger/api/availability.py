"""Answer 503 at once while PostgreSQL cannot be reached.

A command that meets a dead connection is retried by the library (ten
attempts, each waiting for a pooled connection), which rides out a short
blip but would hold every request for many seconds during a real outage.
``StoreWatch`` probes the store on a connection of its own; while a probe
fails, ``StoreGate`` answers new requests ``503 store_unavailable`` with
``Retry-After`` without touching the store (nothing is recorded, so a retry
is always safe). Requests already running keep their retries and finish
normally when the store is back in time; if not, the error handlers turn
their failure into the same 503. The pool itself drops dead connections
(``POSTGRES_PRE_PING``) and reconnects by itself.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.api.errors import RETRY_AFTER_SECONDS, store_unavailable_response
from ledger.api.responses import FastJSON
from ledger.settings import DatabaseTarget

log = logging.getLogger("ledger.api")

# Served without the store: documentation, static files and liveness.
UNGATED = ("/docs", "/redoc", "/openapi.json", "/ui/static", "/favicon", "/health/live")


class StoreWatch:
    """Probes the store every ``interval`` seconds (faster while it is away)."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        interval: float = 0.5,
        away_interval: float = 0.1,
    ) -> None:
        self._connect = connect
        self.interval = interval
        self.away_interval = away_interval
        self.away = False
        self._conn: psycopg.Connection[Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def of(cls, target: DatabaseTarget) -> StoreWatch:
        """A watch on the PostgreSQL database ``target`` names."""

        def connect() -> psycopg.Connection[Any]:
            return psycopg.connect(
                host=target.host,
                port=target.port,
                user=target.user,
                password=target.password,
                dbname=target.dbname,
                connect_timeout=2,
                autocommit=True,
                options="-c statement_timeout=2000",
                application_name="ledger-store-watch",
            )

        return cls(connect)

    def probe(self) -> bool:
        """Whether the store answers ``SELECT 1`` now.

        Tried twice: the first failure may only mean that the watch's own
        connection was closed since the last probe.
        """
        for _ in range(2):
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = self._connect()
                self._conn.execute("SELECT 1")
                return True
            except psycopg.Error as e:
                self._close()
                if _full(e):  # it answered: up, only out of connection slots
                    return True
        return False

    def start(self) -> StoreWatch:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="store-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _run(self) -> None:
        while not self._stop.wait(self.away_interval if self.away else self.interval):
            reachable = self.probe()
            if reachable == self.away:
                state = "back" if reachable else "unreachable: answering 503"
                log.warning("the store is %s", state)
            self.away = not reachable

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()


def _full(error: psycopg.Error) -> bool:
    """Whether PostgreSQL refused a connection only for want of free slots
    (the service's pooled connections still work). psycopg gives no SQLSTATE
    for a refused connection, hence the server's message."""
    text = str(error)
    return "too many clients" in text or "remaining connection slots" in text


class StoreGate:
    """ASGI middleware: 503 ``store_unavailable`` while the watch says the store is away."""

    def __init__(self, app: ASGIApp, watch: StoreWatch, store: str) -> None:
        self.app = app
        self.watch = watch
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.watch.away or scope["path"].startswith(UNGATED):
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/health":
            headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
            response = FastJSON({"status": "unavailable", "store": self.store}, 503, headers)
        else:
            response = store_unavailable_response()
        await response(scope, receive, send)
