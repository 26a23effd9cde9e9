"""PostgreSQL: the statements of a group-commit batch (``pg_batch``), rendered once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.postgres import PostgresDatastore
from psycopg.sql import SQL, Identifier

from ledger.persistence.pg_chain import PostgresChain
from ledger.persistence.pg_idempotency import PostgresIdempotency


@dataclass(frozen=True)
class BatchStatements:
    """The statements of a batch, rendered once: psycopg would otherwise
    compose each one again on every execute."""

    lock: list[bytes]
    notify: bytes
    select_versions: bytes
    select_keys: bytes
    select_links: bytes
    insert_keys: bytes
    insert_events: bytes
    insert_events_and_links: bytes


def batch_statements(
    datastore: PostgresDatastore,
    events_table_name: str,
    lock: Sequence[Any],
    channel_name: str,
    idempotency: PostgresIdempotency,
    hash_chain: PostgresChain,
) -> BatchStatements:
    """Render the statements of a batch (``lock``: the library's table lock)."""
    events = Identifier(datastore.schema, events_table_name)
    id_type = Identifier(datastore.originator_id_type)
    return BatchStatements(
        lock=[_as_bytes(q) for q in lock],
        notify=SQL("NOTIFY {0}").format(Identifier(channel_name)).as_bytes(None),
        select_versions=_SELECT_VERSIONS.format(table=events).as_bytes(None),
        select_keys=idempotency.select_keys_statement.as_bytes(None),
        select_links=hash_chain.select_previous_statement.as_bytes(None),
        insert_keys=idempotency.insert_statement.as_bytes(None),
        insert_events=_INSERT_EVENTS.format(table=events, id_type=id_type).as_bytes(None),
        insert_events_and_links=hash_chain.insert_events_and_links_statement.as_bytes(None),
    )


_SELECT_VERSIONS = SQL(
    "SELECT e.originator_id, e.originator_version FROM {table} e "
    "JOIN unnest(%s::uuid[], %s::bigint[]) AS w(o, v) "
    "ON e.originator_id = w.o AND e.originator_version = w.v"
)
_INSERT_EVENTS = SQL(
    "INSERT INTO {table} (originator_id, originator_version, topic, state) "
    "SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], %s::text[], %b::bytea[]) "
    "RETURNING notification_id"
)


def _as_bytes(query: Any) -> bytes:
    if isinstance(query, bytes):
        return query
    if isinstance(query, str):
        return query.encode()
    rendered: bytes = query.as_bytes(None)
    return rendered
