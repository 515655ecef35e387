"""The pure rules of incidents' places (services/incidents/geo.py): precision by role, the ~100 m grid, geodesic
distances and the nearby-duplicate filter, and the parsing of bbox / near."""

from __future__ import annotations

from datetime import timedelta

import pytest
from geographiclib.geodesic import Geodesic

from services.incidents import geo
from shared import clock
from shared.actor import Principal, Role
from shared.errors import InvalidInput


def who(*roles: Role) -> Principal:
    return Principal("u", frozenset(roles), "phu-son")


def test_the_finest_precision_of_the_callers_roles_counts():
    assert geo.precision_for(None) is geo.Precision.GROUP
    assert geo.precision_for(who(Role.RESIDENT)) is geo.Precision.GROUP
    assert geo.precision_for(who(Role.ADMIN)) is geo.Precision.GROUP
    assert geo.precision_for(who(Role.FEED_SUBSCRIBER)) is geo.Precision.GROUP
    assert geo.precision_for(who(Role.RESIDENT, Role.TEAM_LEADER)) is geo.Precision.APPROXIMATE
    assert geo.precision_for(who(Role.TEAM_MEMBER)) is geo.Precision.APPROXIMATE
    for role in (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL):
        assert geo.precision_for(who(Role.RESIDENT, role)) is geo.Precision.EXACT
    assert not geo.sees_crime_tips(None) and not geo.sees_crime_tips(who(Role.TEAM_LEADER, Role.ADMIN))
    assert geo.sees_crime_tips(who(Role.WARD_OFFICIAL))


def test_the_approximate_grid_rounds_half_away_from_zero_on_the_written_value():
    assert geo.snap(21.0285) == 21.029 and geo.snap(105.8545) == 105.855 and geo.snap(-0.0005) == -0.001
    assert geo.snap(105.8544999) == 105.854
    row = {"latitude": 21.0285431, "longitude": 105.8542179, "group_id": "g"}
    assert geo.place(row, geo.Precision.APPROXIMATE) == {"latitude": 21.029, "longitude": 105.854,
                                                         "precision": "approximate", "group_id": "g"}
    assert geo.place(row, geo.Precision.GROUP)["latitude"] is None
    assert geo.place({**row, "latitude": None, "longitude": None}, geo.Precision.EXACT)["latitude"] is None


def test_duplicates_are_decided_on_the_ellipsoid_within_50_m_and_7_days():
    now = clock.now()
    lat, lon = 21.0285, 105.8542

    def at(metres: float, azimuth: float = 45.0, days: float = 0.0, incident_id: str = "i") -> dict:
        g = Geodesic.WGS84.Direct(lat, lon, azimuth, metres)
        return {"incident_id": incident_id, "category": "fire", "group_id": "g", "latitude": g["lat2"],
                "longitude": g["lon2"], "received_at": now - timedelta(days=days), "supporters": 2}

    found = geo.duplicates([at(49.9, incident_id="b"), at(50.1, incident_id="c"), at(3, incident_id="a"),
                            at(10, days=7.01, incident_id="old")], lat, lon, now)
    assert [(d["incident_id"], d["distance_m"]) for d in found] == [("a", 0), ("b", 50)]
    assert "latitude" not in found[0] and found[0]["supporters"] == 2
    # The index's sphere is off by well under INDEX_MARGIN at this scale.
    there = at(50)
    sphere = geo.sphere_distance_m(lat, lon, there["latitude"], there["longitude"])
    assert abs(sphere - 50) / 50 < geo.INDEX_MARGIN - 1


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "106,21,105,22", "105,91,106,92", "nan,1,2,3",
                                  "-inf,1,2,3", "181,1,182,2", ",".join(["1"] * 4) + "," * 200])
def test_a_bad_bbox_is_invalid_input(text):
    with pytest.raises(InvalidInput):
        geo.parse_bbox(text)


def test_bbox_and_near_parse_in_their_orders():
    box = geo.parse_bbox("105.8,21.0,105.9,21.1")  # GeoJSON's order: lon first
    assert box.contains(21.05, 105.85) and not box.contains(105.85, 21.05)
    near = geo.parse_near("21.0285,105.8542", 100)  # lat first
    assert near.contains(21.0285, 105.8551) and not near.contains(21.0285, 105.8553)  # 93 m, 114 m
    for text, radius in (("21,105", None), ("21,105", 0), ("21,105", 5001), ("91,105", 10), ("21", 10)):
        with pytest.raises(InvalidInput):
            geo.parse_near(text, radius)
