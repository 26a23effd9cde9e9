"""Exports: orders' histories as JSON Lines with their chain and a sealed manifest.

One line per event (order, type, version, recorded and business time,
actor and the other metadata, the decoded payload, the stored topic and
bytes, and the chain hash), then one manifest line holding every line's
sha256, each order's head and seals, and an HMAC of itself under the audit
key. ``ledger.audit.offline`` checks such a file with no database.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.audit.keys import key_id, mac
from ledger.audit.plain import jsonable
from ledger.audit.rows import Seal
from ledger.audit.service import key_of
from ledger.audit.store import open_store

FORMAT = "ledger-export/1"
SKIPPED_FIELDS = ("originator_id", "originator_version", "timestamp", "meta", "originator_topic")


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def manifest_mac(key: bytes, manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "mac"}
    return mac(key, canonical(body)).hex()


def event_line(
    ledger: Any, order: str, version: int, topic: str, state: bytes, digest: bytes
) -> dict[str, Any]:
    """One event as an auditor reads it, with the stored bytes the hash covers."""
    event = ledger.mapper.to_domain_event(StoredEvent(UUID(order), version, topic, state))
    meta = dict(getattr(event, "meta", {}) or {})
    recorded = event.timestamp.isoformat()
    payload = {k: v for k, v in vars(event).items() if k not in SKIPPED_FIELDS}
    return {
        "order": order,
        "type": type(event).__name__,
        "version": version,
        "recorded_at": recorded,
        "occurred_at": str(meta.get("occurred_at") or recorded),
        "actor": str(meta.get("actor", "")),
        "meta": jsonable(meta),
        "payload": jsonable(payload),
        "topic": topic,
        "state": base64.b64encode(state).decode(),
        "hash": digest.hex(),
    }


def export_lines(ledger: Any, orders: Iterable[UUID]) -> Iterator[bytes]:
    """The export of ``orders`` line by line (each ending in a newline), manifest last."""
    key = key_of(ledger)
    digests: list[str] = []
    heads: dict[str, dict[str, Any]] = {}
    seals: list[Seal] = []
    with open_store(ledger).snapshot() as snap:
        for order_id in orders:
            order = str(order_id)
            links = {v: h for _, v, h in snap.links(order)}
            for _, version, topic, state in snap.events(order):
                digest = links.get(version, b"")
                line = canonical(event_line(ledger, order, version, topic, state, digest))
                digests.append(hashlib.sha256(line).hexdigest())
                heads[order] = {"version": version, "hash": digest.hex()}
                yield line + b"\n"
            seals.extend(snap.seals(order))
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "lines": len(digests),
        "line_sha256": digests,
        "heads": heads,
        "seals": [
            {
                "order": s.order,
                "version": s.version,
                "hash": s.hash.hex(),
                "sealed_at": s.sealed_at,
                "mac": s.mac.hex(),
                "key_id": s.key_id,
            }
            for s in seals
        ],
        "key_id": key_id(key),
    }
    manifest["mac"] = manifest_mac(key, manifest)
    yield canonical({"manifest": manifest}) + b"\n"


def select_orders(
    ledger: Any, *, period: str | None = None, customer: str | None = None
) -> list[UUID]:
    """Orders created in ``period`` (YYYY-MM, by recorded time) or of ``customer``."""
    found: list[UUID] = []
    start = 1
    while page := ledger.recorder.select_notifications(start, 2000):
        for note in page:
            if note.originator_version != 1:
                continue
            event = ledger.mapper.to_domain_event(note)
            name = getattr(getattr(event, "customer", None), "name", None)
            month = event.timestamp.astimezone(UTC).strftime("%Y-%m")
            if (period is None or month == period) and (customer is None or name == customer):
                found.append(event.originator_id)
        start = page[-1].id + 1
    return found
