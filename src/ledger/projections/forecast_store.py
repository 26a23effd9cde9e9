"""Where the daily forecast job keeps its forecasts: a side table with a row
per series (``by:key``), each holding the series' forecasts in every measure
and when they were made (see ``seasonal_report``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ledger.projections.framework import View
from ledger.projections.side_tables import RecordsModel, Row, text

FORECASTS = RecordsModel("forecasts", (text("by"), text("series"), text("computed_at")))
TABLE = "seasonal_forecasts"
STALE_AFTER = timedelta(days=1)


def stored_forecasts(
    forecasts: View[Row], by: str, keys: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """The stored forecasts of these series of dimension ``by``, by series key."""
    if not keys:
        return {}
    rows = forecasts.select([("by", "=", by), ("series", "in", keys)])
    return {row["series"]: row["forecasts"] for row in rows}


def computed_at(forecasts: View[Row], by: str | None = None) -> datetime | None:
    """When the stored forecasts (of ``by``) were made; None before the first run."""
    rows = forecasts.select([("by", "=", by)] if by else [], order_by=("computed_at",), limit=1)
    return datetime.fromisoformat(rows[0]["computed_at"]) if rows else None


def forecasts_stale(forecasts: View[Row], now: datetime) -> bool:
    """No stored forecast, or the last ones older than a day."""
    made = computed_at(forecasts)
    return made is None or made < now - STALE_AFTER
