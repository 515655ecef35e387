"""When a delivery may go out: quiet hours and the daily digest, as pure functions of the ward's local time.

(Helper A's stand-in, written exactly to the contract of issue 17; helper B's version of this file wins at merge.)
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def _next_local(now_local: datetime, at: time) -> datetime:
    candidate = now_local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if candidate <= now_local:
        candidate = (now_local + timedelta(days=1)).replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    return candidate


def in_quiet_hours(local: time, quiet_start: time, quiet_end: time) -> bool:
    if quiet_start <= quiet_end:
        return quiet_start <= local < quiet_end
    return local >= quiet_start or local < quiet_end


def release_at(now: datetime, *, urgent: bool, digest: bool, tz: ZoneInfo, quiet_start: time = time(22),
               quiet_end: time = time(6), digest_at: time = time(7)) -> datetime:
    """Urgent: now. Digest: the next ``digest_at`` local. Otherwise now, unless inside quiet hours local: then the
    next ``quiet_end``."""
    if urgent:
        return now
    local = now.astimezone(tz)
    if digest:
        return _next_local(local, digest_at).astimezone(now.tzinfo)
    if in_quiet_hours(local.time(), quiet_start, quiet_end):
        return _next_local(local, quiet_end).astimezone(now.tzinfo)
    return now
