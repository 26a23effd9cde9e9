"""The zone the pages show times in: ``LEDGER_TIMEZONE`` (an IANA name), else
the host's own zone. Stored times stay UTC; only their display moves."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=16)
def display_zone(name: str | None) -> tzinfo:
    """The configured zone, else the host's (``TZ``, then ``/etc/localtime``), else UTC."""
    for candidate in (name, os.environ.get("TZ", "").lstrip(":"), _host_zone_name()):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                continue
    return UTC


def _host_zone_name() -> str | None:
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return None
    marker = "zoneinfo/"
    return target.split(marker, 1)[1] if marker in target else None


def zone_label(moment: datetime) -> str:
    """The UTC offset of an aware time, short: "UTC", "UTC+8", "UTC+5:30", "UTC-3"."""
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def local_time(value: str | datetime | None, zone: tzinfo) -> str:
    """An ISO time (naive means UTC) as "2026-07-25 14:43 UTC+8" in ``zone``."""
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    here = moment.astimezone(zone)
    return f"{here:%Y-%m-%d %H:%M} {zone_label(here)}"


def zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone.tzname(datetime.now(UTC)) or "UTC")
