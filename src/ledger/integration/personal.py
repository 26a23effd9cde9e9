"""Which personal fields a reader of the feed sees, decided in one place.

The personal fields are those the store seals with the customer's key (see
``ledger.persistence.personal``): a customer's phone, email and address, a
delivery's address, consignee and phone, and the free-text fields sealed as
``PersonalText`` (a complaint's contact, a delivery's receiver). Every role
may read an order with them (``GET /orders/{id}`` shows them), so
the feed opens them for every role; an erased customer's fields read
``"[erased]"`` as everywhere else. A role that may not read them would see
``WITHHELD`` in their place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

WITHHELD = "[withheld]"
Convert = Callable[[Any], Any]


def reads_personal(roles: Iterable[str]) -> bool:
    """Whether these roles see personal fields opened: every role may read orders."""
    return bool(frozenset(roles))


def personal_converters(keys: Any, opened: bool) -> dict[str, Convert]:
    """Plain data for each sealed transcoding: opened with the customer's key
    (``keys``: the application's ``PersonalKeys``), or withheld."""

    def customer(data: dict[str, str]) -> dict[str, str]:
        phone, email, address = opened_fields(keys, opened, data["name"], data["pii"], 3)
        return {"name": data["name"], "phone": phone, "email": email, "address": address}

    def delivery(data: dict[str, str]) -> dict[str, str]:
        address, consignee, phone = opened_fields(keys, opened, data["owner"], data["pii"], 3)
        return {"address": address, "consignee": consignee, "phone": phone,
                "transport_mode": data["mode"]}  # fmt: skip

    def text(data: dict[str, str]) -> str:
        return opened_fields(keys, opened, data["owner"], data["pii"], 1)[0]

    return {"customer_sealed": customer, "delivery_sealed": delivery, "personal_text": text}


def opened_fields(keys: Any, opened: bool, owner: str, sealed: str, count: int) -> list[str]:
    """A sealed group's ``count`` fields, opened with ``owner``'s key or withheld."""
    if opened:
        fields: list[str] = keys.open(owner, sealed, count)
        return fields
    return [WITHHELD if sealed else ""] * count
