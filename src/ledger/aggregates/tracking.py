"""Customer tracking links: issued and revoked as events on the order.

The token itself never reaches the order: the application draws it (128
random bits and more, outside the aggregate, so a replay is deterministic)
and hands the aggregate only its SHA-256, the link's id and its expiry.
What a token holder may see is chosen in ``ledger.api.tracking``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from ledger.aggregates.base import OrderBase
from ledger.aggregates.errors import DomainError
from ledger.aggregates.privacy import Privacy
from ledger.aggregates.state import TrackingLinkState

if TYPE_CHECKING:
    from ledger.aggregates.order import Order

_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_LINKS = 100  # live (unrevoked) links per order


def tracking_links(order: Any) -> dict[str, TrackingLinkState]:
    """The order's links (an order restored from a snapshot older than the
    links has none)."""
    links: dict[str, TrackingLinkState] = vars(order).setdefault("tracking_links", {})
    return links


class Tracking(OrderBase):
    """Commands that let a customer follow the order without an account."""

    privacy = Privacy(public=("tracking_links",))

    if TYPE_CHECKING:
        tracking_links: dict[str, TrackingLinkState]

    class TrackingLinkIssued(Aggregate.Event):
        link_id: str
        token_hash: str
        expires_at: datetime
        privacy = Privacy(public=("link_id", "token_hash"))

        def evolve(self, order: Order) -> None:
            tracking_links(order)[self.link_id] = TrackingLinkState(
                self.link_id, self.token_hash, self.timestamp, self.expires_at
            )

    def issue_tracking_link(self, *, link_id: str, token_hash: str, expires_at: datetime) -> None:
        """Record a new link by its token's hash; it works until ``expires_at``."""
        self._require_still_on_file()
        links = tracking_links(self)
        if not link_id or link_id in links:
            raise DomainError("duplicate_tracking_link", f"tracking link {link_id} exists")
        if _SHA256.fullmatch(token_hash) is None:
            raise DomainError("invalid_token_hash", "the token hash must be 64 hex digits")
        if any(link.token_hash == token_hash for link in links.values()):
            raise DomainError("duplicate_tracking_link", "this token is already issued")
        if sum(1 for link in links.values() if link.revoked_at is None) >= MAX_LINKS:
            raise DomainError(
                "too_many_tracking_links",
                f"an order may have at most {MAX_LINKS} live links; revoke some first",
                limit=MAX_LINKS,
            )
        self.trigger_event(
            self.TrackingLinkIssued, link_id=link_id, token_hash=token_hash, expires_at=expires_at
        )

    class TrackingLinkRevoked(Aggregate.Event):
        link_id: str
        privacy = Privacy(public=("link_id",))

        def evolve(self, order: Order) -> None:
            tracking_links(order)[self.link_id].revoked_at = self.timestamp

    def revoke_tracking_link(self, link_id: str) -> None:
        """Stop a link working at once; allowed in every state, so a link that
        follows the order into its split children or merged order can still be stopped."""
        link = tracking_links(self).get(link_id)
        if link is None:
            raise DomainError("unknown_tracking_link", f"no tracking link {link_id}")
        if link.revoked_at is not None:
            raise DomainError("tracking_link_revoked", f"tracking link {link_id} is revoked")
        self.trigger_event(self.TrackingLinkRevoked, link_id=link_id)
