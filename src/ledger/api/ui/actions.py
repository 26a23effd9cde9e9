"""The commands a page offers, and how a page's post reaches the API.

One table, ``ACTIONS``: per command its API path, request model and
permission (the API's own: ``ledger.api.schemas`` and the role table of
``ledger.api.auth``), and when the order's state makes it worth offering.
The forms are generated from the request models (``forms``), so a field
added to a model appears on the page. When the command declarations of the
API become one registry, this table is the one place to switch to it.

A page's post is sent through the application's HTTP interface itself (the
same ASGI app, in process): the same role check, validation, idempotency
and version check as a client of the API, with the signed-in user's token,
``If-Match`` the version the form was rendered at and ``Idempotency-Key``
the form's one-time key. What the API refuses, the page refuses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request
from pydantic import BaseModel

from ledger.api import schemas
from ledger.api.auth import Principal
from ledger.api.ui.forms import Field, fields_of
from ledger.api.ui.session import TOKEN_COOKIE, same_origin

State = dict[str, Any]
CLOSED = ("cancelled", "archived", "split", "merged")
INTERNAL = "http://ledger.internal"


def _open(s: State) -> bool:
    return s["status"] not in CLOSED and s["stage"] != "settled"


def _progressing(s: State) -> bool:
    return _open(s) and not s["on_hold"]


def _confirmed(s: State) -> bool:
    return _progressing(s) and s["status"] not in ("received", "verified", "rejected")


def _shipments(*statuses: str) -> Callable[[State], list[str]]:
    def pick(s: State) -> list[str]:
        return [sh["shipment_id"] for sh in s["shipments"] if sh["status"] in statuses]

    return pick


def _in_transit(s: State) -> list[str]:
    return [sh["shipment_id"] for sh in s["shipments"] if sh["status"] == "dispatched"]


def _documents(s: State) -> list[str]:
    """``shipment|kind`` of every document not yet cleared, of shipments not gone."""
    return [
        f"{sh['shipment_id']}|{kind}"
        for sh in s["shipments"]
        if sh["status"] in ("planned", "packed")
        for kind, doc in (sh.get("documents") or {}).items()
        if doc["status"] != "cleared"
    ]


def _open_items(key: str, ident: str) -> Callable[[State], list[str]]:
    def pick(s: State) -> list[str]:
        return [item[ident] for item in s[key] if item.get("status") == "open"]

    return pick


@dataclass(frozen=True)
class Action:
    """A command a page can send: ``path`` below ``/orders/{order_id}``,
    ``{subject}`` in it chosen from ``subjects(state)`` when there is one."""

    name: str
    permission: str
    path: str
    body: type[BaseModel] | None
    when: Callable[[State], bool]
    subjects: Callable[[State], list[str]] | None = None
    serves: tuple[str, ...] = ()  # the board's next actions this command answers

    @property
    def fields(self) -> list[Field]:
        return _fields(self.body) if self.body is not None else []


@cache
def _fields(model: type[BaseModel]) -> list[Field]:
    """A model's form fields, worked out once (never changed afterwards)."""
    return fields_of(model)


ACTIONS: tuple[Action, ...] = (
    Action("verify", "verify", "/verify", schemas.VerifyIn,
           lambda s: _progressing(s) and s["status"] in ("received", "rejected"),
           serves=("verify order", "amend order and verify again")),
    Action("confirm", "confirm", "/confirm", schemas.ConfirmIn,
           lambda s: _progressing(s) and s["status"] == "verified",
           serves=("confirm with customer",)),
    Action("promise", "promise", "/promises", schemas.PromiseIn, _confirmed,
           serves=("agree a new delivery date with customer",)),
    Action("schedule", "schedule", "/shipments", schemas.ScheduleShipmentIn,
           lambda s: _confirmed(s) and any(line["open"] for line in s["lines"]),
           serves=("schedule shipment and prepare documents",
                   "plan production or allocate stock")),
    Action("production", "production", "/production", schemas.ProgressIn,
           lambda s: _confirmed(s) and not s["production"]["completed"],
           serves=("plan production or allocate stock", "follow up production")),
    Action("complete_production", "production", "/production/complete", None,
           lambda s: _confirmed(s) and not s["production"]["completed"],
           serves=("follow up production",)),
    Action("amend", "amend", "/amend", schemas.AmendIn,
           lambda s: _progressing(s) and s["facets"]["shipped"] == 0,
           serves=("amend order and verify again",)),
    Action("purchase", "purchase", "/purchases", schemas.PurchaseIn, _confirmed),
    Action("receive_purchase", "purchase", "/purchases/{subject}/receive",
           schemas.ReceivePurchaseIn, _open, _open_items("purchases", "po_number")),
    Action("allocate", "stock", "/allocations", schemas.StockIn, _confirmed),
    Action("release_stock", "stock", "/allocations/release", schemas.StockIn,
           lambda s: _open(s) and s["facets"]["allocated"] > 0),
    Action("reschedule", "schedule", "/shipments/{subject}/reschedule", schemas.RescheduleIn,
           _progressing, _shipments("planned", "packed")),
    Action("pack", "pack", "/shipments/{subject}/pack", schemas.PackIn, _progressing,
           _shipments("planned")),
    Action("document", "document", "/shipments/{subject}/documents", schemas.DocumentIn,
           _progressing, _shipments("planned", "packed"),
           serves=("schedule shipment and prepare documents",)),
    Action("document_status", "document", "/shipments/{subject}/status",
           schemas.DocumentStatusIn, _progressing, _documents),
    Action("dispatch", "dispatch", "/shipments/{subject}/dispatch", schemas.DispatchIn,
           _progressing, _shipments("planned", "packed"),
           serves=("schedule shipment and prepare documents",)),
    Action("transit", "transit", "/shipments/{subject}/transit", schemas.TransitIn,
           _open, _in_transit, serves=("handle transit exception",)),
    Action("deliver", "deliver", "/shipments/{subject}/deliver", schemas.DeliverIn,
           _open, _in_transit, serves=("track shipment to delivery", "handle transit exception")),
    Action("invoice", "invoice", "/invoices", schemas.InvoiceIn,
           lambda s: _open(s) and s["status"] not in ("received", "verified", "rejected"),
           serves=("invoice customer",)),
    Action("credit", "credit", "/credit-notes", schemas.CreditNoteIn,
           lambda s: _open(s) and bool(s["invoices"])),
    Action("payment", "payment", "/payments", schemas.PaymentIn,
           lambda s: _open(s) and bool(s["invoices"]), serves=("collect payment",)),
    Action("settle", "settle", "/settle", None,
           lambda s: _open(s) and s["stage"] == "invoiced", serves=("settle order",)),
    Action("archive", "archive", "/archive", schemas.ArchiveIn,
           lambda s: s["stage"] in ("settled", "cancelled") and s["status"] != "archived",
           serves=("archive order",)),
    Action("quality", "quality", "/quality-issues", schemas.QualityIssueIn, _open),
    Action("resolve_quality", "quality", "/quality-issues/{subject}/resolve",
           schemas.ResolveQualityIssueIn, _open, _open_items("quality_issues", "issue_id"),
           serves=("resolve quality issue",)),
    Action("complaint", "complaint", "/complaints", schemas.ComplaintIn,
           lambda s: s["status"] not in CLOSED),
    Action("resolve_complaint", "complaint", "/complaints/{subject}/resolve",
           schemas.ResolveComplaintIn, lambda s: s["status"] not in CLOSED,
           _open_items("complaints", "complaint_id"), serves=("resolve complaint",)),
    Action("hold", "hold", "/hold", schemas.ReasonIn, lambda s: _open(s) and not s["on_hold"]),
    Action("release", "release", "/release", schemas.ReasonIn,
           lambda s: _open(s) and s["on_hold"], serves=("resolve hold and release",)),
    Action("short_close", "short_close", "/short-close", schemas.ShortCloseIn,
           lambda s: _confirmed(s) and any(line["open"] for line in s["lines"])),
    Action("cancel", "cancel", "/cancel", schemas.ReasonIn,
           lambda s: _open(s) and s["facets"]["shipped"] == 0),
)  # fmt: skip
BY_NAME = {action.name: action for action in ACTIONS}
# Each action's command: the ``Ledger`` method it ends in, the name the command
# declarations will carry (the key to switch ``path``, ``body`` and ``permission`` to).
COMMAND_OF = {
    "verify": "verify", "confirm": "confirm", "promise": "promise_date",
    "schedule": "schedule_shipment", "production": "progress_production",
    "complete_production": "complete_production", "amend": "amend",
    "purchase": "order_purchase", "receive_purchase": "receive_purchase",
    "allocate": "allocate_stock", "release_stock": "release_stock",
    "reschedule": "reschedule_shipment", "pack": "pack", "document": "issue_document",
    "document_status": "change_document_status", "dispatch": "dispatch",
    "transit": "update_transit", "deliver": "deliver", "invoice": "invoice",
    "credit": "issue_credit_note", "payment": "receive_payment", "settle": "settle",
    "archive": "archive", "quality": "raise_quality_issue",
    "resolve_quality": "resolve_quality_issue", "complaint": "file_complaint",
    "resolve_complaint": "resolve_complaint", "hold": "hold", "release": "release",
    "short_close": "short_close", "cancel": "cancel",
}  # fmt: skip
RECEIVE_FIELDS = fields_of(schemas.ReceiveIn)


def offered(who: Principal, state: State, next_action: str) -> list[Action]:
    """The commands this user's roles may send and the order's state calls
    for now; the one answering the board's next action first."""
    mine = [
        a
        for a in ACTIONS
        if who.may(a.permission) and a.when(state) and (a.subjects is None or a.subjects(state))
    ]
    return sorted(mine, key=lambda a: next_action not in a.serves)


# -- CSRF and one-time keys ------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's form token: derived from the session's own (secret) token,
    so another site can neither read nor forge it."""
    token = request.cookies.get(TOKEN_COOKIE, "")
    return hmac.new(token.encode(), b"ledger-ui-form", hashlib.sha256).hexdigest()[:32]


def form_is_ours(request: Request, form: Mapping[str, str]) -> bool:
    """A state-changing post from our own page: same origin, not marked
    cross-site by the browser, and carrying this session's form token."""
    if not same_origin(request) or request.headers.get("sec-fetch-site") == "cross-site":
        return False
    if not request.cookies.get(TOKEN_COOKIE):
        return False
    return hmac.compare_digest(str(form.get("_csrf", "")), csrf_token(request))


def one_time_key() -> str:
    return f"ui-{uuid.uuid4().hex}"


# -- sending ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.status < 300


async def send(
    request: Request,
    path: str,
    body: dict[str, Any] | None,
    *,
    key: str,
    version: int | None = None,
) -> Outcome:
    """POST ``body`` to the API at ``path`` as the signed-in user."""
    headers = {
        "Authorization": f"Bearer {request.cookies.get(TOKEN_COOKIE, '')}",
        "Idempotency-Key": key,
        "Content-Type": "application/json",
    }
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=INTERNAL) as client:
        answer = await client.post(path, content=json.dumps(body or {}), headers=headers)
    try:
        parsed = answer.json()
    except ValueError:
        parsed = {"code": "error", "message": answer.text[:200], "details": None}
    return Outcome(answer.status_code, parsed if isinstance(parsed, dict) else {})


def action_path(order_id: str, action: Action, subject: str) -> str:
    """The API path; a document's subject ``shipment|kind`` names both."""
    parts = [quote(part, safe="") for part in subject.split("|", 1)]
    named = "/documents/".join(parts)
    return f"/orders/{order_id}" + action.path.replace("{subject}", named)
