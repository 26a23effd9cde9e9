"""Stored events as the read models need them, decoded without the mapper's extras.

The application's mapper opens every customer's sealed personal data (a key
look-up and an AES-GCM decryption per order) and remembers each order's
customer for the write path. A projection decodes with ``EventDecoder``
instead: the same JSON, the same domain event classes and value types, but
nothing sealed is opened. ``Customer`` and ``Delivery`` carry only their
readable fields (name, transport mode), their personal fields left empty
(no read model shows them); every other personal text (a complaint's
description, a document's discrepancy...) stays sealed, as the token
``ledger.persistence.personal.sealed_token`` makes of it, which a read model keeps
as it keeps any text and the API opens when it answers
(``open_sealed``). So no read model ever holds personal data in clear, and
erasing a customer's key erases it from every read model at once. A store
whose events are compressed or encrypted as a whole is deciphered and
decompressed as the mapper does it, then decoded the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any, cast

import orjson
from eventsourcing.persistence import Mapper, find_id_convertor
from eventsourcing.utils import resolve_topic

from ledger.aggregates.values import Customer, Delivery
from ledger.persistence.personal import sealed_token


def _customer(data: dict[str, str]) -> Customer:
    return Customer(data["name"])


def _delivery(data: dict[str, str]) -> Delivery:
    return Delivery("", "", "", data["mode"])


class _Inexact(Exception):
    """orjson's reading may differ from ``json``'s (a float where ``json`` reads an int)."""


def json_reader(decoders: dict[str, Callable[[Any], Any]]) -> Callable[[bytes], Any]:
    """Stored JSON to Python, each ``{"_type_", "_data_"}`` object decoded by
    its transcoding's ``decoders`` entry: orjson, or ``json`` where orjson may
    read otherwise."""

    def hook(d: dict[str, Any]) -> Any:
        if len(d) == 2 and "_type_" in d and "_data_" in d:
            return decoders[d["_type_"]](d["_data_"])
        return d

    def walk(d: dict[str, Any]) -> Any:
        """``hook`` applied bottom-up to what orjson parsed (as ``json``
        would); ``_Inexact`` at a float (orjson reads an integer beyond
        64 bits as one: ``json`` then reads the whole text)."""
        if len(d) == 2 and "_type_" in d and "_data_" in d:
            data = d["_data_"]
            kind = type(data)
            if kind is dict:
                data = walk(data)
            elif kind is list and data:
                data = walk_list(data)
            elif kind is float:
                raise _Inexact
            return decoders[d["_type_"]](data)
        for key, value in d.items():
            kind = type(value)
            if kind is dict:
                d[key] = walk(value)
            elif kind is list and value:
                d[key] = walk_list(value)
            elif kind is float:
                raise _Inexact
        return d

    def walk_list(items: list[Any]) -> list[Any]:
        walked = []
        for value in items:
            kind = type(value)
            if kind is dict:
                value = walk(value)
            elif kind is list:
                value = walk_list(value)
            elif kind is float:
                raise _Inexact
            walked.append(value)
        return walked

    slow = json.JSONDecoder(object_hook=hook).decode

    def decode_json(data: bytes) -> Any:
        try:
            parsed = orjson.loads(data)
            return walk(parsed) if type(parsed) is dict else slow(data.decode("utf8"))
        except (orjson.JSONDecodeError, _Inexact):  # NaN, a 65-bit integer: ``json`` reads it
            return slow(data.decode("utf8"))

    return decode_json


class EventDecoder:
    """Notifications (or stored events) to domain events, for folding only."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.cipher = mapper.cipher
        self.compressor = mapper.compressor
        transcoder: Any = mapper.transcoder
        decoders: dict[str, Callable[[Any], Any]] = {
            name: transcoding.decode for name, transcoding in transcoder.names.items()
        }
        decoders["customer_sealed"] = _customer
        decoders["delivery_sealed"] = _delivery
        decoders["personal_text"] = sealed_token

        self._decode_json = json_reader(decoders)
        self._classes: dict[str, tuple[type, Callable[[Any], Any], int]] = {}

    def _class(self, topic: str, originator_id: Any) -> tuple[type, Callable[[Any], Any], int]:
        known = self._classes.get(topic)
        if known is None:
            cls = cast(type, resolve_topic(topic))
            convert = find_id_convertor(cls, cast(Hashable, type(originator_id)))
            known = (cls, convert, getattr(cls, "class_version", 1))
            self._classes[topic] = known
        return known

    def __call__(self, stored: Any) -> Any:
        """The domain event of a notification or stored event."""
        cls, convert, class_version = self._class(stored.topic, stored.originator_id)
        data = bytes(stored.state)
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        state: dict[str, Any] = self._decode_json(data)
        state["originator_id"] = convert(stored.originator_id)
        state["originator_version"] = stored.originator_version
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event: Any = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event
