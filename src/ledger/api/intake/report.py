"""The import report: what the file holds, what is wrong with it, what was
recorded, with every message in the caller's language (en or zh)."""

from __future__ import annotations

from typing import Any

from ledger.api.intake.checking import Intake
from ledger.api.intake.commit import Outcome
from ledger.sheets.limits import HEADER_WINDOW, MAX_COLUMNS, MAX_FILE_BYTES, MAX_ROWS
from ledger.sheets.template import MAX_LINES

MAX_LISTED = 1000  # problems listed in one report (all are counted)
LIMITS = {
    "file_bytes": MAX_FILE_BYTES,
    "rows": MAX_ROWS,
    "lines_per_order": MAX_LINES,
    "columns": MAX_COLUMNS,
    "header_within_rows": HEADER_WINDOW,
}

_SUMMARY: dict[str, tuple[str, str]] = {
    "ready": (
        "Ready to record — orders: {orders}, lines: {lines}. Nothing is recorded yet: "
        "send the same file with commit to record them.",
        "可以录入——订单：{orders} 个，产品行：{lines} 行。尚未录入：请以提交方式再次上传同一文件。",
    ),
    "problems": (
        "Problems found: {count}. Nothing is recorded: correct them and send the file again.",
        "发现问题：{count} 个。未录入任何订单：请改正后重新上传。",
    ),
    "refused": (
        "The file cannot be read as an order list: nothing is recorded.",
        "无法作为订单表读取该文件：未录入任何订单。",
    ),
    "recorded": (
        "Recorded — new orders: {recorded}; already recorded by an earlier upload of this "
        "same file: {repeated}.",
        "录入完成——新订单：{recorded} 个；此前上传同一文件时已录入：{repeated} 个。",
    ),
    "nothing_new": (
        "This file was already imported: all its orders ({repeated}) are recorded; nothing new.",
        "该文件此前已导入：其全部订单（{repeated} 个）均已录入，本次未新增。",
    ),
}


def summary(key: str, lang: str, **params: Any) -> str:
    en, zh = _SUMMARY[key]
    shown = {k: f"{v:,}" if isinstance(v, int) else v for k, v in params.items()}
    return (zh if lang == "zh" else en).format(**shown)


def report(intake: Intake, lang: str, outcomes: list[Outcome] | None = None) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    table = intake.table
    return {
        "file": {
            "name": intake.name,
            "sha256": intake.sha256,
            "bytes": intake.size,
            "format": table.format if table else None,
            "sheet": table.sheet if table else None,
            "encoding": (table.encoding or None) if table else None,
            "header_row": table.header_row if table else None,
        },
        "valid": intake.valid,
        "committed": outcomes is not None,
        "message": _message(intake, lang, outcomes),
        "summary": _counts(intake, outcomes),
        "orders": _orders(intake, outcomes),
        "problems": [p.as_dict(lang) for p in intake.problems[:MAX_LISTED]],
        "notes": [p.as_dict(lang) for p in (table.notes if table else [])],
        "limits": LIMITS,
    }


def _message(intake: Intake, lang: str, outcomes: list[Outcome] | None) -> str:
    if intake.table is None:
        return summary("refused", lang)
    if intake.problems or not intake.drafts:
        return summary("problems", lang, count=len(intake.problems))
    if outcomes is None:
        return summary("ready", lang, orders=len(intake.drafts), lines=intake.lines)
    recorded = sum(1 for o in outcomes if o.recorded)
    if recorded == 0:
        return summary("nothing_new", lang, repeated=len(outcomes))
    return summary("recorded", lang, recorded=recorded, repeated=len(outcomes) - recorded)


def _counts(intake: Intake, outcomes: list[Outcome] | None) -> dict[str, int | None]:
    counts: dict[str, int | None] = {
        "rows": len(intake.table.rows) if intake.table else 0,
        "orders": intake.found,
        "valid_orders": len(intake.drafts),
        "lines": intake.lines,
        "problems": len(intake.problems),
        "recorded": None,
        "already_recorded": None,
    }
    if outcomes is not None:
        recorded = sum(1 for o in outcomes if o.recorded)
        counts.update(recorded=recorded, already_recorded=len(outcomes) - recorded)
    return counts


def _orders(intake: Intake, outcomes: list[Outcome] | None) -> list[dict[str, Any]]:
    done = {o.ref: o for o in outcomes or []}
    listed = []
    for draft in intake.drafts:
        entry: dict[str, Any] = {
            "customer_ref": draft.ref,
            "rows": draft.rows,
            "customer": draft.body.customer.name,
            "lines": len(draft.body.lines),
            "currency": draft.body.currency,
        }
        outcome = done.get(draft.ref)
        if outcome is not None:
            entry.update(
                status="recorded" if outcome.recorded else "already_recorded",
                number=outcome.number,
                order_id=outcome.order_id,
                total=str(outcome.total),
            )
        listed.append(entry)
    return listed
