"""``/ui/imports``: upload an order file, see the report, record it.

The form posts the file (multipart) to this page: "Check" is the dry run,
"Check and record" commits a file without problems. Like every post of the
pages, it is refused from another site (its Origin) and needs a signed-in
role that may receive orders.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from ledger.aggregates.stages import SIDE_STAGES, STAGES
from ledger.api.deps import command_ctx, in_thread
from ledger.api.intake.checking import check_file
from ledger.api.intake.commit import commit_file
from ledger.api.intake.report import LIMITS, report
from ledger.api.ui import data
from ledger.api.ui.render import PageRoute, lang_of, page, refused, to_login
from ledger.api.ui.session import principal_of, same_origin
from ledger.application import Ctx
from ledger.sheets.limits import MAX_FILE_BYTES
from ledger.sheets.template import BY_KEY
from ledger.sheets.workbook import XLSX, template_workbook

router = APIRouter(prefix="/ui/imports", include_in_schema=False, route_class=PageRoute)
SHOWN_ORDERS = 200

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Import orders", "导入订单"),
    "intro": (
        "Upload an .xlsx workbook or a .csv file in the template's layout: one row per order "
        "line; rows with the same customer reference form one order.",
        "请上传按模板格式填写的 .xlsx 工作簿或 .csv 文件："
        "每行一个产品；客户订单号相同的行组成一个订单。",
    ),
    "template": ("Download the template (.xlsx)", "下载模板（.xlsx）"),
    "file": ("Order file", "订单文件"),
    "check": ("Check", "检查"),
    "commit": ("Check and record", "检查并录入"),
    "how": (
        "Check first: nothing is recorded until you record a file without problems, and then "
        "every order of it is recorded. The same file recorded again adds nothing.",
        "请先检查：文件没有任何问题时才能录入，录入时文件中的全部订单一并录入。"
        "同一文件再次录入不会重复。",
    ),
    "limits": (
        "Limits: {mb} MB, {rows} rows, {lines} lines per order.",
        "限制：文件不超过 {mb} MB，最多 {rows} 行，每个订单最多 {lines} 行。",
    ),
    "report": ("Report", "检查结果"),
    "rows": ("Rows", "行数"),
    "orders": ("Orders", "订单"),
    "lines": ("Lines", "产品行"),
    "valid": ("Valid orders", "无误订单"),
    "problems": ("Problems", "问题"),
    "recorded": ("Recorded", "已录入"),
    "already": ("Already recorded", "此前已录入"),
    "row": ("Row", "行"),
    "cell": ("Cell", "单元格"),
    "column": ("Column", "列"),
    "value": ("Value", "内容"),
    "message": ("Problem", "问题说明"),
    "notes": ("Notes", "提示"),
    "ref": ("Customer reference", "客户订单号"),
    "customer": ("Customer", "客户"),
    "status": ("Status", "状态"),
    "number": ("Order", "订单号"),
    "status.recorded": ("recorded", "已录入"),
    "status.already_recorded": ("already recorded", "此前已录入"),
    "status.ready": ("ready", "可录入"),
    "more": ("… and {n} more", "……另有 {n} 个"),
    "export": ("Download orders as a template", "下载订单（模板格式）"),
    "export_intro": (
        "The orders these filters find, one row per line in the template's columns, the order "
        "number as the customer reference: to enter them again in another ledger. (Imported "
        "into this one, they would be recorded again, as new orders.)",
        "按以下条件查到的订单，每个产品一行，列与模板相同，订单号作为客户订单号："
        "用于在另一套系统中重新录入。（导入本系统会作为新订单再录入一次。）",
    ),
    "export_customer": ("Customer (full name)", "客户（全称）"),
    "stage": ("Stage", "阶段"),
    "created_from": ("Received from", "接单日期从"),
    "created_to": ("Received up to", "接单日期至"),
    "no_file": ("Choose a file first.", "请先选择文件。"),
    "may_not": ("Your role may not receive orders.", "您的角色无权录入订单。"),
}


def _labels(lang: str) -> Any:
    index = 1 if lang == "zh" else 0

    def label(key: str, **values: object) -> str:
        text = _LABELS[key][index]
        return text.format(**values) if values else text

    return label


def _render(request: Request, who: Any, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    limits = {"mb": MAX_FILE_BYTES >> 20, "rows": f"{LIMITS['rows']:,}",
              "lines": LIMITS["lines_per_order"]}  # fmt: skip
    context.setdefault("result", None)
    context.setdefault("error", None)
    return page(
        request, "imports.html", who, status, it=_labels(lang), limits=limits,
        header=lambda key: BY_KEY[key].header(lang) if key in BY_KEY else "",
        stages=STAGES + SIDE_STAGES,
        shown_orders=SHOWN_ORDERS, **context,
    )  # fmt: skip


@router.get("", response_class=HTMLResponse)
def imports_page(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    return _render(request, who)


@router.get("/template.xlsx")
def template_download(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    body = template_workbook(data.ledger_of(request).clock.now().date())
    disposition = 'attachment; filename="ledger-orders-template.xlsx"'
    return Response(body, media_type=XLSX, headers={"Content-Disposition": disposition})


@router.post("", response_class=HTMLResponse)
async def upload(request: Request) -> Response:
    who = principal_of(request)
    if who is None:
        return to_login(request)
    if not same_origin(request):
        return refused(request, 403, "error.forbidden", "error.other_site")
    if not who.may("receive"):
        return _render(request, who, 403, error="may_not")
    form = await request.form(max_files=1, max_fields=5)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _render(request, who, 422, error="no_file")
    content = await upload.read(MAX_FILE_BYTES + 1)
    commit = form.get("commit") == "1"
    result = await _process(request, await command_ctx(who), content, upload.filename, commit)
    status = 200 if result["valid"] else 422
    return _render(request, who, status, result=result)


async def _process(
    request: Request, ctx: Ctx, content: bytes, name: str, commit: bool
) -> dict[str, Any]:
    """The report, after recording the orders when asked and the file is valid
    (the caller's context as the API builds it: actor, idempotency scope)."""
    lang = lang_of(request)
    ledger = data.ledger_of(request)

    def run() -> dict[str, Any]:
        intake = check_file(content, name[:200])
        if not (commit and intake.valid):
            return report(intake, lang)
        outcomes = commit_file(ledger, ctx, intake)
        return report(intake, lang, outcomes)

    return await in_thread(run)
