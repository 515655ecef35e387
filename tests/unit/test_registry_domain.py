"""The registry's pure rules: national ID format, team compliance, the Law on Residence's periods and deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.registry.domain import (
    ActiveMember,
    check_absence,
    check_renewal,
    check_temporary_residence,
    stay_notice_deadline,
    stay_notice_is_late,
    team_compliance,
    validate_national_id,
)
from shared.clock import WARD_TZ
from shared.errors import InvalidInput, RuleViolation


@pytest.mark.parametrize("value", ["03809000123", "0380900012345", "03809000123a", "", "038 090 001 234"])
def test_national_id_must_be_exactly_twelve_digits_and_is_never_echoed(value):
    with pytest.raises(InvalidInput) as err:
        validate_national_id(value)
    assert value.strip() == "" or value not in err.value.detail


def test_national_id_of_twelve_digits_is_accepted():
    assert validate_national_id(" 038090001234 ") == "038090001234"


def m(role: str, sex: str = "male", rid: str = "r") -> ActiveMember:
    return ActiveMember(rid, role, sex)


def test_mediation_team_needs_a_leader_three_mediators_and_a_woman():
    assert team_compliance("mediation", [m("leader"), m("member"), m("member", "female")]) == []
    assert team_compliance("mediation", [m("leader"), m("member", "female")]) == ["fewer than 3 mediators (2)"]
    assert team_compliance("mediation", [m("leader"), m("member"), m("deputy")]) == ["no woman among the mediators"]
    assert team_compliance("mediation", [m("member", "female"), m("member"), m("member")]) == ["no leader"]
    assert team_compliance("mediation", []) == ["no leader", "fewer than 3 mediators (0)", "no woman among the mediators"]


@pytest.mark.parametrize("kind", ["anxh", "security_order", "fire_prevention", "mobilisation"])
def test_other_team_kinds_need_only_a_leader(kind):
    assert team_compliance(kind, [m("leader")]) == []
    assert team_compliance(kind, [m("member"), m("deputy")]) == ["no leader"]


def test_temporary_residence_is_for_thirty_days_to_two_years():
    check_temporary_residence(date(2024, 1, 1), date(2024, 1, 31))
    check_temporary_residence(date(2024, 2, 29), date(2026, 2, 28))
    with pytest.raises(RuleViolation, match="30 days"):
        check_temporary_residence(date(2024, 1, 1), date(2024, 1, 30))
    with pytest.raises(RuleViolation, match="2 years"):
        check_temporary_residence(date(2024, 1, 1), date(2026, 1, 2))
    with pytest.raises(InvalidInput, match="end after it starts"):
        check_temporary_residence(date(2024, 3, 1), date(2024, 2, 1))


def test_renewal_moves_the_end_later_by_at_most_two_years():
    check_renewal(date(2025, 1, 1), date(2027, 1, 1), today=date(2024, 12, 1))
    with pytest.raises(InvalidInput):
        check_renewal(date(2025, 1, 1), date(2025, 1, 1), today=date(2024, 12, 1))
    with pytest.raises(RuleViolation):
        check_renewal(date(2025, 1, 1), date(2027, 1, 2), today=date(2024, 12, 1))


@pytest.mark.parametrize(("case", "days_ok", "days_short"), [
    ("bail_or_probation", 1, 0), ("military_age", 90, 89), ("other", 365, 364)])
def test_absence_is_declared_from_the_minimum_of_its_case(case, days_ok, days_short):
    start = date(2024, 3, 1)
    check_absence(case, start, date.fromordinal(start.toordinal() + days_ok))
    with pytest.raises((RuleViolation, InvalidInput)):
        check_absence(case, start, date.fromordinal(start.toordinal() + days_short))


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WARD_TZ)


def test_stay_notice_is_due_by_23_00_on_the_arrival_day():
    arrived = local(2024, 8, 13, 14)
    assert stay_notice_deadline(arrived) == local(2024, 8, 13, 23)
    assert not stay_notice_is_late(arrived, local(2024, 8, 13, 22, 59))
    assert stay_notice_is_late(arrived, local(2024, 8, 13, 23, 1))


def test_stay_notice_for_an_arrival_after_23_00_is_due_by_08_00_next_day():
    arrived = local(2024, 8, 13, 23, 30)
    assert stay_notice_deadline(arrived) == local(2024, 8, 14, 8)
    assert not stay_notice_is_late(arrived, local(2024, 8, 14, 7, 59))
    assert stay_notice_is_late(arrived, local(2024, 8, 14, 8, 1))


def test_stay_notice_deadline_uses_ward_time_not_utc():
    arrived_utc = datetime(2024, 8, 13, 16, 30, tzinfo=UTC)  # 23:30 in Hà Nội / Thanh Hóa
    assert stay_notice_deadline(arrived_utc) == local(2024, 8, 14, 8)


# -- places (issue 18) ------------------------------------------------------------------------------------------
def test_a_point_is_snapped_to_three_decimals_half_away_from_zero_as_postgresql_rounds() -> None:
    from services.registry.domain import place, snap

    assert [snap(v) for v in (19.8076543, 105.7765, -105.7765, 19.99996, 0.0004999)] == [
        19.808, 105.777, -105.777, 20.0, 0.0]
    row = {"latitude": 19.8076543, "longitude": 105.7765432, "group_id": "g"}
    assert place(row, "exact") == {"latitude": 19.8076543, "longitude": 105.7765432, "precision": "exact",
                                   "group_id": "g"}
    assert place(row, "approximate")["latitude"] == 19.808
    assert place(row, "group") == {"latitude": None, "longitude": None, "precision": "group", "group_id": "g"}


def test_each_role_sees_points_at_the_best_precision_of_its_roles() -> None:
    from services.registry.domain import precision_for
    from shared.actor import Principal, Role

    def of(*roles: Role) -> str:
        return precision_for(Principal("u", frozenset(roles), "phu-son"))

    assert [of(Role.POLICE), of(Role.WARD_OFFICIAL), of(Role.CITY_OFFICIAL)] == ["exact"] * 3
    assert [of(Role.TEAM_LEADER), of(Role.TEAM_MEMBER)] == ["approximate"] * 2
    assert [of(Role.RESIDENT), of(Role.ADMIN), of(Role.FEED_SUBSCRIBER)] == ["group"] * 3
    assert of(Role.RESIDENT, Role.TEAM_LEADER) == "approximate" and of(Role.TEAM_MEMBER, Role.POLICE) == "exact"


@pytest.mark.parametrize("text", ["1,2,3", "1,2,3,4,5", "a,1,2,3", "nan,1,2,3", "1,inf,2,3", "181,0,182,1",
                                  "0,-91,1,0", "2,0,1,1", "0,2,1,1", ""])
def test_a_bbox_is_four_wgs84_numbers_minimum_first(text: str) -> None:
    from services.registry.domain import parse_bbox

    with pytest.raises(InvalidInput):
        parse_bbox(text)


def test_the_largest_area_s_event_fits_a_message_with_room_to_spare() -> None:
    from services.registry.domain import MAX_AREA_VERTICES, area_row
    from shared.contracts.registry import GroupAreaSet
    from shared.events import MAX_MESSAGE_BYTES, to_kafka

    # every position as long as a WGS84 coordinate with 7+ decimals can be, in as many polygons as possible
    worst = [[[[-179.12345678912, -89.12345678912]] * 3 + [[-179.12345678912, -89.12345678912]]]
             for _ in range(MAX_AREA_VERTICES // 4)]
    area = area_row("MultiPolygon", worst)
    assert area["vertex_count"] == MAX_AREA_VERTICES
    event = GroupAreaSet(ward_id="phu-son", subject="g", group_id="g", geometry=area["geometry"],
                         bbox=[area["min_lon"], area["min_lat"], area["max_lon"], area["max_lat"]])
    _, value, _ = to_kafka(event)
    assert len(value) < MAX_MESSAGE_BYTES / 4
