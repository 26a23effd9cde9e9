"""``ledger restore``: load a backup into an empty store, then rebuild the projections.

Everything the manifest states is checked before anything is written: the
manifest's MAC under this store's audit key, each member's sha256, the
counts, and the chain recomputed from the events against the manifest's
heads and every seal. The load itself is one transaction.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from ledger.audit.backup_format import (
    BATCH,
    EVENTS,
    FORMAT,
    MANIFEST,
    SIDE,
    BackupRefused,
    canonical,
)
from ledger.audit.keys import mac_ok
from ledger.audit.service import key_of
from ledger.audit.verify import Progress
from ledger.persistence.chain import GENESIS, link_hash


def restore(ledger: Any, path: Path, progress: Progress | None = None) -> dict[str, int]:
    """Load ``path`` into the ledger's empty store; ``BackupRefused`` says why not."""
    manifest, events, side_bytes = _read(path)
    _check_manifest(manifest, key_of(ledger))
    from ledger.audit.store import open_loader

    loader = open_loader(ledger)
    if not loader.is_empty():
        raise BackupRefused("the store is not empty: restore needs an empty store")
    _check_member(manifest, EVENTS, events)
    _check_member(manifest, SIDE, side_bytes)
    side = json.loads(gzip.decompress(side_bytes))
    count = _check_chain(manifest, events)
    loaded = loader.load(_batches(events, progress), side)
    rebuild_projections(ledger)
    return {"events": loaded, "orders": int(manifest["counts"]["orders"]), "checked": count}


def _read(path: Path) -> tuple[dict[str, Any], bytes, bytes]:
    try:
        with tarfile.open(path, "r") as tar:
            members = {m.name: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
            data = {name: f.read() for name, f in members.items() if f is not None}
        manifest = json.loads(data[MANIFEST])
        return manifest, data[EVENTS], data[SIDE]
    except (OSError, tarfile.TarError, KeyError, ValueError) as e:
        raise BackupRefused(f"{path} is not a readable ledger backup ({e})") from None


def _check_manifest(manifest: dict[str, Any], key: bytes) -> None:
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"unknown backup format {manifest.get('format')!r}")
    body = {k: v for k, v in manifest.items() if k != "mac"}
    if not mac_ok(key, bytes.fromhex(str(manifest.get("mac", ""))), canonical(body)):
        raise BackupRefused(
            "the backup's manifest and seals do not verify with this store's audit key "
            "(set LEDGER_AUDIT_KEY to the key of the store that was backed up)"
        )
    for row in manifest["seals"]:
        order, version, digest, at, seal_mac = row
        parts = (order, version, base64.b64decode(digest["b64"]), at)
        if not mac_ok(key, base64.b64decode(seal_mac["b64"]), *parts):
            raise BackupRefused(f"the seal of order {order} version {version} does not verify")


def _check_member(manifest: dict[str, Any], name: str, data: bytes) -> None:
    if hashlib.sha256(data).hexdigest() != manifest["sha256"].get(name):
        raise BackupRefused(f"{name} is corrupted: its sha256 differs from the manifest")


def _lines(events: bytes) -> Iterator[dict[str, Any]]:
    try:
        for number, line in enumerate(gzip.decompress(events).splitlines(), start=1):
            try:
                yield json.loads(line)
            except ValueError:
                raise BackupRefused(f"{EVENTS} line {number} is not JSON") from None
    except (OSError, EOFError, zlib.error) as e:
        raise BackupRefused(f"{EVENTS} does not decompress ({e})") from None


def _check_chain(manifest: dict[str, Any], events: bytes) -> int:
    """Recompute every order's chain; compare with the heads and the seals."""
    sealed = {(r[0], r[1]): base64.b64decode(r[2]["b64"]) for r in manifest["seals"]}
    heads: dict[str, tuple[int, bytes]] = {}
    count = 0
    for e in _lines(events):
        version, prev = heads.get(e["o"], (0, GENESIS))
        digest = link_hash(prev, e["o"], e["v"], e["t"], base64.b64decode(e["s"]))
        heads[e["o"]] = (e["v"], digest)
        if sealed.get((e["o"], e["v"]), digest) != digest:
            raise BackupRefused(f"order {e['o']} version {e['v']} differs from its seal")
        count += 1
    if count != manifest["counts"]["events"]:
        raise BackupRefused(f"{count} events in the file, the manifest says {manifest['counts']}")
    for order, (version, digest) in manifest["heads"].items():
        if heads.get(order) != (version, bytes.fromhex(digest)):
            raise BackupRefused(f"order {order}: the chain does not end where the manifest says")
    return count


def _batches(events: bytes, progress: Progress | None) -> Iterator[list[StoredEvent]]:
    batch: list[StoredEvent] = []
    for e in _lines(events):
        batch.append(StoredEvent(UUID(e["o"]), e["v"], e["t"], base64.b64decode(e["s"])))
        if len(batch) >= BATCH:
            yield batch
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        yield batch
        if progress is not None:
            progress(len(batch))


def rebuild_projections(ledger: Any) -> list[str]:
    """Rebuild every registered read model from the restored events.

    The hook into the projections work: ``Worker.rebuild`` per model of
    ``READ_MODELS``; returns the names rebuilt.
    """
    from ledger.projections.registry import READ_MODELS
    from ledger.worker.process import Worker

    worker = Worker(ledger)
    try:
        for name in READ_MODELS:
            worker.rebuild(name)
    finally:
        worker.stop()
    return list(READ_MODELS)
