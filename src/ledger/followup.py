"""Commands of the ledger application that keep customers informed and
decide about stuck orders: tracking links (docs/integration.md) and the
backlog review (docs/backlog.md). ``Ledger`` inherits them.

A tracking token is 43 URL-safe characters: the order's id (16 bytes) and
16 random bytes, base64url-encoded. The id lets ``GET /t/<token>`` find the
order without a lookup table; only the token's SHA-256 is ever stored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ledger.aggregates.state import TrackingLinkState
from ledger.aggregates.tracking import tracking_links

if TYPE_CHECKING:
    from ledger.aggregates.order import Order
    from ledger.aggregates.values import Customer, Delivery
    from ledger.application import Ctx, Result
    from ledger.clock import Clock

TOKEN_RANDOM_BYTES = 16  # 128 random bits
TOKEN_LENGTH = 43  # base64url of 32 bytes, unpadded
MAX_EXPIRY_DAYS = 366


def new_token(order_id: UUID) -> str:
    """A fresh tracking token for the order."""
    raw = order_id.bytes + secrets.token_bytes(TOKEN_RANDOM_BYTES)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def order_of_token(token: str) -> UUID | None:
    """The order a well-formed token names (None for anything else)."""
    if len(token) != TOKEN_LENGTH or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 16 + TOKEN_RANDOM_BYTES:
        return None
    return UUID(bytes=raw[:16])


class FollowUpCommands:
    """Tracking-link and backlog-review commands (mixed into ``Ledger``)."""

    if TYPE_CHECKING:
        clock: Clock

        def allocate_number(self, year: int) -> str: ...

        def order_id_for(self, number: str) -> UUID: ...

        def _command(
            self,
            ctx: Ctx,
            order_id: UUID,
            name: str,
            args: dict[str, Any],
            act: Callable[[Order], list[Order]],
        ) -> Result: ...

    def issue_tracking_link(
        self, ctx: Ctx, order_id: UUID, *, expires_in_days: int
    ) -> tuple[Result, str | None]:
        """A new link for the customer: the result and the token (shown once;
        None when an idempotency key repeats an earlier issue)."""
        token = new_token(order_id)
        digest = token_hash(token)
        link_id = "TL-" + digest[:12].upper()
        expires_at = self.clock.now() + timedelta(days=expires_in_days)

        def act(order: Order) -> list[Order]:
            order.issue_tracking_link(link_id=link_id, token_hash=digest, expires_at=expires_at)
            return []

        # The fingerprint names what the caller asked, not the random token.
        args = {"expires_in_days": expires_in_days}
        result = self._command(ctx, order_id, "issue_tracking_link", args, act)
        return result, None if result.replayed else token

    # -- backlog review (``review_backlog`` is an ``OrderCommand`` of ``Ledger``) --------

    def dispose_backlog(
        self,
        ctx: Ctx,
        order_id: UUID,
        *,
        action: str,
        reason: str,
        prices: Mapping[str, Decimal] | None = None,
        customer: Customer | None = None,
        delivery: Delivery | None = None,
    ) -> Result:
        """Discount, resell, donate or cancel a reviewed stuck order. A resale's
        new order is numbered like any other (only once the decision is allowed)
        and saved together with this one; it is the result's ``others[0]``."""
        numbered: list[str] = []

        def act(order: Order) -> list[Order]:
            if action != "resell":
                return order.dispose_backlog(action=action, reason=reason, prices=prices)
            order.check_disposal(action, reason, prices, customer, delivery)
            if not numbered:
                numbered.append(self.allocate_number(self.clock.now().year))
            number = numbered[0]
            return order.dispose_backlog(
                action=action,
                reason=reason,
                customer=customer,
                delivery=delivery,
                resold_id=self.order_id_for(number),
                resold_number=number,
            )

        args = {
            "action": action,
            "reason": reason,
            "prices": {sku: str(price) for sku, price in (prices or {}).items()},
            "customer": customer,
            "delivery": delivery,
        }
        return self._command(ctx, order_id, "dispose_backlog", args, act)


def last_issued(order: Order) -> TrackingLinkState | None:
    """The link issued most recently (the one an idempotent repeat answers with)."""
    links = list(tracking_links(order).values())
    return links[-1] if links else None
