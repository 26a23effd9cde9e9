"""The order's event classes, and instances of them with a distinct marker in
every text, each marker known as personal or public by the declarations
(``ledger.aggregates.privacy``)."""

from __future__ import annotations

import dataclasses
import itertools
import types
import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from ledger.aggregates.order import Order
from ledger.aggregates.privacy import privacy_of


def event_classes() -> list[type]:
    """Every event class of the Order (the library's own snapshot excluded)."""
    found = {
        cls
        for name in dir(Order)
        if isinstance(cls := getattr(Order, name), type)
        and issubclass(cls, Aggregate.Event)
        and cls.__module__.startswith("ledger.")
        and name not in ("Event", "Created")
    }
    return sorted(found, key=lambda cls: cls.__name__)


def hints(cls: type) -> dict[str, Any]:
    """The resolved type of each dataclass field of ``cls``."""
    resolved = typing.get_type_hints(cls)
    return {f.name: resolved[f.name] for f in dataclasses.fields(cls)}


def holds_text(kind: Any) -> bool:
    """Whether a value of this type can hold text of its own (a dataclass's
    texts are its own class's to declare; an id type variable is a UUID)."""
    if kind is str or kind is Any:
        return True
    return any(holds_text(arg) for arg in typing.get_args(kind))


def classes_in(kind: Any) -> Iterator[type]:
    """The dataclasses a value of this type can hold."""
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        yield kind
    for arg in typing.get_args(kind):
        yield from classes_in(arg)


def faults_of(cls: type) -> list[str]:
    privacy = privacy_of(cls)
    fields = hints(cls)
    named = {name.partition(".")[0] for name in (*privacy.personal, *privacy.public)}
    faults = [f"{name} is declared but no field" for name in sorted(named - set(fields))]
    faults += [
        f"{name} is personal and public" for name in set(privacy.personal) & set(privacy.public)
    ]
    faults += [
        f"{name} ({kind}) is declared neither personal nor public"
        for name, kind in fields.items()
        if holds_text(kind) and name not in named
    ]
    return [f"{cls.__qualname__}.{fault}" for fault in faults]


class Markers:
    """Distinct texts, each remembered as personal or public."""

    def __init__(self) -> None:
        self._count = itertools.count()
        self.personal: set[str] = set()
        self.public: set[str] = set()

    def new(self, personal: bool) -> str:
        text = f"mk{next(self._count):04d}z"
        (self.personal if personal else self.public).add(text)
        return text


def build(kind: Any, marks: Markers, personal: bool = False) -> Any:
    """A value of ``kind`` with a new marker in every text."""
    if kind is str or kind is Any:
        return marks.new(personal)
    if isinstance(kind, TypeVar) or kind is UUID:
        return uuid4()
    simple = {int: 3, bool: True, Decimal: Decimal("1.25"), date: date(2026, 2, 3)}
    if kind in simple:
        return simple[kind]
    if kind is datetime:
        return datetime(2026, 2, 3, 4, 5, tzinfo=UTC)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return build_instance(kind, marks)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is list:
        return [build(args[0], marks, personal) for _ in range(2)]
    if origin is dict:  # keys stay readable, even of a personal dict
        return {build(args[0], marks): build(args[1], marks, personal) for _ in range(2)}
    if origin in (typing.Union, types.UnionType):
        return build(next(a for a in args if a is not type(None)), marks, personal)
    raise AssertionError(f"no builder for {kind!r}")


def build_instance(cls: type, marks: Markers) -> Any:
    """An instance of a dataclass (or event class) with markers in every text."""
    personal = privacy_of(cls).fields()
    values: dict[str, Any] = {}
    for name, kind in hints(cls).items():
        keys = personal.get(name)
        if keys:  # personal keys of a dict of otherwise public values
            values[name] = {key: marks.new(True) for key in keys}
            values[name][marks.new(False)] = marks.new(False)
        else:
            values[name] = build(kind, marks, keys is not None)
    return cls(**values)
