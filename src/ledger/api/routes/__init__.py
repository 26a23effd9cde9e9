"""The API's routers, one module per resource, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from ledger.api.routes import (
    complaints,
    finance,
    health,
    lifecycle,
    orders,
    reserved,
    shipments,
    supply,
)

ROUTERS: tuple[APIRouter, ...] = (
    orders.router,
    lifecycle.router,
    shipments.router,
    supply.router,
    finance.router,
    complaints.router,
    reserved.router,
    health.router,
)
