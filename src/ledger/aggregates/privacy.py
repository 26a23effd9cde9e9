"""Which fields of the order's events, values and state are personal data.

Every class whose fields can hold text declares them next to its fields::

    class OrderPutOnHold(Aggregate.Event):
        reason: str
        privacy = Privacy(personal=("reason",))

A **personal** field is sealed with its customer's key when stored and reads
``"[erased]"`` once that key is destroyed; a **public** one is stored as it
is. Free text is personal unless there is a reason to declare it public
(identifiers, product data, labels chosen from a list, company names). A
field holding a value or state class (``Customer``, ``list[Line]``,
``dict[str, ShipmentState]``) is covered by that class's own declaration.
A personal field may be text, a list of texts or a dict of texts (each
text sealed; list lengths and dict keys stay readable); ``"meta.reason"``
names one key of a dict field.

A test walks every event, value and state class and fails on a field that
can hold text and is declared neither way.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

# What a personal field reads as once its customer's key was destroyed.
ERASED = "[erased]"


@dataclass(frozen=True)
class Privacy:
    """A class's fields that can hold text: personal ones and public ones."""

    personal: tuple[str, ...] = ()
    public: tuple[str, ...] = ()

    def __or__(self, other: Privacy) -> Privacy:
        return Privacy(self.personal + other.personal, self.public + other.public)

    def fields(self) -> dict[str, tuple[str, ...]]:
        """Personal fields by name; each with the keys meant (empty: all of it)."""
        found: dict[str, tuple[str, ...]] = {}
        for name in self.personal:
            field, _, key = name.partition(".")
            found[field] = (*found.get(field, ()), key) if key else ()
        return found


@cache
def privacy_of(cls: type) -> Privacy:
    """What ``cls`` and its bases declare, together."""
    merged = Privacy()
    for klass in reversed(cls.__mro__):
        declared = klass.__dict__.get("privacy")
        if isinstance(declared, Privacy):
            merged = merged | declared
    return merged


def personal_fields(cls: type) -> tuple[str, ...]:
    """The personal fields of ``cls`` (``"meta.reason"`` names a key of ``meta``)."""
    return privacy_of(cls).personal


def erased(value: Any) -> Any:
    """A personal value as it reads once erased: every non-empty text
    ``"[erased]"``, in the same shape (empty texts stay empty)."""
    if isinstance(value, str):
        return ERASED if value else ""
    if isinstance(value, list):
        return [erased(item) for item in value]
    if isinstance(value, dict):
        return {key: erased(item) for key, item in value.items()}
    return value


def redacted(value: Any) -> Any:
    """``value`` (a value, state or event object, or lists and dicts of them)
    with every personal field at any depth erased; a new object where
    anything changed, ``value`` itself otherwise."""
    if isinstance(value, list):
        return [redacted(item) for item in value]
    if isinstance(value, dict):
        return {key: redacted(item) for key, item in value.items()}
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    personal = privacy_of(type(value)).fields()
    changes = {}
    for field in dataclasses.fields(value):
        current = getattr(value, field.name)
        keys = personal.get(field.name)
        if keys is None:
            new = redacted(current)
        elif keys and isinstance(current, dict):
            new = {k: erased(v) if k in keys else v for k, v in current.items()}
        else:
            new = erased(current)
        if new != current:
            changes[field.name] = new
    return dataclasses.replace(value, **changes) if changes else value
