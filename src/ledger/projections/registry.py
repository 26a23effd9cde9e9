"""Every read model the service runs, by name.

The worker starts one runner per entry, ``ledger rebuild`` and
``POST /admin/projections/{name}/rebuild`` accept these names, and the API
answers a read-model endpoint only when its model is listed here. Adding a
read model is one line below.
"""

from __future__ import annotations

from typing import Any

from ledger.projections.archive import ARCHIVE
from ledger.projections.backlog import BACKLOG
from ledger.projections.board import BOARD
from ledger.projections.complaints import COMPLAINTS
from ledger.projections.framework import ReadModel
from ledger.projections.reports import REPORTS
from ledger.projections.search import SEARCH
from ledger.projections.seasonal import SEASONAL
from ledger.projections.shipments import SHIPMENTS
from ledger.projections.statements import STATEMENTS

READ_MODELS: dict[str, ReadModel[Any]] = {
    model.name: model
    for model in (
        BOARD,
        BACKLOG,
        SEARCH,
        REPORTS,
        COMPLAINTS,
        STATEMENTS,
        SHIPMENTS,
        ARCHIVE,
        SEASONAL,
    )
}


def read_model(name: str) -> ReadModel[Any]:
    """The registered read model called ``name``; ``KeyError`` if none."""
    return READ_MODELS[name]
