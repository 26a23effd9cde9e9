"""Webhook subscriptions (admin only): create (the secret is shown once), list,
read, delete, the deliveries log, and replay from a position."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ledger.api.deps import allow
from ledger.api.errors import READ_ERRORS, ApiError
from ledger.api.read_models import WorkerDep
from ledger.api.responses import ErrorOut, FastJSON
from ledger.api.routes.events import feed_types
from ledger.audit.keys import AuditKeyMissing
from ledger.integration.delivery import message_id
from ledger.integration.egress import EgressRefused, check_url
from ledger.integration.signing import new_secret
from ledger.integration.webhook_store import STATUSES, Subscription
from ledger.worker import Worker

router = APIRouter(
    prefix="/admin/webhooks", tags=["webhooks"], dependencies=[allow("admin")],
    responses={**READ_ERRORS, 503: {"model": ErrorOut, "description": "no audit key to seal "
                                    "the secret with (PostgreSQL without LEDGER_AUDIT_KEY)"}},
)  # fmt: skip
WebhookId = Annotated[str, Path(pattern=r"^wh_[0-9a-f]{32}$", description="a webhook's id")]
EventType = Annotated[str, Field(min_length=1, max_length=64)]


class WebhookIn(BaseModel):
    """A subscription: where to, which event types (``["*"]``: all), what for."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, examples=["https://erp.example.com/hooks"])
    events: list[EventType] = Field(min_length=1, max_length=100, examples=[["*"]])
    description: str = Field("", max_length=500)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    description: str
    status: str
    disabled_reason: str | None
    created_at: str
    position: int
    deliveries: dict[str, int]


class CreatedOut(WebhookOut):
    secret: str = Field(description="whsec_…: shown this once, keep it to verify signatures")


class WebhooksOut(BaseModel):
    items: list[WebhookOut]


class DeliveryOut(BaseModel):
    position: int
    webhook_id: str = Field(description="the webhook-id header of its every attempt")
    order_id: str
    version: int
    type: str
    status: str
    attempts: int
    last_status: int | None
    last_error: str | None
    last_attempt_at: str | None
    next_attempt_at: str | None
    delivered_at: str | None


class DeliveriesOut(BaseModel):
    items: list[DeliveryOut]
    total: int
    limit: int
    offset: int


def _found(worker: Worker, webhook_id: str) -> Subscription:
    subscription = worker.webhooks.store.get(webhook_id)
    if subscription is None:
        raise ApiError(404, "webhook_not_found", f"no webhook {webhook_id}", {"id": webhook_id})
    return subscription


def _shown(worker: Worker, s: Subscription) -> dict[str, Any]:
    return {
        "id": s.id, "url": s.url, "events": list(s.events), "description": s.description,
        "status": s.status, "disabled_reason": s.disabled_reason, "created_at": s.created_at,
        "position": s.position, "deliveries": worker.webhooks.store.counts(s.id),
    }  # fmt: skip


@router.post("", status_code=201, response_model=CreatedOut)
def create_webhook(body: WebhookIn, worker: WorkerDep) -> Response:
    """Subscribe a URL to events from now on (``replay`` reaches back); the
    answer holds the signing secret, which is never shown again."""
    events = feed_types(",".join(body.events))
    try:
        check_url(body.url, worker.settings.webhook_allow_private)
    except EgressRefused as refused:
        raise ApiError(422, refused.code, refused.message, {"url": body.url}) from None
    webhook_id = f"wh_{uuid.uuid4().hex}"
    secret = new_secret()
    try:
        sealed = worker.webhooks.box().seal(webhook_id, secret)
    except AuditKeyMissing as missing:
        raise ApiError(503, missing.code, str(missing)) from None
    subscription = Subscription(
        webhook_id, body.url, events, body.description, sealed, "active", None,
        datetime.now(UTC).isoformat(), worker.webhooks.feed.head(),
    )  # fmt: skip
    worker.webhooks.store.add(subscription)
    worker.webhooks.poke()
    return FastJSON({**_shown(worker, subscription), "secret": secret}, 201)


@router.get("", response_model=WebhooksOut)
def list_webhooks(worker: WorkerDep) -> Response:
    """Every subscription (never its secret)."""
    return FastJSON({"items": [_shown(worker, s) for s in worker.webhooks.store.all()]})


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: WebhookId, worker: WorkerDep) -> Response:
    """One subscription, with its deliveries counted by status."""
    return FastJSON(_shown(worker, _found(worker, webhook_id)))


@router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: WebhookId, worker: WorkerDep) -> Response:
    """Stop delivering and forget the subscription and its deliveries."""
    if not worker.webhooks.store.delete(webhook_id):
        raise ApiError(404, "webhook_not_found", f"no webhook {webhook_id}", {"id": webhook_id})
    worker.webhooks.poke()
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveriesOut)
def webhook_deliveries(
    webhook_id: WebhookId,
    worker: WorkerDep,
    status: Annotated[str | None, Query(pattern=f"^({'|'.join(STATUSES)})$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    """The deliveries, newest first: status, attempts, last answer or error, next attempt."""
    _found(worker, webhook_id)
    rows, total = worker.webhooks.store.log(webhook_id, status, limit, offset)
    items = [_delivery(webhook_id, row) for row in rows]
    return FastJSON({"items": items, "total": total, "limit": limit, "offset": offset})


@router.post("/{webhook_id}/replay", status_code=202)
def replay_webhook(
    webhook_id: WebhookId,
    worker: WorkerDep,
    start: Annotated[int, Query(alias="from", ge=1, le=2**62, description="a position")],
) -> Response:
    """Deliver again every matching event from position ``from`` on, in order,
    with the same ``webhook-id`` as before; a disabled subscription becomes active."""
    _found(worker, webhook_id)
    if start > worker.webhooks.feed.head() + 1:
        raise ApiError(422, "position_not_in_log", f"no event at position {start} yet",
                       {"from": start})  # fmt: skip
    now = datetime.now(UTC)
    if not worker.webhooks.store.replay(webhook_id, start, now.timestamp()):
        raise ApiError(404, "webhook_not_found", f"no webhook {webhook_id}", {"id": webhook_id})
    worker.webhooks.poke()
    return FastJSON({"id": webhook_id, "from": start, "status": "active"}, 202)


def _delivery(webhook_id: str, row: dict[str, Any]) -> dict[str, Any]:
    def moment(value: float | None) -> str | None:
        return None if value is None else datetime.fromtimestamp(value, UTC).isoformat()

    return {
        "position": row["position"], "webhook_id": message_id(webhook_id, row["position"]),
        "order_id": row["order_id"], "version": row["version"], "type": row["type"],
        "status": row["status"], "attempts": row["attempts"], "last_status": row["last_status"],
        "last_error": row["last_error"], "last_attempt_at": moment(row["last_attempt_at"]),
        "next_attempt_at": moment(row["next_attempt_at"]) if row["status"] != "delivered" else None,
        "delivered_at": moment(row["delivered_at"]),
    }  # fmt: skip
