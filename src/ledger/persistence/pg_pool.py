"""The pool's pre-ping, skipped for a connection that came back moments ago.

With ``POSTGRES_PRE_PING`` the library gives its psycopg pool
``ConnectionPool.check_connection`` as the ``check`` callback: an empty
query, one round trip, on every check-out. Under load a connection is lent
again within milliseconds of its return, when the ping can tell nothing
new: it was working a moment ago (the pool itself rolls back or discards a
connection returned in a bad state, and libpq marks one whose socket it saw
close). ``FreshCheck`` records when it last lent each connection and pings
only one lent longer than ``window`` seconds ago (so idle for at least as
long), or one whose state is not plainly idle. It keeps no ``reset``
callback: with one, psycopg_pool returns every connection through a
worker thread.

A connection that died within the window (a backend terminated, a restart)
fails on its first statement instead; the library retries that statement
on another connection, and the service's store watch (``api.availability``)
probes the store on a connection of its own. The pool's callbacks are set
after the library built the pool, as it takes them only in its constructor.
"""

from __future__ import annotations

import time
from typing import Any

from psycopg import pq
from psycopg_pool import ConnectionPool

WINDOW = 1.0
"""Seconds after it was last lent during which a connection is lent again without a ping."""

_LENT = "_ledger_lent_at"


class FreshCheck:
    """The ``check`` callback of a pool (see the module)."""

    def __init__(self, window: float = WINDOW, clock: Any = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self.pings = 0  # checks that went to the server
        self.skipped = 0

    def check(self, conn: Any) -> None:
        lent = getattr(conn, _LENT, None)
        now = self.clock()
        setattr(conn, _LENT, now)
        pgconn = conn.pgconn
        if (
            lent is not None
            and now - lent < self.window
            and pgconn.status == pq.ConnStatus.OK
            and pgconn.transaction_status == pq.TransactionStatus.IDLE
        ):
            self.skipped += 1
            return
        self.pings += 1
        ConnectionPool.check_connection(conn)


def skip_fresh_pings(pool: Any, window: float = WINDOW) -> FreshCheck | None:
    """Give ``pool`` a ``FreshCheck`` if it pings on check-out (``pre_ping``);
    ``None`` (and the pool unchanged) otherwise."""
    if getattr(pool, "_check", None) is None:
        return None
    fresh = FreshCheck(window)
    pool._check = fresh.check
    return fresh
