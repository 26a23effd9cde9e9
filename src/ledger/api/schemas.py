"""Request bodies of the commands: closed (unknown fields are refused) and
bounded (see ``fields``). Each converts itself to the domain's value types."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, Self, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ledger.aggregates.backlog import CAUSES
from ledger.aggregates.values import (
    MAX_AMOUNT,
    Customer,
    Delivery,
    Line,
    PaymentTerms,
    PurchaseItem,
    SkuQty,
)
from ledger.api.fields import (
    MAX_LINES,
    BusinessDate,
    BusinessMoment,
    Channel,
    CheckArea,
    Cost,
    Count,
    Currency,
    DocumentKind,
    DocumentStatus,
    DueDays,
    Ident,
    IssuedStatus,
    LongText,
    Money,
    Name,
    PaymentMethod,
    Percent,
    Quantity,
    Reason,
    Resolution,
    Severity,
    Share,
    Sku,
    Text,
    TransitStatus,
    TransportMode,
    UnitPrice,
)


class Body(BaseModel):
    """Base of every request body: no unknown fields."""

    model_config = ConfigDict(extra="forbid")


class CommandIn(Body):
    """Every command may say when it happened, if not now (recorded as metadata)."""

    occurred_at: BusinessMoment | None = Field(
        None, description="business time of the action, when it differs from now"
    )


class CustomerIn(Body):
    name: Name
    phone: Text = ""
    email: Text = ""
    address: LongText = ""

    def value(self) -> Customer:
        return Customer(self.name, self.phone, self.email, self.address)


class LineIn(Body):
    sku: Sku
    name: Name
    quantity: Quantity
    unit_price: UnitPrice
    model: Text = ""
    spec: Text = ""

    @model_validator(mode="after")
    def amount_below_limit(self) -> Self:
        """Quantity × unit price below 10^13 (the order's currency rounds it;
        the domain checks the rounded amount as well)."""
        if self.quantity * self.unit_price >= MAX_AMOUNT:
            raise ValueError("the line's amount (quantity × unit price) must be below 10^13")
        return self

    def value(self) -> Line:
        return Line(self.sku, self.name, self.quantity, self.unit_price, self.model, self.spec)


def total_below_limit(lines: list[LineIn] | None) -> list[LineIn] | None:
    """The order's total (the sum of its line amounts) below 10^13."""
    if lines is not None and sum(line.quantity * line.unit_price for line in lines) >= MAX_AMOUNT:
        raise ValueError("the order's total (the sum of the line amounts) must be below 10^13")
    return lines


class DeliveryIn(Body):
    address: Name
    consignee: Name
    phone: Text = ""
    transport_mode: TransportMode = "road"

    def value(self) -> Delivery:
        return Delivery(self.address, self.consignee, self.phone, self.transport_mode)


class SkuQtyIn(Body):
    sku: Sku
    quantity: Quantity

    def value(self) -> SkuQty:
        return SkuQty(self.sku, self.quantity)


def sku_quantities(items: list[SkuQtyIn]) -> list[SkuQty]:
    return [item.value() for item in items]


class ReceiveIn(CommandIn):
    channel: Channel
    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)
    delivery: DeliveryIn
    currency: Currency = "CNY"
    requested_date: BusinessDate | None = None

    _total = field_validator("lines")(total_below_limit)


class VerifyIn(CommandIn):
    checks: dict[CheckArea, bool] = Field(
        min_length=3, description="one result each for customer, product and delivery"
    )
    problems: list[LongText] = Field(default_factory=list, max_length=50)


class AmendIn(CommandIn):
    reason: Reason
    lines: list[LineIn] | None = Field(None, min_length=1, max_length=MAX_LINES)
    delivery: DeliveryIn | None = None
    requested_date: BusinessDate | None = None

    _total = field_validator("lines")(total_below_limit)


class PaymentTermsIn(Body):
    method: PaymentMethod = "bank_transfer"
    due_days: DueDays = 30
    prepayment_percent: Share = Decimal(0)

    def value(self) -> PaymentTerms:
        return PaymentTerms(self.method, self.due_days, self.prepayment_percent)


class ConfirmIn(CommandIn):
    promised_date: BusinessDate
    payment_terms: PaymentTermsIn = Field(default_factory=PaymentTermsIn)
    invoice_info: dict[Sku, Text] = Field(default_factory=dict, max_length=20)
    special_requirements: LongText = ""
    contract_ref: Text = ""


class PromiseIn(CommandIn):
    promised_date: BusinessDate
    reason: Reason


class SplitIn(CommandIn):
    parts: list[list[SkuQtyIn]] = Field(min_length=2, max_length=20)


class MergeIn(CommandIn):
    order_ids: list[UUID] = Field(min_length=2, max_length=20)


class ReasonIn(CommandIn):
    """Hold, release, cancel: a manual override always says why."""

    reason: Reason


class ArchiveIn(CommandIn):
    archive_ref: Name


Cause = Literal[
    "customer_delay",
    "stock_shortage",
    "production_delay",
    "quality_hold",
    "payment_hold",
    "documents",
    "other",
]
assert set(get_args(Cause)) == set(CAUSES)


class ReviewIn(CommandIn):
    """A backlog review: why the order is stuck (docs/backlog.md)."""

    cause: Cause
    note: LongText = Field("", description="what was found; required for cause other")


class ScheduleShipmentIn(CommandIn):
    shipment_id: Ident | None = Field(None, description="generated (SH-…) when omitted")
    planned_date: BusinessDate
    lines: list[SkuQtyIn] = Field(min_length=1, max_length=MAX_LINES)
    carrier: Text = ""
    mode: TransportMode = "road"
    estimated_cost: Cost = Decimal(0)
    export: bool = False


class RescheduleIn(CommandIn):
    planned_date: BusinessDate
    reason: Reason
    carrier: Text = ""


class PackIn(CommandIn):
    packages: Quantity = 1
    materials: Text = ""
    labels: list[Text] = Field(default_factory=list, max_length=100)


class DocumentIn(CommandIn):
    kind: DocumentKind
    number: Name
    status: IssuedStatus = "drafted"


class DocumentStatusIn(CommandIn):
    status: DocumentStatus
    discrepancy: LongText = Field("", description="required when rejecting")


class DispatchIn(CommandIn):
    tracking_number: Name
    lines: list[SkuQtyIn] | None = Field(
        None, min_length=1, max_length=MAX_LINES, description="defaults to the planned lines"
    )
    carrier: Text = ""


class TransitIn(CommandIn):
    status: TransitStatus
    location: Text = ""
    note: LongText = ""


class DeliverIn(CommandIn):
    received_by: Name


class StockIn(CommandIn):
    sku: Sku
    quantity: Quantity
    warehouse: Name


class PurchaseItemIn(Body):
    part: Name
    quantity: Quantity
    unit_cost: UnitPrice = Decimal(0)

    def value(self) -> PurchaseItem:
        return PurchaseItem(self.part, self.quantity, self.unit_cost)


class PurchaseIn(CommandIn):
    po_number: Ident | None = Field(None, description="generated (PO-…) when omitted")
    supplier: Name
    items: list[PurchaseItemIn] = Field(min_length=1, max_length=MAX_LINES)
    eta: BusinessDate | None = None


class ReceivePurchaseIn(CommandIn):
    accepted: Count
    rejected: Count = 0
    note: LongText = ""


class ProgressIn(CommandIn):
    stage: Name
    percent: Percent


class QualityIssueIn(CommandIn):
    issue_id: Ident | None = Field(None, description="generated (QI-…) when omitted")
    severity: Severity
    category: Name
    description: Reason
    sku: Text = ""


class ResolveQualityIssueIn(CommandIn):
    resolution: Resolution
    amount: Cost = Decimal(0)
    note: LongText = ""


class ShortCloseIn(CommandIn):
    sku: Sku
    quantity: Quantity
    reason: Reason


class InvoiceIn(CommandIn):
    invoice_number: Ident
    amount: Money
    issued_on: BusinessDate
    lines: list[SkuQtyIn] = Field(default_factory=list, max_length=MAX_LINES)


class CreditNoteIn(CommandIn):
    credit_note_number: Ident
    amount: Money
    reason: Reason
    invoice_number: Ident | None = None


class PaymentIn(CommandIn):
    reference: Ident
    amount: Money
    received_on: BusinessDate


class ComplaintIn(CommandIn):
    complaint_id: Ident | None = Field(None, description="generated (C-…) when omitted")
    channel: Text = ""
    category: Name
    description: Reason
    contact: Text = ""


class ResolveComplaintIn(CommandIn):
    resolution: Reason
    customer_feedback: LongText = ""
