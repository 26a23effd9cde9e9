"""Shared by the audit tests: a small ledger with a few orders of several events,
and direct SQL on the store behind the service's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from ledger.aggregates.values import Customer, PaymentTerms
from ledger.application import Ctx, Ledger
from ledger.clock import SimulatedClock
from ledger.settings import Settings
from strategies import ALL_CHECKS_PASS, CUSTOMER, DELIVERY, PROMISED, STANDARD_LINES, lines_of

AUDIT_KEY = "test-audit-key-0123456789abcdef"
Opened = Callable[[Settings], Ledger]  # the ``opened`` fixture: ledgers closed after the test
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def make_ledger(settings: Settings) -> Ledger:
    return Ledger(settings, SimulatedClock(START, tick=timedelta(seconds=1)))


def five_event_order(ledger: Ledger, customer: Customer = CUSTOMER) -> UUID:
    """An order at version 5: received, verified, confirmed, held, released."""
    order_id = ledger.receive(
        Ctx(actor="sales"),
        channel="phone",
        customer=customer,
        lines=lines_of(*STANDARD_LINES),
        delivery=DELIVERY,
    ).order.id
    ledger.verify(Ctx(), order_id, checks=dict(ALL_CHECKS_PASS))
    ledger.confirm(
        Ctx(),
        order_id,
        promised_date=PROMISED,
        payment_terms=PaymentTerms(prepayment_percent=Decimal(0)),
    )
    ledger.hold(Ctx(), order_id, reason="credit check")
    ledger.release(Ctx(), order_id, reason="credit ok")
    return order_id


class Tamper:
    """Runs SQL on the store directly, with placeholders as ``?``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        target = settings.database
        self.backend = target.backend
        self.schema = target.schema
        # The library names the PostgreSQL table after the application.
        self.events = "stored_events" if self.backend == "sqlite" else "ledger_events"

    def oid(self, order: UUID) -> Any:
        return order.hex if self.backend == "sqlite" else order

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.settings.database.path)
            try:
                yield conn
                conn.commit()
            finally:
                conn.close()
        else:
            url = self.settings.database_url.split("?")[0]
            with psycopg.connect(url, autocommit=False) as pg:
                pg.execute(f'SET search_path TO "{self.schema}"')
                yield pg

    def run(self, sql: str, *args: Any) -> list[Any]:
        if self.backend != "sqlite":
            sql = sql.replace("?", "%s").replace("stored_events", self.events)
        with self._conn() as conn:
            cur = conn.execute(sql, args)
            return list(cur.fetchall()) if cur.description else []


def raw_store(settings: Settings) -> bytes:
    """Every byte the store keeps: SQLite's files (the database, its WAL and
    shared memory), or every PostgreSQL table of the store as text."""
    target = settings.database
    if target.backend == "sqlite":
        folder = Path(target.path).parent
        return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    url = settings.database_url.split("?")[0]
    chunks: list[bytes] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (target.schema,)
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {} t").format(sql.Identifier(target.schema, table))
            chunks.extend(row[0].encode() for row in conn.execute(query))
    return b"\n".join(chunks)
