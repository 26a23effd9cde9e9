"""Shared parts of the follow-up read models (complaints, statements,
shipments, archive, seasonal): a row per order folded by one step per
event class (``steps.Steps``),
rows as JSON, and register-style queries that flatten a row's entries.

Each row is a frozen dataclass with the order's ``version``; a step returns
a changed copy (``facts.replace``) and never mutates its input, and an
event the row has already folded (by version) changes nothing, exactly as
``facts.fold_facts`` does.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from ledger.aggregates.order import Order
from ledger.aggregates.stages import Status
from ledger.projections.facts import replace, stamped
from ledger.projections.framework import ReadModel
from ledger.projections.order_rows import Page
from ledger.projections.steps import RECEIVED, Steps


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)

STATUS_AFTER: dict[type, Status] = {
    Order.OrderVerified: Status.VERIFIED,
    Order.VerificationFailed: Status.REJECTED,
    Order.OrderConfirmed: Status.CONFIRMED,
    Order.OrderSplit: Status.SPLIT,
    Order.OrderMerged: Status.MERGED,
    Order.OrderCancelled: Status.CANCELLED,
    Order.OrderSettled: Status.SETTLED,
    Order.OrderArchived: Status.ARCHIVED,
}
"""The order's ``status`` after each event that sets it (the aggregate's evolve)."""


def status_events(*own_step: type) -> tuple[type, ...]:
    """The events of ``STATUS_AFTER`` but those a model gives a step of its own."""
    return tuple(cls for cls in STATUS_AFTER if cls not in own_step)


class StepModel(ReadModel[V]):
    """A read model whose row starts at ``OrderReceived`` and changes by ``steps``."""

    steps: Steps[V]

    @abstractmethod
    def received(self, event: Any) -> V:
        """The row of a just received order."""

    @abstractmethod
    def from_plain(self, raw: dict[str, Any]) -> V:
        """The row from ``plain(row)``."""

    def evolve(self, row: V | None, event: Any) -> V | None:
        cls = type(event)
        if cls is RECEIVED:
            return row if row is not None else self.received(event)
        if row is None or event.originator_version <= row.version:
            return row
        step = self.steps.get(cls)
        changed = step(row, event) if step is not None else row
        return stamped(row, changed, version=event.originator_version)

    def dump(self, row: V) -> str:
        return dump_plain(row)

    def load(self, data: str) -> V:
        return self.from_plain(json.loads(data))


def _fields(value: Any) -> dict[str, Any]:
    if hasattr(value, "__dataclass_fields__"):
        return dict(value.__dict__)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dump_plain(value: Any) -> str:
    """``json.dumps(plain(value))`` compactly, with the walk done by the JSON
    encoder itself (a dataclass becomes the dict of its fields)."""
    return json.dumps(value, default=_fields, ensure_ascii=False, separators=(",", ":"))


def plain(value: Any) -> Any:
    """Dataclasses, dicts and sequences as JSON-native values."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(v) for k, v in value.__dict__.items()}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def with_status(row: V, event: Any) -> V:
    """The row after an event that only sets the order's status."""
    return replace(row, status=STATUS_AFTER[type(event)])


def iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def days_between(start: str, end: str) -> float:
    """Days from one ISO timestamp to another, to the nearest thousandth."""
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return round(seconds / 86400, 3)


def add_money(totals: dict[str, Any], name: str, amount: Decimal | str) -> None:
    """Add to an amount kept as text (per currency, or a named total) in place."""
    totals[name] = str(Decimal(totals.get(name, "0")) + Decimal(amount))


def choice(what: str, value: str | None, allowed: Iterable[str]) -> None:
    """ValueError unless ``value`` is None or one of ``allowed``."""
    options = tuple(allowed)
    if value is not None and value not in options:
        raise ValueError(f"unknown {what} {value!r}; one of {', '.join(options)}")


def check_year(year: int | None) -> None:
    if year is not None and not 1 < year <= 9999:
        raise ValueError("year must be between 2 and 9999")


def page_of(items: list[dict[str, Any]], limit: int, offset: int, **extra: Any) -> dict[str, Any]:
    """One page of already filtered and sorted items, with their total."""
    page = Page(limit, offset)
    return {**page.envelope(page.slice(items), len(items)), **extra}
