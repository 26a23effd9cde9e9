"""Column headers of the exported files in English and Chinese.

A column named like a page label uses the page's own label (``i18n``);
the others are here. Amount columns say nothing of a currency (each row
has its currency column); date-time columns say they are UTC.
"""

from __future__ import annotations

from ledger.api.ui.i18n import translator

# Column name -> a label key of the pages, or its own (English, Chinese).
HEADERS: dict[str, str | tuple[str, str]] = {
    "stage": "reports.stage",
    "number": ("Order number", "订单号"),
    "customer": "customer",
    "currency": "currency",
    "total": "total",
    "original_promised_date": "original_promise",
    "latest_promised_date": "latest_promise",
    "shipped_ratio": ("Shipped share", "发货比例"),
    "invoiced_ratio": ("Invoiced share", "开票比例"),
    "paid_ratio": ("Paid share", "收款比例"),
    "open_quantity": "backlog.open_qty",
    "open_value": "backlog.open_value",
    "flags.on_hold": "flag.on_hold",
    "flags.open_quality_issue": "flag.open_quality_issue",
    "flags.open_complaint": "flag.open_complaint",
    "flags.overdue": "flag.overdue",
    "flags.transit_exception": "flag.transit_exception",
    "next_action": ("Next action", "下一步"),
    "alerts": ("Alerts", "预警"),
    "created_at": ("Received at", "接单时间"),
    "last_event_at": ("Last event at", "最近事件时间"),
    "version": "version",
    "order_id": ("Order id", "订单 ID"),
    "days_late_original": ("Days late (original promise)", "逾期天数（原交期）"),
    "days_late_latest": ("Days late (latest promise)", "逾期天数（最新交期）"),
    "ageing_original": ("Ageing (original promise)", "账龄（原交期）"),
    "ageing_latest": ("Ageing (latest promise)", "账龄（最新交期）"),
    "overdue_original": "backlog.overdue_original",
    "overdue_latest": "backlog.overdue_latest",
    "stale": "backlog.stale",
    "days_since_last_event": ("Days since last event", "距最近事件天数"),
    "review.cause": ("Backlog cause", "积压原因"),
    "review.last_review_at": ("Last review", "最近审查"),
    "review.due": "backlog.review_due",
    "review.disposition": ("Backlog decision", "积压处理"),
    "lines": "order.lines",
    "kind": "kind",
    "severity": "severity",
    "raised_at": ("Raised at", "预警时间"),
    "detail": "details",
    "month": "reports.month",
    "product": "product",
    "channel": "channel",
    "orders": "reports.orders",
    "quantity": ("Quantity", "数量"),
    "amount": "amount",
    "cancelled": ("Cancelled orders", "取消订单数"),
    "last_year.month": ("Same month last year", "去年同月"),
    "last_year.orders": ("Orders last year", "去年订单数"),
    "last_year.quantity": ("Quantity last year", "去年数量"),
    "last_year.amount": ("Amount last year", "去年金额"),
    "last_year.cancelled": ("Cancelled last year", "去年取消订单数"),
    "median_days": ("Median days from received", "自接单天数（中位数）"),
    "p90_days": ("P90 days from received", "自接单天数（P90）"),
    "median_step_days": "reports.step",
    "p90_step_days": ("Own step (P90)", "本阶段用时（P90）"),
    "id": ("Reference", "编号"),
    "category": "category",
    "description": "description",
    "status": "status",
    "resolution": "resolution",
    "cost": ("Cost", "费用"),
    "filed_at": ("Filed at", "登记时间"),
    "resolved_at": ("Resolved at", "处理时间"),
    "days_to_resolve": ("Days to resolve", "处理天数"),
    "invoiced": "invoiced",
    "credited": ("Credited", "已冲减"),
    "paid": "paid",
    "outstanding": "outstanding",
    "due_date": ("Due date", "到期日"),
    "overdue": "flag.overdue",
    "days_overdue": ("Days overdue", "逾期天数"),
    "invoices": ("Invoices", "发票"),
    "shipment_id": "shipment",
    "order_status": ("Order status", "订单状态"),
    "carrier": "carrier",
    "mode": "mode",
    "export": ("Export", "出口"),
    "planned_date": "planned",
    "reschedules": ("Reschedules", "改期次数"),
    "transit_status": ("Transit status", "运输状态"),
    "location": "location",
    "tracking_number": "tracking",
    "open_exception": "flag.transit_exception",
    "documents_ready": ("Documents ready", "单证齐备"),
    "documents": "order.documents",
    "dispatched_at": ("Dispatched at", "发货时间"),
    "delivered_at": ("Delivered at", "签收时间"),
    "period": ("Period", "期间"),
    "archive_ref": ("Archive reference", "归档编号"),
    "closed_as": ("Closed as", "结束状态"),
    "archived_at": ("Archived at", "归档时间"),
}
YES_NO = {"en": ("yes", "no"), "zh": ("是", "否")}
UTC_SUFFIX = " (UTC)"


def header(name: str, lang: str, *, utc: bool = False) -> str:
    """The column's header in ``lang`` ("en" or "zh")."""
    label = HEADERS.get(name, name)
    if not isinstance(label, tuple):
        return translator(lang)(label) + (UTC_SUFFIX if utc else "")
    text = label[1 if lang == "zh" else 0]
    return text + UTC_SUFFIX if utc else text
