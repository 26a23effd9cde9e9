"""One stable JSON form of command arguments, for idempotency fingerprints."""

from __future__ import annotations

import json
from typing import Any

from ledger.aggregates.readout import plain


def canonical_json(value: Any) -> str:
    return json.dumps(
        plain(value, normalize_decimals=True),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
