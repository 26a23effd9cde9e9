"""The order's state as plain data: what the API returns and replay diffs.

Amounts are strings of the exact Decimal (derived ones rounded to the
currency's minor unit, see ``values.line_amount``), unit prices are shown
with their 4 decimals; ratios are exact fractions rendered to 4 decimals
only here, for display — nothing derives from them.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import TYPE_CHECKING, Any

from ledger.aggregates.values import unit_price_text

if TYPE_CHECKING:
    from ledger.aggregates.order import Order
    from ledger.aggregates.state import PurchaseState


# Types returned as they are, and each dataclass's field names (looked up once).
RATIO_CONTEXT = Context(prec=28)  # the default context's, whatever the caller's
FOUR_PLACES = Decimal("0.0001")
_AS_IS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
# None for a type known not to be a dataclass.
_FIELDS: dict[type, tuple[str, ...] | None] = {}
_UNSEEN = ("",)  # a type not looked at yet


def plain(value: Any, *, normalize_decimals: bool = False) -> Any:
    """Domain values as JSON-ready data: dataclasses as dicts, exact Decimals
    as strings (normalised on request, for fingerprints), dates in ISO 8601,
    anything else unknown (UUIDs) as its string."""

    def convert(item: Any) -> Any:
        kind = type(item)
        if kind in _AS_IS:  # most of an order's values: checked first, by exact type
            return item
        names = _FIELDS.get(kind, _UNSEEN)
        if names is _UNSEEN:
            names = None
            if dataclasses.is_dataclass(item) and not isinstance(item, type):
                names = tuple(f.name for f in dataclasses.fields(item))
            _FIELDS[kind] = names
        if names is not None:
            return {name: convert(getattr(item, name)) for name in names}
        if kind is datetime or kind is date:
            return item.isoformat()
        if isinstance(item, dict):
            return {str(k): convert(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [convert(v) for v in item]
        if isinstance(item, Decimal):
            return str(item.normalize() if normalize_decimals and item.is_finite() else item)
        if isinstance(item, datetime | date):
            return item.isoformat()
        if isinstance(item, str | int | float | bool) or item is None:
            return item
        return str(item)

    return convert(value)


def ratio(part: int | Decimal, whole: int | Decimal) -> str:
    """part/whole as a 4-decimal string ("0.6667"); 0 of 0 is "0"."""
    if not whole:
        return "0"
    # Both are exact as Decimals and the context rounds their quotient once
    # (28 digits), as it would the reduced fraction's: no Fraction needed.
    with localcontext(RATIO_CONTEXT):
        value = Decimal(part) / Decimal(whole)
        return str(value.quantize(FOUR_PLACES, rounding=ROUND_HALF_EVEN))


def facets(order: Order) -> dict[str, Any]:
    """Per order: quantities, amounts and ratios, all derived from counters."""
    lines = order.lines.values()
    ordered = sum(line.quantity for line in lines)
    due = sum(line.due for line in lines)
    shipped = sum(line.shipped for line in lines)
    delivered = sum(line.delivered for line in lines)
    total = order.total
    return {
        "ordered": ordered,
        "allocated": sum(line.allocated_total for line in lines),
        "planned": sum(order.planned_quantities().values()),
        "shipped": shipped,
        "delivered": delivered,
        "short_closed": sum(line.short_closed for line in lines),
        "open": sum(line.open for line in lines),
        "total": str(total),
        "invoiced": str(order.invoiced_amount),
        "credited": str(order.credited_amount),
        "net_invoiced": str(order.net_invoiced),
        "paid": str(order.paid_amount),
        "outstanding": str(order.outstanding),
        "invoiceable": str(max(order.invoice_cap() - order.net_invoiced, Decimal(0))),
        "shipped_ratio": ratio(shipped, due),
        "delivered_ratio": ratio(delivered, due),
        "invoiced_ratio": ratio(order.net_invoiced, total),
        "paid_ratio": ratio(order.paid_amount, total),
    }


def _purchase(purchase: PurchaseState) -> dict[str, Any]:
    """A purchase order, its parts' unit costs shown with 4 decimals like unit prices."""
    shown: dict[str, Any] = plain(purchase)
    for item, given in zip(shown["items"], purchase.items, strict=True):
        item["unit_cost"] = unit_price_text(given.unit_cost)
    return shown


def _backlog(order: Order) -> dict[str, Any]:
    """The backlog reviews of the order and the decisions taken (docs/backlog.md)."""
    return {"reviews": plain(order.backlog_reviews), "dispositions": plain(order.dispositions)}


def describe(order: Order) -> dict[str, Any]:
    """Everything about the order, JSON-ready."""
    return {
        "id": str(order.id),
        "number": order.number,
        "version": order.version,
        "stage": order.stage,
        "progress_stage": order.progress_stage,
        "status": order.status,
        "on_hold": order.on_hold,
        "hold_reason": order.hold_reason,
        "channel": order.channel,
        "customer": plain(order.customer),
        "currency": order.currency,
        "delivery": plain(order.delivery),
        "requested_date": plain(order.requested_date),
        "original_promised_date": plain(order.original_promise),
        "latest_promised_date": plain(order.latest_promise),
        "promises": plain(order.promises),
        "payment_terms": plain(order.payment_terms),
        "invoice_info": dict(order.invoice_info),
        "special_requirements": order.special_requirements,
        "contract_ref": order.contract_ref,
        "checks": dict(order.checks),
        "problems": list(order.problems),
        "lines": [
            {
                **plain(line),
                "unit_price": unit_price_text(line.unit_price),
                "amount": str(order.line_amount(line)),
                "open": line.open,
            }
            for line in order.lines.values()
        ],
        "facets": facets(order),
        "shipments": plain(list(order.shipments.values())),
        "purchases": [_purchase(purchase) for purchase in order.purchases.values()],
        "production": {
            "stage": order.production_stage,
            "percent": order.production_percent,
            "completed": order.production_completed,
        },
        "quality_issues": plain(list(order.quality_issues.values())),
        "complaints": plain(list(order.complaints.values())),
        "invoices": plain(list(order.invoices.values())),
        "credit_notes": plain(list(order.credit_notes.values())),
        "payments": plain(list(order.payments.values())),
        "split_from": order.split_from,
        "split_into": list(order.split_into),
        "merged_from": list(order.merged_from),
        "merged_into": order.merged_into,
        "cancel_reason": order.cancel_reason,
        "archive_ref": order.archive_ref,
        "stage_reached": plain(order.stage_reached),
        "backlog": _backlog(order),
        "created_at": plain(order.created_on),
        "modified_at": plain(order.modified_on),
    }
