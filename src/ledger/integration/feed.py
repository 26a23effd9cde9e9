"""The change feed: the application's notification log, as API clients read it.

It reads what the projections read (``recorder.select_notifications``), in
log order: position is the notification id. SQLite has one writer, and the
PostgreSQL recorder locks the events table while it inserts, so an id is
visible only once every smaller id is: a reader that moves on to ``next``
never skips an event committed later.

Each item is ``{position, order_id, number, type, version, recorded_at,
occurred_at, actor, payload}``. An order's events carry its id and version;
an alert (``alert.*``) carries the order it concerns and the version of the
order it was judged on (see ``ledger.aggregates.alerts``).

Given the feed's read model (``feed_model``), a read takes the items the
model has already made, up to the position it has reached, as JSON text
(opening only their sealed personal fields), and decodes from the log only
what lies beyond: a model that is behind, or absent (nothing projected yet),
makes the feed slower, never different.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson

from ledger.aggregates.alerts import alerts_id
from ledger.integration.feed_kept import FeedStore, opened_items
from ledger.integration.feed_types import ALERT_TYPES, TOPICS, topics_of
from ledger.integration.plain import PlainDecoder
from ledger.projections.framework import View

DEFAULT_LIMIT = 100
MAX_LIMIT = 2000
SCAN_PAGE = 2000
ORDER_SCAN = 50_000
"""With ``order=``, how many notifications one read looks through at most:
a page may then hold fewer events than asked for (even none) while ``next``
moves on."""
NUMBERS_KEPT = 100_000

Numbers = Callable[[Collection[str]], Mapping[str, str]]
"""Order numbers of order ids, from a read model (a miss is looked up in the log)."""


def numbers_in(view: View[Any]) -> Numbers:
    """Order numbers as a read model keyed by order knows them (the search index)."""

    def numbers(order_ids: Collection[str]) -> dict[str, str]:
        return {key: row.number for key, row in view.rows(order_ids).items()}

    return numbers


@dataclass(frozen=True)
class FeedPage:
    """Events in log order, and the position to read on from: ``kept``
    (items as JSON, from the read model), then ``decoded`` (from the log)."""

    decoded: list[dict[str, Any]]
    next: int
    kept: list[str] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(item) for item in self.kept] + self.decoded

    def json(self) -> bytes:
        """``{"events": [...], "next": n}`` as ``orjson`` writes it: the kept
        items joined as they are."""
        items = self.kept
        if self.decoded:
            items = [*items, orjson.dumps(self.decoded)[1:-1].decode()]
        return b'{"events":[%s],"next":%d}' % (",".join(items).encode(), self.next)


class Feed:
    """Reads the change feed of one application (from its read model, if given)."""

    def __init__(
        self, app: Any, numbers: Numbers | None = None, store: FeedStore | None = None
    ) -> None:
        self.app = app
        self.recorder = app.recorder
        self.store = store
        self._lookup = numbers
        self._decoders: dict[bool, PlainDecoder] = {}
        self._numbers: dict[str, str] = {}
        self._ids: dict[UUID, str] = {}  # order ids as text, made once each
        self._lock = threading.Lock()

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def read(
        self,
        after: int = 0,
        limit: int = DEFAULT_LIMIT,
        *,
        types: Sequence[str] = (),
        order: UUID | None = None,
        stop: int | None = None,
        opened: bool = True,
    ) -> FeedPage:
        """Up to ``limit`` events after ``after`` (up to ``stop``, default the
        head), of ``types`` (default all) and of ``order`` (default every order);
        ``opened``: personal fields opened (see ``personal.reads_personal``)."""
        bound = self.head() if stop is None else stop
        if after >= bound:
            return FeedPage([], after)
        topics = topics_of(types)
        kept: list[str] = []
        reached = self._reached(bound)
        if after < reached:
            kept, position = self._kept(after, limit, reached, topics, order, opened)
            if len(kept) == limit or position >= bound:
                return FeedPage([], position, kept)
            after, limit = position, limit - len(kept)
        if order is not None:
            notes, position = self._scan(after, limit, bound, topics, order)
        else:
            notes = self._select(after, limit, bound, topics)
            position = notes[-1].id if len(notes) == limit else bound
        return FeedPage(self.items(notes, opened), position, kept)

    def _reached(self, bound: int) -> int:
        """How far the read model has projected the log (0 without one)."""
        if self.store is None:
            return 0
        return min(bound, self.store.max_tracking_id(self.app.name) or 0)

    def _kept(
        self,
        after: int,
        limit: int,
        reached: int,
        topics: Sequence[str],
        order: UUID | None,
        opened: bool,
    ) -> tuple[list[str], int]:
        """Up to ``limit`` kept items after ``after`` up to ``reached``; the
        position to read on from."""
        assert self.store is not None
        kinds = [TOPICS[topic] for topic in topics]
        orders = [str(order), str(alerts_id(order))] if order is not None else []
        rows = self.store.items(after, limit, reached, kinds, orders)
        position = rows[-1][0] if len(rows) == limit else reached
        items = opened_items(self.app.personal_keys, rows, opened)
        older = [row[0] for row in rows if not row[1]]
        if older:  # kept without an item: decoded from the log
            notes = self.notes_at(older)
            decoded = {i["position"]: i for i in self.items(notes.values(), opened)}
            by_position = {p: orjson.dumps(decoded[p]).decode() for p in older}
            items = [item or by_position[row[0]] for item, row in zip(items, rows, strict=True)]
        return items, position

    def _select(self, after: int, limit: int, bound: int, topics: Sequence[str]) -> list[Any]:
        """Up to ``limit`` notifications after ``after`` up to ``bound``; on
        PostgreSQL by one binary COPY (no dict per row)."""
        page = getattr(self.recorder, "notification_page", None)
        if page is not None:
            notes: list[Any] = page(after, limit, bound, topics)
            return notes
        selected: list[Any] = self.recorder.select_notifications(
            after, limit, stop=bound, topics=topics, inclusive_of_start=False
        )
        return selected

    def _scan(
        self, after: int, limit: int, bound: int, topics: Sequence[str], order: UUID
    ) -> tuple[list[Any], int]:
        """One order's notifications (its events and its alerts), looking
        through at most ``ORDER_SCAN`` of the log."""
        wanted = {order, alerts_id(order)}
        found: list[Any] = []
        position, scanned = after, 0
        while position < bound and scanned < ORDER_SCAN:
            notes = self._select(position, SCAN_PAGE, bound, topics)
            scanned += len(notes)
            position = notes[-1].id if len(notes) == SCAN_PAGE else bound
            for note in notes:
                if note.originator_id in wanted:
                    found.append(note)
                    if len(found) == limit:
                        return found, note.id
        return found, position

    def items(self, notes: Iterable[Any], opened: bool = True) -> list[dict[str, Any]]:
        """The feed items of these notifications (topics not on the feed left out)."""
        decode = self.decoder(opened)
        items: list[dict[str, Any]] = []
        unnamed: list[dict[str, Any]] = []
        named: dict[str, str] = {}
        for note in notes:
            kind = TOPICS.get(note.topic)
            if kind is None:
                continue
            item = item_of(note, kind, decode(note), self._text(note.originator_id))
            if item["number"] is None:
                unnamed.append(item)
            else:
                named[item["order_id"]] = item["number"]
            items.append(item)
        if named:
            self.remember(named)
        if unnamed:
            numbers = self.numbers({item["order_id"] for item in unnamed})
            for item in unnamed:
                item["number"] = numbers.get(item["order_id"])
        return items

    def _text(self, order_id: UUID) -> str:
        text = self._ids.get(order_id)
        if text is None:
            if len(self._ids) > NUMBERS_KEPT:
                self._ids.clear()
            text = self._ids[order_id] = str(order_id)
        return text

    def decoder(self, opened: bool) -> PlainDecoder:
        decoder = self._decoders.get(opened)
        if decoder is None:
            keys = self.app.personal_keys
            decoder = self._decoders[opened] = PlainDecoder(self.app.mapper, keys, opened=opened)
        return decoder

    def numbers(self, order_ids: Collection[str]) -> dict[str, str]:
        """Each order's number: remembered, from the read model, else from its first event."""
        with self._lock:
            found = {oid: self._numbers[oid] for oid in order_ids if oid in self._numbers}
        missing = [oid for oid in order_ids if oid not in found]
        if missing and self._lookup is not None:
            found.update(self._lookup(missing))
            missing = [oid for oid in missing if oid not in found]
        for oid in missing:
            number = first_number(self.recorder, self.app.mapper, oid)
            if number is not None:
                found[oid] = number
        self.remember(found)
        return found

    def remember(self, numbers: Mapping[str, str]) -> None:
        with self._lock:
            if len(self._numbers) > NUMBERS_KEPT:
                self._numbers.clear()
            self._numbers.update(numbers)

    def notes_at(self, positions: Iterable[int], span: int = 500) -> dict[int, Any]:
        """The notifications at these positions, read in runs of nearby ones."""
        wanted = sorted(set(positions))
        found: dict[int, Any] = {}
        i = 0
        while i < len(wanted):
            j = i
            while j + 1 < len(wanted) and wanted[j + 1] - wanted[i] < span:
                j += 1
            first, last = wanted[i], wanted[j]
            for note in self.recorder.select_notifications(first, last - first + 1, stop=last):
                found[note.id] = note
            i = j + 1
        return {p: found[p] for p in wanted if p in found}


def first_number(recorder: Any, mapper: Any, order_id: str) -> str | None:
    """The number an order's first event records, if any."""
    first = recorder.select_events(UUID(order_id), lte=1, limit=1)
    if not first:
        return None
    data = bytes(first[0].state)
    if mapper.cipher:
        data = mapper.cipher.decrypt(data)
    if mapper.compressor:
        data = mapper.compressor.decompress(data)
    number = orjson.loads(data).get("number")
    return number if isinstance(number, str) else None


def item_of(note: Any, kind: str, state: dict[str, Any], order_id: str) -> dict[str, Any]:
    """A notification's feed item from its plain state (``order_id``: its
    originator's id as text), its number ``None`` where the event has none."""
    if note.topic in ALERT_TYPES:
        return _alert_item(note, kind, state)
    return _item(note, kind, state, order_id)


def _item(note: Any, kind: str, state: dict[str, Any], order_id: str) -> dict[str, Any]:
    recorded = state.pop("timestamp")
    meta = state.pop("meta", None) or {}
    number = state.get("number") if kind == "OrderReceived" else None
    return {
        "position": note.id,
        "order_id": order_id,
        "number": number,
        "type": kind,
        "version": note.originator_version,
        "recorded_at": recorded,
        "occurred_at": str(meta.get("occurred_at") or recorded),
        "actor": str(meta.get("actor", "")),
        "payload": state,
    }


def _alert_item(note: Any, kind: str, state: dict[str, Any]) -> dict[str, Any]:
    recorded = state.pop("timestamp")
    meta = state.pop("meta", None) or {}
    return {
        "position": note.id,
        "order_id": state.pop("order_id"),
        "number": state.pop("number"),
        "type": kind,
        "version": state.pop("order_version"),
        "recorded_at": recorded,
        "occurred_at": recorded,
        "actor": str(meta.get("actor", "")),
        "payload": state,
    }
