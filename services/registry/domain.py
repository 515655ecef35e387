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

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shared.actor import ALL_WARDS, Principal, Role
from shared.clock import WARD_TZ
from shared.contracts.registry import AbsenceCase
from shared.errors import Conflict, Forbidden, InvalidInput, RuleViolation

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


# -- who may see and change what -------------------------------------------------------------------------
# * police and ward officials (and city officials / admins acting for the ward) see the whole ward;
# * a team leader or member sees their own team; a resident sees their own household;
# * a team leader (tổ trưởng) also works in the residential groups of their teams (the token's `team_ids`, each
#   team's group: ``led`` below, resolved by the application layer): they list a group's households, residents,
#   declarations, boarding houses and stay notices by naming it (`group_id`), register its households and
#   residents (without a national ID: police and ward officials record that) and declare temporary residence or
#   absence for its residents;
# * a resident declares their own temporary residence and absence (Law on Residence art. 30-31: the person does);
# * nobody sees anything of another ward, nor learns that it exists: a record of another ward named by its id
#   answers exactly as an unknown one (404 in a path, the same 422 in a body);
# * the national ID number is shown only to police and ward officials.
STAFF = (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)
REGISTRARS = (Role.WARD_OFFICIAL, Role.POLICE, Role.ADMIN)  # keep the population register
RESIDENCE_CLERKS = (Role.POLICE, Role.WARD_OFFICIAL, Role.ADMIN)
FACILITY_KEEPERS = (Role.WARD_OFFICIAL, Role.POLICE, Role.ADMIN)
OFFICIALS = (Role.WARD_OFFICIAL, Role.ADMIN)  # create groups, form teams
WARD_REGISTRARS = (Role.ADMIN, Role.CITY_OFFICIAL)
SEES_NATIONAL_ID = (Role.POLICE, Role.WARD_OFFICIAL)


def is_staff(actor: Principal) -> bool:
    return actor.has(*STAFF)


def list_ward(actor: Principal, ward_id: str | None) -> str:
    """The ward a list is about: the caller's own unless named, and never another they may not access."""
    ward = ward_id or actor.ward_id
    if ward == ALL_WARDS:
        raise InvalidInput("ward_id is required for callers of every ward")
    actor.ensure_ward(ward)
    return ward


def leads_group(actor: Principal, group_id: str | None, led: Iterable[str]) -> bool:
    """A team leader working in ``group_id``, one of the groups of their teams (``led``)."""
    return group_id is not None and actor.has(Role.TEAM_LEADER) and group_id in set(led)


def own_household_filter(actor: Principal, what: str, group_id: str | None = None,
                         led: Iterable[str] = ()) -> str | None:
    """Staff list the whole ward (None), a team leader one group they lead (None: the list's group filter narrows
    it); a resident lists only their own household; anyone else is refused."""
    if is_staff(actor) or leads_group(actor, group_id, led):
        return None
    if actor.has(Role.RESIDENT) and actor.household_id:
        return actor.household_id
    raise Forbidden(f"only police and ward officials list {what}; a team leader names a group of their teams")


def ensure_lists_group(actor: Principal, group_id: str | None, led: Iterable[str]) -> None:
    """Declarations, boarding houses, stay notices: staff of the ward, or a team leader naming a group they lead."""
    if not leads_group(actor, group_id, led):
        actor.require(*STAFF)


def ensure_sees_household(actor: Principal, household_id: str, group_id: str | None = None,
                          led: Iterable[str] = ()) -> None:
    if is_staff(actor) or leads_group(actor, group_id, led):
        return
    if actor.has(Role.RESIDENT) and actor.household_id == household_id:
        return
    raise Forbidden("a resident sees only their own household")


def ensure_registers_in_group(actor: Principal, group_id: str, led: Iterable[str]) -> None:
    """Households and residents: registrars of the ward, or a team leader in a group they lead."""
    if not leads_group(actor, group_id, led):
        actor.require(*REGISTRARS)


def ensure_no_national_id_from_leader(actor: Principal, national_id: str | None) -> None:
    if national_id is not None and not actor.has(*REGISTRARS):
        raise Forbidden("a national ID number is recorded by police or ward officials")


def ensure_declares_for(actor: Principal, resident_id: str, group_id: str, led: Iterable[str]) -> None:
    """Temporary residence and absence: police and ward officials; a team leader for a resident of a group they
    lead; a resident for themselves."""
    if actor.has(*RESIDENCE_CLERKS) or leads_group(actor, group_id, led):
        return
    if actor.has(Role.RESIDENT) and actor.resident_id == resident_id:
        return
    raise Forbidden("declarations are made by the person, their group's leader, the police or ward officials")


def ensure_sees_team(actor: Principal, team_id: str) -> None:
    if is_staff(actor):
        return
    if actor.has(Role.TEAM_LEADER, Role.TEAM_MEMBER) and team_id in actor.team_ids:
        return
    raise Forbidden("team members see only their own team")


def ensure_lists_teams(actor: Principal) -> None:
    if not is_staff(actor):
        actor.require(Role.POLICE, Role.WARD_OFFICIAL)  # raises: team members read their own team by id


def ensure_manages_team(actor: Principal, team_id: str) -> None:
    """Ward officials manage every team of their ward; a team leader manages their own team's members."""
    if actor.has(Role.WARD_OFFICIAL, Role.ADMIN):
        return
    if actor.has(Role.TEAM_LEADER) and team_id in actor.team_ids:
        return
    raise Forbidden("requires a ward official or this team's leader")


def ensure_sees_boarding_house(actor: Principal, house: Mapping[str, Any], led: Iterable[str] = ()) -> None:
    """Staff, the boarding house's own landlord, and the leader of its group."""
    if not (is_staff(actor) or actor.resident_id == house["landlord_resident_id"]
            or leads_group(actor, house["group_id"], led)):
        actor.require(*STAFF)


def ensure_files_stay_notice(actor: Principal, house: Mapping[str, Any]) -> None:
    if not (actor.has(*RESIDENCE_CLERKS) or actor.resident_id == house["landlord_resident_id"]):
        raise Forbidden("stay notices are filed by the boarding house's landlord, the police or ward officials")


def sees_national_id(actor: Principal) -> bool:
    return actor.has(*SEES_NATIONAL_ID)


# -- households and residents -----------------------------------------------------------------------------
def check_head(household_id: str, head: Mapping[str, Any]) -> None:
    if head["household_id"] != household_id:
        raise InvalidInput("head_resident_id: the head of household must be a member of it")


def check_move(resident: Mapping[str, Any], target_household_id: str, heads_a_household: bool) -> None:
    if target_household_id == resident["household_id"]:
        raise InvalidInput("the resident already lives in this household")
    if heads_a_household:
        raise Conflict("the resident heads their household: name another head first")


def check_resident_changes(changes: Mapping[str, Any]) -> None:
    if ("full_name" in changes and changes["full_name"] is None) or ("sex" in changes and changes["sex"] is None):
        raise InvalidInput("full_name and sex cannot be removed")


def changed_fields(changes: Iterable[str]) -> list[str]:
    """What the audit trail records of a change: the fields' names, never their values (the national ID among
    them, whatever columns hold it)."""
    return sorted({"national_id" if k.startswith("national_id") else k for k in changes})


# -- facilities and boarding houses -----------------------------------------------------------------------
def check_decommission(facility: Mapping[str, Any], on: date) -> None:
    if facility["decommissioned_on"] is not None:
        raise Conflict("the facility is already decommissioned")
    if facility["installed_on"] is not None and on < facility["installed_on"]:
        raise InvalidInput("decommissioned_on is before the facility was installed")


def clean_rooms(rooms: Iterable[str]) -> list[str]:
    cleaned = [r.strip() for r in rooms]
    if any(not r for r in cleaned) or len(set(cleaned)) != len(cleaned):
        raise InvalidInput("rooms must be distinct, non-empty labels")
    return cleaned


def check_room(room: str | None, rooms: Iterable[str]) -> None:
    if room is not None and room not in rooms:
        raise InvalidInput(f"room: the boarding house has no room {room!r}")


# -- teams -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActiveMember:
    resident_id: str
    role: str
    sex: str


@dataclass(frozen=True)
class ComplianceIssue:
    """One reason a team is not compliant: a stable ``code`` that programs act on (the console says it in the
    reader's language), the facts it was judged on, and the English ``message`` for whoever does not know the code.
    Codes (documented in ``schemas.ComplianceIssue``) may be added, never renamed."""

    code: str
    message: str
    minimum: int | None = None  # too_few_mediators: how many the law requires
    active: int | None = None  # too_few_mediators: how many the team has now

    def as_json(self) -> dict[str, Any]:
        """The issue as the API answers it: only the parameters its code has."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def compliance_issues(kind: str, members: list[ActiveMember]) -> list[ComplianceIssue]:
    """Why a team is not compliant (empty when it is). Non-compliant teams are flagged, not refused: a team
    is formed first and staffed afterwards, and the ward needs to see which ones still lack people."""
    issues: list[ComplianceIssue] = []
    if not any(m.role == "leader" for m in members):
        issues.append(ComplianceIssue("no_leader", "no leader"))
    if kind == "mediation":
        if len(members) < MIN_MEDIATORS:
            issues.append(ComplianceIssue("too_few_mediators", f"fewer than {MIN_MEDIATORS} mediators ({len(members)})",
                                          minimum=MIN_MEDIATORS, active=len(members)))
        if not any(m.sex == "female" for m in members):
            issues.append(ComplianceIssue("no_woman_mediator", "no woman among the mediators"))
    return issues


def team_compliance(kind: str, members: list[ActiveMember]) -> list[str]:
    """The issues' English sentences (``compliance_issues`` of the API and of the team events)."""
    return [i.message for i in compliance_issues(kind, members)]


def check_leader(members: Iterable[Mapping[str, Any]], role: str, resident_id: str) -> None:
    """One leader per team (tổ trưởng)."""
    if role == "leader" and any(m["role"] == "leader" and m["resident_id"] != resident_id for m in members):
        raise Conflict("the team already has a leader; change the current leader's role first")


def check_new_member(team: Mapping[str, Any], members: Iterable[Mapping[str, Any]], resident_id: str,
                     appointed_on: date) -> None:
    if appointed_on < team["formed_on"]:
        raise InvalidInput("appointed_on is before the team was formed")
    if any(m["resident_id"] == resident_id for m in members):
        raise Conflict("this resident is already a member of the team")


def check_role_change(membership: Mapping[str, Any], role: str, changed_on: date) -> None:
    if membership["role"] == role:
        raise InvalidInput(f"the member already has the role {role}")
    check_not_before_appointment(membership, changed_on, "changed_on")


def check_not_before_appointment(membership: Mapping[str, Any], on: date, field: str) -> None:
    if on < membership["appointed_on"]:
        raise InvalidInput(f"{field} is before the member was appointed")


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


ABSENCE_MINIMUM: dict[AbsenceCase, timedelta] = {
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


def refuse_overlap(others: Iterable[Mapping[str, Any]], start: date, end: date, *, renewing: str | None = None) -> None:
    """One person's active declarations of one kind do not overlap (``renewing``: the one being extended)."""
    for other in others:
        if other["declaration_id"] != renewing and overlaps(start, end, other["valid_from"], other["valid_until"]):
            what = "the renewed period" if renewing else "the period"
            raise Conflict(f"{what} overlaps declaration {other['declaration_id']} of the same person")


def check_active_temporary(declaration: Mapping[str, Any]) -> None:
    if declaration["kind"] != "temporary_residence":
        raise InvalidInput("not a temporary residence declaration")
    if declaration["status"] != "active":
        raise RuleViolation(f"the declaration is {declaration['status']}")


def check_end(declaration: Mapping[str, Any], ended_on: date) -> None:
    if not declaration["valid_from"] <= ended_on <= declaration["valid_until"]:
        raise InvalidInput("ended_on must fall within the declaration's period")


def check_arrival(arrived_at: datetime, notified_at: datetime) -> None:
    if arrived_at > notified_at:
        raise InvalidInput("arrived_at is in the future")


def stay_notice_deadline(arrived_at: datetime) -> datetime:
    """23:00 of the arrival day (ward time); 08:00 of the next day for an arrival at or after 23:00."""
    local = arrived_at.astimezone(WARD_TZ)
    if local.time() >= time(23, 0):
        return datetime.combine(local.date() + timedelta(days=1), time(8, 0), WARD_TZ)
    return datetime.combine(local.date(), time(23, 0), WARD_TZ)


def stay_notice_is_late(arrived_at: datetime, notified_at: datetime) -> bool:
    return notified_at > stay_notice_deadline(arrived_at)


# -- places (issue 18): areas of residential groups, points of facilities and boarding houses -------------------
# Coordinates are WGS84 (GeoJSON order: longitude, latitude). Who sees a point how precisely, as Ushahidi does:
# * ``exact``: police and ward / city officials, who act on the place itself;
# * ``approximate``: team leaders and members, the point snapped to a ~100 m grid (3 decimals, half away from
#   zero, as PostgreSQL's round(numeric) does, so that a bbox filter on the snapped point agrees with the reply);
# * ``group``: everyone else (residents, admins operating the platform, feed subscribers): no coordinates at all,
#   only the residential group. A boarding house is somebody's home; an admin sees no more of it than of a national
#   ID number. Facilities follow the same rule (a camera's exact post is not for everyone).
# A bbox filter works on what the viewer sees, never on more: on the exact point for ``exact``, the snapped point
# for ``approximate``, and the group's area for ``group`` (so a list cannot be used to search out a point the
# viewer may not see).
EXACT_VIEWERS = (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL)
APPROXIMATE_VIEWERS = (Role.TEAM_LEADER, Role.TEAM_MEMBER)
APPROXIMATE_DECIMALS = 3
AREA_EDITORS = (Role.WARD_OFFICIAL,)  # draw the groups' areas (the ward's own map)
#: Positions of one area, every ring counted (a ring's closing position included). With coordinates kept to 7
#: decimals (about 1 cm), the largest area is some 150 kB of JSON: it fits a request body and a Kafka message.
MAX_AREA_VERTICES = 5000
COORDINATE_DECIMALS = 7


def precision_for(actor: Principal) -> str:
    """The precision a viewer sees points at: the best of their roles."""
    if actor.has(*EXACT_VIEWERS):
        return "exact"
    if actor.has(*APPROXIMATE_VIEWERS):
        return "approximate"
    return "group"


def snap(value: float, decimals: int = APPROXIMATE_DECIMALS) -> float:
    """A coordinate rounded half away from zero from its 15-significant-digit form (PostgreSQL's float8::numeric
    and round(numeric, n)), so that Python and SQL snap every point alike."""
    exponent = Decimal(1).scaleb(-decimals)
    return float(Decimal(f"{value:.15g}").quantize(exponent, rounding=ROUND_HALF_UP))


def place(row: Mapping[str, Any], precision: str) -> dict[str, Any]:
    """A record's ``place`` as a viewer of ``precision`` sees it (coordinates null when none were recorded)."""
    lat, lon = row.get("latitude"), row.get("longitude")
    if precision == "group" or lat is None or lon is None:
        lat = lon = None
    elif precision == "approximate":
        lat, lon = snap(lat), snap(lon)
    return {"latitude": lat, "longitude": lon, "precision": precision, "group_id": row["group_id"]}


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minLon,minLat,maxLon,maxLat`` (RFC 7946 order). A box across the antimeridian (minLon > maxLon) is
    refused: no ward spans it."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InvalidInput("bbox must be four numbers: minLon,minLat,maxLon,maxLat") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput("bbox must be four numbers: minLon,minLat,maxLon,maxLat")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= 90 and -90 <= max_lat <= 90):
        raise InvalidInput("bbox: longitudes lie within -180..180 and latitudes within -90..90")
    if min_lon > max_lon or min_lat > max_lat:
        raise InvalidInput("bbox: the minimum comes before the maximum (minLon,minLat,maxLon,maxLat)")
    return min_lon, min_lat, max_lon, max_lat


def check_point(latitude: float | None, longitude: float | None) -> None:
    """Both coordinates or neither, each within WGS84's ranges (the values are never echoed)."""
    if (latitude is None) != (longitude is None):
        raise ValueError("latitude and longitude are given together or not at all")
    if latitude is not None and not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise ValueError("latitude lies within -90..90")
    if longitude is not None and not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise ValueError("longitude lies within -180..180")


def area_rings(coordinates: Any, kind: str) -> list[list[Any]]:
    """Every linear ring of a Polygon's or MultiPolygon's coordinates."""
    polygons = [coordinates] if kind == "Polygon" else list(coordinates)
    return [list(ring) for polygon in polygons for ring in polygon]


def check_area(kind: str, coordinates: Any) -> None:
    """An area's shape beyond what GeoJSON's own rules say (rings closed, four positions at least: checked by the
    geojson-pydantic models): not empty, bounded, WGS84 ranges, two-dimensional positions. Raises ValueError (the
    request's schema check turns it into a 422 problem); no value is echoed."""
    polygons = [coordinates] if kind == "Polygon" else list(coordinates)
    if not polygons or any(not polygon for polygon in polygons):
        raise ValueError("an area has at least one polygon, each with its exterior ring")
    rings = area_rings(coordinates, kind)
    vertices = sum(len(r) for r in rings)
    if vertices > MAX_AREA_VERTICES:
        raise ValueError(f"an area has at most {MAX_AREA_VERTICES} positions, every ring counted")
    for ring in rings:
        for position in ring:
            if len(position) != 2:
                raise ValueError("positions are [longitude, latitude], without altitude")
            lon, lat = position
            if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
                raise ValueError("coordinates lie within WGS84's ranges: longitude -180..180, latitude -90..90")


def area_row(kind: str, coordinates: Any) -> dict[str, Any]:
    """What is stored of a checked area: the GeoJSON geometry with coordinates kept to 7 decimals (~1 cm), its
    number of positions and its bounding box."""
    def cleaned(ring: list[Any]) -> list[list[float]]:
        return [[round(float(lon), COORDINATE_DECIMALS), round(float(lat), COORDINATE_DECIMALS)] for lon, lat in ring]

    polygons = [coordinates] if kind == "Polygon" else list(coordinates)
    shaped = [[cleaned(list(ring)) for ring in polygon] for polygon in polygons]
    positions = [p for polygon in shaped for ring in polygon for p in ring]
    return {
        "geometry": {"type": kind, "coordinates": shaped[0] if kind == "Polygon" else shaped},
        "vertex_count": len(positions),
        "min_lon": min(p[0] for p in positions), "min_lat": min(p[1] for p in positions),
        "max_lon": max(p[0] for p in positions), "max_lat": max(p[1] for p in positions),
    }
