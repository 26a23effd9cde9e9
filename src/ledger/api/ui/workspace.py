"""The pages that change orders: ``/ui/orders/new`` and the order page's action forms.

Every post is refused unless it comes from our own page (``actions.form_is_ours``:
same origin and this session's form token) and is then sent to the API as
the signed-in user (``actions.send``): the page records exactly what the API
would, refuses what it would refuse, and a refusal comes back to the same
form, in the page's language, with what was typed kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ledger.api.auth import Principal
from ledger.api.commands import BY_NAME as COMMANDS
from ledger.api.deps import in_thread
from ledger.api.params import CleanText
from ledger.api.ui import order_view
from ledger.api.ui.actions import (
    BY_NAME,
    RECEIVE_FIELDS,
    Outcome,
    action_path,
    csrf_token,
    form_is_ours,
    one_time_key,
    send,
)
from ledger.api.ui.forms import Field, error_places, row_count, to_body
from ledger.api.ui.i18n import translator
from ledger.api.ui.i18n_values import guard_message
from ledger.api.ui.pages import render_order
from ledger.api.ui.render import PageRoute, lang_of, page, refused, to_login
from ledger.api.ui.session import principal_of

router = APIRouter(prefix="/ui/orders", include_in_schema=False, route_class=PageRoute)
NEW_ROWS = 3
MAX_FORM_FIELDS = 2000


async def _form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def compact_rows(fields: list[Field], form: dict[str, str]) -> dict[str, str]:
    """The form with removed and blank rows dropped and the rest renumbered:
    what a form shows again (after "add a row", or a refusal)."""
    kept = {k: v for k, v in form.items() if not any(k.startswith(f"{f.name}.") for f in fields
                                                         if f.kind == "rows")}  # fmt: skip
    for f in fields:
        if f.kind != "rows":
            continue
        n = 0
        for i in range(row_count(form, f.name)):
            cells = {c.key: form.get(f"{f.name}.{i}.{c.key}", "") for c in f.columns}
            if form.get(f"{f.name}.{i}._remove") or not any(v.strip() for v in cells.values()):
                continue
            kept.update({f"{f.name}.{n}.{key}": value for key, value in cells.items()})
            n += 1
    return kept


def refusal(outcome: Outcome, lang: str) -> str:
    """The API's refusal in the page's language."""
    t = translator(lang)
    code = str(outcome.body.get("code", ""))
    message = str(outcome.body.get("message", ""))
    if outcome.status == 412 or code == "stale_version":
        return t("form.stale")
    if (
        code == "invalid_input"
        and outcome.status == 422
        and isinstance(outcome.body.get("details"), list)
    ):
        return t("form.invalid")
    if code in ("forbidden", "unauthorized", "unknown_token", "missing_token"):
        return t("form.forbidden")
    return guard_message(code, message, lang)


# -- a new order -------------------------------------------------------------------------


RECEIVE = COMMANDS["receive"]


def _new_page(request: Request, who: Principal, status: int = 200, **context: Any) -> HTMLResponse:
    values = context.setdefault("values", {})
    context.setdefault("errors", {})
    context.setdefault("message", "")
    context.setdefault("key", one_time_key())
    rows = max(row_count(values, "lines"), 0 if values else NEW_ROWS)
    context["rows"] = {"lines": max(rows + context.pop("add", 0), 1)}
    return page(
        request, "new_order.html", who, status, fields=RECEIVE_FIELDS, csrf=csrf_token(request),
        **context,
    )  # fmt: skip


@router.get("/new", response_class=HTMLResponse)
def new_order_form(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    if not who.may(RECEIVE.permission):
        return refused(request, 403, "error.forbidden", "form.forbidden")
    return _new_page(request, who)


@router.post("/new", response_class=HTMLResponse)
async def new_order(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    form = await _form(request)
    if not form_is_ours(request, form):
        return refused(request, 403, "error.forbidden", "error.other_site")
    if not who.may(RECEIVE.permission):
        return refused(request, 403, "error.forbidden", "form.forbidden")
    key = form.get("_key") or one_time_key()
    if form.get("_add"):
        values = compact_rows(RECEIVE_FIELDS, form)
        return _new_page(request, who, values=values, key=key, add=1)
    outcome = await send(request, RECEIVE.path, to_body(RECEIVE_FIELDS, form), key=key)
    if outcome.ok:
        return RedirectResponse(f"/ui/orders/{outcome.body['id']}?done=receive", status_code=303)
    values = compact_rows(RECEIVE_FIELDS, form)
    errors = error_places(outcome.body.get("details"))
    return _new_page(
        request, who, outcome.status, values=values, key=key,
        message=refusal(outcome, lang_of(request)), errors=errors,
    )  # fmt: skip


# -- an action on an order ---------------------------------------------------------------


def _version(text: str) -> int:
    return int(text) if text.isdigit() and 0 < len(text) <= 9 else 0


def _stale(request: Request) -> str:
    return translator(lang_of(request))("form.stale")


@router.post("/{ref}/actions/{name}", response_class=HTMLResponse)
async def act(
    request: Request,
    ref: Annotated[CleanText, Path(max_length=80)],
    name: Annotated[CleanText, Path(max_length=40)],
) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    action = BY_NAME.get(name)
    if action is None:
        return refused(request, 404, "error.not_found", "error.no_page", request.url.path)
    form = await _form(request)
    if not form_is_ours(request, form):
        return refused(request, 403, "error.forbidden", "error.other_site")
    order_id = str(order_view.resolve_order_id(ref))
    key = form.get("_key") or one_time_key()
    version = _version(form.get("_version", ""))
    failed: dict[str, Any] = {"action": name, "key": key, "version": version, "errors": {}}
    if not version:  # a form without the version it was rendered at is not ours to send
        failed.update(values=compact_rows(action.fields, form), message=_stale(request))
        return await in_thread(
            lambda: render_order(request, who, order_id, status_code=412, failed=failed)
        )
    if form.get("_add"):
        values = compact_rows(action.fields, form)
        failed.update(values=values, message="", add={form["_add"]: 1})
        return await in_thread(lambda: render_order(request, who, order_id, failed=failed))
    if not who.may(action.permission):
        failed.update(values=form, message=translator(lang_of(request))("form.forbidden"))
        return await in_thread(
            lambda: render_order(request, who, order_id, status_code=403, failed=failed)
        )
    body = to_body(action.fields, form)
    path = action_path(order_id, action, form.get("_subject", ""))
    outcome = await send(request, path, body, key=key, version=version)
    if outcome.ok:
        return RedirectResponse(f"/ui/orders/{order_id}?done={name}#h-summary", status_code=303)
    failed.update(
        values=compact_rows(action.fields, form),
        message=refusal(outcome, lang_of(request)),
        errors=error_places(outcome.body.get("details")),
    )
    # The page is read and rendered off the event loop, as a page's GET is.
    return await in_thread(
        lambda: render_order(request, who, order_id, status_code=outcome.status, failed=failed)
    )
