"""``?format=csv|xlsx`` on the read-model listings: one decorator per route.

``@listing_get(router, "/backlog", BACKLOG, response_model=BacklogOut)``
registers the route as ``@router.get`` would, with one more query
parameter, ``format``. Without it the route answers its JSON as before;
with it, the same filters give a file of **every** matching row (the page
parameters ``limit``/``offset`` only page the JSON), in the listing's
order, with headers in the caller's language (``Accept-Language``: zh or
en). A CSV streams as it is written; an XLSX is written to a temporary
file (``0600``, unlinked at once) a row at a time, then streamed.

A route may also answer other layouts of its rows, as further listings:
``variants={"template": ORDERS_TEMPLATE}`` adds ``format=template-csv`` and
``format=template-xlsx`` (the orders in the import template's columns).
"""

from __future__ import annotations

import inspect
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import IO, Annotated, Any, Literal, TypeVar, cast, get_type_hints
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from ledger.api.export_labels import YES_NO, header
from ledger.api.read_models import caught_up, invalid, utc
from ledger.api.ui.i18n import choose_lang
from ledger.exports.listings import Listing, Params
from ledger.formats.sheets import Sheet, csv_chunks, write_xlsx
from ledger.persistence.personal import open_sealed
from ledger.worker import Worker

F = TypeVar("F", bound=Callable[..., Any])
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
CHUNK = 64 * 1024
_FORMAT_HELP = {
    False: "csv or xlsx: every matching row as a file (limit/offset not applied)",
    True: "csv or xlsx: every matching row as a file; pdf: a printable document",
}
SheetFormat = Annotated[Literal["csv", "xlsx"] | None, Query(description=_FORMAT_HELP[False])]
AnyFormat = Annotated[Literal["csv", "xlsx", "pdf"] | None, Query(description=_FORMAT_HELP[True])]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_responses(*formats: str) -> dict[int | str, dict[str, Any]]:
    """The 200 answer's other media types, for the OpenAPI document."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {200: {"content": {MEDIA[f].split(";")[0]: binary for f in formats}}}


def disposition(filename: str) -> str:
    """``attachment`` with an ASCII file name for old clients and the full
    name in UTF-8 (RFC 6266 / RFC 5987) for the others."""
    fallback = re.sub(r"-{2,}", "-", _UNSAFE.sub("-", filename)).strip("-") or "export"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_name(*parts: str, day: date, ext: str) -> str:
    words = [p.strip().replace("/", "-") for p in parts if p and p.strip()]
    return "-".join([*words, day.isoformat()]) + f".{ext}"


def language(request: Request, default: str = "en") -> str:
    """zh or en, by ``Accept-Language`` (``default`` when it names neither)."""
    accept = request.headers.get("accept-language")
    if not accept or not re.search(r"(^|,)\s*(en|zh)", accept.lower()):
        return default
    return choose_lang(None, accept)


def download(body: Iterator[bytes], fmt: str, filename: str, size: int | None = None) -> Response:
    headers = {"Content-Disposition": disposition(filename), "Cache-Control": "no-store"}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(body, media_type=MEDIA[fmt], headers=headers)


def _file_chunks(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        handle.seek(0)
        while chunk := handle.read(CHUNK):
            yield chunk


def sheet_file(listing: Listing, fmt: str, lang: str, worker: Worker, params: Params) -> Response:
    """Every item of ``listing`` under ``params`` as a CSV or XLSX download.
    Filters are checked (422) before anything is sent."""
    keys = worker.ledger.personal_keys
    # Read models keep personal texts sealed (even in the sort spool); a file
    # shows them as the JSON does: opened, or "[erased]" once erased.
    items = (open_sealed(item, keys) for item in listing.rows(worker, params))
    try:
        first = next(items, None)
    except ValueError as error:
        raise invalid(str(error)) from None
    columns = listing.columns(params)
    titles = (
        listing.headers(lang)
        if listing.headers is not None
        else [header(c.name, lang, utc=c.kind == "datetime") for c in columns]
    )
    sheet = Sheet(
        listing.name,
        titles,
        columns,
        items if first is None else chain([first], items),
        YES_NO[lang],
    )
    as_of = params.get("as_of")
    day = as_of.date() if as_of is not None else worker.now().date()
    name = file_name(listing.name, listing.stem(params), day=day, ext=fmt)
    if fmt == "csv":
        return download(csv_chunks(sheet), fmt, name)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the streamed body)
    write_xlsx(sheet, handle)
    return download(_file_chunks(handle), fmt, name, handle.tell())


@dataclass(frozen=True)
class PdfAnswer:
    """A listing's printable document: its extra query parameters (given only
    with ``format=pdf``) and how to answer (request, the route's arguments, extras)."""

    parameters: tuple[inspect.Parameter, ...]
    answer: Callable[[Request, dict[str, Any], dict[str, Any]], Response]


def listing_get(
    router: APIRouter,
    path: str,
    listing: Listing,
    *,
    pdf: PdfAnswer | None = None,
    variants: Mapping[str, Listing] | None = None,
    **options: Any,
) -> Callable[[F], F]:
    """``router.get(path, **options)`` with ``?format=`` added (see the module).
    ``variants`` are other layouts of the same rows: ``{"template": ...}`` adds
    ``format=template-csv`` and ``format=template-xlsx``."""
    formats = ("csv", "xlsx", "pdf") if pdf else ("csv", "xlsx")

    def register(endpoint: F) -> F:
        responses = {**options.pop("responses", {}), **file_responses(*formats)}
        answer = _with_format(endpoint, _Layouts(listing, dict(variants or {})), pdf)
        router.get(path, responses=responses, **options)(answer)
        return endpoint

    return register


@dataclass(frozen=True)
class _Layouts:
    """A route's listing and its variants, by the ``format`` values that ask for each."""

    listing: Listing
    variants: dict[str, Listing]

    def formats(self, pdf: bool) -> tuple[str, ...]:
        own = ("csv", "xlsx", "pdf") if pdf else ("csv", "xlsx")
        return (*own, *(f"{name}-{f}" for name in self.variants for f in ("csv", "xlsx")))

    def annotation(self, pdf: bool) -> Any:
        if not self.variants:
            return AnyFormat if pdf else SheetFormat
        named = ", ".join(f"{name}-csv or {name}-xlsx" for name in self.variants)
        values = cast(Any, Literal)[self.formats(pdf)]
        help_ = f"{_FORMAT_HELP[pdf]}; {named}: the same orders in that layout (docs/exports.md)"
        return Annotated[values | None, Query(description=help_)]

    def pick(self, fmt: str) -> tuple[Listing, str]:
        name, _, sheet = fmt.rpartition("-")
        return (self.variants[name], sheet) if name else (self.listing, sheet)


def _with_format(endpoint: Callable[..., Any], layouts: _Layouts, pdf: PdfAnswer | None) -> Any:
    hints = get_type_hints(endpoint, include_extras=True)
    keyword = inspect.Parameter.KEYWORD_ONLY
    own = [p.replace(kind=keyword, annotation=hints[p.name])
           for p in inspect.signature(endpoint).parameters.values()]  # fmt: skip
    extras = pdf.parameters if pdf else ()
    added = [
        inspect.Parameter(
            "format", keyword, default=None, annotation=layouts.annotation(pdf is not None)
        ),
        inspect.Parameter("export_request", keyword, annotation=Request),
        *extras,
    ]

    def run(**arguments: Any) -> Any:
        fmt = arguments.pop("format")
        request: Request = arguments.pop("export_request")
        given = {p.name: arguments.pop(p.name) for p in extras}
        named = [_query_name(p) for p in extras if given[p.name] is not None]
        if fmt != "pdf" and named:
            raise invalid(f"{' and '.join(named)}: only with format=pdf (the printable document)")
        if fmt is None:
            return endpoint(**arguments)
        if fmt == "pdf" and pdf is not None:
            return pdf.answer(request, arguments, given)
        listing, sheet = layouts.pick(fmt)
        return _export(listing, sheet, request, arguments)

    run.__name__ = endpoint.__name__
    run.__doc__ = endpoint.__doc__
    run.__module__ = endpoint.__module__
    run.__signature__ = inspect.Signature([*own, *added])  # type: ignore[attr-defined]
    return run


def _query_name(parameter: inspect.Parameter) -> str:
    """The parameter's name in the query (its alias, as ``from`` for ``period_from``)."""
    for meta in getattr(parameter.annotation, "__metadata__", ()):
        if getattr(meta, "alias", None):
            return str(meta.alias)
    return parameter.name


def _export(listing: Listing, fmt: str, request: Request, arguments: dict[str, Any]) -> Response:
    worker: Worker = arguments["worker"]
    if arguments.get("as_of") is None:
        caught_up(worker, listing.view, arguments.get("after"), arguments.get("wait", 5.0))
    else:
        arguments = {**arguments, "as_of": utc(arguments["as_of"])}
    return sheet_file(listing, fmt, language(request), worker, arguments)
