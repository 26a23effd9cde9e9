"""The hash chain in PostgreSQL: the ``ledger_chain`` table (see ``chain``).

A save reads the previous link of each of its orders in one query inside
its transaction (after the table lock), unless this process committed that
link itself (``RecentLinks``: committed links never change). A single save
inserts its links with a statement of their own; a group-commit batch
writes them in the events' own INSERT (``insert_events_and_links``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from ledger.persistence import chain

# Previous links to read from the store: (originator, version).
Wanted = list[tuple[str, int]]

_CREATE = SQL(
    "CREATE TABLE IF NOT EXISTS {table} (originator_id uuid NOT NULL, "
    "version bigint NOT NULL, hash bytea NOT NULL, "
    "PRIMARY KEY (originator_id, version))"
)
_SELECT_PREVIOUS = SQL(
    "SELECT c.originator_id, c.version, c.hash FROM {table} c "
    "JOIN unnest(%s::uuid[], %s::bigint[]) AS w(o, v) "
    "ON c.originator_id = w.o AND c.version = w.v"
)
_INSERT = SQL(
    "INSERT INTO {table} (originator_id, version, hash) "
    "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %b::bytea[]) "
    # Never the statement that fails: a version conflict must fail the
    # events INSERT itself (which then rolls these rows back too).
    "ON CONFLICT DO NOTHING"
)
# The events and their links in one statement (a group commit's insert): a
# statement of its own for the links costs a single caller's command
# noticeably more time, nearly all of it the statement's own round of
# parse, plan and execute. A conflict on the events fails this statement,
# links and all. The byte arrays go in binary (``%b``): as text, every state
# was written out in hex and escaped by the client and parsed by the server.
_INSERT_EVENTS_AND_LINKS = SQL(
    "WITH e AS MATERIALIZED (SELECT * FROM unnest(%s::{id_type}[], %s::bigint[], "
    "%s::text[], %b::bytea[], %b::bytea[]) WITH ORDINALITY AS w(o, v, t, s, h, n)), "
    "l AS (INSERT INTO {chain} (originator_id, version, hash) "
    "SELECT o, v, h FROM e ON CONFLICT DO NOTHING) "
    "INSERT INTO {events} (originator_id, originator_version, topic, state) "
    "SELECT o, v, t, s FROM e ORDER BY n RETURNING notification_id"
)


class PostgresChain:
    """The chain table's statements and the links of a save."""

    def __init__(self, datastore: PostgresDatastore, events_table_name: str) -> None:
        # Links this process committed: a command on an order just written
        # needs no query for its previous hash.
        self.recent = chain.RecentLinks()
        table = Identifier(datastore.schema, chain.CHAIN_TABLE)
        self.create_statements = [_CREATE.format(table=table)]
        self.select_previous_statement = _SELECT_PREVIOUS.format(table=table)
        self.insert_statement = _INSERT.format(table=table)
        self.insert_events_and_links_statement = _INSERT_EVENTS_AND_LINKS.format(
            events=Identifier(datastore.schema, events_table_name),
            id_type=Identifier(datastore.originator_id_type),
            chain=table,
        )

    def wanted(self, events: Sequence[StoredEvent]) -> tuple[Wanted, dict[str, bytes]]:
        """The previous links still to read from the store, and those known here."""
        wanted = chain.previous_wanted(events)
        known = self.recent.known(wanted)
        return [w for w in wanted if w[0] not in known], known

    def wanted_by_save(
        self, saves: Iterable[Sequence[StoredEvent]]
    ) -> tuple[Wanted, dict[tuple[str, int], bytes]]:
        """As ``wanted``, for several saves written together of which some may
        be refused: the link before each save's first event of an order (not
        only before the order's first event in the batch, which may be a
        refused save's)."""
        wanted = sorted({w for events in saves for w in chain.previous_wanted(events)})
        known = self.recent.known_at(wanted)
        return [w for w in wanted if w not in known], known

    def links_after(
        self, events: Sequence[StoredEvent], previous: dict[tuple[str, int], bytes]
    ) -> list[chain.Link]:
        """The links of ``events``, given links by (originator, version) that
        include the one before each order's first event here."""
        heads = {
            o: previous[(o, v)] for o, v in chain.previous_wanted(events) if (o, v) in previous
        }
        return chain.chain_links(events, heads)

    def links(
        self, events: Sequence[StoredEvent], known: dict[str, bytes], rows: Iterable[Any] = ()
    ) -> list[chain.Link]:
        """The links of ``events``, given the known heads and the rows read."""
        return chain.chain_links(events, {**known, **chain.previous_map(rows)})

    def select_previous(self, cursor: Cursor[DictRow], wanted: Wanted) -> None:
        """Ask for the previous links (the rows come at the pipeline's sync)."""
        # Not prepared: an aborted pipeline would desync psycopg (see ``insert``).
        cursor.execute(self.select_previous_statement, previous_params(wanted), prepare=False)

    def insert(self, cursor: Cursor[DictRow], links: Sequence[chain.Link]) -> None:
        # Not prepared: in a pipeline that aborts (a version conflict) psycopg
        # would believe a statement prepared that the server never kept.
        cursor.execute(self.insert_statement, _link_columns(links), prepare=False)


def previous_params(wanted: Wanted) -> tuple[list[str], list[int]]:
    return [o for o, _ in wanted], [v for _, v in wanted]


def previous_at(rows: Iterable[Any]) -> dict[tuple[str, int], bytes]:
    """``{(originator, version): hash}`` from the previous links read."""
    return {
        (chain.originator_text(row["originator_id"]), row["version"]): bytes(row["hash"])
        for row in rows
    }


def hashes_in_order(events: Sequence[StoredEvent], links: Sequence[chain.Link]) -> list[bytes]:
    """The links' hashes in the events' order (links come in version order)."""
    hashes = {(o, v): h for o, v, h in links}
    return [hashes[chain.originator_text(e.originator_id), e.originator_version] for e in events]


def _link_columns(links: Sequence[chain.Link]) -> tuple[list[str], list[int], list[bytes]]:
    return [o for o, _, _ in links], [v for _, v, _ in links], [h for _, _, h in links]
