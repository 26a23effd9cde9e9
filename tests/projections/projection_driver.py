"""Drives a Ledger with random but plausible commands, for projection properties.

Each step picks an order and, mostly, takes the natural next step of its
life (verify, confirm, allocate, ship, deliver, invoice, pay, settle,
archive); sometimes a side step (hold, release, cancel, complaint, quality
issue, new promise, short close, credit note, split, merge). Refused
commands are expected and ignored: a refusal records nothing.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from ledger.aggregates import rules
from ledger.aggregates.backlog import ACTIONS, CAUSES, reviews_of
from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import Order
from ledger.aggregates.tracking import tracking_links
from ledger.aggregates.values import Customer, Delivery, Line, PaymentTerms, PurchaseItem, SkuQty
from ledger.application import Ctx, Ledger, LedgerError
from ledger.clock import SimulatedClock
from ledger.integration.feed import MAX_LIMIT, Feed

CUSTOMERS = (Customer("王小明"), Customer("María González"), Customer("株式会社テスト"))
DELIVERY = Delivery("上海市浦东新区世纪大道100号", "李四", "13900139000", "road")
CTX = Ctx(actor="tester", reason="property test")
PASS = {"customer": True, "product": True, "delivery": True}
REVIEW = {"drafted": "reviewed", "reviewed": "submitted", "rejected": "drafted"}


class Driver:
    """Random commands against one ledger; remembers the orders it made."""

    def __init__(self, ledger: Ledger, clock: SimulatedClock, seed: int) -> None:
        self.ledger = ledger
        self.clock = clock
        self.rnd = random.Random(seed)
        self.orders: list[UUID] = []
        self.counter = 0
        self.backlog_share = 0.0  # of the steps, how many review or decide about a stuck order

    def step(self, pick: int, choice: int) -> None:
        self.clock.advance(timedelta(hours=self.rnd.choice((1, 5, 30, 200))))
        if not self.orders or (pick % 9 == 0 and len(self.orders) < 6):
            self._try(self.receive)
            return
        order = self.ledger.get_order(self.orders[pick % len(self.orders)])
        if self.backlog_share and self.rnd.random() < self.backlog_share:
            self._try(lambda: self._backlog(order))
            return
        action = self.advance if choice % 10 < 7 else self.side_step
        self._try(lambda: action(order))

    def _try(self, command: Callable[[], Any]) -> None:
        with contextlib.suppress(DomainError, LedgerError, KeyError):
            command()

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def receive(self) -> None:
        skus = self.rnd.sample(["A", "B", "C", "D"], self.rnd.randint(1, 3))
        lines = [
            Line(sku, f"产品 {sku}", self.rnd.randint(1, 9), Decimal(self.rnd.randint(1, 999)) / 4)
            for sku in skus
        ]
        result = self.ledger.receive(
            CTX,
            channel=self.rnd.choice(("email", "phone", "platform")),
            customer=self.rnd.choice(CUSTOMERS),
            lines=lines,
            delivery=DELIVERY,
            currency=self.rnd.choice(("CNY", "CNY", "USD")),
        )
        self.orders.append(result.order.id)

    def advance(self, o: Order) -> None:
        ledger, oid, status = self.ledger, o.id, o.status
        if o.on_hold:
            ledger.release(CTX, oid, reason="cleared")
        elif status in ("received", "rejected"):
            ok = self.rnd.random() < 0.85
            ledger.verify(CTX, oid, checks={**PASS, "product": ok}, problems=[])
        elif status == "verified":
            promised = self.clock.now().date() + timedelta(days=self.rnd.randint(-5, 40))
            ledger.confirm(CTX, oid, promised_date=promised, payment_terms=self._terms())
        elif status == "confirmed":
            self._fulfil(o)
        elif status == "settled":
            ledger.archive(CTX, oid, archive_ref=self._id("AR"))

    def _terms(self) -> PaymentTerms:
        return PaymentTerms("bank_transfer", 30, Decimal(self.rnd.choice((0, 0, 30))))

    def _fulfil(self, o: Order) -> None:
        open_lines = {s: ln.due - o.planned_quantities().get(s, 0) for s, ln in o.lines.items()}
        unplanned = [SkuQty(s, q) for s, q in open_lines.items() if q > 0]
        waiting = [s for s in o.shipments.values() if not s.is_dispatched]
        in_transit = [s for s in o.shipments.values() if s.status == "dispatched"]
        r = self.rnd.random()
        if r < 0.15 and o.production_percent < 100:
            self._produce(o)
        elif r < 0.25:
            sku, line = self.rnd.choice(list(o.lines.items()))
            quantity = max(1, line.due - line.allocated_total - self.rnd.randint(0, 1))
            self.ledger.allocate_stock(CTX, o.id, sku=sku, quantity=quantity, warehouse="W1")
        elif in_transit and r < 0.6:
            self._transit_or_deliver(o, in_transit[0].shipment_id)
        elif waiting and 0.6 <= r < 0.65:
            self.ledger.reschedule_shipment(
                CTX,
                o.id,
                shipment_id=waiting[0].shipment_id,
                planned_date=self.clock.now().date() + timedelta(days=5),
                reason="truck full",
                carrier=self.rnd.choice(("", "DHL")),
            )
        elif waiting:
            self._dispatch(o, waiting[0].shipment_id)
        elif unplanned:
            self.ledger.schedule_shipment(
                CTX,
                o.id,
                shipment_id=self._id("S"),
                planned_date=self.clock.now().date() + timedelta(days=3),
                lines=unplanned,
                carrier=self.rnd.choice(("顺丰", "COSCO")),
                mode=self.rnd.choice(("road", "road", "sea", "air")),
                export=self.rnd.random() < 0.3,
            )
        else:
            self._bill(o)

    def _produce(self, o: Order) -> None:
        r = self.rnd.random()
        open_pos = [p.po_number for p in o.purchases.values() if p.status == "open"]
        if r < 0.2 and open_pos:
            self.ledger.receive_purchase(CTX, o.id, po_number=open_pos[0], accepted=5)
        elif r < 0.3:
            items = [PurchaseItem("螺丝", 5, Decimal("0.10"))]
            self.ledger.order_purchase(
                CTX, o.id, po_number=self._id("PO"), supplier="宁波五金", items=items
            )
        elif r < 0.45:
            self.ledger.complete_production(CTX, o.id)
        else:
            self.ledger.progress_production(
                CTX, o.id, stage="assembly", percent=min(100, o.production_percent + 30)
            )

    def _dispatch(self, o: Order, sid: str) -> None:
        """Prepare the documents the shipment needs (some go through review,
        some are rejected first), pack now and then, and dispatch."""
        shipment = o.shipments[sid]
        if self.rnd.random() < 0.3:
            self.ledger.pack(CTX, o.id, shipment_id=sid, packages=2)
        for kind in rules.required_documents(shipment):
            document = shipment.documents.get(kind)
            if document is None:
                status = self.rnd.choice(("submitted", "submitted", "drafted"))
                self.ledger.issue_document(
                    CTX, o.id, shipment_id=sid, kind=kind, number=self._id(kind), status=status
                )
            elif document.status in REVIEW:
                reject = document.status == "reviewed" and self.rnd.random() < 0.3
                self.ledger.change_document_status(
                    CTX,
                    o.id,
                    shipment_id=sid,
                    kind=kind,
                    status="rejected" if reject else REVIEW[document.status],
                    discrepancy="重量不符" if reject else "",
                )
        self.ledger.dispatch(CTX, o.id, shipment_id=sid, tracking_number=self._id("SF"))

    def _transit_or_deliver(self, o: Order, sid: str) -> None:
        if self.rnd.random() < 0.3:
            status = self.rnd.choice(("in_transit", "delayed", "damaged", "lost"))
            location = self.rnd.choice(("", "杭州转运中心"))
            self.ledger.update_transit(CTX, o.id, shipment_id=sid, status=status, location=location)
        else:
            self.ledger.deliver(CTX, o.id, shipment_id=sid, received_by="李四")

    def _bill(self, o: Order) -> None:
        cap = o.invoice_cap() - o.net_invoiced
        if cap > 0:
            self.ledger.invoice(
                CTX,
                o.id,
                invoice_number=self._id("INV"),
                amount=cap,
                issued_on=self.clock.now().date(),
            )
        elif o.outstanding > 0 and self.rnd.random() < 0.2:
            self.ledger.issue_credit_note(
                CTX,
                o.id,
                credit_note_number=self._id("CN"),
                amount=min(o.outstanding, Decimal("5.25")),
                reason="late delivery",
            )
        elif o.outstanding > 0:
            self.ledger.receive_payment(
                CTX,
                o.id,
                reference=self._id("PAY"),
                amount=o.outstanding,
                received_on=self.clock.now().date(),
            )
        else:
            self.ledger.settle(CTX, o.id)

    def side_step(self, o: Order) -> None:
        ledger, oid = self.ledger, o.id
        r = self.rnd.randrange(12)
        open_complaints = [c for c in o.complaints.values() if c.status == "open"]
        open_issues = [q for q in o.quality_issues.values() if q.status == "open"]
        if r == 0:
            ledger.hold(CTX, oid, reason="customer asked")
        elif r == 1:
            ledger.cancel(CTX, oid, reason="customer withdrew")
        elif r == 2 and open_complaints:
            ledger.resolve_complaint(
                CTX, oid, complaint_id=open_complaints[0].complaint_id, resolution="refund"
            )
        elif r == 2:
            ledger.file_complaint(
                CTX,
                oid,
                complaint_id=self._id("C"),
                channel="phone",
                category="late",
                description="迟到",
            )
        elif r == 3 and open_issues:
            ledger.resolve_quality_issue(
                CTX,
                oid,
                issue_id=open_issues[0].issue_id,
                resolution=self.rnd.choice(("repair", "compensation")),
                amount=Decimal(self.rnd.choice((0, 15, 120))),
            )
        elif r == 3:
            ledger.raise_quality_issue(
                CTX,
                oid,
                issue_id=self._id("Q"),
                severity=self.rnd.choice(("minor", "critical")),
                category="scratch",
                description="划痕",
            )
        elif r == 4:
            promised = self.clock.now().date() + timedelta(days=self.rnd.randint(-3, 30))
            ledger.promise_date(CTX, oid, promised_date=promised, reason="supplier late")
        elif r == 5:
            sku, line = next(iter(o.lines.items()))
            ledger.short_close(CTX, oid, sku=sku, quantity=max(1, line.open), reason="discontinued")
        elif r == 6 and o.net_invoiced > o.paid_amount:
            ledger.issue_credit_note(
                CTX,
                oid,
                credit_note_number=self._id("CN"),
                amount=Decimal("0.25"),
                reason="compensation",
            )
        elif r == 7:
            parts = [[SkuQty(s, ln.due)] for s, ln in o.lines.items() if ln.due > 0]
            ledger.split(CTX, oid, parts)
        elif r == 8 and len(self.orders) > 1:
            other = self.rnd.choice(self.orders)
            result = ledger.merge(CTX, [oid, other])
            self.orders.append(result.order.id)
        elif r == 10:
            self._backlog(o)
        elif r == 11:
            live = [k for k, link in tracking_links(o).items() if link.revoked_at is None]
            if live and self.rnd.random() < 0.4:
                ledger.revoke_tracking_link(CTX, oid, link_id=live[0])
            else:
                ledger.issue_tracking_link(CTX, oid, expires_in_days=self.rnd.randint(1, 30))
        else:
            self.advance(o)

    def _backlog(self, o: Order) -> None:
        """Review a stuck order, or decide about a reviewed one."""
        ledger, oid = self.ledger, o.id
        if not reviews_of(o) or self.rnd.random() < 0.3:
            ledger.review_backlog(CTX, oid, cause=self.rnd.choice(CAUSES), note="查明原因")
            return
        action = self.rnd.choice(ACTIONS)
        if action == "discount":
            sku, line = self.rnd.choice(list(o.lines.items()))
            price = (line.unit_price * Decimal("0.8")).quantize(Decimal("0.0001"))
            ledger.dispose_backlog(CTX, oid, action=action, reason="清库存", prices={sku: price})
        elif action == "resell":
            customer = next(c for c in CUSTOMERS if c.name != o.customer.name)
            result = ledger.dispose_backlog(
                CTX, oid, action=action, reason="转售", customer=customer, delivery=DELIVERY
            )
            self.orders.extend(other.id for other in result.others)
        else:
            ledger.dispose_backlog(CTX, oid, action=action, reason="捐赠")


def assert_feed_reads_as_decoded(app: Ledger, view: Any) -> None:
    """The rebuilt feed model holds the whole log, and reads as decoding it does."""
    kept, decoded = Feed(app, store=view), Feed(app)
    position, head = 0, kept.head()
    assert view.max_tracking_id(app.name) == head
    while position < head:
        page = kept.read(position, MAX_LIMIT)
        assert not page.decoded
        assert page.json() == decoded.read(position, MAX_LIMIT).json()
        position = page.next
