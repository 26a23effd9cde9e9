"""The backlog review's labels in English and Chinese (merged into ``i18n``)."""

from __future__ import annotations

from ledger.aggregates.backlog import CAUSES
from ledger.api.ui.i18n_values import VALUES

LABELS: dict[str, tuple[str, str]] = {
    "backlog.review": ("Review", "审查"),
    "backlog.review_due": ("Review due", "待审查"),
    "backlog.reviews_due": ("Due for review", "待审查"),
    # A cause is labelled as the value it is (``i18n_values.VALUES``), capitalised.
    **{
        f"backlog.cause.{cause}": (VALUES[cause][0].capitalize(), VALUES[cause][1])
        for cause in CAUSES
    },
    "backlog.decision.discount": ("Discounted", "已折价"),
    "backlog.decision.resell": ("Resold", "已转售"),
    "backlog.decision.donate": ("Donated", "已捐赠"),
    "backlog.decision.cancel": ("Cancelled", "已取消"),
}
