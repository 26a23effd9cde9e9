"""What the read-model routes share: the worker dependency, read-your-writes
(``?after=``), time travel (``?as_of=``), paging parameters and response models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import Depends, Query, Request
from pydantic import BaseModel, ConfigDict

from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.fields import DATE_RANGE, BusinessMoment
from ledger.api.params import CleanText
from ledger.api.responses import ErrorOut
from ledger.projections.order_rows import MAX_LIMIT
from ledger.worker import Worker


async def get_worker(request: Request) -> Worker:
    return cast(Worker, request.app.state.worker)


WorkerDep = Annotated[Worker, Depends(get_worker)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="items to skip")]
After = Annotated[
    int | None,
    Query(ge=0, le=2**62, description="wait until the view has applied this store position"),
]
Wait = Annotated[float, Query(gt=0, le=30, description="seconds to wait for ?after=")]
AsOf = Annotated[
    BusinessMoment | None,
    Query(description=f"ISO 8601 (naive = UTC): the view as it was then, on a day {DATE_RANGE}"),
]
Customer = Annotated[CleanText | None, Query(min_length=1, max_length=200)]

VIEW_ERRORS: dict[int | str, dict[str, Any]] = {
    **READ_ERRORS,
    503: {"model": ErrorOut, "description": "the view has not reached ?after= in time"},
}


def caught_up(worker: Worker, name: str, after: int | None, wait: float) -> None:
    """Wait for ``name`` to apply ``after``; 503 ``view_behind`` if it does not in time."""
    if after is None:
        return
    if after > worker.source.head():
        raise ApiError(
            422, "position_not_in_log", f"no event at position {after} yet", {"after": after}
        )
    try:
        worker.wait(name, after, timeout=wait)
    except TimeoutError:
        raise ApiError(
            503,
            "view_behind",
            f"the {name} view has not reached position {after} yet; retry shortly",
            {"view": name, "after": after},
            {"Retry-After": "1"},
        ) from None


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def invalid(message: str, details: Any = None) -> ApiError:
    return ApiError(422, "invalid_input", message, details)


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PageOut(Open):
    """A page of items with the total over every match."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int


class ColumnOut(Open):
    stage: str
    count: int
    cards: list[dict[str, Any]]


class BoardOut(Open):
    """Columns by stage: each with its card count and a page of cards."""

    columns: list[ColumnOut]
    today: str
    as_of: str | None = None
    alerts: dict[str, Any] | None = None


class BacklogOut(PageOut):
    """Overdue and stale orders; ``summary`` covers every match."""

    summary: dict[str, Any]
    as_of: str


class SearchOut(PageOut):
    """Orders found; ``count`` is the number of items on this page."""

    count: int


class ProjectionOut(Open):
    name: str
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    rows: int
    last_rebuild: dict[str, Any] | None
    runner: str
    error: str | None


class ProjectionsOut(Open):
    head: int
    projections: list[ProjectionOut]
