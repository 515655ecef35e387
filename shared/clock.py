"""Time for the domain: instants in UTC, calendar dates in the ward's zone (Asia/Ho_Chi_Minh)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

WARD_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> datetime:
    return datetime.now(UTC)


def ward_today() -> date:
    return datetime.now(WARD_TZ).date()


def in_ward_time(instant: datetime) -> datetime:
    return instant.astimezone(WARD_TZ)
