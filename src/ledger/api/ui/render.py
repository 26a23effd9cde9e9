"""Rendering: the Jinja2 environment, the context every page shares, the headers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, date, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from ledger.aggregates.values import FIRST_DAY, LAST_DAY, UNIT_PRICE_PLACES, minor_unit
from ledger.api.auth import Principal
from ledger.api.ui.i18n import LANG_COOKIE, choose_lang, event_label, translator
from ledger.api.ui.i18n_values import field_label, value_label
from ledger.api.ui.session import principal_of
from ledger.api.ui.zone import display_zone, local_time, zone_name

HERE = Path(__file__).parent
# Attribute styles carry bar widths; no inline <script> or <style> element is allowed.
CSP = (
    "default-src 'none'; script-src 'self'; style-src-elem 'self'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _grouped(value: Any, places: int) -> str | None:
    """``value`` with thousands separators and at least ``places`` decimals,
    more when it has them: a figure is never rounded for display."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    exponent = amount.as_tuple().exponent
    shown = max(places, -exponent if isinstance(exponent, int) else 0)
    return f"{amount:,.{shown}f}"


def money(value: Any, currency: str = "", *, suffix: bool = True) -> str:
    """Exact amounts with thousands separators, with the decimals of the
    currency's minor unit: "127,500.00 CNY", "12,000 JPY"."""
    text = _grouped(value, minor_unit(currency or "CNY"))
    if text is None:
        return str(value)
    return f"{text} {currency}".strip() if suffix else text


def unit_price(value: Any) -> str:
    """A unit price with its 4 decimals: "1.2345", "100.0000"."""
    text = _grouped(value, UNIT_PRICE_PLACES)
    return str(value) if text is None else text


def percent(value: Any) -> int:
    return round(float(value or 0) * 100)


@pass_context
def short_time(context: Context, value: str | None) -> str:
    """ISO time as "2026-07-25 14:43 UTC+8", in the pages' display zone."""
    return local_time(value, context.get("zone") or UTC)


def days_late(promise: str | None, today: date) -> int:
    if not promise:
        return 0
    return max(0, (today - date.fromisoformat(promise)).days)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money, unit_price=unit_price, percent=percent, short_time=short_time, urlq=quote
    )
    env.globals.update(
        days_late=days_late, first_day=FIRST_DAY.isoformat(), last_day=LAST_DAY.isoformat()
    )
    return env


ENV = _environment()


def zone_of(request: Request) -> tzinfo:
    """The display zone of the pages (``LEDGER_TIMEZONE``, else the host's)."""
    return display_zone(getattr(request.app.state.settings, "timezone", None))


def lang_of(request: Request) -> str:
    return choose_lang(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def page(
    request: Request,
    template: str,
    who: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = ENV.get_template(template).render(
        t=translator(lang),
        ev=lambda kind: event_label(kind, lang),
        val=lambda value: value_label(value, lang),
        fl=lambda key: field_label(key, lang),
        lang=lang,
        html_lang="zh-Hans" if lang == "zh" else "en",
        who=who,
        here=here,
        path=request.url.path,
        zone=(zone := zone_of(request)),
        zone_name=zone_name(zone),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?next={quote(here, safe='')}", status_code=303)


def refused(
    request: Request, status_code: int, title: str, message: str, what: str = ""
) -> Response:
    """A 4xx page in the site's frame (pages never answer in JSON)."""
    who = principal_of(request)
    return page(request, "refused.html", who, status_code, title=title, message=message, what=what)


class PageRoute(APIRoute):
    """A page route whose invalid query or path parameters get a 422 page
    naming them, instead of the API's JSON error."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await standard(request)
            except RequestValidationError as invalid:
                names = sorted({str(e["loc"][-1]) for e in invalid.errors() if e.get("loc")})
                return refused(request, 422, "error.invalid", "error.bad_input", ", ".join(names))

        return handler
