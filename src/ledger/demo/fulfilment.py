"""From production to the archive: ``fulfil`` writes the phases of a story up
to the stage it should reach (``reach`` indexes ``stories.TARGETS``).

Shipments go one after another (partial shipments), each with its
documents moved drafted → reviewed → submitted before dispatch, then transit
updates (some delayed, damaged or lost) and delivery. ``closing`` does the
rest: complaints, invoices and credit notes, payments, settlement, archive.
"""

from __future__ import annotations

from decimal import Decimal

from ledger.aggregates.values import SkuQty
from ledger.demo import catalogue as cat
from ledger.demo.closing import after_delivery, archive, bill, complaint, settle
from ledger.demo.making import on, pay, prepare, produce, raise_issue, warehouse
from ledger.demo.plan import Profile, Scene, Writer

IN_PRODUCTION, READY, SHIPPED, DELIVERED, INVOICED, SETTLED, ARCHIVED = range(3, 10)
TRANSIT_DAYS = {"sea": (18, 35), "air": (2, 6), "rail": (4, 9), "road": (1, 4), "express": (1, 3)}
DOC_PREFIX = {
    "dispatch_note": "DN",
    "waybill": "WB",
    "bill_of_lading": "COSU",
    "customs_declaration": "5316",
}


def fulfil(w: Writer, p: Profile, reach: int) -> None:
    """Write the phases from production up to the stage ``reach``."""
    if reach >= IN_PRODUCTION:
        produce(w, p, only=reach == IN_PRODUCTION)
    if reach >= READY:
        prepare(w, p, will_ship=reach >= SHIPPED)
    if reach >= SHIPPED:
        ship(w, p, partial=reach == SHIPPED)
    if reach >= DELIVERED:
        after_delivery(w, p, closing=reach >= SETTLED)
    if reach >= INVOICED:
        bill(w, p, pay_part=reach == INVOICED and w.rng.random() < 0.4)
    if reach >= SETTLED:
        if w.rng.random() < 0.3:  # paid in two instalments
            pay(w, p, (5, 30), half=True)
        pay(w, p, (5, 40), half=False)
        settle(w, p)
    if reach >= ARCHIVED:
        archive(w, p)


def ship(w: Writer, p: Profile, *, partial: bool) -> None:
    """Ship the goods in one to three lots; ``partial`` stops with goods still out."""
    rng = w.rng
    lots = _lots(w, p.ship, rng.choices((1, 2, 3), weights=(55, 30, 15))[0])
    sent = rng.randint(1, len(lots)) if partial else len(lots)
    for i, lot in enumerate(lots[:sent]):
        last = i == sent - 1
        arrives = not (partial and last and (sent == len(lots) or rng.random() < 0.5))
        _shipment(w, p, f"SHP-{i + 1}", lot, arrives=arrives)
        if i == 0 and p.short is not None:
            sku, quantity = p.short
            reason = "型号停产，客户同意余数不再交付"
            w.step(
                p.track,
                (0.5, 3),
                p.sales,
                "short_close",
                on(p.track.key, "short_close", sku=sku, quantity=quantity, reason=reason),
                reason,
            )


def _lots(w: Writer, quantities: dict[str, int], count: int) -> list[list[SkuQty]]:
    """Cut each line's quantity over ``count`` lots; drop lots left empty."""
    cuts: list[list[SkuQty]] = [[] for _ in range(count)]
    for sku, quantity in quantities.items():
        shares = [w.rng.uniform(0.3, 1) for _ in range(count)]
        parts = [int(quantity * share / sum(shares)) for share in shares[:-1]]
        parts.append(quantity - sum(parts))
        for lot, part in zip(cuts, parts, strict=True):
            if part > 0:
                lot.append(SkuQty(sku, part))
    return [lot for lot in cuts if lot]


def _shipment(w: Writer, p: Profile, sid: str, lot: list[SkuQty], *, arrives: bool) -> None:
    rng, key, mode, export = w.rng, p.track.key, p.client.delivery.transport_mode, p.client.export
    carrier = rng.choice(cat.CARRIERS[f"{mode}_export" if export and mode == "express" else mode])
    cost = Decimal(rng.randint(3000, 20000) if mode == "sea" else rng.randint(150, 3000))
    planned = rng.randint(3, 10)
    w.step(
        p.track,
        (0.5, 3),
        p.merchandiser,
        "schedule_shipment",
        lambda s: s.order(key).schedule_shipment(
            shipment_id=sid,
            planned_date=s.day(planned),
            lines=lot,
            carrier=carrier,
            mode=mode,
            estimated_cost=cost,
            export=export,
        ),
    )
    if rng.random() < 0.1:
        reason = "客户仓库收货排期调整"
        w.step(
            p.track,
            (0.5, 2),
            p.merchandiser,
            "reschedule_shipment",
            lambda s: s.order(key).reschedule_shipment(
                shipment_id=sid, planned_date=s.day(planned + 3), reason=reason
            ),
            reason,
        )
    units = sum(item.quantity for item in lot)
    packages = max(1, units // rng.choice((10, 20, 50)))
    materials = rng.choice(("纸箱 + 气泡膜", "木箱", "托盘 + 缠绕膜"))

    def pack(s: Scene) -> None:
        order = s.order(key)
        labels = [f"{order.number} {sid} 第 {n} 箱" for n in range(1, min(packages, 3) + 1)]
        order.pack(shipment_id=sid, packages=packages, materials=materials, labels=labels)

    w.step(p.track, (1, 4), warehouse(w), "pack", pack)
    kinds = ["dispatch_note", "bill_of_lading" if mode == "sea" else "waybill"]
    for kind in kinds + (["customs_declaration"] if export else []):
        _document(w, p, sid, kind)
    tracking = (
        f"{carrier[:2].upper() if carrier.isascii() else 'SF'}{rng.randint(10**11, 10**12 - 1)}"
    )
    w.step(
        p.track,
        (0.2, 2),
        warehouse(w),
        "dispatch",
        on(key, "dispatch", shipment_id=sid, tracking_number=tracking),
    )
    _transit(w, p, sid, mode, arrives=arrives)


def _document(w: Writer, p: Profile, sid: str, kind: str) -> None:
    """Issue a document and take it through review to submission."""
    key, clerk = p.track.key, warehouse(w)
    number = f"{DOC_PREFIX[kind]}{w.rng.randint(10**9, 10**10 - 1)}"
    w.step(
        p.track,
        (0.1, 1),
        clerk,
        "issue_document",
        on(key, "issue_document", shipment_id=sid, kind=kind, number=number),
    )
    statuses = ["reviewed", "submitted"]
    if w.rng.random() < 0.05:
        statuses = ["rejected", "drafted", "reviewed", "submitted"]
    for status in statuses:
        discrepancy = "品名与 HS 编码不符" if status == "rejected" else ""
        w.step(
            p.track,
            (0.1, 1),
            clerk,
            "change_document_status",
            on(
                key,
                "change_document_status",
                shipment_id=sid,
                kind=kind,
                status=status,
                discrepancy=discrepancy,
            ),
        )


def _transit(w: Writer, p: Profile, sid: str, mode: str, *, arrives: bool) -> None:
    rng, key = w.rng, p.track.key
    place = rng.choice(cat.PORTS if mode == "sea" else cat.HUBS)
    w.step(
        p.track,
        (0.5, 2),
        p.merchandiser,
        "update_transit",
        on(key, "update_transit", shipment_id=sid, status="in_transit", location=place),
    )
    trouble = rng.choices(("", "delayed", "damaged", "lost"), weights=(84, 10, 4, 2))[0]
    if trouble:
        note = {
            "delayed": "天气原因延误",
            "damaged": "外箱受潮破损",
            "lost": "转运中心暂未找到货物",
        }[trouble]
        w.step(
            p.track,
            TRANSIT_DAYS[mode],
            p.merchandiser,
            "update_transit",
            on(key, "update_transit", shipment_id=sid, status=trouble, location=place, note=note),
        )
    if not arrives:
        return
    if trouble in ("delayed", "lost"):
        w.step(
            p.track,
            (1, 6),
            p.merchandiser,
            "update_transit",
            on(
                key,
                "update_transit",
                shipment_id=sid,
                status="in_transit",
                location=place,
                note="已恢复运输",
            ),
        )
    receiver = p.client.delivery.consignee
    w.step(
        p.track,
        TRANSIT_DAYS[mode],
        p.merchandiser,
        "deliver",
        on(key, "deliver", shipment_id=sid, received_by=receiver),
    )
    if trouble == "damaged":
        raise_issue(w, p, during_production=False)
        complaint(w, p, ("包装破损", "到货外箱破损，要求赔偿"))
