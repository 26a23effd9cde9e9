"""The accounts a printed statement shows: the customer's orders on the
statements read model, by number, each with its entries from its own events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.application import Ledger
from ledger.exports.streams import every_item, in_order
from ledger.formats.statement_pdf import Account, entries_of
from ledger.projections.framework import View
from ledger.projections.order_rows import MAX_LIMIT
from ledger.projections.statements import statement


def accounts(ledger: Ledger, view: View[Any], customer: str, today: date) -> Iterator[Account]:
    """The customer's orders on the statement, by number, with their entries."""
    items = every_item(view, lambda v: statement(v, customer, now=today, limit=MAX_LIMIT)["items"])
    for item in in_order(items, lambda i: (i["number"],)):
        events = ledger.events.get(UUID(item["order_id"]))
        yield Account(item["number"], item["currency"], Decimal(item["total"]), entries_of(events))
