"""The backlog review's labels in English and Chinese (merged into ``i18n``)."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    "backlog.review": ("Review", "审查"),
    "backlog.review_due": ("Review due", "待审查"),
    "backlog.reviews_due": ("Due for review", "待审查"),
    "backlog.cause.customer_delay": ("Customer delay", "客户延迟"),
    "backlog.cause.stock_shortage": ("Stock shortage", "缺货"),
    "backlog.cause.production_delay": ("Production delay", "生产延误"),
    "backlog.cause.quality_hold": ("Quality hold", "质量暂扣"),
    "backlog.cause.payment_hold": ("Payment hold", "付款暂扣"),
    "backlog.cause.documents": ("Documents", "单证问题"),
    "backlog.cause.other": ("Other", "其他"),
    "backlog.decision.discount": ("Discounted", "已折价"),
    "backlog.decision.resell": ("Resold", "已转售"),
    "backlog.decision.donate": ("Donated", "已捐赠"),
    "backlog.decision.cancel": ("Cancelled", "已取消"),
}
