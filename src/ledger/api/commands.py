"""The command declarations: one entry per command the API accepts.

Every other layer reads this registry instead of restating a command: the
routes and their fast path (``ledger.api.fastpath``), the OpenAPI document
(built from those routes), the roles, and forms. How to read it::

    from ledger.api.commands import BY_NAME, COMMANDS

    for command in COMMANDS:         # in the order the routes are mounted
        command.name                 # "verify": the Ledger attribute (and Order method) it runs
        command.method, command.path # "POST", "/orders/{order_id}/verify"
        command.body                 # the request body model (pydantic), e.g. VerifyIn
        command.body_required        # False when the body may be left out (settle)
        command.ids                  # path parameters after the order's id: {"shipment_id": SubId}
        command.permission           # the grant the caller needs ("verify", see ledger.api.auth)
        command.roles                # the roles holding it: ("sales", "merchandiser")
        command.label("zh")          # "核对订单"; command.labels == {"en": ..., "zh": ...}
        command.doc                  # one paragraph: what it does (the route's description)
        command.fields()             # FormField list: body fields, then the path ids
    BY_NAME["verify"]                # one declaration by its name

``FormField`` is what an HTML form needs: ``name``, ``kind`` (text, integer,
decimal, date, datetime, boolean, choice, uuid, list, group, mapping),
``required``, ``default``, ``limits`` (``min_length``, ``max_length``, ``gt``,
``ge``, ``lt``, ``le``, ``pattern``, ``decimal_places``, as pydantic names
them), ``choices`` (of a choice, or of a mapping's keys), ``items`` (the
fields of a group, or the one item of a list or the value of a mapping),
``description`` and ``source`` (``"body"`` or ``"path"``).

A declaration is a decorated function: its name is the command's, its
docstring the route's description, its ``body`` parameter's type the request
model; it turns the validated body into the ``Ledger`` call, which mypy
checks against ``Order``'s own method (see ``ledger.application.OrderCommand``).
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar, Union
from uuid import UUID

from fastapi import Path
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ledger.api.auth import GRANTS
from ledger.api.deps import SubId, new_id
from ledger.api.fields import DocumentKind
from ledger.api.schemas import (
    AmendIn,
    ArchiveIn,
    CommandIn,
    ComplaintIn,
    ConfirmIn,
    CreditNoteIn,
    DeliverIn,
    DispatchIn,
    DocumentIn,
    DocumentStatusIn,
    InvoiceIn,
    MergeIn,
    PackIn,
    PaymentIn,
    ProgressIn,
    PromiseIn,
    PurchaseIn,
    QualityIssueIn,
    ReasonIn,
    ReceiveIn,
    ReceivePurchaseIn,
    RescheduleIn,
    ResolveComplaintIn,
    ResolveQualityIssueIn,
    ScheduleShipmentIn,
    ShortCloseIn,
    SplitIn,
    StockIn,
    TransitIn,
    VerifyIn,
    sku_quantities,
)
from ledger.application import Ctx, Ledger, Result

B = TypeVar("B", bound=CommandIn | None)
Language = Literal["en", "zh"]
KindPath = Annotated[DocumentKind, Path()]
_ID = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Target:
    """What the path names: the order (absent when a command creates one) and
    the sub-resources after it (shipment, document kind, purchase order...)."""

    order_id: UUID | None
    ids: Mapping[str, str] = field(default_factory=dict)

    @property
    def order(self) -> UUID:
        if self.order_id is None:
            raise LookupError("this command's path names no order")
        return self.order_id


Run = Callable[[Ledger, Ctx, Target, B], Result]


@dataclass(frozen=True)
class FormField:
    """One input of a command's form (see the module's docstring)."""

    name: str
    kind: str
    required: bool = True
    default: Any = None
    limits: Mapping[str, Any] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    items: tuple[FormField, ...] = ()
    description: str = ""
    source: Literal["body", "path"] = "body"


@dataclass(frozen=True)
class CommandDeclaration(Generic[B]):
    """One command of the API (see the module's docstring)."""

    name: str
    path: str
    permission: str
    tag: str
    endpoint: str
    labels: Mapping[Language, str]
    doc: str
    body: type[CommandIn]
    body_required: bool
    ids: Mapping[str, Any]
    run: Run[B]
    status_code: int = 200
    method: str = "POST"

    @property
    def creates(self) -> bool:
        """Whether it records a new order (201 with its Location)."""
        return self.status_code == 201

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(role for role, grants in GRANTS.items() if self.permission in grants)

    def label(self, language: Language) -> str:
        return self.labels[language]

    def fields(self) -> list[FormField]:
        body = [
            replace_required(describe(info.annotation, info, name), info)
            for name, info in self.body.model_fields.items()
        ]
        path = [
            dataclasses.replace(describe(hint, None, name), source="path")
            for name, hint in self.ids.items()
        ]
        return body + path


COMMANDS: list[CommandDeclaration[Any]] = []
BY_NAME: dict[str, CommandDeclaration[Any]] = {}


def command(
    path: str,
    *,
    permission: str,
    tag: str,
    en: str,
    zh: str,
    endpoint: str = "",
    status_code: int = 200,
    ids: Mapping[str, Any] | None = None,
) -> Callable[[Run[B]], CommandDeclaration[B]]:
    """Declares the decorated function as a command (see the module's docstring).

    Path ids after ``{order_id}`` are ``SubId`` unless ``ids`` says otherwise."""

    def declare(run: Run[B]) -> CommandDeclaration[B]:
        hints = typing.get_type_hints(run)
        body, required = hints["body"], True
        if type(None) in typing.get_args(body):
            (body,) = (arg for arg in typing.get_args(body) if arg is not type(None))
            required = False
        names = [name for name in _ID.findall(path) if name != "order_id"]
        declared = CommandDeclaration(
            name=run.__name__,
            path=path,
            permission=permission,
            tag=tag,
            endpoint=endpoint or run.__name__,
            labels={"en": en, "zh": zh},
            doc=inspect.cleandoc(run.__doc__ or ""),
            body=body,
            body_required=required,
            ids={name: (ids or {}).get(name, SubId) for name in names},
            run=run,
            status_code=status_code,
        )
        if declared.name in BY_NAME:
            raise ValueError(f"command {declared.name} is declared twice")
        if not hasattr(Ledger, declared.name):
            raise ValueError(f"command {declared.name} is not a Ledger command")
        COMMANDS.append(declared)
        BY_NAME[declared.name] = declared
        return declared

    return declare


# -- orders -----------------------------------------------------------------------


@command("/orders", permission="receive", tag="orders", endpoint="receive_order",
         en="Receive order", zh="接收订单", status_code=201)  # fmt: skip
def receive(ledger: Ledger, ctx: Ctx, at: Target, body: ReceiveIn) -> Result:
    """Record a new order; the system gives it its number (SO-YYYY-NNNNNN)."""
    return ledger.receive(
        ctx,
        channel=body.channel,
        customer=body.customer.value(),
        lines=[line.value() for line in body.lines],
        delivery=body.delivery.value(),
        currency=body.currency,
        requested_date=body.requested_date,
    )


@command("/orders/merge", permission="merge", tag="orders", endpoint="merge_orders",
         en="Merge orders", zh="合并订单", status_code=201)  # fmt: skip
def merge(ledger: Ledger, ctx: Ctx, at: Target, body: MergeIn) -> Result:
    """Close orders of one customer into a new order (all saved together)."""
    return ledger.merge(ctx, body.order_ids)


@command("/orders/{order_id}/verify", permission="verify", tag="orders",
         endpoint="verify_order", en="Verify order", zh="核对订单")  # fmt: skip
def verify(ledger: Ledger, ctx: Ctx, at: Target, body: VerifyIn) -> Result:
    """Record the check of customer, product and delivery (all true: verified)."""
    checks = {str(area): ok for area, ok in body.checks.items()}
    return ledger.verify(ctx, at.order, checks=checks, problems=body.problems)


@command("/orders/{order_id}/amend", permission="amend", tag="orders",
         endpoint="amend_order", en="Amend order", zh="修改订单")  # fmt: skip
def amend(ledger: Ledger, ctx: Ctx, at: Target, body: AmendIn) -> Result:
    """Change lines, delivery or requested date before production starts."""
    return ledger.amend(
        ctx,
        at.order,
        reason=body.reason,
        lines=[line.value() for line in body.lines] if body.lines is not None else None,
        delivery=body.delivery.value() if body.delivery is not None else None,
        requested_date=body.requested_date,
    )


@command("/orders/{order_id}/confirm", permission="confirm", tag="orders",
         endpoint="confirm_order", en="Confirm order", zh="确认订单")  # fmt: skip
def confirm(ledger: Ledger, ctx: Ctx, at: Target, body: ConfirmIn) -> Result:
    """Record what was agreed with the customer: date, payment terms, invoicing."""
    return ledger.confirm(
        ctx,
        at.order,
        promised_date=body.promised_date,
        payment_terms=body.payment_terms.value(),
        invoice_info=dict(body.invoice_info),
        special_requirements=body.special_requirements,
        contract_ref=body.contract_ref,
    )


@command("/orders/{order_id}/promises", permission="promise", tag="orders",
         en="Promise a delivery date", zh="承诺交期")  # fmt: skip
def promise_date(ledger: Ledger, ctx: Ctx, at: Target, body: PromiseIn) -> Result:
    """Promise a new delivery date; earlier promises stay on record."""
    return ledger.promise_date(ctx, at.order, promised_date=body.promised_date, reason=body.reason)


@command("/orders/{order_id}/split", permission="split", tag="orders",
         endpoint="split_order", en="Split order", zh="拆分订单")  # fmt: skip
def split(ledger: Ledger, ctx: Ctx, at: Target, body: SplitIn) -> Result:
    """Close the order into child orders whose lines add up to its unshipped lines."""
    return ledger.split(ctx, at.order, [sku_quantities(part) for part in body.parts])


# -- lifecycle: manual overrides and the end of the road -----------------------------


@command("/orders/{order_id}/hold", permission="hold", tag="lifecycle",
         endpoint="hold_order", en="Put on hold", zh="暂停订单")  # fmt: skip
def hold(ledger: Ledger, ctx: Ctx, at: Target, body: ReasonIn) -> Result:
    """Stop the order moving (credit check, customer request...)."""
    return ledger.hold(ctx, at.order, reason=body.reason)


@command("/orders/{order_id}/release", permission="release", tag="lifecycle",
         endpoint="release_order", en="Release hold", zh="解除暂停")  # fmt: skip
def release(ledger: Ledger, ctx: Ctx, at: Target, body: ReasonIn) -> Result:
    """Let an order on hold move again."""
    return ledger.release(ctx, at.order, reason=body.reason)


@command("/orders/{order_id}/cancel", permission="cancel", tag="lifecycle",
         endpoint="cancel_order", en="Cancel order", zh="取消订单")  # fmt: skip
def cancel(ledger: Ledger, ctx: Ctx, at: Target, body: ReasonIn) -> Result:
    """Cancel the order; refused once goods are dispatched or invoiced."""
    return ledger.cancel(ctx, at.order, reason=body.reason)


@command("/orders/{order_id}/short-close", permission="short_close", tag="lifecycle",
         endpoint="short_close_line", en="Short-close a line", zh="短交关闭")  # fmt: skip
def short_close(ledger: Ledger, ctx: Ctx, at: Target, body: ShortCloseIn) -> Result:
    """Write off an open remainder of a line that will never ship."""
    return ledger.short_close(
        ctx, at.order, sku=body.sku, quantity=body.quantity, reason=body.reason
    )


@command("/orders/{order_id}/archive", permission="archive", tag="lifecycle",
         endpoint="archive_order", en="Archive order", zh="归档订单")  # fmt: skip
def archive(ledger: Ledger, ctx: Ctx, at: Target, body: ArchiveIn) -> Result:
    """File a settled or cancelled order with nothing left open."""
    return ledger.archive(ctx, at.order, archive_ref=body.archive_ref)


# -- shipments ---------------------------------------------------------------------

SHIPMENTS = "/orders/{order_id}/shipments"
SHIPMENT = SHIPMENTS + "/{shipment_id}"


@command(SHIPMENTS, permission="schedule", tag="shipments",
         en="Plan a shipment", zh="计划发货")  # fmt: skip
def schedule_shipment(ledger: Ledger, ctx: Ctx, at: Target, body: ScheduleShipmentIn) -> Result:
    """Plan a shipment (never more than ordered minus already planned)."""
    return ledger.schedule_shipment(
        ctx,
        at.order,
        shipment_id=new_id("SH", ctx, body.shipment_id),
        planned_date=body.planned_date,
        lines=sku_quantities(body.lines),
        carrier=body.carrier,
        mode=body.mode,
        estimated_cost=body.estimated_cost,
        export=body.export,
    )


@command(SHIPMENT + "/reschedule", permission="schedule", tag="shipments",
         en="Reschedule shipment", zh="改期发货")  # fmt: skip
def reschedule_shipment(ledger: Ledger, ctx: Ctx, at: Target, body: RescheduleIn) -> Result:
    """Move a planned shipment to another date (and carrier)."""
    return ledger.reschedule_shipment(
        ctx,
        at.order,
        shipment_id=at.ids["shipment_id"],
        planned_date=body.planned_date,
        reason=body.reason,
        carrier=body.carrier,
    )


@command(SHIPMENT + "/pack", permission="pack", tag="shipments", endpoint="pack_shipment",
         en="Pack", zh="包装")  # fmt: skip
def pack(ledger: Ledger, ctx: Ctx, at: Target, body: PackIn) -> Result:
    """Record the packing: packages, materials, labels."""
    return ledger.pack(
        ctx,
        at.order,
        shipment_id=at.ids["shipment_id"],
        packages=body.packages,
        materials=body.materials,
        labels=body.labels,
    )


@command(SHIPMENT + "/documents", permission="document", tag="shipments",
         en="Issue a transport document", zh="出具运输单据")  # fmt: skip
def issue_document(ledger: Ledger, ctx: Ctx, at: Target, body: DocumentIn) -> Result:
    """Issue a transport document (drafted unless a status is given)."""
    return ledger.issue_document(
        ctx,
        at.order,
        shipment_id=at.ids["shipment_id"],
        kind=body.kind,
        number=body.number,
        status=body.status,
    )


@command(SHIPMENT + "/documents/{kind}/status", permission="document", tag="shipments",
         en="Change a document's status", zh="更改单据状态",
         ids={"kind": KindPath})  # fmt: skip
def change_document_status(ledger: Ledger, ctx: Ctx, at: Target, body: DocumentStatusIn) -> Result:
    """Move a document drafted → reviewed → submitted → cleared, or reject it."""
    return ledger.change_document_status(
        ctx,
        at.order,
        shipment_id=at.ids["shipment_id"],
        kind=at.ids["kind"],
        status=body.status,
        discrepancy=body.discrepancy,
    )


@command(SHIPMENT + "/dispatch", permission="dispatch", tag="shipments",
         endpoint="dispatch_shipment", en="Dispatch", zh="发货")  # fmt: skip
def dispatch(ledger: Ledger, ctx: Ctx, at: Target, body: DispatchIn) -> Result:
    """Send the shipment: documents submitted, not on hold, no open critical issue."""
    return ledger.dispatch(
        ctx,
        at.order,
        shipment_id=at.ids["shipment_id"],
        tracking_number=body.tracking_number,
        lines=sku_quantities(body.lines) if body.lines is not None else None,
        carrier=body.carrier,
    )


@command(SHIPMENT + "/transit", permission="transit", tag="shipments",
         en="Update transit", zh="更新在途状态")  # fmt: skip
def update_transit(ledger: Ledger, ctx: Ctx, at: Target, body: TransitIn) -> Result:
    """Record where a dispatched shipment is, and any exception (delayed, damaged, lost)."""
    return ledger.update_transit(
        ctx,
        at.order,
        shipment_id=at.ids["shipment_id"],
        status=body.status,
        location=body.location,
        note=body.note,
    )


@command(SHIPMENT + "/deliver", permission="deliver", tag="shipments",
         endpoint="deliver_shipment", en="Confirm delivery", zh="确认签收")  # fmt: skip
def deliver(ledger: Ledger, ctx: Ctx, at: Target, body: DeliverIn) -> Result:
    """The customer received the shipment."""
    return ledger.deliver(
        ctx, at.order, shipment_id=at.ids["shipment_id"], received_by=body.received_by
    )


# -- supply: stock, purchases, production, quality ----------------------------------------


@command("/orders/{order_id}/allocations", permission="stock", tag="supply",
         en="Allocate stock", zh="分配库存")  # fmt: skip
def allocate_stock(ledger: Ledger, ctx: Ctx, at: Target, body: StockIn) -> Result:
    """Reserve warehouse stock for a line's open quantity."""
    return ledger.allocate_stock(
        ctx, at.order, sku=body.sku, quantity=body.quantity, warehouse=body.warehouse
    )


@command("/orders/{order_id}/allocations/release", permission="stock", tag="supply",
         en="Release stock", zh="释放库存")  # fmt: skip
def release_stock(ledger: Ledger, ctx: Ctx, at: Target, body: StockIn) -> Result:
    """Give reserved stock back to the warehouse."""
    return ledger.release_stock(
        ctx, at.order, sku=body.sku, quantity=body.quantity, warehouse=body.warehouse
    )


@command("/orders/{order_id}/purchases", permission="purchase", tag="supply",
         en="Order parts", zh="采购物料")  # fmt: skip
def order_purchase(ledger: Ledger, ctx: Ctx, at: Target, body: PurchaseIn) -> Result:
    """Order parts from a supplier for this order."""
    return ledger.order_purchase(
        ctx,
        at.order,
        po_number=new_id("PO", ctx, body.po_number),
        supplier=body.supplier,
        items=[item.value() for item in body.items],
        eta=body.eta,
    )


@command("/orders/{order_id}/purchases/{po_number}/receive", permission="purchase",
         tag="supply", en="Receive parts", zh="物料到货")  # fmt: skip
def receive_purchase(ledger: Ledger, ctx: Ctx, at: Target, body: ReceivePurchaseIn) -> Result:
    """Record inspected parts of an open purchase order: accepted or rejected."""
    return ledger.receive_purchase(
        ctx,
        at.order,
        po_number=at.ids["po_number"],
        accepted=body.accepted,
        rejected=body.rejected,
        note=body.note,
    )


@command("/orders/{order_id}/production", permission="production", tag="supply",
         en="Report production progress", zh="报告生产进度")  # fmt: skip
def progress_production(ledger: Ledger, ctx: Ctx, at: Target, body: ProgressIn) -> Result:
    """Report production progress; the percentage never goes down."""
    return ledger.progress_production(ctx, at.order, stage=body.stage, percent=body.percent)


@command("/orders/{order_id}/production/complete", permission="production", tag="supply",
         en="Complete production", zh="完成生产")  # fmt: skip
def complete_production(ledger: Ledger, ctx: Ctx, at: Target, body: CommandIn | None) -> Result:
    """Production is finished; the goods can be packed and shipped."""
    return ledger.complete_production(ctx, at.order)


@command("/orders/{order_id}/quality-issues", permission="quality", tag="supply",
         en="Raise a quality issue", zh="登记质量问题")  # fmt: skip
def raise_quality_issue(ledger: Ledger, ctx: Ctx, at: Target, body: QualityIssueIn) -> Result:
    """Record a quality problem; an open critical one stops dispatch."""
    return ledger.raise_quality_issue(
        ctx,
        at.order,
        issue_id=new_id("QI", ctx, body.issue_id),
        severity=body.severity,
        category=body.category,
        description=body.description,
        sku=body.sku,
    )


@command("/orders/{order_id}/quality-issues/{issue_id}/resolve", permission="quality",
         tag="supply", en="Resolve a quality issue", zh="处理质量问题")  # fmt: skip
def resolve_quality_issue(
    ledger: Ledger, ctx: Ctx, at: Target, body: ResolveQualityIssueIn
) -> Result:
    """Close an open quality issue: return, exchange, repair or compensation."""
    return ledger.resolve_quality_issue(
        ctx,
        at.order,
        issue_id=at.ids["issue_id"],
        resolution=body.resolution,
        amount=body.amount,
        note=body.note,
    )


# -- finance -------------------------------------------------------------------------


@command("/orders/{order_id}/invoices", permission="invoice", tag="finance",
         endpoint="invoice_order", en="Invoice", zh="开具发票")  # fmt: skip
def invoice(ledger: Ledger, ctx: Ctx, at: Target, body: InvoiceIn) -> Result:
    """Invoice: never beyond the total; before delivery only the prepayment share."""
    return ledger.invoice(
        ctx,
        at.order,
        invoice_number=body.invoice_number,
        amount=body.amount,
        issued_on=body.issued_on,
        lines=sku_quantities(body.lines),
    )


@command("/orders/{order_id}/credit-notes", permission="credit", tag="finance",
         en="Issue a credit note", zh="开具红字发票")  # fmt: skip
def issue_credit_note(ledger: Ledger, ctx: Ctx, at: Target, body: CreditNoteIn) -> Result:
    """Credit part of what was invoiced and not paid (returns, compensation)."""
    return ledger.issue_credit_note(
        ctx,
        at.order,
        credit_note_number=body.credit_note_number,
        amount=body.amount,
        reason=body.reason,
        invoice_number=body.invoice_number or "",
    )


@command("/orders/{order_id}/payments", permission="payment", tag="finance",
         en="Record a payment", zh="登记收款")  # fmt: skip
def receive_payment(ledger: Ledger, ctx: Ctx, at: Target, body: PaymentIn) -> Result:
    """Record a payment; never more than invoiced and unpaid."""
    return ledger.receive_payment(
        ctx, at.order, reference=body.reference, amount=body.amount, received_on=body.received_on
    )


@command("/orders/{order_id}/settle", permission="settle", tag="finance",
         endpoint="settle_order", en="Settle", zh="结清")  # fmt: skip
def settle(ledger: Ledger, ctx: Ctx, at: Target, body: CommandIn | None) -> Result:
    """Close the account: everything shipped or written off, invoiced and paid."""
    return ledger.settle(ctx, at.order)


# -- complaints ----------------------------------------------------------------------


@command("/orders/{order_id}/complaints", permission="complaint", tag="complaints",
         en="File a complaint", zh="登记客诉")  # fmt: skip
def file_complaint(ledger: Ledger, ctx: Ctx, at: Target, body: ComplaintIn) -> Result:
    """Record a customer's complaint: what, how it came in, how to reach them."""
    return ledger.file_complaint(
        ctx,
        at.order,
        complaint_id=new_id("C", ctx, body.complaint_id),
        channel=body.channel,
        category=body.category,
        description=body.description,
        contact=body.contact,
    )


@command("/orders/{order_id}/complaints/{complaint_id}/resolve", permission="complaint",
         tag="complaints", en="Resolve a complaint", zh="处理客诉")  # fmt: skip
def resolve_complaint(ledger: Ledger, ctx: Ctx, at: Target, body: ResolveComplaintIn) -> Result:
    """Close an open complaint with what was done and what the customer said."""
    return ledger.resolve_complaint(
        ctx,
        at.order,
        complaint_id=at.ids["complaint_id"],
        resolution=body.resolution,
        customer_feedback=body.customer_feedback,
    )


# -- form fields ------------------------------------------------------------------------

_LIMITS = ("min_length", "max_length", "gt", "ge", "lt", "le", "pattern", "decimal_places")
_KINDS: dict[Any, str] = {
    str: "text",
    int: "integer",
    Decimal: "decimal",
    date: "date",
    datetime: "datetime",
    bool: "boolean",
    UUID: "uuid",
}


def describe(hint: Any, info: FieldInfo | None, name: str) -> FormField:
    """The form field of a value of type ``hint`` (with the limits of ``info``)."""
    limits: dict[str, Any] = {}
    description = ""
    metadata: list[Any] = list(info.metadata) if info is not None else []
    if info is not None:
        description = info.description or ""
    while True:
        if typing.get_origin(hint) is Annotated:
            hint, *extra = typing.get_args(hint)
            metadata.extend(extra)
        elif typing.get_origin(hint) in (Union, types.UnionType):
            hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        else:
            break
    for item in metadata:
        if isinstance(item, FieldInfo):
            description = description or item.description or ""
            metadata.extend(item.metadata)
        for limit in _LIMITS:
            value = getattr(item, limit, None)
            if value is not None:
                limits[limit] = value
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    kind = _KINDS.get(hint, "")
    choices: tuple[str, ...] = ()
    items: tuple[FormField, ...] = ()
    if origin is Literal:
        kind, choices = "choice", tuple(str(arg) for arg in args)
    elif origin is list:
        kind, items = "list", (describe(args[0], None, "item"),)
    elif origin is dict:
        kind, choices = "mapping", describe(args[0], None, "key").choices
        items = (describe(args[1], None, "value"),)
    elif isinstance(hint, type) and issubclass(hint, BaseModel):
        kind = "group"
        items = tuple(
            replace_required(describe(i.annotation, i, n), i) for n, i in hint.model_fields.items()
        )
    if not kind:
        raise TypeError(f"no form field for {name}: {hint!r}")
    return FormField(name, kind, True, None, limits, choices, items, description)


def replace_required(form_field: FormField, info: FieldInfo) -> FormField:
    """The field with its model's requiredness and default."""
    required = info.is_required()
    default = None if required else info.get_default(call_default_factory=True)
    return dataclasses.replace(form_field, required=required, default=default)
