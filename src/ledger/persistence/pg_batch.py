"""PostgreSQL: a group-commit batch in one transaction (the queue: ``group_commit``).

Two round trips on a writer connection the recorder keeps (no pool
check-out or ping per batch, and its statements stay prepared):

1. outside any transaction, read the versions and idempotency keys of the
   batch already stored, and the chain link before each save's events of
   an order (committed links never change). Saves that would conflict are refused
   here with the error their own transaction would have raised: they burn
   no notification ids and fail no one else (a lone save skips this check
   and reads only its previous link);
2. in one pipelined transaction: lock the events table, NOTIFY, insert the
   rest (one statement per table, the chain's links in the events' own
   INSERT), COMMIT. The table lock is held only while the server runs
   these, never across a round trip to this process, and notification ids
   stay gap-free and in commit order. A conflict that appeared in between
   (a save committed by another process) fails the insert on its unique
   index; the queue then writes the batch one save per transaction.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from eventsourcing.persistence import IntegrityError, ProgrammingError, StoredEvent
from psycopg import Connection, Cursor, Pipeline
from psycopg.rows import DictRow

from ledger.persistence import chain
from ledger.persistence.group_commit import HandOver, PendingSave
from ledger.persistence.pg_batch_sql import BatchStatements
from ledger.persistence.pg_chain import (
    PostgresChain,
    Wanted,
    hashes_in_order,
    previous_at,
    previous_params,
)
from ledger.persistence.pg_idempotency import columns, records_of
from ledger.persistence.pg_writers import WriterConnections
from ledger.persistence.records import (
    IDEMPOTENCY_TABLE,
    IdempotencyKeyConflict,
    IdempotencyRecord,
    idempotency_of,
)
from ledger.persistence.side_rows import SideRows


class _Pipe(NamedTuple):
    """A batch's pipeline on the writer connection, and its cursors."""

    conn: Connection[DictRow]
    pipeline: Pipeline
    stored: Cursor[DictRow]  # the versions stored, then the events' ids
    keys: Cursor[DictRow]  # the keys stored
    previous: Cursor[DictRow]  # the previous links
    curs: Cursor[DictRow]  # lock, NOTIFY, keys


class BatchWriter:
    """Writes a batch of saves in one transaction and settles each one's outcome."""

    def __init__(
        self,
        statements: BatchStatements,
        writers: WriterConnections,
        hash_chain: PostgresChain,
        side_rows: SideRows[Cursor[DictRow]],
    ) -> None:
        self.sql = statements
        self.writers = writers
        self.hash_chain = hash_chain
        self.side_rows = side_rows

    def write(self, batch: list[PendingSave], hand_over: HandOver | None, chained: bool) -> None:
        events = [e for pending in batch for e in pending.stored_events]
        wanted, known = (
            self.hash_chain.wanted_by_save(p.stored_events for p in batch) if chained else ([], {})
        )
        conn = self.writers.take()
        try:
            with (
                conn.pipeline() as pipeline,
                conn.cursor() as stored,
                conn.cursor() as keys,
                conn.cursor() as previous_links,
                conn.cursor() as curs,
            ):
                pipe = _Pipe(conn, pipeline, stored, keys, previous_links, curs)
                taken_versions, taken_keys, rows = self._read(pipe, batch, events, wanted)
                accepted = _refuse_conflicts(batch, taken_versions, taken_keys)
                events = [e for pending in accepted for e in pending.stored_events]
                previous = {**known, **previous_at(rows)}
                links = self.hash_chain.links_after(events, previous) if chained else []
                ids = self._insert(pipe, accepted, events, links, hand_over)
        except BaseException:
            self.writers.discard(conn)
            raise
        self.writers.keep(conn)
        self._settle(accepted, events, ids, links)

    def _read(
        self, pipe: _Pipe, batch: list[PendingSave], events: list[StoredEvent], wanted: Wanted
    ) -> tuple[set[tuple[str, int]], set[str], list[DictRow]]:
        """Round trip 1: what the batch must check, and the previous links."""
        # A lone save skips the check: if it conflicts, its insert fails and
        # it is written alone anyway (one round trip saved).
        check = len(batch) > 1
        records = records_of([pending.kwargs for pending in batch]) if check else []
        if check:
            versions = ([e.originator_id for e in events], [e.originator_version for e in events])
            pipe.stored.execute(self.sql.select_versions, versions, prepare=True)
        if records:
            pipe.keys.execute(self.sql.select_keys, ([r.key for r in records],), prepare=True)
        if wanted:
            pipe.previous.execute(self.sql.select_links, previous_params(wanted), prepare=True)
        if check or wanted:
            pipe.pipeline.sync()
        taken_versions = {
            (chain.originator_text(r["originator_id"]), r["originator_version"])
            for r in (pipe.stored.fetchall() if check else [])
        }
        taken_keys = {r["key"] for r in pipe.keys.fetchall()} if records else set()
        return taken_versions, taken_keys, pipe.previous.fetchall() if wanted else []

    def _insert(
        self,
        pipe: _Pipe,
        accepted: list[PendingSave],
        events: list[StoredEvent],
        links: list[chain.Link],
        hand_over: HandOver | None,
    ) -> list[int]:
        """Round trip 2: lock, NOTIFY, the rows, COMMIT; the events' ids."""
        records = records_of([pending.kwargs for pending in accepted])
        pipe.conn.execute("BEGIN")
        for statement in self.sql.lock:
            pipe.curs.execute(statement, prepare=True)
        pipe.curs.execute(self.sql.notify)
        if records:
            pipe.curs.execute(self.sql.insert_keys, columns(records), prepare=True)
        self._insert_other_side_rows(pipe.curs, accepted)
        if events:
            pipe.stored.execute(*self._events_insert(events, links), prepare=True)
        pipe.conn.execute("COMMIT")
        if hand_over is not None:
            hand_over()  # only the commit is left to wait for
        pipe.pipeline.sync()
        return [row["notification_id"] for row in pipe.stored.fetchall()] if events else []

    def _insert_other_side_rows(self, curs: Cursor[DictRow], accepted: list[PendingSave]) -> None:
        """Idempotency keys are checked before the lock and inserted by a
        prepared statement; any other side table's rows go in as the table
        says (a conflict there fails the batch, and its saves are then
        written one by one, each conflict named)."""
        for table in self.side_rows.tables:
            if table.table == IDEMPOTENCY_TABLE:
                continue
            rows = [row for pending in accepted for row in table.rows(pending.kwargs)]
            if rows:
                table.insert(curs, rows)

    def _events_insert(
        self, events: list[StoredEvent], links: list[chain.Link]
    ) -> tuple[bytes, list[list[Any]]]:
        """The events as arrays (not the library's composite type), with their links."""
        params: list[list[Any]] = [
            [e.originator_id for e in events],
            [e.originator_version for e in events],
            [e.topic for e in events],
            [e.state for e in events],
        ]
        if not links:
            return self.sql.insert_events, params
        return self.sql.insert_events_and_links, [*params, hashes_in_order(events, links)]

    def _settle(
        self,
        accepted: list[PendingSave],
        events: list[StoredEvent],
        ids: list[int],
        links: list[chain.Link],
    ) -> None:
        """Committed: hand out the notification ids, in the order inserted."""
        if len(ids) != len(events):
            msg = f"expected {len(events)} notification ids, got {len(ids)}"
            raise ProgrammingError(msg)
        self.hash_chain.recent.remember(links)
        start = 0
        for pending in accepted:
            end = start + len(pending.stored_events)
            pending.succeed(ids[start:end])
            start = end


def _refuse_conflicts(
    batch: list[PendingSave], taken_versions: set[tuple[str, int]], taken_keys: set[str]
) -> list[PendingSave]:
    """Fail the saves whose key or versions are taken (stored, or earlier in the
    batch) with the error their own transaction would have raised; the rest."""
    accepted: list[PendingSave] = []
    versions = set(taken_versions)
    keys = set(taken_keys)
    for pending in batch:
        record = idempotency_of(pending.kwargs)
        mine = [
            (chain.originator_text(e.originator_id), e.originator_version)
            for e in pending.stored_events
        ]
        error = _conflict(record, mine, versions, keys)
        if error is not None:
            pending.fail(error)
            continue
        accepted.append(pending)
        versions.update(mine)
        if record is not None:
            keys.add(record.key)
    return accepted


def _conflict(
    record: IdempotencyRecord | None,
    mine: list[tuple[str, int]],
    versions: set[tuple[str, int]],
    keys: set[str],
) -> IntegrityError | None:
    if record is not None and record.key in keys:
        # A reused key is reported as such even if the version conflicts too.
        return IdempotencyKeyConflict(record.key)
    if any(v in versions for v in mine) or len(set(mine)) < len(mine):
        return IntegrityError(
            "duplicate key value violates unique constraint on (originator_id, originator_version)"
        )
    return None
