"""The events table read in one binary COPY, for whole-log readers (rebuilds)
and the change feed's pages.

``select_notifications`` runs one query per page, each building dict rows;
with a topic filter on a table the planner has no statistics for yet (just
after a bulk load) each page can even rescan the rest of the range. A
rebuild reads the whole log once, so it streams one ``COPY (SELECT ...) TO
STDOUT (FORMAT BINARY)`` instead, in notification order, from one snapshot,
and cuts the tuples into pages of lightweight ``Note`` rows itself.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from psycopg.sql import SQL, Composed, Identifier, Literal

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEAD = struct.Struct(">hiqi16si")  # fields, len, id, len, uuid, len (version)
_VERSION_TOPIC = struct.Struct(">qi")  # version, len (topic)
_I4 = struct.Struct(">i")


class Note(NamedTuple):
    """A notification as a rebuild reads it (the library's field names)."""

    id: int
    originator_id: UUID
    originator_version: int
    topic: str
    state: bytes


def notification_pages(
    recorder: Any,
    start: int,
    stop: int,
    topics: Sequence[str] = (),
    page: int = 2000,
    part: tuple[int, int] | None = None,
    limit: int | None = None,
) -> Iterator[list[Note]]:
    """The notifications after ``start`` up to ``stop`` (of ``topics``, if
    given), in order, ``page`` at a time; read through one COPY. ``part``
    ``(i, n)``: only orders whose id's last byte is ``i`` modulo ``n`` (a
    fill split across processes, ``projections.framework.in_part``);
    ``limit``: at most that many in all."""
    datastore = recorder.datastore
    query = _copy_query(
        Identifier(datastore.schema, recorder.events_table_name), start, stop, topics, part, limit
    )
    # The tuples are decoded here, in one loop: a call per tuple would cost
    # a noticeable part of a rebuild's reading.
    ids: dict[bytes, UUID] = {}  # one UUID object per order
    topic_names: dict[bytes, str] = {}
    unpack_head, unpack_vt, unpack_i4 = (
        _HEAD.unpack_from,
        _VERSION_TOPIC.unpack_from,
        _I4.unpack_from,
    )
    notes: list[Note] = []
    with datastore.get_connection() as conn, conn.cursor() as cur, cur.copy(query) as copy:
        for block in copy:
            data = bytes(block)
            if data.startswith(_SIGNATURE):  # the header comes before the first tuple
                (extension,) = unpack_i4(data, 15)
                data = data[19 + extension :]
            if len(data) <= 2:  # the trailer
                continue
            _, _, nid, _, raw_id, _ = unpack_head(data)
            version, size = unpack_vt(data, 38)
            topic_raw = data[50 : 50 + size]
            topic = topic_names.get(topic_raw)
            if topic is None:
                topic = topic_names[topic_raw] = topic_raw.decode()
            originator = ids.get(raw_id)
            if originator is None:
                originator = ids[raw_id] = UUID(bytes=raw_id)
            notes.append(Note(nid, originator, version, topic, data[54 + size :]))
            if len(notes) >= page:
                yield notes
                notes = []
    if notes:
        yield notes


def _copy_query(
    table: Identifier,
    start: int,
    stop: int,
    topics: Sequence[str],
    part: tuple[int, int] | None,
    limit: int | None = None,
) -> Composed:
    where = SQL("notification_id > {} AND notification_id <= {}").format(
        Literal(start), Literal(stop)
    )
    if topics:
        where += SQL(" AND topic = ANY({}::text[])").format(Literal(list(topics)))
    if part is not None:
        where += SQL(" AND get_byte(uuid_send(originator_id), 15) % {} = {}").format(
            Literal(part[1]), Literal(part[0])
        )
    bound = SQL("") if limit is None else SQL(" LIMIT {}").format(Literal(limit))
    return SQL(
        "COPY (SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {} WHERE {} ORDER BY notification_id{}) TO STDOUT (FORMAT BINARY)"
    ).format(table, where, bound)
