"""When a delivery may go out: quiet hours and the daily digest, as pure functions of an instant and the ward's zone.

* **Urgent** (``tip.overdue``, ``tip.answered``): now, whatever the hour.
* **Digest** (the person asked for one for that kind): the next ``digest_at`` (07:00) local; at 07:00 exactly, now.
  Every digest delivery of a person and channel planned before then gets the same instant, which is how the
  delivery worker knows they go out as one message.
* **Otherwise**: now, unless now is inside quiet hours local (``quiet_start`` inclusive to ``quiet_end`` exclusive,
  22:00-06:00 by default, across midnight), then the next ``quiet_end``.

Wall-clock times are in ``tz`` (the ward's, ``NOTIFY_TIMEZONE``; Asia/Ho_Chi_Minh has no daylight saving time, but
the arithmetic is on local wall-clock dates, so a zone that has it gets 06:00 local on the right day too). The
answer is an aware instant in ``now``'s zone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

QUIET_START = time(22)
QUIET_END = time(6)
DIGEST_AT = time(7)


def in_quiet_hours(local: time, quiet_start: time = QUIET_START, quiet_end: time = QUIET_END) -> bool:
    """Whether a local wall-clock time is inside ``[quiet_start, quiet_end)``; the span may cross midnight; equal
    ends mean no quiet hours."""
    if quiet_start == quiet_end:
        return False
    if quiet_start < quiet_end:
        return quiet_start <= local < quiet_end
    return local >= quiet_start or local < quiet_end


def next_local(now: datetime, at: time, tz: ZoneInfo) -> datetime:
    """The first instant at or after ``now`` whose wall-clock time in ``tz`` is ``at``."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate.astimezone(now.tzinfo)


def release_at(now: datetime, *, urgent: bool, digest: bool, tz: ZoneInfo, quiet_start: time = QUIET_START,
               quiet_end: time = QUIET_END, digest_at: time = DIGEST_AT) -> datetime:
    """When a delivery planned at ``now`` may go out (see the module's docstring)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (an instant), not a wall-clock time")
    if urgent:
        return now
    if digest:
        return next_local(now, digest_at, tz)
    if in_quiet_hours(now.astimezone(tz).time(), quiet_start, quiet_end):
        return next_local(now, quiet_end, tz)
    return now
