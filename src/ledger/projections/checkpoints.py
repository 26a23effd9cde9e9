"""Checkpoints for time travel: a read model's folded rows at a position of
the log, so a fold up to a moment starts from the nearest one instead of
from position zero.

A checkpoint at position ``P`` holds the rows of the model's events up to
``P`` and ``latest``, the latest recording time among them. A fold up to a
moment ``as_of`` takes every event of the model recorded at or before it;
when ``latest <= as_of`` every event up to ``P`` is one of those, so the
checkpoint's rows are exactly that fold's state at ``P`` and the fold goes
on from there (``timetravel.fold_until``). The nearest usable checkpoint is
the one at the highest position whose ``latest`` is not after the moment
(``latest`` never decreases with the position).

Checkpoints are written by the folds themselves (the last complete state
a time-travel fold passed, see ``timetravel``), in one table per store
(``projection_checkpoints``), keyed by model, position and a fingerprint
of the fold's code: a checkpoint made by other code is never used, and a
rebuild of the model drops its checkpoints.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import sys
import threading
import weakref
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.persistence.creation import create_racing
from ledger.projections.framework import ReadModel
from ledger.projections.view_sqlite import checked_name

TABLE = "projection_checkpoints"
EVERY = 20_000
"""A fold keeps a new checkpoint when it passed this many positions past its start."""
FILL_EVERY = 100_000
"""A bulk fill (a rebuild) keeps its time-travel models' rows this often."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Checkpoint:
    """A model's rows (key -> row, no deleted ones) after the events up to
    ``position``; ``latest``: the latest recording time among those events."""

    position: int
    latest: datetime
    rows: dict[str, Any]


log = logging.getLogger(__name__)
_fingerprints: dict[str, str] = {}


def fingerprint(model: ReadModel[Any]) -> str:
    """A digest of the code that folds ``model``'s rows (its module, the order
    facts and the projection decoder): checkpoints of other code are ignored."""
    name = type(model).__module__
    known = _fingerprints.get(name)
    if known is None:
        digest = hashlib.sha256(model.name.encode())
        modules = (name, __name__, "ledger.projections.facts", "ledger.projections.decode")
        for module in modules:
            digest.update(inspect.getsource(sys.modules[module]).encode())
        known = _fingerprints[name] = digest.hexdigest()[:16]
    return known


def micros(moment: datetime) -> int:
    """A moment as microseconds since the epoch (UTC), how ``latest`` is stored."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    delta = moment - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def encode_rows(
    model: ReadModel[Any], rows: dict[str, Any], dumped: dict[int, str] | None = None
) -> bytes:
    """Rows as compressed lines of ``key<TAB>dump``: a row's dump is compact
    JSON (no raw tab or line break), a key is an order id. ``dumped``: dumps
    by row object, shared by checkpoints of one fill (rows are immutable and
    an order unchanged since the last checkpoint is the same object; the
    caller keeps them all alive meanwhile, so ids are not reused)."""
    memo: dict[int, str] = {} if dumped is None else dumped
    dump = model.dump
    lines = []
    for key, row in rows.items():
        text = memo.get(id(row))
        if text is None:
            text = memo[id(row)] = dump(row)
        lines.append(f"{key}\t{text}")
    return zlib.compress("\n".join(lines).encode("utf8"), 1)


def decode_rows(model: ReadModel[Any], data: bytes) -> dict[str, Any]:
    text = zlib.decompress(data).decode("utf8")
    if not text:
        return {}
    load = model.load
    return {key: load(row) for key, _, row in (line.partition("\t") for line in text.split("\n"))}


class CheckpointStore:
    """Checkpoints in a table of the store's own database (SQLite or PostgreSQL)."""

    def __init__(self, datastore: Any) -> None:
        self.datastore = datastore
        self.postgres = type(datastore).__name__ != "SQLiteDatastore"
        if self.postgres:
            self.table = f'"{checked_name(datastore.schema.lower())}"."{TABLE}"'
            self.mark, blob = "%s", "BYTEA"
        else:
            self.table, self.mark, blob = TABLE, "?", "BLOB"
        self.create = (
            f"CREATE TABLE IF NOT EXISTS {self.table} (model TEXT NOT NULL, "
            "fingerprint TEXT NOT NULL, position BIGINT NOT NULL, latest BIGINT NOT NULL, "
            f"data {blob} NOT NULL, PRIMARY KEY (model, fingerprint, position))"
        )
        self._created = False

    def _ensure_table(self) -> None:
        """Create the table once; processes starting together may race (the
        loser's CREATE fails on a duplicate type), trying again finds it."""

        def create() -> None:
            with self.datastore.transaction(commit=True) as curs:
                if self.postgres:
                    schema = self.table.split(".")[0]
                    curs.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                curs.execute(self.create)

        create_racing(create, errors=(Exception,))
        self._created = True

    def nearest(self, model: ReadModel[Any], as_of: datetime, head: int) -> Checkpoint | None:
        """The checkpoint at the highest position up to ``head`` whose events
        were all recorded at or before ``as_of``; None if there is none."""
        if not self._created:
            self._ensure_table()
        m = self.mark
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT position, latest, data FROM {self.table} WHERE model = {m} "
                f"AND fingerprint = {m} AND latest <= {m} AND position <= {m} "
                "ORDER BY position DESC LIMIT 1",
                (model.name, fingerprint(model), micros(as_of), head),
            )
            found = curs.fetchone()
        if found is None:
            return None
        latest = EPOCH + timedelta(microseconds=found["latest"])
        try:
            rows = decode_rows(model, bytes(found["data"]))
        except (zlib.error, ValueError, TypeError, KeyError) as unreadable:
            # Never a wrong answer or a 500 for a damaged checkpoint: fold from zero.
            log.warning("%s checkpoint at %d unreadable (%s); folding from zero",
                        model.name, found["position"], unreadable)  # fmt: skip
            return None
        return Checkpoint(found["position"], latest, rows)

    def save(
        self, model: ReadModel[Any], checkpoint: Checkpoint, dumped: dict[int, str] | None = None
    ) -> None:
        """Keep ``checkpoint`` (a checkpoint already there is the same rows);
        ``dumped`` as for ``encode_rows``."""
        self._insert(model, fingerprint(model), checkpoint.position, micros(checkpoint.latest),
                     encode_rows(model, checkpoint.rows, dumped))  # fmt: skip

    def save_part(
        self,
        model: ReadModel[Any],
        checkpoint: Checkpoint,
        part: tuple[int, int],
        dumped: dict[int, str] | None = None,
    ) -> None:
        """Keep one part's rows of a split fill (see ``bulk.fill``), under
        a fingerprint of its own: never used as a checkpoint, only merged."""
        data = encode_rows(model, checkpoint.rows, dumped)
        print_ = f"{fingerprint(model)}~{part[0]}/{part[1]}"
        self._insert(model, print_, checkpoint.position, micros(checkpoint.latest), data)

    def take_parts(self, model: ReadModel[Any]) -> dict[int, list[tuple[int, bytes]]]:
        """The parts kept by ``save_part`` for ``model``, by position: (latest, data)."""
        if not self._created:
            self._ensure_table()
        m = self.mark
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT position, latest, data FROM {self.table} "
                f"WHERE model = {m} AND fingerprint LIKE {m} ORDER BY position",
                (model.name, f"{fingerprint(model)}~%"),
            )
            found = curs.fetchall()
        parts: dict[int, list[tuple[int, bytes]]] = {}
        for row in found:
            parts.setdefault(row["position"], []).append((row["latest"], bytes(row["data"])))
        return parts

    def save_merged(
        self,
        model: ReadModel[Any],
        checkpoint: Checkpoint,
        parts: dict[int, list[tuple[int, bytes]]],
        expected: int,
        dumped: dict[int, str] | None = None,
    ) -> None:
        """Keep ``checkpoint`` (part 0's rows) joined with the ``expected``
        other parts at its position: a whole checkpoint. Without all of them
        (a part that failed) nothing is kept: time travel folds from further back."""
        others = parts.get(checkpoint.position, [])
        if len(others) != expected:
            log.warning("%s checkpoint at %d: %d of %d parts; not kept",
                        model.name, checkpoint.position, len(others), expected)  # fmt: skip
            return
        texts = [zlib.decompress(encode_rows(model, checkpoint.rows, dumped))]
        texts += [zlib.decompress(data) for _, data in others]
        joined = b"\n".join(text for text in texts if text)
        latest = max([micros(checkpoint.latest), *(latest for latest, _ in others)])
        self._insert(model, fingerprint(model), checkpoint.position, latest,
                     zlib.compress(joined, 1))  # fmt: skip

    def _insert(
        self, model: ReadModel[Any], print_: str, position: int, latest: int, data: bytes
    ) -> None:
        if not self._created:
            self._ensure_table()
        m = self.mark
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                f"INSERT INTO {self.table} VALUES ({m}, {m}, {m}, {m}, {m}) "
                "ON CONFLICT (model, fingerprint, position) DO NOTHING",
                (model.name, print_, position, latest, data),
            )

    def clear(self, model: ReadModel[Any]) -> None:
        """Drop every checkpoint of ``model`` (its rebuild: the fold may have changed)."""
        if not self._created:
            self._ensure_table()
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(f"DELETE FROM {self.table} WHERE model = {self.mark}", (model.name,))


_stores: weakref.WeakKeyDictionary[Any, CheckpointStore] = weakref.WeakKeyDictionary()
_stores_lock = threading.Lock()


def store_of(recorder: Any) -> CheckpointStore | None:
    """The checkpoint store beside a recorder's events; None for an in-memory store."""
    datastore = getattr(recorder, "datastore", None)
    kind = type(datastore).__name__
    if datastore is None or kind not in ("SQLiteDatastore", "PostgresDatastore"):
        return None
    with _stores_lock:
        store = _stores.get(datastore)
        if store is None:
            store = _stores[datastore] = CheckpointStore(datastore)
        return store
