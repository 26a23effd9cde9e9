"""Bulk intake: ``POST /imports`` (a dry run unless ``?commit=true``) and the
template, ``GET /imports/template.xlsx``. See docs/files.md."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ledger.api.deps import CtxDep, LedgerDep, PrincipalDep, allow, in_thread
from ledger.api.errors import COMMAND_ERRORS, READ_ERRORS, ApiError
from ledger.api.intake.checking import check_file
from ledger.api.intake.commit import FileHasProblems, commit_file
from ledger.api.intake.report import MAX_LISTED, report
from ledger.api.responses import FastJSON
from ledger.api.ui.i18n import choose_lang
from ledger.sheets.limits import MAX_FILE_BYTES
from ledger.sheets.workbook import XLSX, template_workbook

# The upload's body: the file and the multipart framing around it.
UPLOAD_BODY_BYTES = MAX_FILE_BYTES + 64 * 1024
UPLOAD_PATHS = ("/imports", "/ui/imports")

router = APIRouter(prefix="/imports", tags=["imports"])


class ProblemOut(BaseModel):
    row: int | None = Field(description="the file's row (1 = first); null: the whole file")
    column: str | None = Field(description="the template column's key")
    cell: str = Field(description="the cell as the spreadsheet names it, e.g. Q5")
    value: str = Field(description="the cell as given (at most 100 characters)")
    code: str = Field(description="stable identifier of the problem")
    message: str = Field(description="in the caller's language (Accept-Language: en or zh)")


class ImportedOrderOut(BaseModel):
    customer_ref: str
    rows: list[int]
    customer: str
    lines: int
    currency: str
    status: str | None = Field(None, description="recorded | already_recorded (commit only)")
    number: str | None = None
    order_id: str | None = None
    total: str | None = None


class ImportReportOut(BaseModel):
    """What the file holds, what is wrong with it, and (commit) what was recorded."""

    file: dict[str, Any]
    valid: bool
    committed: bool
    message: str
    summary: dict[str, int | None]
    orders: list[ImportedOrderOut]
    problems: list[ProblemOut] = Field(description=f"the first {MAX_LISTED}, by row")
    notes: list[ProblemOut] = Field(description="columns that are not read")
    limits: dict[str, int]


def caller_lang(request: Request) -> str:
    return choose_lang(None, request.headers.get("accept-language"))


def upload_name(upload: UploadFile) -> str:
    """The file's own name, without any folder, at most 200 characters."""
    return PurePath((upload.filename or "").replace("\\", "/")).name[:200]


@router.post(
    "",
    response_model=ImportReportOut,
    dependencies=[allow("receive")],
    responses={
        **COMMAND_ERRORS,
        201: {"model": ImportReportOut, "description": "committed: new orders were recorded"},
        413: {"model": COMMAND_ERRORS[413]["model"], "description": "file over 10 MB"},
        422: {
            "model": COMMAND_ERRORS[422]["model"],
            "description": "commit of a file with problems (nothing recorded; details: "
            "the report), or no file given",
        },
    },
)
async def import_orders(
    request: Request,
    file: Annotated[UploadFile, File(description="an .xlsx workbook or a .csv file")],
    ledger: LedgerDep,
    ctx: CtxDep,
    commit: Annotated[bool, Query(description="record the orders (else: a dry run)")] = False,
) -> Response:
    """Check every row of an order file (the template's columns, one row per
    line; rows with the same customer reference form one order) and answer
    with a report. With ``?commit=true`` a file without problems is recorded,
    every order or none; the same file sent again records nothing new."""
    data = await file.read(MAX_FILE_BYTES + 1)
    name, lang = upload_name(file), caller_lang(request)

    def run() -> Response:
        intake = check_file(data, name)
        if not commit:
            return FastJSON(report(intake, lang))
        try:
            outcomes = commit_file(ledger, ctx, intake)
        except FileHasProblems:
            body = report(intake, lang)
            code = "file_unreadable" if intake.table is None else "file_has_problems"
            raise ApiError(422, code, body["message"], body) from None
        status = 201 if any(outcome.recorded for outcome in outcomes) else 200
        return FastJSON(report(intake, lang, outcomes), status_code=status)

    return await in_thread(run)


@router.get(
    "/template.xlsx",
    response_class=Response,
    responses={**READ_ERRORS, 200: {"content": {XLSX: {}}, "description": "the template"}},
)
def import_template(ledger: LedgerDep, principal: PrincipalDep) -> Response:
    """The import template: the columns' headers in English and Chinese, one
    example order of two lines, and a sheet explaining each column."""
    body = template_workbook(ledger.clock.now().date())
    disposition = 'attachment; filename="ledger-orders-template.xlsx"'
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})
