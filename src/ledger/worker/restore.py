"""Restore: the audit's checked load of a backup, then every read model rebuilt.

``ledger.audit.restore`` checks a backup and loads its events and side rows
into an empty store; the read models are the worker's, so rebuilding them
after the load is done here (the audit never imports the worker).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger.audit.restore import CheckedBackup, load
from ledger.audit.verify import Progress
from ledger.worker.process import Worker


def restore(
    ledger: Any, source: Path | CheckedBackup, progress: Progress | None = None
) -> dict[str, int]:
    """Load ``source`` into the ledger's empty store (``BackupRefused`` says why
    not), then rebuild every read model from the restored events."""
    counts = load(ledger, source, progress)
    rebuild_projections(ledger)
    return counts


def rebuild_projections(ledger: Any) -> list[str]:
    """Rebuild every registered read model from the stored events, in one pass
    over the log (``Worker.rebuild_all``); returns the names rebuilt."""
    worker = Worker(ledger)
    try:
        return [str(entry["key"]) for entry in worker.rebuild_all()]
    finally:
        worker.stop()
