"""The API's routers, in the order they are mounted: one module per resource,
and the command routes generated from their declarations (``command_router``)."""

from __future__ import annotations

from fastapi import APIRouter

from ledger.api.routes import (
    admin,
    audit,
    backlog,
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
    tracking,
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
    tracking.router,
    command_router("tracking"),
    backlog.router,
    command_router("backlog review"),
    imports.router,
    board.router,
    registers.router,
    seasonal.router,
    backlog.reports,
    admin.router,
    webhooks.router,
    metrics.router,
    audit.router,
    events.router,
    tracking.public,
    reserved.router,
    health.router,
)
