"""Read-model, audit and admin paths reserved for the projections and audit work.

Each answers 501 ``not_implemented`` after the same role check it will have,
so clients and tests can rely on the paths and permissions already. Replace
a route here with its real module when its read model lands.
"""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import APIRouter

from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.responses import ErrorOut

NOT_YET: dict[int | str, dict[str, Any]] = {
    501: {"model": ErrorOut, "description": "arrives with its read model"}
}
router = APIRouter(tags=["reserved"], responses={**READ_ERRORS, **NOT_YET})


def _not_implemented(what: str) -> NoReturn:
    raise ApiError(501, "not_implemented", f"{what} is not available yet")
