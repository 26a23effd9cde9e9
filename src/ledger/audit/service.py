"""Verify and seal a ledger's store: what the CLI, the API and the scheduler call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledger.audit.keys import audit_key, mac
from ledger.audit.rows import Seal
from ledger.audit.store import open_store
from ledger.audit.verify import Progress, Report, verify_streams


def key_of(ledger: Any) -> bytes:
    """The ledger's audit key; ``AuditKeyMissing`` on PostgreSQL without one."""
    return audit_key(ledger.settings, ledger.recorder)


def verify_store(
    ledger: Any, order: UUID | None = None, progress: Progress | None = None
) -> Report:
    """Check every order (or one) against its chain and the seals."""
    key = key_of(ledger)
    wanted = str(order) if order is not None else None
    with open_store(ledger).snapshot() as snap:
        seals = snap.seals(wanted)
        return verify_streams(snap.orders(wanted), seals, key, progress)


def seal(ledger: Any, now: datetime | None = None) -> tuple[Report, int]:
    """Verify, then seal the head of every order that verified and moved since
    its last seal. A broken order is left unsealed, so a seal never blesses it;
    a store sealed with another key gets no seal at all (its report says why),
    so a misconfigured key never starts a second set of seals."""
    report = verify_store(ledger)
    if report.other_keys:
        return report, 0
    key = key_of(ledger)
    store = open_store(ledger)
    with store.snapshot() as snap:
        latest = {s.order: s.version for s in snap.seals()}
    at = (now or datetime.now(UTC)).isoformat()
    new = [
        Seal(order, version, digest, at, mac(key, order, version, digest, at), report.key_id)
        for order, (version, digest) in report.heads.items()
        if latest.get(order) != version
    ]
    store.add_seals(new)
    return report, len(new)
