"""Rules of the registry (danh bạ), with no I/O.

Legal sources:
* Law on Grassroots Mediation 2013 (Luật Hòa giải ở cơ sở), art. 12: a mediation team (tổ hòa giải) has a
  leader (tổ trưởng) and at least three mediators, at least one of them a woman. The leader is one of the
  mediators, so "at least three" counts every active member, the leader included.
* Law on Residence 2020 (Luật Cư trú 68/2020/QH14):
  - art. 27-28: temporary residence (tạm trú) is registered for a stay of 30 days or more, for up to 2 years,
    and may be renewed (each renewal again up to 2 years);
  - art. 31: temporary absence (tạm vắng) must be declared by a person on bail or probation leaving for 1 day or
    more, a person of military-service age leaving for 3 months or more, anyone else leaving for 12 months or
    more;
  - art. 30 with Decree 62/2021 art. 15: a stay notice (thông báo lưu trú) is due before 23:00 of the day of
    arrival, or before 08:00 of the next day for someone arriving after 23:00.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from shared.clock import WARD_TZ
from shared.errors import InvalidInput, RuleViolation

TEAM_KINDS = ("anxh", "security_order", "mediation", "fire_prevention", "mobilisation")
MIN_MEDIATORS = 3
MIN_TEMPORARY_STAY = timedelta(days=30)
MAX_TEMPORARY_YEARS = 2

_NATIONAL_ID = re.compile(r"^[0-9]{12}$")


def validate_national_id(value: str) -> str:
    """A national ID number (số định danh cá nhân / CCCD): exactly 12 digits. The message never echoes it."""
    cleaned = value.strip()
    if not _NATIONAL_ID.fullmatch(cleaned):
        raise InvalidInput("national_id must be exactly 12 digits")
    return cleaned


# -- teams -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActiveMember:
    resident_id: str
    role: str
    sex: str


def team_compliance(kind: str, members: list[ActiveMember]) -> list[str]:
    """Why a team is not compliant (empty when it is). Non-compliant teams are flagged, not refused: a team
    is formed first and staffed afterwards, and the ward needs to see which ones still lack people."""
    issues: list[str] = []
    if not any(m.role == "leader" for m in members):
        issues.append("no leader")
    if kind == "mediation":
        if len(members) < MIN_MEDIATORS:
            issues.append(f"fewer than {MIN_MEDIATORS} mediators ({len(members)})")
        if not any(m.sex == "female" for m in members):
            issues.append("no woman among the mediators")
    return issues


# -- residence declarations --------------------------------------------------------------------------------
def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def check_period(start: date, end: date) -> None:
    if end <= start:
        raise InvalidInput("the declaration must end after it starts")


def check_temporary_residence(valid_from: date, valid_until: date) -> None:
    check_period(valid_from, valid_until)
    if valid_until - valid_from < MIN_TEMPORARY_STAY:
        raise RuleViolation("temporary residence is registered for a stay of 30 days or more (Law on Residence art. 27)")
    if valid_until > add_years(valid_from, MAX_TEMPORARY_YEARS):
        raise RuleViolation("temporary residence is valid for at most 2 years (Law on Residence art. 27)")


def check_renewal(current_until: date, new_until: date, today: date) -> None:
    if new_until <= current_until:
        raise InvalidInput("a renewal must move the end date later")
    start = max(current_until, today)
    if new_until > add_years(start, MAX_TEMPORARY_YEARS):
        raise RuleViolation("a renewal is valid for at most 2 years (Law on Residence art. 28)")


ABSENCE_MINIMUM = {
    "bail_or_probation": timedelta(days=1),
    "military_age": timedelta(days=90),  # three months
    "other": timedelta(days=365),  # twelve months
}


def check_absence(case: str, absent_from: date, absent_until: date) -> None:
    """Temporary absence is declared only in the cases of art. 31; a shorter absence needs no declaration."""
    check_period(absent_from, absent_until)
    minimum = ABSENCE_MINIMUM[case]
    if absent_until - absent_from < minimum:
        raise RuleViolation(
            f"an absence of case '{case}' is declared for {minimum.days} days or more (Law on Residence art. 31)"
        )


def overlaps(a_from: date, a_until: date, b_from: date, b_until: date) -> bool:
    return a_from < b_until and b_from < a_until


def stay_notice_deadline(arrived_at: datetime) -> datetime:
    """23:00 of the arrival day (ward time); 08:00 of the next day for an arrival at or after 23:00."""
    local = arrived_at.astimezone(WARD_TZ)
    if local.time() >= time(23, 0):
        return datetime.combine(local.date() + timedelta(days=1), time(8, 0), WARD_TZ)
    return datetime.combine(local.date(), time(23, 0), WARD_TZ)


def stay_notice_is_late(arrived_at: datetime, notified_at: datetime) -> bool:
    return notified_at > stay_notice_deadline(arrived_at)
