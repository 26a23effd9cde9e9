"""Items as the feed's read model keeps them, and how a read fills them in.

A kept item is an event's feed item as JSON with a ``SLOT`` where each of
its personal fields goes (``feed_model``); beside it, those fields' JSON
texts sealed under their customer's key, one piece per customer
(``[[owner, sealed, [slot, …]], …]``). A read opens each piece (or
withholds it) and puts the texts in their slots.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

import orjson

from ledger.aggregates.values import ERASED
from ledger.integration.personal import WITHHELD

Kept = tuple[int, str, "str | None"]
"""A row of the feed's read model: position, item as JSON, its sealed pieces."""


class FeedStore(Protocol):
    """The feed's read model as a read uses it (``feed_views``)."""

    def max_tracking_id(self, application_name: str) -> int | None: ...

    def items(
        self, after: int, limit: int, bound: int, types: Sequence[str], orders: Sequence[str]
    ) -> list[Kept]:
        """Up to ``limit`` rows after ``after`` up to ``bound``, in log order,
        of ``types`` and ``orders`` (either empty: all)."""
        ...


Opener = Callable[[str, str], "bytes | None"]
"""Opens a sealed piece of a customer's (``PersonalKeys.opener``)."""


def placeholder(group: int, index: int) -> str:
    """A personal field while its item is made (``feed_model``), then found
    by ``PLACEHOLDER`` and replaced by a ``SLOT``: a control character starts
    it, which no text a client sends can hold."""
    return f"\x1f{group}.{index}"


PLACEHOLDER = re.compile(r'"\\u001f(\d+)\.(\d+)"')
"""A placeholder as ``orjson`` writes it (control characters escaped)."""
SLOT = "\x1e"
"""A sealed field's place in a kept item: a control character, which
``orjson`` never writes unescaped."""
_ERASED = orjson.dumps(ERASED).decode()
_WITHHELD = orjson.dumps(WITHHELD).decode()


def opened_items(keys: Any, rows: Iterable[Kept], opened: bool) -> list[str]:
    """Kept items with their personal fields opened with ``keys`` (the
    application's ``PersonalKeys``) or withheld; the customers' keys of the
    rows read together."""
    rows = list(rows)
    open_ = keys.opener() if opened else None
    sealed = {i: orjson.loads(row[2]) for i, row in enumerate(rows) if row[2] is not None}
    if open_ is not None and sealed:
        keys.prefetch(owner for pieces in sealed.values() for owner, _, _ in pieces)
    return [
        filled(item, sealed[i], open_) if i in sealed else item
        for i, (_, item, _) in enumerate(rows)
    ]


def filled(item: str, pieces: list[Any], open_: Opener | None) -> str:
    """A kept item's slots filled with its personal fields' JSON texts:
    opened piece by piece (``"[erased]"`` once a key is gone), or withheld."""
    parts = item.split(SLOT)
    fields = [""] * (len(parts) - 1)
    for owner, piece, slots in pieces:
        data = open_(owner, piece) if open_ is not None else None
        if data is not None:
            texts = data.decode().split(SLOT)
        else:
            texts = [_ERASED if open_ is not None else _WITHHELD] * len(slots)
        for slot, text in zip(slots, texts, strict=True):
            fields[slot] = text
    joined = [parts[0]]
    for text, part in zip(fields, parts[1:], strict=True):
        joined += (text, part)
    return "".join(joined)
