"""Read-model, audit and admin paths reserved for the projections and audit work.

Each answers 501 ``not_implemented`` after the same role check it will have,
so clients and tests can rely on the paths and permissions already. Replace
a route here with its real module when its read model lands.
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Path

from ledger.api.deps import OrderId, PrincipalDep, allow
from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.responses import ErrorOut

NOT_YET: dict[int | str, dict[str, Any]] = {
    501: {"model": ErrorOut, "description": "arrives with its read model"}
}
router = APIRouter(tags=["reserved"], responses={**READ_ERRORS, **NOT_YET})


def _not_implemented(what: str) -> NoReturn:
    raise ApiError(501, "not_implemented", f"{what} is not available yet")


@router.get("/board")
def board(principal: PrincipalDep) -> None:
    """Progress board: columns by stage with cards (?as_of=)."""
    _not_implemented("the board")


@router.get("/backlog")
def backlog(principal: PrincipalDep) -> None:
    """Overdue and stale orders with ageing buckets (?as_of=)."""
    _not_implemented("the backlog")


@router.get("/reports/sales")
def sales_report(principal: PrincipalDep) -> None:
    """Orders and amounts by month, customer or product."""
    _not_implemented("the sales report")


@router.get("/complaints")
def complaint_register(principal: PrincipalDep) -> None:
    """Register of complaints and quality issues."""
    _not_implemented("the complaint register")


@router.get("/customers/{name}/statement")
def customer_statement(
    name: Annotated[str, Path(min_length=1, max_length=200)], principal: PrincipalDep
) -> None:
    """Invoiced, paid and outstanding per order of a customer."""
    _not_implemented("customer statements")


@router.get("/audit/archive")
def audit_archive(principal: PrincipalDep) -> None:
    """Archived orders by period, number and customer."""
    _not_implemented("the audit archive")


@router.get("/audit/orders/{order_id}/export", dependencies=[allow("audit")])
def audit_export(order_id: OrderId) -> None:
    """The order's history with chained hashes, as JSON Lines."""
    _not_implemented("the audit export")


@router.get("/audit/verify", dependencies=[allow("audit")])
def audit_verify() -> None:
    """Integrity check of the whole store."""
    _not_implemented("audit verification")


@router.get("/admin/projections", dependencies=[allow("admin")])
def projections() -> None:
    """Each projection's position, lag and last rebuild."""
    _not_implemented("projection status")


@router.post("/admin/projections/{name}/rebuild", dependencies=[allow("admin")])
def rebuild_projection(name: Annotated[str, Path(min_length=1, max_length=64)]) -> None:
    """Rebuild a projection from position zero."""
    _not_implemented("projection rebuild")
