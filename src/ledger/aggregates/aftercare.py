"""Complaints, hold and release, cancellation and archiving."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventsourcing.domain import Aggregate

from ledger.aggregates import rules
from ledger.aggregates.base import OrderBase
from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy, erased, privacy_of, redacted
from ledger.aggregates.stages import Status
from ledger.aggregates.state import ComplaintState

if TYPE_CHECKING:
    from ledger.aggregates.order import Order


class Aftercare(OrderBase):
    """Commands around the order rather than in its flow."""

    # -- complaints -------------------------------------------------------

    class ComplaintFiled(Aggregate.Event):
        complaint_id: str
        channel: str
        category: str
        description: str
        contact: str
        privacy = Privacy(
            personal=("description", "contact"),
            public=("complaint_id", "channel", "category"),
        )

        def evolve(self, order: Order) -> None:
            order.complaints[self.complaint_id] = ComplaintState(
                self.complaint_id,
                self.channel,
                self.category,
                self.description,
                self.contact,
                filed_at=self.timestamp,
            )

    def file_complaint(
        self, *, complaint_id: str, channel: str, category: str, description: str, contact: str = ""
    ) -> None:
        """Record a customer's complaint: what, when, how to reach them."""
        self._require_still_on_file()
        rules.require_text("complaint id", complaint_id)
        rules.require_text("description", description)
        if complaint_id in self.complaints:
            raise DomainError("duplicate_complaint", f"complaint {complaint_id} exists")
        self.trigger_event(
            self.ComplaintFiled,
            complaint_id=complaint_id,
            channel=channel,
            category=category,
            description=description,
            contact=contact,
        )

    class ComplaintResolved(Aggregate.Event):
        complaint_id: str
        resolution: str
        customer_feedback: str
        privacy = Privacy(personal=("resolution", "customer_feedback"), public=("complaint_id",))

        def evolve(self, order: Order) -> None:
            complaint = order.complaints[self.complaint_id]
            complaint.status = "resolved"
            complaint.resolution = self.resolution
            complaint.customer_feedback = self.customer_feedback
            complaint.resolved_at = self.timestamp

    def resolve_complaint(
        self, *, complaint_id: str, resolution: str, customer_feedback: str = ""
    ) -> None:
        """Close an open complaint with what was done and what the customer said."""
        self._require_still_on_file()
        complaint = self.complaints.get(complaint_id)
        if complaint is None:
            raise DomainError("unknown_complaint", f"no complaint {complaint_id}")
        if complaint.status != "open":
            raise DomainError("complaint_not_open", f"complaint {complaint_id} is resolved")
        rules.require_text("resolution", resolution)
        self.trigger_event(
            self.ComplaintResolved,
            complaint_id=complaint_id,
            resolution=resolution,
            customer_feedback=customer_feedback,
        )

    # -- hold, release, cancel, archive -------------------------------------

    class OrderPutOnHold(Aggregate.Event):
        reason: str
        privacy = Privacy(personal=("reason",))

        def evolve(self, order: Order) -> None:
            order.on_hold = True
            order.hold_reason = self.reason

    def hold(self, reason: str) -> None:
        """Stop the order moving (credit check, customer request...)."""
        self._require_open()
        self._require_not_settled()
        rules.require_text("reason", reason)
        if self.on_hold:
            raise DomainError("order_already_on_hold", "the order is already on hold")
        self.trigger_event(self.OrderPutOnHold, reason=reason)

    class OrderReleased(Aggregate.Event):
        reason: str
        privacy = Privacy(personal=("reason",))

        def evolve(self, order: Order) -> None:
            order.on_hold = False
            order.hold_reason = ""

    def release(self, reason: str) -> None:
        """Let an order on hold move again."""
        self._require_open()
        rules.require_text("reason", reason)
        if not self.on_hold:
            raise DomainError("order_not_on_hold", "the order is not on hold")
        self.trigger_event(self.OrderReleased, reason=reason)

    class OrderCancelled(Aggregate.Event):
        reason: str
        privacy = Privacy(personal=("reason",))

        def evolve(self, order: Order) -> None:
            order.status = Status.CANCELLED.value
            order.cancel_reason = self.reason
            order.on_hold = False
            for line in order.lines.values():
                line.allocated = {}

    def cancel(self, reason: str) -> None:
        """Cancel the order; not once anything has been dispatched or invoiced."""
        self._require_open()
        self._require_not_settled()
        rules.require_text("reason", reason)
        if any(s.is_dispatched for s in self.shipments.values()):
            raise DomainError("cannot_cancel_after_dispatch", "goods have already been dispatched")
        if self.net_invoiced > 0 or self.paid_amount > 0:
            raise DomainError(
                "cannot_cancel_invoiced_order", "credit the invoices before cancelling"
            )
        self.trigger_event(self.OrderCancelled, reason=reason)

    class OrderArchived(Aggregate.Event):
        archive_ref: str
        privacy = Privacy(public=("archive_ref",))

        def evolve(self, order: Order) -> None:
            order.status = Status.ARCHIVED.value
            order.archive_ref = self.archive_ref

    def archive(self, archive_ref: str) -> None:
        """File a settled or cancelled order with nothing left open."""
        if self.status not in (Status.SETTLED, Status.CANCELLED):
            raise DomainError(
                "cannot_archive_unsettled_order",
                f"only settled or cancelled orders can be archived, this one is {self.stage}",
                stage=self.stage,
            )
        rules.require_text("archive ref", archive_ref)
        open_items = self.open_items()
        if open_items:
            raise DomainError(
                "cannot_archive_with_open_items",
                "resolve open complaints, quality issues and purchases first",
                open=open_items,
            )
        self.trigger_event(self.OrderArchived, archive_ref=archive_ref)

    # -- the right to be forgotten --------------------------------------------

    class PersonalDataErased(Aggregate.Event):
        """The customer's personal-data key was destroyed: no personal field
        (see ``ledger.aggregates.privacy``) of the order can be read any more."""

        def evolve(self, order: Order) -> None:
            personal = privacy_of(type(order)).personal
            for name, value in list(vars(order).items()):
                if not name.startswith("_"):
                    setattr(order, name, erased(value) if name in personal else redacted(value))

    def erase_personal_data(self) -> None:
        """Record the erasure; allowed in every state, since the law asks it of all."""
        self.trigger_event(self.PersonalDataErased)
