"""Places of incidents (pure functions): who sees a point how precisely, distances on the WGS84 ellipsoid, and the
rules of nearby duplicates.

Precision by viewer, as Ushahidi does it:

* ``exact``: police and ward or city officials see the point as reported;
* ``approximate``: team leaders and members see it snapped to a grid of 0.001° (about 100 m: latitude and longitude
  rounded to 3 decimals);
* ``group``: residents, the public and anyone else (a platform admin included: keeping the platform running needs no
  one's whereabouts) see no coordinates at all, only the residential group.

Distances are geodesics on the WGS84 ellipsoid (Karney's algorithm, ``geographiclib``), so "within 50 m" means 50 m
on the ground. The database finds the candidates through its index (``earthdistance``'s sphere, with a margin that
covers the sphere's error); this module decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from geographiclib.geodesic import Geodesic

from shared.actor import Principal, Role
from shared.errors import InvalidInput


class Precision(StrEnum):
    EXACT = "exact"
    APPROXIMATE = "approximate"
    GROUP = "group"


EXACT_ROLES: tuple[Role, ...] = (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL)
APPROXIMATE_ROLES: tuple[Role, ...] = (Role.TEAM_LEADER, Role.TEAM_MEMBER)
#: Who is offered crime tips as nearby duplicates, and sees them on the map: a tip must not reveal that another
#: tip exists to anyone else.
SEES_CRIME_TIPS: tuple[Role, ...] = (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL)

#: ~100 m: the approximate point is the point rounded to this many decimals of a degree.
APPROXIMATE_DECIMALS = 3

#: Nearby duplicates: open reports of the same category within this distance, received within this window.
DUPLICATE_RADIUS_M = 50.0
DUPLICATE_WINDOW = timedelta(days=7)
#: Distances shown to reporters are rounded to this (a precise distance from a chosen point helps locate a report).
DISTANCE_ROUNDING_M = 10
#: The radius of a ``near=`` query, in metres.
MAX_RADIUS_M = 5000
#: The index's sphere (earthdistance: radius 6 378 168 m) is off the ellipsoid by well under 1 %: the database is
#: asked for a radius this much larger, and the exact geodesic decides.
INDEX_MARGIN = 1.01

_WGS84 = Geodesic.WGS84
#: earthdistance's sphere (its ``earth()``), for the radius of a list query (``Near``), which the database decides.
INDEX_SPHERE_RADIUS_M = 6378168.0


def precision_for(viewer: Principal | None) -> Precision:
    """The finest precision any of the viewer's roles allows (None: the anonymous public)."""
    if viewer is None:
        return Precision.GROUP
    if viewer.has(*EXACT_ROLES):
        return Precision.EXACT
    if viewer.has(*APPROXIMATE_ROLES):
        return Precision.APPROXIMATE
    return Precision.GROUP


def sees_crime_tips(viewer: Principal | None) -> bool:
    return viewer is not None and viewer.has(*SEES_CRIME_TIPS)


def snap(value: float) -> float:
    """Rounded to APPROXIMATE_DECIMALS, half away from zero on the decimal value as written (as PostgreSQL's
    round(numeric) does, and the registry's points): not Python's round(), which halves to even on binary floats."""
    step = Decimal(1).scaleb(-APPROXIMATE_DECIMALS)
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP))


def coordinates(latitude: float | None, longitude: float | None,
                precision: Precision) -> tuple[float | None, float | None]:
    """The point as ``precision`` shows it: as is, snapped to the grid, or not at all."""
    if latitude is None or longitude is None or precision is Precision.GROUP:
        return None, None
    if precision is Precision.APPROXIMATE:
        return snap(latitude), snap(longitude)
    return latitude, longitude


def place(row: dict[str, Any], precision: Precision) -> dict[str, Any]:
    """The ``place`` of an incident (``row``: latitude, longitude, group_id) at ``precision``."""
    lat, lon = coordinates(row.get("latitude"), row.get("longitude"), precision)
    return {"latitude": lat, "longitude": lon, "precision": precision.value, "group_id": row["group_id"]}


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The geodesic distance between two WGS84 points, in metres."""
    return float(_WGS84.Inverse(lat1, lon1, lat2, lon2, Geodesic.DISTANCE)["s12"])


def sphere_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The great-circle distance on earthdistance's sphere (what ``earth_distance`` answers), in metres."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * INDEX_SPHERE_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def rounded_distance(metres: float) -> int:
    return int(round(metres / DISTANCE_ROUNDING_M) * DISTANCE_ROUNDING_M)


# -- query parameters -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def contains(self, latitude: float | None, longitude: float | None) -> bool:
        return (latitude is not None and longitude is not None
                and self.min_lat <= latitude <= self.max_lat and self.min_lon <= longitude <= self.max_lon)


@dataclass(frozen=True)
class Near:
    """A radius around a point. A list's ``?near=`` is decided on the index's sphere (off the ellipsoid by < 0.5 %,
    a quarter of a metre at 50 m), the nearby duplicates by the geodesic (``duplicates``)."""

    latitude: float
    longitude: float
    radius_m: float

    def contains(self, latitude: float | None, longitude: float | None) -> bool:
        return (latitude is not None and longitude is not None
                and sphere_distance_m(self.latitude, self.longitude, latitude, longitude) <= self.radius_m)


def _floats(text: str, count: int, name: str) -> list[float]:
    parts = text.split(",")
    if len(parts) != count or len(text) > 200:
        raise InvalidInput(f"{name} takes {count} numbers separated by commas")
    try:
        values = [float(p) for p in parts]
    except ValueError as exc:
        raise InvalidInput(f"{name} takes {count} numbers separated by commas") from exc
    if any(v != v or v in (float("inf"), float("-inf")) for v in values):
        raise InvalidInput(f"{name} takes finite numbers")
    return values


def check_point(latitude: float, longitude: float) -> None:
    if not (-90 <= latitude <= 90) or not (-180 <= longitude <= 180):
        raise InvalidInput("latitude must be within -90..90 and longitude within -180..180 (WGS84 degrees)")


def parse_bbox(text: str) -> BBox:
    """``minLon,minLat,maxLon,maxLat`` (GeoJSON's order). A box across the antimeridian is refused (no ward is)."""
    min_lon, min_lat, max_lon, max_lat = _floats(text, 4, "bbox")
    check_point(min_lat, min_lon)
    check_point(max_lat, max_lon)
    if min_lon > max_lon or min_lat > max_lat:
        raise InvalidInput("bbox is minLon,minLat,maxLon,maxLat with min <= max")
    return BBox(min_lon, min_lat, max_lon, max_lat)


def parse_near(text: str, radius_m: float | None) -> Near:
    """``lat,lon`` and a radius of 1..MAX_RADIUS_M metres."""
    latitude, longitude = _floats(text, 2, "near")
    check_point(latitude, longitude)
    if radius_m is None:
        raise InvalidInput("near needs radius_m")
    if not (1 <= radius_m <= MAX_RADIUS_M):
        raise InvalidInput(f"radius_m must be within 1..{MAX_RADIUS_M}")
    return Near(latitude, longitude, float(radius_m))


# -- nearby duplicates --------------------------------------------------------------------------------------------------
def duplicates(candidates: list[dict[str, Any]], latitude: float, longitude: float, now: datetime,
               ) -> list[dict[str, Any]]:
    """Of ``candidates`` (open incidents of the category, with a point), those within DUPLICATE_RADIUS_M received
    in the last DUPLICATE_WINDOW, nearest first, as offered to a reporter: no coordinates, the distance rounded."""
    found = []
    for inc in candidates:
        if inc["latitude"] is None or inc["received_at"] < now - DUPLICATE_WINDOW:
            continue
        d = distance_m(latitude, longitude, inc["latitude"], inc["longitude"])
        if d <= DUPLICATE_RADIUS_M:
            found.append((d, inc))
    found.sort(key=lambda pair: (pair[0], pair[1]["incident_id"]))
    return [{"incident_id": inc["incident_id"], "category": inc["category"], "group_id": inc["group_id"],
             "received_at": inc["received_at"], "supporters": inc.get("supporters") or 0,
             "distance_m": rounded_distance(d)} for d, inc in found]
