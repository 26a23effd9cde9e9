"""The backup file: a tar of gzip'd JSON Lines of events, the side rows and a
sealed manifest (counts, sha256 per member, chain heads and seals, HMAC).

``events.jsonl.gz``: one stored event per line, in notification order:
``{"o": order, "v": version, "t": topic, "s": base64 of the stored bytes}``.
``side.json.gz``: order-number counters, idempotency keys, customer keys, seals.
``manifest.json``: read first by ``restore``, which checks everything it
states before writing anything.
"""

from __future__ import annotations

import json
from typing import Any

FORMAT = "ledger-backup/1"
EVENTS = "events.jsonl.gz"
SIDE = "side.json.gz"
MANIFEST = "manifest.json"
BATCH = 1000


class BackupRefused(Exception):
    """A restore that would be unsafe: non-empty target, corrupt file, bad seals."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
