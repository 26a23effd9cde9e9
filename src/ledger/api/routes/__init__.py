"""The API's routers, one module per resource, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from ledger.api.routes import (
    admin,
    audit,
    board,
    complaints,
    events,
    finance,
    health,
    lifecycle,
    metrics,
    orders,
    registers,
    reserved,
    shipments,
    supply,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    orders.router,
    lifecycle.router,
    shipments.router,
    supply.router,
    finance.router,
    complaints.router,
    board.router,
    registers.router,
    admin.router,
    webhooks.router,
    metrics.router,
    audit.router,
    events.router,
    reserved.router,
    health.router,
)
