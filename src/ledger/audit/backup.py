"""``ledger backup``: every stored event, the side rows and a sealed manifest.

The manifest's heads are the chain recomputed from exactly the events in
the file, and its MAC under the audit key makes them a seal of their own;
the stored seals travel too, so a restore checks the events against both.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger.audit.backup_format import EVENTS, FORMAT, MANIFEST, SIDE, canonical
from ledger.audit.keys import mac
from ledger.audit.service import key_of
from ledger.audit.store import open_loader
from ledger.audit.verify import Progress
from ledger.persistence.chain import GENESIS, SEALS_TABLE, link_hash, originator_text
from ledger.settings import Settings

PAGE = 5000


def backup(ledger: Any, path: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Write the whole store to ``path``; returns the manifest."""
    key = key_of(ledger)
    events, count, heads = _events_member(ledger, progress)
    side = open_loader(ledger).read_side()
    side_bytes = gzip.compress(canonical(side), compresslevel=1, mtime=0)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "source": ledger.settings.database.backend,
        "counts": {"events": count, "orders": len(heads)}
        | {table: len(rows) for table, rows in side.items()},
        "sha256": {
            EVENTS: hashlib.sha256(events).hexdigest(),
            SIDE: hashlib.sha256(side_bytes).hexdigest(),
        },
        "heads": {o: [v, h.hex()] for o, (v, h) in heads.items()},
        "seals": side[SEALS_TABLE],
    }
    manifest["mac"] = mac(key, canonical(manifest)).hex()
    tmp = path.with_name(path.name + ".part")
    with tarfile.open(tmp, "w") as tar:
        for name, data in (
            (MANIFEST, json.dumps(manifest, indent=1).encode()),
            (EVENTS, events),
            (SIDE, side_bytes),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), int(time.time())
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(path)
    return manifest


def _events_member(
    ledger: Any, progress: Progress | None
) -> tuple[bytes, int, dict[str, tuple[int, bytes]]]:
    """The gzip'd event lines, their count, and each order's recomputed chain head."""
    buffer = io.BytesIO()
    count, start = 0, 1
    heads: dict[str, tuple[int, bytes]] = {}
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=1, mtime=0) as out:
        while page := ledger.recorder.select_notifications(start, PAGE):
            lines = []
            for n in page:
                order = originator_text(n.originator_id)
                prev = heads.get(order, (0, GENESIS))[1]
                heads[order] = (
                    n.originator_version,
                    link_hash(prev, order, n.originator_version, n.topic, n.state),
                )
                state = base64.b64encode(n.state).decode()
                # Built by hand: ids, numbers, topics and base64 need no escaping.
                lines.append(
                    f'{{"o":"{order}","v":{n.originator_version},"t":"{n.topic}","s":"{state}"}}'
                )
            out.write(("\n".join(lines) + "\n").encode())
            count += len(page)
            start = page[-1].id + 1
            if progress is not None:
                progress(len(page))
    return buffer.getvalue(), count, heads


def run_scheduled_backup(settings: Settings) -> Path:
    """The scheduler's job: back up into ``LEDGER_BACKUP_DIR`` and keep the
    newest ``LEDGER_BACKUP_KEEP`` files."""
    from ledger.application import Ledger

    folder = Path(settings.backup_dir)
    folder.mkdir(parents=True, exist_ok=True)
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
