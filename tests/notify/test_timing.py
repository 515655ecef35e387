"""Quiet hours and the digest (services/notify/timing.py) at their edges, in the ward's zone and in another."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.notify.timing import in_quiet_hours, next_local, release_at

HCM = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7, no daylight saving time


def local(day: int, hour: int, minute: int = 0, second: int = 0, tz: ZoneInfo = HCM) -> datetime:
    """An instant given in the zone's wall-clock time, returned in UTC (as the services hold instants)."""
    return datetime(2026, 12, day, hour, minute, second, tzinfo=tz).astimezone(UTC)


@pytest.mark.parametrize(("at", "released"), [
    (local(3, 21, 59), local(3, 21, 59)),          # last minute before quiet hours: now
    (local(3, 21, 59, 59), local(3, 21, 59, 59)),
    (local(3, 22, 0), local(4, 6, 0)),             # quiet hours start: tomorrow morning
    (local(3, 23, 30), local(4, 6, 0)),
    (local(4, 0, 0), local(4, 6, 0)),              # past midnight: this morning
    (local(4, 5, 59), local(4, 6, 0)),
    (local(4, 5, 59, 59), local(4, 6, 0)),
    (local(4, 6, 0), local(4, 6, 0)),              # quiet hours over: now
    (local(4, 12, 0), local(4, 12, 0)),
])
def test_non_urgent_waits_out_quiet_hours(at: datetime, released: datetime) -> None:
    assert release_at(at, urgent=False, digest=False, tz=HCM) == released


def test_urgent_goes_now_even_at_night_and_even_for_a_digest() -> None:
    night = local(3, 23, 0)
    assert release_at(night, urgent=True, digest=False, tz=HCM) == night
    assert release_at(night, urgent=True, digest=True, tz=HCM) == night


@pytest.mark.parametrize(("at", "released"), [
    (local(3, 6, 59), local(3, 7, 0)),
    (local(3, 7, 0), local(3, 7, 0)),     # at the digest's time: this digest
    (local(3, 7, 0, 1), local(4, 7, 0)),  # just after: tomorrow's
    (local(3, 12, 0), local(4, 7, 0)),
    (local(3, 23, 59), local(4, 7, 0)),
    (local(4, 0, 30), local(4, 7, 0)),    # after midnight local (still the 3rd in UTC): the same morning
])
def test_digest_goes_at_the_next_seven_local(at: datetime, released: datetime) -> None:
    assert release_at(at, urgent=False, digest=True, tz=HCM) == released


def test_digest_deliveries_planned_through_a_day_share_one_instant() -> None:
    start = local(3, 7, 5)
    planned = {release_at(start + timedelta(minutes=37 * i), urgent=False, digest=True, tz=HCM) for i in range(38)}
    assert planned == {local(4, 7, 0)}


def test_the_answer_is_an_instant_in_nows_zone() -> None:
    at = local(3, 22, 30)
    released = release_at(at, urgent=False, digest=False, tz=HCM)
    assert released.tzinfo is UTC and released == datetime(2026, 12, 3, 23, 0, tzinfo=UTC)  # 06:00 +07
    in_ward = release_at(at.astimezone(HCM), urgent=False, digest=False, tz=HCM)
    assert in_ward.tzinfo is HCM and in_ward == released
    with pytest.raises(ValueError):
        release_at(datetime(2026, 12, 3, 22, 30), urgent=False, digest=False, tz=HCM)


def test_the_zone_is_a_parameter_and_dst_days_get_their_local_six_oclock() -> None:
    berlin = ZoneInfo("Europe/Berlin")  # 2026-03-29: clocks go 02:00 -> 03:00
    before = datetime(2026, 3, 28, 23, 0, tzinfo=berlin)
    morning = release_at(before, urgent=False, digest=False, tz=berlin)
    assert morning.astimezone(berlin).replace(tzinfo=None) == datetime(2026, 3, 29, 6, 0)
    assert morning.astimezone(UTC) - before.astimezone(UTC) == timedelta(hours=6)  # 7 wall-clock hours, 6 real
    # the same instant is 05:00 in Hồ Chí Minh City: quiet there for one more hour
    assert release_at(before, urgent=False, digest=False, tz=HCM) == before + timedelta(hours=1)


def test_other_quiet_hours_and_none() -> None:
    assert in_quiet_hours(time(13, 0), time(12), time(14)) and not in_quiet_hours(time(14, 0), time(12), time(14))
    assert not in_quiet_hours(time(11, 59), time(12), time(14))
    assert not any(in_quiet_hours(time(h), time(22), time(22)) for h in range(24))  # equal ends: never quiet
    noon = local(3, 12, 30)
    assert release_at(noon, urgent=False, digest=False, tz=HCM, quiet_start=time(12),
                      quiet_end=time(14)) == local(3, 14, 0)
    assert release_at(noon, urgent=False, digest=True, tz=HCM, digest_at=time(18)) == local(3, 18, 0)
    assert next_local(local(3, 18, 0), time(18), HCM) == local(3, 18, 0)
