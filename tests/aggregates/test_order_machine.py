"""A hypothesis state machine drives several orders through the Ledger with
every command and random but plausible arguments (SKUs from the order's
lines, quantities and amounts around what its guards allow), and checks
the order's invariants after every step:

- version = number of stored events, and a refused command writes nothing;
- per line: shipped ≤ ordered − short-closed, delivered ≤ shipped,
  allocated ≤ open;
- invoiced − credited ≤ total, credited ≤ invoiced, paid ≤ invoiced − credited;
- the order rebuilt from the store (a full fold of its events, and the
  repository's snapshot path) equals the live one;
- the order read at any earlier version equals the one seen at that step.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from ledger.aggregates.errors import DomainError
from ledger.aggregates.order import CLOSED, Order
from ledger.aggregates.readout import describe
from ledger.aggregates.rules import required_documents
from ledger.aggregates.values import (
    DOCUMENT_KINDS,
    RESOLUTIONS,
    SEVERITIES,
    TRANSIT_STATUSES,
    TRANSPORT_MODES,
    PaymentTerms,
    PurchaseItem,
    SkuQty,
)
from ledger.application import Ctx, Ledger, Result, StaleVersion
from ledger.clock import SimulatedClock
from ledger.settings import Settings
from strategies import CUSTOMER, DELIVERY, OTHER_CUSTOMER, order_lines, split_parts

D = Decimal
CENT = D("0.01")
MAX_ORDERS = 6
NEXT_STATUS = {
    "drafted": ["reviewed", "rejected", "submitted"],
    "reviewed": ["submitted", "rejected", "drafted"],
    "submitted": ["cleared", "rejected"],
    "rejected": ["drafted", "reviewed"],
    "cleared": ["rejected"],
}


def near(data: st.DataObject, target: int) -> int:
    """A quantity at, just over or under, or well below ``target``."""
    return data.draw(st.sampled_from(sorted({target, target + 1, target - 1, 1, target // 2})))


def pick(data: st.DataObject, existing: Any, bogus: str) -> str:
    """One of the existing keys, now and then one that does not exist."""
    keys: list[str] = list(existing)
    if keys and bool(data.draw(st.integers(0, 5))):
        return data.draw(st.sampled_from(keys))
    return bogus


def money_near(data: st.DataObject, target: Decimal) -> Decimal:
    """An amount at, a cent over or under, or half of ``target``."""
    half = (target / 2).quantize(CENT, rounding=ROUND_DOWN)
    return data.draw(st.sampled_from(sorted({target, target + CENT, target - CENT, half, CENT})))


def _has_planned_shipment(order: Order) -> bool:
    return any(not s.is_dispatched for s in order.shipments.values())


def _has_shipment_in_transit(order: Order) -> bool:
    return any(s.status == "dispatched" for s in order.shipments.values())


class OrderMachine(RuleBasedStateMachine):
    """Drives orders through a Ledger; subclasses pick the store."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.mkdtemp(prefix="ledger-machine-")
        self.ledger = Ledger(
            Settings(database_url=self.url(), snapshot_interval=4, pool_size=1),
            SimulatedClock(datetime(2026, 1, 5, tzinfo=UTC), tick=timedelta(minutes=7)),
        )
        self.orders: list[UUID] = []
        self.seen: dict[UUID, dict[int, dict[str, Any]]] = {}
        self.serial = 0

    def url(self) -> str:
        return "memory://"

    def teardown(self) -> None:
        try:
            for order_id, versions in self.seen.items():
                for version, readout in versions.items():
                    assert describe(self.ledger.get_order(order_id, version=version)) == readout
        finally:
            self.ledger.close()
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- plumbing -----------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def order(self, data: st.DataObject, having: Callable[[Order], bool] | None = None) -> Order:
        """Any order; first those ``having`` what the command needs, then the open
        ones that got furthest (where most commands apply)."""
        orders = sorted(
            (self.ledger.get_order(order_id) for order_id in self.orders),
            key=lambda o: (
                having is not None and not having(o),
                o.status in CLOSED,
                o.status != "confirmed",
                -o.version,
            ),
        )
        return orders[data.draw(st.just(0) | st.integers(0, len(orders) - 1))]

    def ctx(self, data: st.DataObject, order: Order | None) -> Ctx:
        """Usually a plain context; sometimes an expected version (right or stale)
        or an idempotency key."""
        kind = data.draw(st.sampled_from(["plain", "plain", "plain", "version", "stale", "key"]))
        if kind == "version" and order is not None:
            return Ctx(actor="machine", expected_version=order.version)
        if kind == "stale" and order is not None:
            return Ctx(actor="machine", expected_version=order.version - 1)
        if kind == "key":
            return Ctx(actor="machine", idempotency_key=self.next_id("key"))
        return Ctx(actor="machine")

    def remember(self, order: Order) -> None:
        if order.id not in self.seen:
            self.seen[order.id] = {}
            self.orders.append(order.id)
        self.seen[order.id][order.version] = describe(order)

    def run(
        self, data: st.DataObject, order: Order | None, command: Callable[[Ctx], Result]
    ) -> Result | None:
        """Run a command; a refusal (or a stale version) must leave every order as it was."""
        ctx = self.ctx(data, order)
        position = self.ledger.recorder.max_notification_id()
        before = {oid: self.ledger.get_order(oid).version for oid in self.orders}
        try:
            result = command(ctx)
        except (DomainError, StaleVersion) as refused:
            if isinstance(refused, StaleVersion):
                assert ctx.expected_version is not None and order is not None
                assert ctx.expected_version != order.version
            assert self.ledger.recorder.max_notification_id() == position
            after = {oid: self.ledger.get_order(oid).version for oid in self.orders}
            assert after == before
            return None
        assert ctx.expected_version is None or ctx.expected_version == before[result.order.id]
        for touched in (result.order, *result.others):
            self.remember(touched)
        if order is not None and result.order.id == order.id:
            assert result.version == order.version + 1
        if ctx.idempotency_key:
            again = command(ctx)
            assert again.replayed and again.version == result.version
            assert describe(again.order) == describe(result.order)
            assert self.ledger.recorder.max_notification_id() == result.position
        return result

    def call(self, data: st.DataObject, order: Order, method: str, **kwargs: Any) -> None:
        self.run(data, order, lambda ctx: getattr(self.ledger, method)(ctx, order.id, **kwargs))

    # -- receiving, verification, confirmation -----------------------------------------------

    @initialize(data=st.data(), lines=order_lines(), depth=st.integers(0, 9))
    def first_order(self, data: st.DataObject, lines: list[Any], depth: int) -> None:
        self.receive(data, lines)
        if self.orders:
            self.walk(data, self.orders[0], depth)

    @precondition(lambda self: len(self.orders) < MAX_ORDERS)
    @rule(data=st.data(), lines=order_lines())
    def receive(self, data: st.DataObject, lines: list[Any]) -> None:
        customer = data.draw(st.sampled_from([CUSTOMER, CUSTOMER, OTHER_CUSTOMER]))
        channel = data.draw(st.sampled_from(["phone", "email", "platform", "onsite"]))
        self.run(
            data,
            None,
            lambda ctx: self.ledger.receive(
                ctx, channel=channel, customer=customer, lines=lines, delivery=DELIVERY
            ),
        )

    @rule(data=st.data())
    def verify(self, data: st.DataObject) -> None:
        order = self.order(data, lambda o: o.status in ("received", "rejected"))
        checks = data.draw(
            st.sampled_from(
                [
                    {"customer": True, "product": True, "delivery": True},
                    {"customer": True, "product": True, "delivery": True},
                    {"customer": False, "product": True, "delivery": True},
                ]
            )
        )
        self.call(data, order, "verify", checks=checks)

    @rule(data=st.data(), lines=st.none() | order_lines())
    def amend(self, data: st.DataObject, lines: list[Any] | None) -> None:
        order = self.order(data)
        self.call(
            data, order, "amend", reason="客户变更", lines=lines, requested_date=date(2026, 4, 1)
        )

    @rule(data=st.data(), prepayment=st.sampled_from(["0", "30", "100"]))
    def confirm(self, data: st.DataObject, prepayment: str) -> None:
        order = self.order(data, lambda o: o.status == "verified")
        terms = PaymentTerms("bank_transfer", 30, D(prepayment))
        self.call(data, order, "confirm", promised_date=date(2026, 3, 1), payment_terms=terms)

    @rule(data=st.data(), day=st.integers(1, 28))
    def promise_date(self, data: st.DataObject, day: int) -> None:
        order = self.order(data)
        self.call(data, order, "promise_date", promised_date=date(2026, 3, day), reason="改期")

    # -- split and merge ------------------------------------------------------------------

    @precondition(lambda self: len(self.orders) < MAX_ORDERS)
    @rule(data=st.data(), spoil=st.booleans())
    def split(self, data: st.DataObject, spoil: bool) -> None:
        order = self.order(data)
        due = {sku: line.due for sku, line in order.lines.items() if line.due > 0}
        if not due:
            return
        parts = data.draw(split_parts(due))
        if spoil and parts[0]:  # a part may come out empty (one unit, two parts)
            first = parts[0][0]
            parts[0][0] = SkuQty(first.sku, first.quantity + 1)
        self.run(data, order, lambda ctx: self.ledger.split(ctx, order.id, parts))

    @precondition(lambda self: len(self.orders) >= 2 and len(self.orders) < MAX_ORDERS + 2)
    @rule(data=st.data())
    def merge(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.sampled_from(self.orders), min_size=2, max_size=3))
        sources = [self.ledger.get_order(oid) for oid in ids]
        result = self.run(data, None, lambda ctx: self.ledger.merge(ctx, ids))
        if result is not None:
            for source in sources:
                assert self.ledger.get_order(source.id).version == source.version + 1

    # -- planning, stock, purchasing, production, quality ------------------------------------

    def sku(self, data: st.DataObject, order: Order) -> str:
        return pick(data, order.lines, "ZZ")

    @rule(data=st.data(), mode=st.sampled_from(TRANSPORT_MODES), export=st.booleans())
    def schedule_shipment(self, data: st.DataObject, mode: str, export: bool) -> None:
        order = self.order(data)
        planned = order.planned_quantities()
        skus = data.draw(st.lists(st.sampled_from(list(order.lines)), min_size=1, unique=True))
        lines = [
            SkuQty(sku, near(data, order.lines[sku].due - planned.get(sku, 0))) for sku in skus
        ]
        self.call(
            data,
            order,
            "schedule_shipment",
            shipment_id=self.next_id("S"),
            planned_date=date(2026, 2, 20),
            lines=lines,
            carrier="顺丰",
            mode=mode,
            export=export,
        )

    def shipment(self, data: st.DataObject, order: Order) -> str:
        return pick(data, order.shipments, "S-none")

    @rule(data=st.data())
    def reschedule_shipment(self, data: st.DataObject) -> None:
        order = self.order(data, _has_planned_shipment)
        self.call(
            data,
            order,
            "reschedule_shipment",
            shipment_id=self.shipment(data, order),
            planned_date=date(2026, 2, 25),
            reason="延期",
        )

    @rule(data=st.data(), warehouse=st.sampled_from(["上海仓", "广州仓"]))
    def allocate_stock(self, data: st.DataObject, warehouse: str) -> None:
        order = self.order(data)
        sku = self.sku(data, order)
        line = order.lines.get(sku)
        quantity = near(data, line.open - line.allocated_total) if line else 1
        self.call(data, order, "allocate_stock", sku=sku, quantity=quantity, warehouse=warehouse)

    @rule(data=st.data())
    def release_stock(self, data: st.DataObject) -> None:
        order = self.order(data, lambda o: any(line.allocated for line in o.lines.values()))
        allocated = [sku for sku, line in order.lines.items() if line.allocated]
        sku = pick(data, allocated, self.sku(data, order))
        line = order.lines.get(sku)
        warehouse = pick(data, line.allocated if line else [], "广州仓")
        quantity = near(data, line.allocated.get(warehouse, 0)) if line else 1
        self.call(data, order, "release_stock", sku=sku, quantity=quantity, warehouse=warehouse)

    @rule(data=st.data(), quantity=st.integers(1, 20))
    def order_purchase(self, data: st.DataObject, quantity: int) -> None:
        order = self.order(data)
        self.call(
            data,
            order,
            "order_purchase",
            po_number=data.draw(st.sampled_from([self.next_id("PO"), *order.purchases])),
            supplier="宁波五金",
            items=[PurchaseItem("螺丝", quantity, D("0.10"))],
        )

    @rule(data=st.data())
    def receive_purchase(self, data: st.DataObject) -> None:
        order = self.order(data, lambda o: any(p.status == "open" for p in o.purchases.values()))
        po = pick(data, order.purchases, "PO-none")
        purchase = order.purchases.get(po)
        remaining = purchase.quantity - purchase.accepted - purchase.rejected if purchase else 1
        accepted = near(data, remaining)
        rejected = data.draw(st.sampled_from([0, 0, 1]))
        self.call(
            data, order, "receive_purchase", po_number=po, accepted=accepted, rejected=rejected
        )

    @rule(data=st.data(), delta=st.integers(-5, 30))
    def progress_production(self, data: st.DataObject, delta: int) -> None:
        order = self.order(data)
        percent = order.production_percent + delta
        self.call(data, order, "progress_production", stage="生产", percent=percent)

    @rule(data=st.data())
    def complete_production(self, data: st.DataObject) -> None:
        self.call(data, self.order(data), "complete_production")

    @rule(data=st.data(), severity=st.sampled_from(SEVERITIES))
    def raise_quality_issue(self, data: st.DataObject, severity: str) -> None:
        order = self.order(data)
        self.call(
            data,
            order,
            "raise_quality_issue",
            issue_id=data.draw(st.sampled_from([self.next_id("Q"), *order.quality_issues])),
            severity=severity,
            category="外观",
            description="划痕",
            sku=data.draw(st.sampled_from(["", *order.lines])),
        )

    @rule(data=st.data(), resolution=st.sampled_from(RESOLUTIONS))
    def resolve_quality_issue(self, data: st.DataObject, resolution: str) -> None:
        order = self.order(
            data, lambda o: any(q.status == "open" for q in o.quality_issues.values())
        )
        self.call(
            data,
            order,
            "resolve_quality_issue",
            issue_id=pick(data, order.quality_issues, "Q-none"),
            resolution=resolution,
            amount=D("5.00"),
        )

    # -- packing, documents, dispatch, transit, delivery, short-close -----------------------

    @rule(data=st.data())
    def pack(self, data: st.DataObject) -> None:
        order = self.order(data, _has_planned_shipment)
        self.call(data, order, "pack", shipment_id=self.shipment(data, order), packages=2)

    @rule(data=st.data(), status=st.sampled_from(["drafted", "submitted", "submitted"]))
    def issue_document(self, data: st.DataObject, status: str) -> None:
        order = self.order(data, _has_planned_shipment)
        shipment_id = self.shipment(data, order)
        shipment = order.shipments.get(shipment_id)
        kinds = required_documents(shipment) if shipment else []
        kind = data.draw(st.sampled_from([*kinds, *kinds, *DOCUMENT_KINDS]))
        self.call(
            data,
            order,
            "issue_document",
            shipment_id=shipment_id,
            kind=kind,
            number=self.next_id(kind),
            status=status,
        )

    @rule(data=st.data())
    def change_document_status(self, data: st.DataObject) -> None:
        order = self.order(data, _has_planned_shipment)
        shipment_id = self.shipment(data, order)
        shipment = order.shipments.get(shipment_id)
        documents = shipment.documents if shipment else {}
        kind = pick(data, documents, "waybill")
        current = documents[kind].status if kind in documents else "drafted"
        status = data.draw(st.sampled_from(NEXT_STATUS[current]))
        self.call(
            data,
            order,
            "change_document_status",
            shipment_id=shipment_id,
            kind=kind,
            status=status,
            discrepancy=data.draw(st.sampled_from(["", "单据不符"])),
        )

    @rule(data=st.data(), partial=st.booleans())
    def dispatch(self, data: st.DataObject, partial: bool) -> None:
        order = self.order(data, _has_planned_shipment)
        shipment_id = self.shipment(data, order)
        shipment = order.shipments.get(shipment_id)
        lines = None
        if partial and shipment and shipment.lines:
            lines = [SkuQty(sku, near(data, q)) for sku, q in shipment.lines.items()]
        self.call(
            data,
            order,
            "dispatch",
            shipment_id=shipment_id,
            tracking_number=self.next_id("SF"),
            lines=lines,
        )

    @rule(data=st.data())
    def short_close(self, data: st.DataObject) -> None:
        order = self.order(data)
        sku = self.sku(data, order)
        line = order.lines.get(sku)
        unplanned = line.due - order.planned_quantities().get(sku, 0) if line else 1
        quantity = near(data, unplanned)
        self.call(data, order, "short_close", sku=sku, quantity=quantity, reason="停产")

    @rule(data=st.data(), status=st.sampled_from(TRANSIT_STATUSES))
    def update_transit(self, data: st.DataObject, status: str) -> None:
        order = self.order(data, _has_shipment_in_transit)
        self.call(
            data,
            order,
            "update_transit",
            shipment_id=self.shipment(data, order),
            status=status,
            location="武汉",
        )

    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        order = self.order(data, _has_shipment_in_transit)
        self.call(
            data, order, "deliver", shipment_id=self.shipment(data, order), received_by="李四"
        )

    # -- money ----------------------------------------------------------------------------

    @rule(data=st.data())
    def invoice(self, data: st.DataObject) -> None:
        order = self.order(data)
        if order.payment_terms is not None:
            target = order.invoice_cap() - order.net_invoiced
        else:
            target = order.total
        amount = money_near(data, target)
        self.call(
            data,
            order,
            "invoice",
            invoice_number=data.draw(st.sampled_from([self.next_id("INV"), *order.invoices])),
            amount=amount,
            issued_on=date(2026, 3, 1),
        )

    @rule(data=st.data())
    def issue_credit_note(self, data: st.DataObject) -> None:
        order = self.order(data, lambda o: o.net_invoiced > o.paid_amount)
        amount = money_near(data, order.net_invoiced - order.paid_amount)
        self.call(
            data,
            order,
            "issue_credit_note",
            credit_note_number=self.next_id("CN"),
            amount=amount,
            reason="退货",
            invoice_number=data.draw(st.sampled_from(["", *order.invoices])),
        )

    @rule(data=st.data())
    def receive_payment(self, data: st.DataObject) -> None:
        order = self.order(data, lambda o: o.outstanding > 0)
        amount = money_near(data, order.outstanding)
        self.call(
            data,
            order,
            "receive_payment",
            reference=data.draw(st.sampled_from([self.next_id("BANK"), *order.payments])),
            amount=amount,
            received_on=date(2026, 3, 5),
        )

    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        self.call(
            data,
            self.order(
                data,
                lambda o: o.status == "confirmed" and not any(ln.open for ln in o.lines.values()),
            ),
            "settle",
        )

    # -- complaints, hold, release, cancel, archive ------------------------------------------

    @rule(data=st.data())
    def file_complaint(self, data: st.DataObject) -> None:
        order = self.order(data)
        self.call(
            data,
            order,
            "file_complaint",
            complaint_id=data.draw(st.sampled_from([self.next_id("C"), *order.complaints])),
            channel="phone",
            category="交期",
            description="延迟",
        )

    @rule(data=st.data())
    def resolve_complaint(self, data: st.DataObject) -> None:
        order = self.order(data, lambda o: any(c.status == "open" for c in o.complaints.values()))
        self.call(
            data,
            order,
            "resolve_complaint",
            complaint_id=pick(data, order.complaints, "C-none"),
            resolution="已处理",
        )

    @rule(data=st.data())
    def hold(self, data: st.DataObject) -> None:
        self.call(data, self.order(data), "hold", reason="信用审查")

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        self.call(data, self.order(data, lambda o: o.on_hold), "release", reason="审查通过")

    @rule(data=st.data(), rarely=st.integers(0, 3))
    def cancel(self, data: st.DataObject, rarely: int) -> None:
        if rarely == 3:  # a cancelled order takes no more commands: keep them few
            self.call(data, self.order(data), "cancel", reason="客户取消")

    @rule(data=st.data())
    def archive(self, data: st.DataObject) -> None:
        self.call(
            data,
            self.order(data, lambda o: o.status in ("settled", "cancelled")),
            "archive",
            archive_ref=self.next_id("ARC"),
        )

    # -- moving an order along its happy path, so deep states are reached --------------------

    @rule(data=st.data(), steps=st.integers(1, 5))
    def advance(self, data: st.DataObject, steps: int) -> None:
        self.walk(data, data.draw(st.sampled_from(self.orders)), steps)

    @rule(data=st.data())
    def nudge(self, data: st.DataObject) -> None:
        self.walk(data, self.order(data).id, 1)

    def walk(self, data: st.DataObject, order_id: UUID, steps: int) -> None:
        for _ in range(steps):
            order = self.ledger.get_order(order_id)
            step = self.next_step(order)
            if step is None:
                return
            method, kwargs = step
            self.call(data, order, method, **kwargs)

    def next_step(self, order: Order) -> tuple[str, dict[str, Any]] | None:
        if order.status in ("received", "rejected"):
            return "verify", {"checks": {"customer": True, "product": True, "delivery": True}}
        if order.status == "verified":
            terms = PaymentTerms(prepayment_percent=D(30))
            return "confirm", {"promised_date": date(2026, 3, 1), "payment_terms": terms}
        if order.status == "settled":
            return "archive", {"archive_ref": self.next_id("ARC")}
        if order.status != "confirmed":
            return None
        if order.on_hold:
            return "release", {"reason": "继续"}
        return self.next_fulfilment_step(order)

    def next_fulfilment_step(self, order: Order) -> tuple[str, dict[str, Any]] | None:
        for issue in order.quality_issues.values():
            if issue.status == "open":
                return "resolve_quality_issue", {"issue_id": issue.issue_id, "resolution": "repair"}
        planned = order.planned_quantities()
        unplanned = [
            SkuQty(sku, line.due - planned.get(sku, 0))
            for sku, line in order.lines.items()
            if line.due - planned.get(sku, 0) > 0
        ]
        if unplanned:
            return "schedule_shipment", {
                "shipment_id": self.next_id("S"),
                "planned_date": date(2026, 2, 20),
                "lines": unplanned,
                "carrier": "顺丰",
                "mode": "road",
            }
        for shipment in order.shipments.values():
            if shipment.is_dispatched:
                if shipment.status == "dispatched":
                    return "deliver", {"shipment_id": shipment.shipment_id, "received_by": "李四"}
                continue
            for kind in required_documents(shipment):
                document = shipment.documents.get(kind)
                if document is None:
                    return "issue_document", {
                        "shipment_id": shipment.shipment_id,
                        "kind": kind,
                        "number": self.next_id(kind),
                        "status": "submitted",
                    }
                if document.status not in ("submitted", "cleared"):
                    return "change_document_status", {
                        "shipment_id": shipment.shipment_id,
                        "kind": kind,
                        "status": NEXT_STATUS[document.status][0],
                    }
            return "dispatch", {
                "shipment_id": shipment.shipment_id,
                "tracking_number": self.next_id("SF"),
            }
        return self.next_money_step(order)

    def next_money_step(self, order: Order) -> tuple[str, dict[str, Any]] | None:
        if order.invoiced_amount < order.shipped_value:
            headroom = order.invoice_cap() - order.net_invoiced
            amount = min(order.shipped_value - order.invoiced_amount, headroom)
            if amount > 0:
                return "invoice", {
                    "invoice_number": self.next_id("INV"),
                    "amount": amount,
                    "issued_on": date(2026, 3, 1),
                }
        if order.outstanding > 0:
            return "receive_payment", {
                "reference": self.next_id("BANK"),
                "amount": order.outstanding,
                "received_on": date(2026, 3, 5),
            }
        return "settle", {}

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def every_order_keeps_its_invariants(self) -> None:
        for order_id in self.orders:
            order = self.ledger.get_order(order_id)
            stored = list(self.ledger.events.get(order_id))
            assert order.version == len(stored)
            assert [e.originator_version for e in stored] == list(range(1, len(stored) + 1))
            for line in order.lines.values():
                assert 0 <= line.shipped <= line.quantity - line.short_closed, line
                assert 0 <= line.delivered <= line.shipped, line
                assert 0 <= line.allocated_total <= line.open, line
            assert order.net_invoiced <= order.total
            assert order.credited_amount <= order.invoiced_amount
            assert order.paid_amount <= order.net_invoiced
            live = describe(order)
            assert live == self.seen[order_id][order.version]
            rebuilt: Any = None
            event: Any
            for event in stored:
                rebuilt = event.mutate(rebuilt)
            assert describe(rebuilt) == live
            from_snapshot: Order = self.ledger.repository.get(order_id, version=order.version)
            assert describe(from_snapshot) == live
            if order.version > 1:
                earlier = self.ledger.get_order(order_id, version=order.version - 1)
                assert describe(earlier) == self.seen[order_id][order.version - 1]


class SQLiteOrderMachine(OrderMachine):
    def url(self) -> str:
        return f"sqlite:///{Path(self.tmp) / 'ledger.db'}"


OrderMachine.TestCase.settings = settings(stateful_step_count=40)
test_orders_keep_their_invariants_in_memory = OrderMachine.TestCase

SQLiteOrderMachine.TestCase.settings = settings(max_examples=4, stateful_step_count=25)
test_orders_keep_their_invariants_on_sqlite = SQLiteOrderMachine.TestCase
