"""The order's state, declared once (``OrderState``), and its mutable parts.

``OrderState`` names every attribute the events set, its type, its value on
receipt and whether it is personal data; the aggregate inherits it, and
``OrderReceived.evolve`` sets it up with its ``__init__``. A snapshot
stores exactly these attributes: changing them changes the snapshot's
shape, which needs ``Order.class_version`` raised and an upcast (see
docs/architecture.md, "Changing the state").

Values are kept as plain text (``Status.SETTLED.value``, not the enum
member), as a snapshot reads them back and as copying them is cheapest.

The parts are plain dataclasses of JSON-friendly values (str, int, Decimal,
date, datetime, lists, dicts with str keys) so that a snapshot round-trips
to an equal object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from ledger.aggregates.privacy import Privacy
from ledger.aggregates.stages import Status
from ledger.aggregates.values import Customer, Delivery, PaymentTerms, PurchaseItem


@dataclass
class LineState:
    """One ordered line and how far it has got."""

    sku: str
    name: str
    model: str
    spec: str
    quantity: int
    unit_price: Decimal
    allocated: dict[str, int] = field(default_factory=dict)  # warehouse -> quantity
    shipped: int = 0
    delivered: int = 0
    short_closed: int = 0
    invoiced: int = 0
    # Product data; ``allocated`` is keyed by warehouse.
    privacy = Privacy(public=("sku", "name", "model", "spec", "allocated"))

    @property
    def due(self) -> int:
        """What is still to ship, ever: ordered minus written off."""
        return self.quantity - self.short_closed

    @property
    def open(self) -> int:
        """Ordered, not shipped and not written off."""
        return self.quantity - self.short_closed - self.shipped

    @property
    def allocated_total(self) -> int:
        return sum(self.allocated.values())


@dataclass
class DocumentState:
    """A transport document of a shipment and where it is in its review."""

    kind: str
    number: str
    status: str
    discrepancy: str = ""
    privacy = Privacy(personal=("discrepancy",), public=("kind", "number", "status"))


@dataclass
class PackingState:
    packages: int
    materials: str
    labels: list[str]
    privacy = Privacy(personal=("materials", "labels"))


@dataclass
class ShipmentState:
    """A planned (later dispatched, then delivered) shipment."""

    shipment_id: str
    planned_date: date
    lines: dict[str, int]  # sku -> planned quantity (the dispatched one once dispatched)
    carrier: str
    mode: str
    estimated_cost: Decimal
    export: bool
    status: str = "planned"  # planned | packed | dispatched | delivered
    reschedules: int = 0
    tracking_number: str = ""
    transit_status: str = ""
    location: str = ""
    received_by: str = ""
    documents: dict[str, DocumentState] = field(default_factory=dict)
    packing: PackingState | None = None
    dispatched_at: datetime | None = None
    delivered_at: datetime | None = None
    privacy = Privacy(
        personal=("location", "received_by"),
        public=(
            "shipment_id", "lines", "carrier", "mode", "status", "tracking_number",
            "transit_status", "documents",
        ),
    )  # fmt: skip

    @property
    def is_dispatched(self) -> bool:
        return self.status in ("dispatched", "delivered")

    @property
    def has_exception(self) -> bool:
        return self.status == "dispatched" and self.transit_status in (
            "delayed",
            "damaged",
            "lost",
        )


@dataclass
class PurchaseState:
    po_number: str
    supplier: str
    items: list[PurchaseItem]
    eta: date | None
    accepted: int = 0
    rejected: int = 0
    status: str = "open"  # open | closed
    # A supplier is a company.
    privacy = Privacy(public=("po_number", "supplier", "status"))

    @property
    def quantity(self) -> int:
        return sum(item.quantity for item in self.items)


@dataclass
class QualityIssueState:
    issue_id: str
    severity: str
    category: str
    description: str
    sku: str
    raised_at: datetime
    status: str = "open"  # open | resolved
    resolution: str = ""
    amount: Decimal = Decimal(0)
    note: str = ""
    resolved_at: datetime | None = None
    # The category is a label and the resolution one of ``RESOLUTIONS``.
    privacy = Privacy(
        personal=("description", "note"),
        public=("issue_id", "severity", "category", "sku", "status", "resolution"),
    )

    def is_blocking(self) -> bool:
        """An open critical issue stops dispatch."""
        return self.status == "open" and self.severity == "critical"


@dataclass
class ComplaintState:
    complaint_id: str
    channel: str
    category: str
    description: str
    contact: str
    filed_at: datetime
    status: str = "open"  # open | resolved
    resolution: str = ""
    customer_feedback: str = ""
    resolved_at: datetime | None = None
    # The channel and the category are labels.
    privacy = Privacy(
        personal=("description", "contact", "resolution", "customer_feedback"),
        public=("complaint_id", "channel", "category", "status"),
    )


@dataclass
class InvoiceState:
    invoice_number: str
    amount: Decimal
    issued_on: date
    lines: dict[str, int] = field(default_factory=dict)
    privacy = Privacy(public=("invoice_number", "lines"))


@dataclass
class CreditNoteState:
    credit_note_number: str
    amount: Decimal
    reason: str
    invoice_number: str = ""
    privacy = Privacy(personal=("reason",), public=("credit_note_number", "invoice_number"))


@dataclass
class PaymentState:
    reference: str
    amount: Decimal
    received_on: date
    privacy = Privacy(public=("reference",))


@dataclass
class PromiseState:
    promised_date: date
    reason: str
    at: datetime
    privacy = Privacy(personal=("reason",))


STATE_TYPES: tuple[type, ...] = (
    LineState,
    DocumentState,
    PackingState,
    ShipmentState,
    PurchaseState,
    QualityIssueState,
    ComplaintState,
    InvoiceState,
    CreditNoteState,
    PaymentState,
    PromiseState,
)


@dataclass(eq=False, repr=False, kw_only=True)
class OrderState:
    """Every attribute of the order's state (a snapshot stores them all).

    The first group comes from ``OrderReceived``; the rest start as given
    here and change by events. ``eq`` and ``repr`` stay the aggregate's.
    """

    number: str
    channel: str
    customer: Customer
    currency: str
    delivery: Delivery
    requested_date: date | None
    lines: dict[str, LineState]
    split_from: str
    merged_from: list[str]
    status: str = Status.RECEIVED.value  # a ``Status``, kept as its plain text
    on_hold: bool = False
    hold_reason: str = ""
    checks: dict[str, bool] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    promises: list[PromiseState] = field(default_factory=list)
    payment_terms: PaymentTerms | None = None
    invoice_info: dict[str, str] = field(default_factory=dict)
    special_requirements: str = ""
    contract_ref: str = ""
    shipments: dict[str, ShipmentState] = field(default_factory=dict)
    purchases: dict[str, PurchaseState] = field(default_factory=dict)
    production_stage: str = ""
    production_percent: int = 0
    production_completed: bool = False
    quality_issues: dict[str, QualityIssueState] = field(default_factory=dict)
    complaints: dict[str, ComplaintState] = field(default_factory=dict)
    invoices: dict[str, InvoiceState] = field(default_factory=dict)
    credit_notes: dict[str, CreditNoteState] = field(default_factory=dict)
    payments: dict[str, PaymentState] = field(default_factory=dict)
    split_into: list[str] = field(default_factory=list)
    merged_into: str = ""
    cancel_reason: str = ""
    archive_ref: str = ""
    stage_reached: dict[str, datetime] = field(default_factory=dict)
    # The values and state classes held declare their own fields.
    privacy = Privacy(
        personal=("hold_reason", "problems", "invoice_info", "special_requirements",
                  "cancel_reason"),
        public=(
            "number", "channel", "customer", "currency", "delivery", "requested_date", "lines",
            "split_from", "merged_from", "status", "on_hold", "checks", "promises",
            "payment_terms", "contract_ref", "shipments", "purchases", "production_stage",
            "production_percent", "production_completed", "quality_issues", "complaints",
            "invoices", "credit_notes", "payments", "split_into", "merged_into", "archive_ref",
            "stage_reached",
        ),
    )  # fmt: skip
