"""A shipment's dispatch note (发货单) and packing list (装箱单) as PDF.

Both carry the order number large and as a Code 128 barcode (the label a
warehouse scans), the shipment, carrier and consignee, and its lines with
quantities; the packing list adds packages, materials and labels. Neither
shows a price: they travel with the goods. Names, phone and address are
the order's own, as its JSON shows them (``[erased]`` after an erasure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ledger.aggregates.order import Order
from ledger.formats.pdf import (
    CONTENT_WIDTH,
    Company,
    barcode,
    build,
    company_header,
    grid,
    label,
    mm,
    space,
    text,
)

if TYPE_CHECKING:
    from reportlab.platypus import Flowable

Kind = Literal["dispatch_note", "packing_list"]


def _when(value: Any) -> str:
    if value is None:
        return ""
    return str(
        value.strftime("%Y-%m-%d %H:%M UTC") if hasattr(value, "hour") else value.isoformat()
    )


def _facts(order: Order, shipment: Any, kind: Kind, lang: str) -> Flowable:
    document = shipment.documents.get(kind)
    delivery = order.delivery
    pairs = [
        ("order_number", order.number),
        ("shipment", shipment.shipment_id),
        ("document_number", document.number if document else ""),
        ("planned", shipment.planned_date.isoformat()),
        ("dispatched", _when(shipment.dispatched_at)),
        ("carrier", shipment.carrier),
        ("mode", shipment.mode),
        ("tracking", shipment.tracking_number),
        ("customer", order.customer.name),
        ("consignee", delivery.consignee),
        ("phone", delivery.phone),
        ("address", delivery.address),
    ]
    rows = [[text(label(k, lang), "cell"), text(str(v or ""), "cell")] for k, v in pairs]
    return grid(rows, [CONTENT_WIDTH * 0.25, CONTENT_WIDTH * 0.75], header=False)


def _lines(order: Order, shipment: Any, lang: str) -> Flowable:
    names = ("sku", "name", "model", "spec", "quantity")
    rows: list[list[Any]] = [[text(label(n, lang), "cell") for n in names]]
    for sku, quantity in sorted(shipment.lines.items()):
        line = order.lines.get(sku)
        described = (line.name, line.model, line.spec) if line else ("", "", "")
        rows.append([text(sku, "cell"), *(text(v, "cell") for v in described),
                     text(str(quantity), "number")])  # fmt: skip
    total = sum(shipment.lines.values())
    rows.append(
        ["", text(label("total_quantity", lang), "cell"), "", "", text(str(total), "number")]
    )
    widths = [0.18, 0.34, 0.16, 0.18, 0.14]
    return grid(rows, [CONTENT_WIDTH * w for w in widths])


def _packing(shipment: Any, lang: str) -> Flowable:
    packing = shipment.packing
    if packing is None:
        return text(f"{label('packages', lang)}: {label('not_packed', lang)}")
    pairs = [
        ("packages", str(packing.packages)),
        ("materials", packing.materials),
        ("labels", "; ".join(packing.labels)),
    ]
    rows = [[text(label(k, lang), "cell"), text(v, "cell")] for k, v in pairs]
    return grid(rows, [CONTENT_WIDTH * 0.25, CONTENT_WIDTH * 0.75], header=False)


def shipping_pdf(order: Order, shipment_id: str, kind: Kind, company: Company, lang: str) -> bytes:
    """The shipment's dispatch note or packing list; ``KeyError`` for an unknown shipment."""
    shipment = order.shipments[shipment_id]
    title = label(kind, lang)
    story: list[Flowable] = company_header(company, title)
    story += [
        text(f"{label('order_number', lang)}: {order.number}", "title"),
        barcode(order.number, height=12 * mm, bar_width=0.35 * mm),
        space(4 * mm),
        _facts(order, shipment, kind, lang),
        space(5 * mm),
        _lines(order, shipment, lang),
        space(5 * mm),
    ]
    if kind == "packing_list":
        story += [_packing(shipment, lang), space(5 * mm)]
    blank = "_" * 28
    story += [
        space(8 * mm),
        text(f"{label('shipper_sign', lang)}：{blank}"),
        space(8 * mm),
        text(f"{label('receiver_sign', lang)}：{blank}"),
    ]
    return build(story, lang, f"{title} {order.number} {shipment_id}")
