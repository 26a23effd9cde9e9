"""``ledger restore``: load a backup into an empty store, then rebuild the projections.

Everything the manifest states is checked before anything is committed:
the manifest's MAC under this store's audit key and each member's sha256
before writing; the chain, recomputed as the events stream into the
store, against every seal on the way and the counts and the manifest's
heads at the end. The load is one transaction, rolled back on any failure.
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

from ledger.audit.backup_format import (
    EVENTS,
    FORMAT,
    MANIFEST,
    SIDE,
    BackupRefused,
    TupleChain,
    canonical,
)
from ledger.audit.keys import mac_ok
from ledger.audit.service import key_of
from ledger.audit.verify import Progress

CHUNK = 1 << 20  # compressed bytes decompressed at a time


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
    sealed = {(r[0], r[1]): base64.b64decode(r[2]["b64"]) for r in manifest["seals"]}
    chain = TupleChain(sealed, links=True)
    loaded = loader.load(_checked_chunks(manifest, events, chain, progress), chain, side)
    rebuild_projections(ledger)
    return {"events": loaded, "orders": int(manifest["counts"]["orders"]), "checked": chain.count}


def _read(path: Path) -> tuple[dict[str, Any], bytes, bytes]:
    try:
        with tarfile.open(path, "r") as tar:
            members = {m.name: tar.extractfile(m) for m in tar.getmembers() if m.isfile()}
            data = {name: f.read() for name, f in members.items() if f is not None}
        manifest = json.loads(data[MANIFEST])
        if manifest.get("format") != FORMAT:
            raise BackupRefused(f"unknown backup format {manifest.get('format')!r}")
        return manifest, data[EVENTS], data[SIDE]
    except (OSError, tarfile.TarError, KeyError, ValueError) as e:
        raise BackupRefused(f"{path} is not a readable ledger backup ({e})") from None


def _check_manifest(manifest: dict[str, Any], key: bytes) -> None:
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


def _checked_chunks(
    manifest: dict[str, Any], events: bytes, chain: TupleChain, progress: Progress | None
) -> Iterator[bytes]:
    """The event tuples in whole-tuple chunks, each checked by ``chain`` (seals)
    before it is handed on; after the last, the counts and the manifest's heads.
    A failure raises ``BackupRefused`` inside the loader's transaction, so
    nothing is committed."""
    rest = b""
    try:
        unpacker = zlib.decompressobj(31)
        for start in range(0, len(events), CHUNK):
            data = rest + unpacker.decompress(events[start : start + CHUNK])
            before = chain.count
            used = chain.feed(data)
            rest = data[used:]
            yield data[:used]
            if progress is not None:
                progress(chain.count - before)
        data = rest + unpacker.flush()
        if not unpacker.eof:
            raise BackupRefused(f"{EVENTS} is truncated")
        used = chain.feed(data)
    except (zlib.error, ValueError) as e:
        raise BackupRefused(f"{EVENTS}: {e}") from None
    if used != len(data):
        raise BackupRefused(f"{EVENTS} ends in the middle of an event")
    yield data
    if chain.count != manifest["counts"]["events"]:
        raise BackupRefused(
            f"{chain.count} events in the file, the manifest says {manifest['counts']['events']}"
        )
    heads = chain.order_heads()
    for order, (version, digest) in manifest["heads"].items():
        if heads.get(order) != (version, bytes.fromhex(digest)):
            raise BackupRefused(f"order {order}: the chain does not end where the manifest says")
    if len(heads) != len(manifest["heads"]):
        raise BackupRefused("the file holds orders the manifest does not list")


def rebuild_projections(ledger: Any) -> list[str]:
    """Rebuild every registered read model from the restored events.

    The hook into the projections work: ``Worker.rebuild_all`` (every model of
    ``READ_MODELS`` in one pass over the log); returns the names rebuilt.
    """
    from ledger.worker.process import Worker

    worker = Worker(ledger)
    try:
        return [str(entry["key"]) for entry in worker.rebuild_all()]
    finally:
        worker.stop()
