"""The commands a page offers, and how a page's post reaches the API.

One table, ``ACTIONS``: the commands a page offers, by their names in the
API's command declarations (``ledger.api.commands``), which give each one's
path, permission, roles, request model and labels; the table adds only when
the order's state makes a command worth offering and what its path's ids are
chosen from. The forms are generated from the request models (``forms``), so
a field added to a model appears on the page; the fields' labels are the
pages' own (``i18n_values.FIELDS``), the registry having none.

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
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import quote

import httpx
from fastapi import Request
from pydantic import BaseModel

from ledger.api.auth import Principal
from ledger.api.commands import BY_NAME as COMMANDS
from ledger.api.commands import CommandDeclaration
from ledger.api.ui.forms import Field, fields_of
from ledger.api.ui.session import TOKEN_COOKIE, same_origin

State = dict[str, Any]
CLOSED = ("cancelled", "archived", "split", "merged")
INTERNAL = "http://ledger.internal"
_ID = re.compile(r"\{\w+\}")


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
    """A command a page can send, by its name in the command declarations
    (``ledger.api.commands``): path, permission, roles, request model and
    labels are the declaration's. What only a page needs is here: when the
    order's state makes it worth offering, the subjects its path's ids are
    chosen from (``shipment`` or ``shipment|kind``), the next actions it answers."""

    name: str
    when: Callable[[State], bool]
    subjects: Callable[[State], list[str]] | None = None
    serves: tuple[str, ...] = ()  # the board's next actions this command answers

    @property
    def command(self) -> CommandDeclaration[Any]:
        return COMMANDS[self.name]

    @property
    def path(self) -> str:
        return self.command.path

    @property
    def permission(self) -> str:
        return self.command.permission

    @property
    def roles(self) -> tuple[str, ...]:
        return self.command.roles

    @property
    def body(self) -> type[BaseModel]:
        return self.command.body

    def label(self, lang: str) -> str:
        return self.command.label("zh" if lang == "zh" else "en")

    @property
    def fields(self) -> list[Field]:
        return _fields(self.name)


@cache
def _fields(name: str) -> list[Field]:
    """A command's form fields, worked out once (never changed afterwards)."""
    return fields_of(COMMANDS[name])


ACTIONS: tuple[Action, ...] = (
    Action("verify", lambda s: _progressing(s) and s["status"] in ("received", "rejected"),
           serves=("verify order", "amend order and verify again")),
    Action("confirm", lambda s: _progressing(s) and s["status"] == "verified",
           serves=("confirm with customer",)),
    Action("promise_date", _confirmed, serves=("agree a new delivery date with customer",)),
    Action("schedule_shipment",
           lambda s: _confirmed(s) and any(line["open"] for line in s["lines"]),
           serves=("schedule shipment and prepare documents",
                   "plan production or allocate stock")),
    Action("progress_production",
           lambda s: _confirmed(s) and not s["production"]["completed"],
           serves=("plan production or allocate stock", "follow up production")),
    Action("complete_production",
           lambda s: _confirmed(s) and not s["production"]["completed"],
           serves=("follow up production",)),
    Action("amend", lambda s: _progressing(s) and s["facets"]["shipped"] == 0,
           serves=("amend order and verify again",)),
    Action("order_purchase", _confirmed),
    Action("receive_purchase", _open, _open_items("purchases", "po_number")),
    Action("allocate_stock", _confirmed),
    Action("release_stock", lambda s: _open(s) and s["facets"]["allocated"] > 0),
    Action("reschedule_shipment", _progressing, _shipments("planned", "packed")),
    Action("pack", _progressing, _shipments("planned")),
    Action("issue_document", _progressing, _shipments("planned", "packed"),
           serves=("schedule shipment and prepare documents",)),
    Action("change_document_status", _progressing, _documents),
    Action("dispatch", _progressing, _shipments("planned", "packed"),
           serves=("schedule shipment and prepare documents",)),
    Action("update_transit", _open, _in_transit, serves=("handle transit exception",)),
    Action("deliver", _open, _in_transit,
           serves=("track shipment to delivery", "handle transit exception")),
    Action("invoice",
           lambda s: _open(s) and s["status"] not in ("received", "verified", "rejected"),
           serves=("invoice customer",)),
    Action("issue_credit_note", lambda s: _open(s) and bool(s["invoices"])),
    Action("receive_payment", lambda s: _open(s) and bool(s["invoices"]),
           serves=("collect payment",)),
    Action("settle", lambda s: _open(s) and s["stage"] == "invoiced", serves=("settle order",)),
    Action("archive",
           lambda s: s["stage"] in ("settled", "cancelled") and s["status"] != "archived",
           serves=("archive order",)),
    Action("raise_quality_issue", _open),
    Action("resolve_quality_issue", _open, _open_items("quality_issues", "issue_id"),
           serves=("resolve quality issue",)),
    Action("file_complaint", lambda s: s["status"] not in CLOSED),
    Action("resolve_complaint", lambda s: s["status"] not in CLOSED,
           _open_items("complaints", "complaint_id"), serves=("resolve complaint",)),
    Action("hold", lambda s: _open(s) and not s["on_hold"]),
    Action("release", lambda s: _open(s) and s["on_hold"],
           serves=("resolve hold and release",)),
    Action("short_close", lambda s: _confirmed(s) and any(line["open"] for line in s["lines"])),
    Action("review_backlog", _open),
    Action("cancel", lambda s: _open(s) and s["facets"]["shipped"] == 0),
)  # fmt: skip
BY_NAME = {action.name: action for action in ACTIONS}
RECEIVE_FIELDS = fields_of(COMMANDS["receive"])


def offered(who: Principal, state: State, next_action: str) -> list[Action]:
    """The commands this user's roles may send and the order's state calls
    for now; the one answering the board's next action first."""
    mine = [
        a
        for a in ACTIONS
        if not who.roles.isdisjoint(a.roles)
        and a.when(state)
        and (a.subjects is None or a.subjects(state))
    ]
    return sorted(mine, key=lambda a: next_action not in a.serves)


def done_label(name: str, lang: str) -> str:
    """What a recorded command is called on the page (``?done=``), or ``""``."""
    command = COMMANDS.get(name)
    return command.label("zh" if lang == "zh" else "en") if command is not None else ""


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
    """The declaration's path with the order's id and the subject's ids in
    it: ``shipment|kind`` names a shipment and one of its documents."""
    parts = iter(
        quote(part, safe="") for part in subject.split("|", max(len(action.command.ids) - 1, 0))
    )
    path = action.path.replace("{order_id}", quote(order_id, safe=""))
    return _ID.sub(lambda _: next(parts, ""), path)
