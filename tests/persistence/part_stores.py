"""Stores for testing the recorders' parts one at a time: a datastore of
each backend holding only the tables a test creates."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast
from uuid import UUID, uuid4

from eventsourcing.persistence import InfrastructureFactory, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from ledger.settings import Settings, eventsourcing_env

TOPIC = "ledger.aggregates.order:Order.Received"


@contextmanager
def datastore_for(database_url: str) -> Iterator[Any]:
    """The datastore the ledger's factory builds for ``database_url`` (no tables)."""
    settings = Settings(database_url=database_url, pool_size=4)
    factory = InfrastructureFactory.construct(Environment(env=eventsourcing_env(settings)))
    datastore = cast(Any, factory).datastore
    if isinstance(datastore, PostgresDatastore):
        with datastore.transaction(commit=True) as curs:
            curs.execute(SQL("CREATE SCHEMA {}").format(Identifier(datastore.schema)))
    try:
        yield datastore
    finally:
        factory.close()


def create_tables(datastore: Any, statements: Iterable[Any]) -> None:
    with datastore.transaction(commit=True) as cursor:
        for statement in statements:
            cursor.execute(statement)


def library_recorder(datastore: Any) -> Any:
    """The library's own recorder on ``datastore``, its events table created:
    the events the parts are written beside."""
    if isinstance(datastore, PostgresDatastore):
        recorder: Any = PostgresApplicationRecorder(datastore)
    else:
        assert isinstance(datastore, SQLiteDatastore)
        recorder = SQLiteApplicationRecorder(datastore)
    recorder.create_table()
    return recorder


def event(originator_id: UUID | None = None, version: int = 1, state: bytes = b"{}") -> StoredEvent:
    return StoredEvent(originator_id or uuid4(), version, TOPIC, state)
