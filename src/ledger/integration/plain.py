"""Stored events as the change feed shows them: plain, JSON-ready data.

The result equals ``readout.plain`` of the event as the application decodes
it (what ``GET /orders/{id}/history`` shows), without building the domain
objects on the way: the stored JSON is parsed once and each transcoded
value (``{"_type_", "_data_"}``) becomes its plain form directly (a date or
an amount stays the string it is stored as; a value dataclass is already
the dict of its fields). Personal fields are opened or withheld as
``personal.personal_converters`` says. A transcoding this module does not
know is decoded by the application's own transcoding and then made plain.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, Transcoding
from eventsourcing.utils import resolve_topic

from ledger.aggregates.readout import plain
from ledger.integration.personal import personal_converters
from ledger.transcodings import DataclassAsDict

Convert = Callable[[Any], Any]
_SAME = frozenset({"datetime_iso", "date_iso", "decimal_str"})
"""Transcodings whose stored string is already the plain value."""


class _Inexact(Exception):
    """orjson read a number as a float where ``json`` reads an exact integer."""


def _same(data: Any) -> Any:
    return data


def _uuid(data: str) -> str:
    return str(UUID(data))


def _decoded(transcoding: Transcoding) -> Convert:
    """The transcoding's own decoding, made plain (for transcodings not known here)."""

    def convert(data: Any) -> Any:
        return plain(transcoding.decode(data))

    return convert


def _dataclass(transcoding: DataclassAsDict) -> Convert:
    """A value dataclass's fields as stored; decoded (defaults filled) if some are missing."""
    names = frozenset(transcoding._fields)
    slow = _decoded(transcoding)

    def convert(data: dict[str, Any]) -> Any:
        return data if data.keys() == names else slow(data)

    return convert


class PlainDecoder:
    """A notification's (or stored event's) state as plain data."""

    def __init__(
        self,
        mapper: Mapper[Any],
        personal_keys: Any,
        *,
        opened: bool,
        personal: dict[str, Convert] | None = None,
    ) -> None:
        """``personal``: the sealed transcodings' conversions, if not those of
        ``personal_converters`` (the feed's read model keeps them sealed)."""
        self.mapper = mapper
        transcoder: Any = mapper.transcoder
        convert: dict[str, Convert] = {}
        for name, transcoding in transcoder.names.items():
            is_dataclass = type(transcoding) is DataclassAsDict
            convert[name] = _dataclass(transcoding) if is_dataclass else _decoded(transcoding)
        convert.update(dict.fromkeys(_SAME, _same), uuid_hex=_uuid)
        convert.update(personal or personal_converters(personal_keys, opened))
        self._convert = convert
        self._versions: dict[str, int] = {}

    def __call__(self, stored: Any) -> dict[str, Any]:
        """The event's stored state, plain: ``timestamp`` and ``meta`` included,
        the library's ``originator_topic`` and ``class_version`` left out."""
        data = stored.state if type(stored.state) is bytes else bytes(stored.state)
        if self.mapper.cipher:
            data = self.mapper.cipher.decrypt(data)
        if self.mapper.compressor:
            data = self.mapper.compressor.decompress(data)
        state = self._parse(data)
        if state.pop("class_version", 1) != self._class_version(stored.topic, stored):
            state = self._upcast(stored)  # an older shape: the application reads it
        state.pop("originator_topic", None)
        return state

    def _class_version(self, topic: str, stored: Any) -> int:
        known = self._versions.get(topic)
        if known is None:
            cls = cast(type, resolve_topic(topic))
            known = self._versions[topic] = getattr(cls, "class_version", 1)
        return known

    def _upcast(self, stored: Any) -> dict[str, Any]:
        event = self.mapper.to_domain_event(stored)
        state = {k: plain(v) for k, v in vars(event).items()}
        for key in ("originator_id", "originator_version"):
            state.pop(key, None)
        return state

    def _parse(self, data: bytes) -> dict[str, Any]:
        try:
            parsed = orjson.loads(data)
            if type(parsed) is not dict:
                raise _Inexact
            state: dict[str, Any] = self._walk(parsed)
            return state
        except (orjson.JSONDecodeError, _Inexact):  # NaN, a 65-bit integer: ``json`` reads it
            return cast(dict[str, Any], json.loads(data.decode("utf8"), object_hook=self._hook))

    def _hook(self, d: dict[str, Any]) -> Any:
        if len(d) == 2 and "_type_" in d and "_data_" in d:
            return self._convert[d["_type_"]](d["_data_"])
        return d

    def _walk(self, d: dict[str, Any]) -> Any:
        """``_hook`` bottom-up over what orjson parsed (``_Inexact`` at a float).

        A transcoded string (a time, a date, an amount) is the commonest
        value: it is replaced here, without a call of its own."""
        same = _SAME
        for key, value in d.items():
            kind = type(value)
            if kind is dict:
                if len(value) == 2 and value.get("_type_") in same:
                    d[key] = value["_data_"]
                else:
                    d[key] = self._walk(value)
            elif kind is list:
                if value:
                    d[key] = self._walk_list(value)
            elif kind is float:
                raise _Inexact
        if len(d) == 2 and "_type_" in d and "_data_" in d:
            return self._convert[d["_type_"]](d["_data_"])
        return d

    def _walk_list(self, items: list[Any]) -> list[Any]:
        for i, value in enumerate(items):
            kind = type(value)
            if kind is dict:
                items[i] = self._walk(value)
            elif kind is list:
                items[i] = self._walk_list(value)
            elif kind is float:
                raise _Inexact
        return items
