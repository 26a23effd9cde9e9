"""Invoices, credit notes, payments and settlement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.aggregates import rules
from ledger.aggregates.base import OrderBase
from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy
from ledger.aggregates.stages import Status
from ledger.aggregates.state import CreditNoteState, InvoiceState, PaymentState
from ledger.aggregates.values import SkuQty

if TYPE_CHECKING:
    from ledger.aggregates.order import Order


class Finance(OrderBase):
    """Commands that move the money."""

    # -- invoicing, payment, settlement -----------------------------------------

    class OrderInvoiced(Aggregate.Event):
        invoice_number: str
        amount: Decimal
        issued_on: date
        lines: list[SkuQty]
        privacy = Privacy(public=("invoice_number",))

        def evolve(self, order: Order) -> None:
            lines = {item.sku: item.quantity for item in self.lines}
            order.invoices[self.invoice_number] = InvoiceState(
                self.invoice_number, self.amount, self.issued_on, lines
            )
            for sku, quantity in lines.items():
                order.lines[sku].invoiced += quantity

    def invoice(
        self,
        *,
        invoice_number: str,
        amount: Decimal,
        issued_on: date,
        lines: Sequence[SkuQty] = (),
    ) -> None:
        """Issue an invoice: never beyond the order total, and before delivery only
        up to the agreed prepayment share (plus what has been delivered)."""
        self._require_confirmed()
        rules.require_text("invoice number", invoice_number)
        if invoice_number in self.invoices:
            raise DomainError("duplicate_invoice", f"invoice {invoice_number} already exists")
        rules.require_money(amount, self.currency)
        rules.require_business_date("issued_on", issued_on)
        if lines:
            rules.require_sku_quantities(lines, self.lines)
            for item in lines:
                line = self.lines[item.sku]
                if line.invoiced + item.quantity > line.quantity:
                    raise DomainError(
                        "cannot_invoice_more_than_ordered",
                        f"{item.sku}: beyond the ordered quantity",
                    )
        self._require_within_invoice_cap(amount)
        self.trigger_event(
            self.OrderInvoiced,
            invoice_number=invoice_number,
            amount=amount,
            issued_on=issued_on,
            lines=list(lines),
        )

    def _require_within_invoice_cap(self, amount: Decimal) -> None:
        """Net invoiced never beyond the total; before delivery only the agreed
        prepayment share of the value still to ship, plus the value delivered.
        The refusal says which of the two limits stopped it, and why."""
        cap = self.invoice_cap()
        if self.net_invoiced + amount <= cap:
            return
        room = max(cap - self.net_invoiced, Decimal(0))
        total, net = self.total, self.net_invoiced
        details = {"allowed": str(cap), "invoiced": str(net), "requested": str(amount)}
        if cap == total:
            raise DomainError(
                "cannot_invoice_more_than_allowed",
                f"at most {room} more can be invoiced: the order total is {total} "
                f"and {net} is already invoiced (net of credit notes)",
                limit="order_total",
                total=str(total),
                **details,
            )
        share, prepayment, delivered = (
            self.prepayment_share,
            self.prepayment_limit(),
            self.delivered_value,
        )
        so_far = f"{net} is already invoiced" if net else "nothing is invoiced yet"
        raise DomainError(
            "cannot_invoice_more_than_allowed",
            f"at most {room} more can be invoiced now: before delivery only the agreed "
            f"prepayment share may be invoiced (the pre-delivery prepayment limit: {share}% "
            f"of {self.due_value} = {prepayment}), plus the value delivered so far "
            f"({delivered}); {so_far}",
            limit="prepayment",
            prepayment_percent=str(share),
            prepayment_limit=str(prepayment),
            delivered_value=str(delivered),
            **details,
        )

    class CreditNoteIssued(Aggregate.Event):
        credit_note_number: str
        amount: Decimal
        reason: str
        invoice_number: str
        privacy = Privacy(personal=("reason",), public=("credit_note_number", "invoice_number"))

        def evolve(self, order: Order) -> None:
            order.credit_notes[self.credit_note_number] = CreditNoteState(
                self.credit_note_number, self.amount, self.reason, self.invoice_number
            )

    def issue_credit_note(
        self, *, credit_note_number: str, amount: Decimal, reason: str, invoice_number: str = ""
    ) -> None:
        """Credit part of what was invoiced (returns, compensation)."""
        self._require_confirmed()
        rules.require_text("credit note number", credit_note_number)
        rules.require_text("reason", reason)
        if credit_note_number in self.credit_notes:
            raise DomainError("duplicate_credit_note", f"credit note {credit_note_number} exists")
        if invoice_number and invoice_number not in self.invoices:
            raise DomainError("unknown_invoice", f"no invoice {invoice_number}")
        rules.require_money(amount, self.currency)
        creditable = self.net_invoiced - self.paid_amount
        if amount > creditable:
            raise DomainError(
                "cannot_credit_more_than_unpaid_invoiced",
                f"at most {creditable} can be credited: invoiced, not credited and not paid",
                creditable=str(creditable),
                requested=str(amount),
            )
        self.trigger_event(
            self.CreditNoteIssued,
            credit_note_number=credit_note_number,
            amount=amount,
            reason=reason,
            invoice_number=invoice_number,
        )

    class PaymentReceived(Aggregate.Event):
        reference: str
        amount: Decimal
        received_on: date
        privacy = Privacy(public=("reference",))

        def evolve(self, order: Order) -> None:
            order.payments[self.reference] = PaymentState(
                self.reference, self.amount, self.received_on
            )

    def receive_payment(self, *, reference: str, amount: Decimal, received_on: date) -> None:
        """Record a payment; never more than invoiced and unpaid."""
        self._require_confirmed()
        rules.require_text("reference", reference)
        if reference in self.payments:
            raise DomainError("duplicate_payment", f"payment {reference} is already recorded")
        rules.require_money(amount, self.currency)
        rules.require_business_date("received_on", received_on)
        if amount > self.outstanding:
            raise DomainError(
                "cannot_pay_more_than_outstanding",
                f"only {self.outstanding} is invoiced and unpaid",
                outstanding=str(self.outstanding),
                requested=str(amount),
            )
        self.trigger_event(
            self.PaymentReceived, reference=reference, amount=amount, received_on=received_on
        )

    class OrderSettled(Aggregate.Event):
        def evolve(self, order: Order) -> None:
            order.status = Status.SETTLED.value

    def settle(self) -> None:
        """Close the account: all shipped or written off, shipped goods invoiced,
        nothing in transit, and paid in full."""
        self._require_confirmed()
        self._require_not_on_hold("settled")
        open_lines = [sku for sku, line in self.lines.items() if line.open > 0]
        if open_lines:
            raise DomainError(
                "cannot_settle_with_open_lines",
                "ship or short-close every line first",
                open=open_lines,
            )
        in_transit = [s.shipment_id for s in self.shipments.values() if s.status == "dispatched"]
        if in_transit:
            raise DomainError(
                "cannot_settle_with_goods_in_transit",
                "every dispatched shipment must be delivered first",
                shipments=in_transit,
            )
        if self.invoiced_amount < self.shipped_value:
            raise DomainError(
                "cannot_settle_uninvoiced_shipments",
                "everything shipped must be invoiced",
                shipped_value=str(self.shipped_value),
                invoiced=str(self.invoiced_amount),
            )
        if self.outstanding != 0:
            raise DomainError(
                "cannot_settle_unpaid_balance",
                f"{self.outstanding} is still unpaid",
                outstanding=str(self.outstanding),
            )
        self.trigger_event(self.OrderSettled)
