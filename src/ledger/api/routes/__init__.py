"""The API's routers, in the order they are mounted: one module per resource,
and the command routes generated from their declarations (``command_router``)."""

from __future__ import annotations

from fastapi import APIRouter

from ledger.api.routes import (
    admin,
    audit,
    board,
    documents,
    events,
    health,
    imports,
    metrics,
    orders,
    registers,
    reserved,
    seasonal,
    webhooks,
)
from ledger.api.routes.commands import command_router

ROUTERS: tuple[APIRouter, ...] = (
    orders.router,
    command_router("lifecycle"),
    command_router("shipments"),
    documents.router,
    command_router("supply"),
    command_router("finance"),
    command_router("complaints"),
    imports.router,
    board.router,
    registers.router,
    seasonal.router,
    admin.router,
    webhooks.router,
    metrics.router,
    audit.router,
    events.router,
    reserved.router,
    health.router,
)
