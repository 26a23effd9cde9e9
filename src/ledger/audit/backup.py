"""``ledger backup``: every stored event, the side rows and a sealed manifest.

The manifest's heads are the chain recomputed from exactly the events in
the file, and its MAC under the audit key makes them a seal of their own;
the stored seals travel too, so a restore checks the events against both.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import time
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.audit.backup_format import EVENTS, FORMAT, MANIFEST, SIDE, TupleChain, canonical
from ledger.audit.keys import key_id, mac
from ledger.audit.service import key_of
from ledger.audit.store import open_loader
from ledger.audit.verify import Progress
from ledger.files import PRIVATE_FILE, private_dirs, private_output
from ledger.persistence.chain import SEALS_TABLE
from ledger.settings import Settings


def backup(ledger: Any, path: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Write the whole store to ``path``; returns the manifest."""
    key = key_of(ledger)
    with open_loader(ledger).reading() as (side, pages):
        events, count, heads, size = _events_member(pages, progress)
    side_json = canonical(side)
    side_bytes = gzip.compress(side_json, compresslevel=1, mtime=0)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "key_id": key_id(key),
        "created_at": datetime.now(UTC).isoformat(),
        "source": ledger.settings.database.backend,
        "counts": {"events": count, "orders": len(heads)}
        | {table: len(rows) for table, rows in side.items()},
        "sha256": {
            EVENTS: hashlib.sha256(events).hexdigest(),
            SIDE: hashlib.sha256(side_bytes).hexdigest(),
        },
        "sizes": {EVENTS: size, SIDE: len(side_json)},
        "heads": {o: [v, h.hex()] for o, (v, h) in heads.items()},
        "seals": side[SEALS_TABLE],
    }
    manifest["mac"] = mac(key, canonical(manifest)).hex()
    # Whoever reads a backup reads the customers' keys: the owner only.
    with private_output(path) as out, tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (
            (MANIFEST, json.dumps(manifest, indent=1).encode()),
            (EVENTS, events),
            (SIDE, side_bytes),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(time.time()), PRIVATE_FILE
            tar.addfile(info, io.BytesIO(data))
    return manifest


def _events_member(
    pages: Iterator[bytes], progress: Progress | None
) -> tuple[bytes, int, dict[str, tuple[int, bytes]], int]:
    """The gzip'd event tuples, their count, each order's recomputed chain head,
    and their uncompressed size.

    Three stages overlap: one thread fetches the next page while this one
    hashes the current page and another compresses the previous one (the
    driver's waits and zlib run without the GIL).
    """
    chain = TupleChain()
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip framing, the fastest level
    parts: list[Future[bytes]] = []
    size = 0
    with ThreadPoolExecutor(1) as fetcher, ThreadPoolExecutor(1) as compressor:
        upcoming = fetcher.submit(next, pages, b"")
        while page := upcoming.result():
            upcoming = fetcher.submit(next, pages, b"")
            before = chain.count
            if chain.feed(page) != len(page):
                raise ValueError("a page of event tuples ends in the middle of an event")
            parts.append(compressor.submit(packer.compress, page))
            size += len(page)
            if progress is not None:
                progress(chain.count - before)
        parts.append(compressor.submit(packer.flush))
        events = b"".join(part.result() for part in parts)
        return events, chain.count, chain.order_heads(), size


def run_scheduled_backup(settings: Settings) -> Path:
    """The scheduler's job: back up into ``LEDGER_BACKUP_DIR`` and keep the
    newest ``LEDGER_BACKUP_KEEP`` files."""
    folder = Path(settings.backup_dir)
    private_dirs(folder)
    path = folder / f"ledger-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.backup"
    ledger = Ledger(settings)
    try:
        backup(ledger, path)
    finally:
        ledger.close()
    kept = sorted(folder.glob("ledger-*.backup"))
    for old in kept[: max(0, len(kept) - max(settings.backup_keep, 1))]:
        old.unlink()
    return path
