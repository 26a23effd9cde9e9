"""The feed's read model: each event's feed item kept as JSON, so that a page
of ``GET /events`` is rows joined together rather than events decoded.

A row is the item exactly as ``Feed.items`` makes it and ``orjson`` writes
it (its order number found when it is projected), but for personal fields
(a customer's phone, email and address, a delivery's address, consignee and
phone, every ``PersonalText``): each is a slot in the item (``feed.SLOT``),
and their JSON texts are kept beside it sealed again under the same
customer's key, in one piece per customer (the event sealed them a group at
a time: opening one piece a row costs less). A read opens the piece (or
withholds it) and puts the fields in; a key destroyed reads ``"[erased]"``,
as the decoding path does (``personal.opened_fields``). So the table never
holds personal data in clear, and erasing a customer's key erases it here
too, with no rewrite. No key is ever made here: a customer erased before
the event is projected has no piece, only the slots.

An event of an older class version is kept as a row without an item: the
feed decodes it from the log when it is read (the application's upcasting
would open its personal fields).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from eventsourcing.persistence import ApplicationRecorder, Mapper

from ledger.integration.feed import first_number, item_of
from ledger.integration.feed_kept import PLACEHOLDER, SLOT, placeholder
from ledger.integration.feed_types import ALERT_TYPES, TOPICS
from ledger.integration.feed_views import feed_view
from ledger.integration.plain import Convert, PlainDecoder
from ledger.projections.framework import Column, ReadModel, Source, View

NUMBERS_KEPT = 100_000


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One event's feed item: ``item`` its JSON with a ``SLOT`` in place of
    each personal field (``""``: decode it from the log); ``sealed`` (``None``:
    none) those fields sealed, as JSON ``[[owner, sealed, [slot, …]], …]``
    (see ``FeedEncoder._resealed``)."""

    position: int
    type: str
    order_id: str
    item: str
    sealed: str | None = None


class _Older(Exception):
    """The event is of an older class version."""


class _SealedDecoder(PlainDecoder):
    def _upcast(self, stored: Any) -> dict[str, Any]:
        raise _Older


class FeedEncoder:
    """Notifications to ``FeedRow``: what the feed's projection folds."""

    def __init__(self, recorder: ApplicationRecorder, mapper: Mapper[Any], keys: Any) -> None:
        self.recorder = recorder
        self.mapper = mapper
        self.keys = keys
        self._groups: list[list[Any]] = []
        self._decode = _SealedDecoder(mapper, None, opened=True, personal=self._held())
        self._numbers: dict[str, str] = {}

    def _held(self) -> dict[str, Convert]:
        """The sealed transcodings as placeholders, their groups kept aside."""

        def fields(owner: str, sealed: str, count: int) -> list[str]:
            if not sealed:  # opened or withheld, a blank group reads blank
                return [""] * count
            self._groups.append([owner, sealed, count])
            group = len(self._groups) - 1
            return [placeholder(group, i) for i in range(count)]

        def customer(data: dict[str, str]) -> dict[str, str]:
            phone, email, address = fields(data["name"], data["pii"], 3)
            return {"name": data["name"], "phone": phone, "email": email, "address": address}

        def delivery(data: dict[str, str]) -> dict[str, str]:
            address, consignee, phone = fields(data["owner"], data["pii"], 3)
            return {"address": address, "consignee": consignee, "phone": phone,
                    "transport_mode": data["mode"]}  # fmt: skip

        def text(data: dict[str, str]) -> str:
            return fields(data["owner"], data["pii"], 1)[0]

        return {"customer_sealed": customer, "delivery_sealed": delivery, "personal_text": text}

    def __call__(self, note: Any) -> FeedRow:
        kind = TOPICS[note.topic]
        self._groups.clear()
        try:
            state = self._decode(note)
        except _Older:
            return FeedRow(note.id, kind, self._order_of(note), "")
        item = item_of(note, kind, state, str(note.originator_id))
        order_id = item["order_id"]
        if item["number"] is None:
            item["number"] = self.number(order_id)
        elif note.topic not in ALERT_TYPES:
            self._remember(order_id, item["number"])
        text = orjson.dumps(item).decode()
        if not self._groups:
            return FeedRow(note.id, kind, order_id, text)
        sealed = orjson.dumps(self._resealed(PLACEHOLDER.findall(text))).decode()
        return FeedRow(note.id, kind, order_id, PLACEHOLDER.sub(SLOT, text), sealed)

    def _resealed(self, slots: list[tuple[str, str]]) -> list[list[Any]]:
        """The event's sealed fields, slot by slot, sealed again under their
        owners' keys in one piece per owner: ``[owner, sealed, [slot, …]]``
        (``sealed`` ``""``: the key is gone). Each piece is the fields' JSON
        texts joined by ``SLOT``, so a read opens one piece and splits it."""
        keys = self.keys
        groups = self._groups
        opened = [keys.open(owner, pii, count) for owner, pii, count in groups]
        owners = [groups[int(group)][0] for group, _ in slots]
        pieces: list[list[Any]] = []
        for owner in dict.fromkeys(owners):
            numbers = [k for k, slot_owner in enumerate(owners) if slot_owner == owner]
            texts = [orjson.dumps(opened[int(slots[k][0])][int(slots[k][1])]) for k in numbers]
            pieces.append([owner, keys.seal_as_is(owner, SLOT.encode().join(texts)), numbers])
        return pieces

    def _order_of(self, note: Any) -> str:
        if note.topic in ALERT_TYPES:
            return str(orjson.loads(first_state(self.mapper, note)).get("order_id"))
        return str(note.originator_id)

    def number(self, order_id: str) -> str | None:
        """The order's number: as its first event (seen earlier in the log) had it."""
        number = self._numbers.get(order_id)
        if number is None:
            number = first_number(self.recorder, self.mapper, order_id)
            if number is not None:
                self._remember(order_id, number)
        return number

    def _remember(self, order_id: str, number: str) -> None:
        if len(self._numbers) > NUMBERS_KEPT:
            self._numbers.clear()
        self._numbers[order_id] = number


def first_state(mapper: Mapper[Any], stored: Any) -> bytes:
    """A stored event's JSON, deciphered and decompressed as the mapper does."""
    data = bytes(stored.state)
    if mapper.cipher:
        data = mapper.cipher.decrypt(data)
    if mapper.compressor:
        data = mapper.compressor.decompress(data)
    return data


class FeedModel(ReadModel[FeedRow]):
    """Every feed event's item, keyed by its position (an append-only table)."""

    name = "feed"
    topics = tuple(TOPICS)
    columns = (
        Column("position", "int", lambda row: row.position),
        Column("type", "text", lambda row: row.type),
        Column("order_id", "text", lambda row: row.order_id),
    )
    appends = True

    def key(self, event: FeedRow) -> str:
        return str(event.position)

    def evolve(self, row: FeedRow | None, event: FeedRow) -> FeedRow:
        return event

    def dump(self, row: FeedRow) -> str:
        return orjson.dumps([row.position, row.type, row.order_id, row.item, row.sealed]).decode()

    def load(self, data: str) -> FeedRow:
        return FeedRow(*orjson.loads(data))

    def decoding(self, source: Source) -> Callable[[Any], Any]:
        return FeedEncoder(source.recorder, source.mapper, source.personal_keys)

    def own_view(self, store: str, datastore: Any, table: str) -> View[FeedRow] | None:
        return feed_view(self, store, datastore, table)


FEED = FeedModel()
