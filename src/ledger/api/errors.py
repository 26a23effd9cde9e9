"""Every refusal becomes ``{"code", "message", "details"}`` with the right status.

Domain guards → 409 (or 404 when the guard names a missing shipment,
complaint, quality issue, purchase order or document; 422 when it refuses a
value out of its range: an amount, its decimals, a date), unknown order → 404,
stale version → 412, reused idempotency key and invalid input → 422.
A store that cannot be reached (a lost or refused connection, no pooled
connection in time, a lock wait that timed out) → 503 ``store_unavailable``
with ``Retry-After``: whether a command caught by it was recorded is unknown,
so a client retries with the same ``Idempotency-Key``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from ledger.aggregates.errors import DomainError
from ledger.api.responses import ErrorOut, FastJSON
from ledger.application import IdempotencyKeyReused, LedgerError, OrderNotFound, StaleVersion

log = logging.getLogger("ledger.api")

NOT_FOUND_CODES = frozenset(
    {
        "unknown_shipment",
        "unknown_complaint",
        "unknown_quality_issue",
        "unknown_purchase_order",
        "unknown_document",
        "unknown_tracking_link",
    }
)
# Guards about the values given, not the order's state: invalid input whichever
# layer finds it (the schema cannot know the order's currency, nor a merge's total).
INVALID_INPUT_CODES = frozenset(
    {"amount_too_large", "amount_has_too_many_decimals", "date_out_of_range"}
)
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    501: "not_implemented",
}
RETRY_AFTER_SECONDS = 1
# Errors about reaching the store, not about what was asked of it. psycopg's
# pool timeout and a server-side termination are psycopg.OperationalError; the
# library re-raises those as its own OperationalError / InterfaceError.
UNREACHABLE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    StoreOperationalError,
    StoreInterfaceError,
)


class ApiError(HTTPException):
    """An HTTP refusal with a machine-readable code."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status_code, message, dict(headers) if headers else None)
        self.code = code
        self.message = message
        self.details = details


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> FastJSON:
    body = {"code": code, "message": message, "details": details}
    return FastJSON(body, status, dict(headers) if headers else None)


def _http_error(request: Request, exc: Exception) -> FastJSON:
    assert isinstance(exc, HTTPException)
    if isinstance(exc, ApiError):
        return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)
    code = STATUS_CODES.get(exc.status_code, HTTPStatus(exc.status_code).name.lower())
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, code, message, None, exc.headers)


def _invalid_input(request: Request, exc: Exception) -> FastJSON:
    assert isinstance(exc, RequestValidationError)
    # The offending input is left out: it may be large or not printable.
    details = [
        {
            "loc": [str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    return error_response(422, "invalid_input", "the request is not valid", details)


def _domain_error(request: Request, exc: Exception) -> FastJSON:
    assert isinstance(exc, DomainError)
    status = 409
    if exc.code in NOT_FOUND_CODES:
        status = 404
    elif exc.code in INVALID_INPUT_CODES:
        status = 422
    return error_response(status, exc.code, exc.message, exc.details)


def _ledger_error(request: Request, exc: Exception) -> FastJSON:
    assert isinstance(exc, LedgerError)
    status = 409
    if isinstance(exc, OrderNotFound):
        status = 404
    elif isinstance(exc, StaleVersion):
        status = 412
    elif isinstance(exc, IdempotencyKeyReused):
        status = 422
    return error_response(status, exc.code, exc.message, exc.details)


def store_unreachable(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, says the store cannot be reached."""
    seen: BaseException | None = exc
    for _ in range(8):  # a chain is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, UNREACHABLE):
            return True
        cause = seen.__cause__
        seen = cause if cause is not None or seen.__suppress_context__ else seen.__context__
    return False


def store_unavailable_response() -> FastJSON:
    """503 with ``Retry-After``: the store is away; retry with the same Idempotency-Key."""
    return error_response(
        503,
        "store_unavailable",
        "the event store cannot be reached right now; retry shortly "
        "(a command with the same Idempotency-Key is recorded at most once)",
        {"retry_after": RETRY_AFTER_SECONDS},
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _store_error(request: Request, exc: Exception) -> FastJSON:
    if not store_unreachable(exc):
        return _unexpected(request, exc)
    return _store_away(request, exc)


def _store_away(request: Request, exc: Exception) -> FastJSON:
    log.warning(
        "store unavailable on %s %s: %s",
        request.method,
        request.url.path,
        str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
    )
    return store_unavailable_response()


def client_gone(exc: BaseException) -> bool:
    """Whether ``exc`` is the server failing to write to a client that hung up.

    uvicorn (httptools on uvloop) can write a pipelined request's response
    after its client closed the connection; uvloop then raises this.
    """
    return isinstance(exc, RuntimeError) and "the handler is closed" in str(exc)


def _unexpected(request: Request, exc: Exception) -> FastJSON:
    """The safety net: logged with its traceback; tests assert it never runs."""
    if store_unreachable(exc):
        return _store_away(request, exc)
    if client_gone(exc):
        # Nobody is left to answer; not a fault of the service.
        log.info("client left before the answer to %s %s", request.method, request.url.path)
        return error_response(499, "client_closed_request", "the client closed the connection")
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid_input)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(LedgerError, _ledger_error)
    # Registered by class so that Starlette answers them without re-raising.
    for error in (*UNREACHABLE, PersistenceError):
        app.add_exception_handler(error, _store_error)
    app.add_exception_handler(Exception, _unexpected)


def _error_doc(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


COMMAND_ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error_doc("missing or unknown token"),
    403: _error_doc("the token's role may not do this"),
    404: _error_doc("unknown order, shipment, complaint, quality issue or purchase order"),
    409: _error_doc("a business rule refused the command (see code)"),
    412: _error_doc("If-Match names a version that is no longer current"),
    413: _error_doc("body over 1 MB"),
    422: _error_doc(
        "invalid input (an amount or date out of range names its field), "
        "or an Idempotency-Key reused with another body"
    ),
    503: _error_doc(
        "the store cannot be reached (header Retry-After); retry with the same Idempotency-Key"
    ),
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    status: COMMAND_ERRORS[status] for status in (401, 403, 404, 422, 503)
}
