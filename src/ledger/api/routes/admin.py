"""Operating the read models: their status and their rebuilds (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from ledger.api.deps import allow
from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.params import CleanText
from ledger.api.read_models import ProjectionsOut, WorkerDep
from ledger.api.responses import ErrorOut, FastJSON
from ledger.worker import RebuildBusy

router = APIRouter(
    prefix="/admin/projections",
    tags=["admin"],
    dependencies=[allow("admin")],
    responses=READ_ERRORS,
)
ProjectionName = Annotated[CleanText, Path(min_length=1, max_length=64)]
BUSY: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "a rebuild of this read model is running"},
    202: {"description": "the rebuild started in the background"},
}


@router.get("", response_model=ProjectionsOut)
def projections(worker: WorkerDep) -> Response:
    """Per read model: position, head, lag (events, and age of the oldest
    unapplied event in seconds), rows, last rebuild, and whether this process runs it."""
    statuses = worker.status()
    head = statuses[0]["head"] if statuses else worker.source.head()
    return FastJSON({"head": head, "projections": statuses})


@router.post("/{name}/rebuild", responses=BUSY)
def rebuild_projection(
    name: ProjectionName,
    worker: WorkerDep,
    wait: Annotated[bool, Query(description="rebuild before answering (200)")] = False,
) -> Response:
    """Rebuild blue/green from position zero while the live view keeps serving:
    202 at once (progress in ``GET /admin/projections``), or 200 with the
    rebuild's figures when ``?wait=true``."""
    if name not in worker.views:
        known = sorted(worker.views)
        raise ApiError(404, "unknown_projection", f"no read model {name!r}", {"known": known})
    try:
        if wait:
            return FastJSON({"name": name, "status": "done", **worker.rebuild(name)})
        worker.rebuild_in_background(name)
    except RebuildBusy as busy:
        raise ApiError(409, "rebuild_in_progress", str(busy), {"name": name}) from None
    return FastJSON({"name": name, "status": "started"}, 202)
