"""The API's routers, one module per resource, in the order they are mounted."""

from __future__ import annotations

from fastapi import APIRouter

from ledger.api.routes import (
    admin,
    audit,
    backlog,
    board,
    complaints,
    documents,
    events,
    finance,
    health,
    imports,
    lifecycle,
    metrics,
    orders,
    registers,
    reserved,
    seasonal,
    shipments,
    supply,
    tracking,
    webhooks,
)

ROUTERS: tuple[APIRouter, ...] = (
    orders.router,
    lifecycle.router,
    shipments.router,
    documents.router,
    supply.router,
    finance.router,
    complaints.router,
    tracking.router,
    backlog.router,
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
