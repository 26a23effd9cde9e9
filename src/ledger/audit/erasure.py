"""Erasing a customer's personal data: destroy their key, record it on each order."""

from __future__ import annotations

from uuid import UUID

from ledger.application import Ctx, Ledger, OrderNotFound
from ledger.audit.export import select_orders


def erase_customer(ledger: Ledger, name: str, actor: str = "admin") -> list[UUID]:
    """Destroy ``name``'s key (and the idempotency fingerprints of the commands
    on their orders), then record ``PersonalDataErased`` on each of their orders.

    The key goes first: should recording fail half-way, the data is already
    unreadable and a repeat records the rest. The events carry no reason:
    it would be sealed, under a key made anew for the purpose.
    """
    orders = select_orders(ledger, customer=name)
    if not orders:
        raise OrderNotFound(f"no orders of customer {name!r}", customer=name)
    ledger.personal_keys.erase(name, orders)
    ctx = Ctx(actor=actor)
    for order_id in orders:
        ledger.erase_personal_data(ctx, order_id)
    return orders
