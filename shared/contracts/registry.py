"""Events of the registry service (danh bạ): wards, groups, households, residents, teams, facilities,
boarding houses and residence declarations.

No event carries a national ID number, a phone number or an address: consumers get ids, names and the few
facts they need (a mediator's sex for the team's compliance, a member's household for conflicts of interest).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field

from shared.events import Event, PublicEvent, copy_fields

TeamKind = Literal["anxh", "security_order", "mediation", "fire_prevention", "mobilisation"]
MemberRole = Literal["leader", "deputy", "member"]
Sex = Literal["female", "male"]
FacilityKind = Literal["security_camera", "fire_point"]
AbsenceCase = Literal["bail_or_probation", "military_age", "other"]
DeclarationKind = Literal["temporary_residence", "absence"]
DeclarationStatus = Literal["active", "expired", "ended"]

Id = Field(min_length=1, max_length=64)


# -- wards and residential groups (tổ dân phố) -------------------------------------------------------------
class WardRegistered(Event):
    """A ward (phường) was registered on the platform. ``subject`` is the ward id."""

    event_type: ClassVar[str] = "registry.ward.registered.v1"
    topic: ClassVar[str] = "registry.wards"
    name: str = Field(max_length=200, description="e.g. Phường Phú Sơn")
    city: str = Field(max_length=200, description="The city or province")


class PublicGroupCreated(PublicEvent):
    """A residential group exists in a ward (public feed)."""

    event_type: ClassVar[str] = "public.registry.group.created.v1"
    group_id: str
    name: str


class GroupCreated(Event):
    """A residential group (tổ dân phố) was created. ``subject`` is the group id."""

    event_type: ClassVar[str] = "registry.group.created.v1"
    topic: ClassVar[str] = "registry.wards"
    group_id: str = Id
    name: str = Field(max_length=200, description="e.g. Tổ dân phố Trần Phú")

    def to_public(self) -> PublicGroupCreated:
        return copy_fields(PublicGroupCreated, self)


# -- households and residents --------------------------------------------------------------------------------
class HouseholdRegistered(Event):
    """A household (hộ gia đình) was registered in a group. No address: that stays in the registry."""

    event_type: ClassVar[str] = "registry.household.registered.v1"
    topic: ClassVar[str] = "registry.households"
    household_id: str = Id
    group_id: str = Id
    head_resident_id: str | None = Field(default=None, description="The head of household, once registered")


class HouseholdHeadChanged(Event):
    """A household's head (chủ hộ) was named or changed."""

    event_type: ClassVar[str] = "registry.household.head_changed.v1"
    topic: ClassVar[str] = "registry.households"
    household_id: str = Id
    group_id: str = Id
    head_resident_id: str = Id


class ResidentRegistered(Event):
    """A resident was registered in a household. Never the national ID number, phone or birth date."""

    event_type: ClassVar[str] = "registry.resident.registered.v1"
    topic: ClassVar[str] = "registry.residents"
    resident_id: str = Id
    household_id: str = Id
    group_id: str = Id
    full_name: str = Field(max_length=200, description="As it appears on a certificate of merit")
    sex: Sex


class ResidentMoved(Event):
    """A resident moved to another household (possibly in another group of the ward)."""

    event_type: ClassVar[str] = "registry.resident.moved.v1"
    topic: ClassVar[str] = "registry.residents"
    resident_id: str = Id
    from_household_id: str = Id
    to_household_id: str = Id
    group_id: str = Field(description="The group of the new household")


class ResidentUpdated(Event):
    """A resident's shareable details changed (name, sex)."""

    event_type: ClassVar[str] = "registry.resident.updated.v1"
    topic: ClassVar[str] = "registry.residents"
    resident_id: str = Id
    full_name: str = Field(max_length=200)
    sex: Sex


# -- teams -------------------------------------------------------------------------------------------------
class PublicTeamFormed(PublicEvent):
    """A volunteer team was formed (public feed)."""

    event_type: ClassVar[str] = "public.registry.team.formed.v1"
    team_id: str
    group_id: str
    kind: TeamKind
    name: str


class _TeamState(Event):
    """Team facts repeated on every team event, so a consumer needs no other event to act on one."""

    team_id: str = Id
    group_id: str = Id
    kind: TeamKind
    compliant: bool = Field(
        description="Mediation teams: a leader and at least 3 mediators including a woman. Other kinds: a leader."
    )
    compliance_issues: list[str] = Field(default_factory=list, max_length=20, description="Why the team is not compliant")


class TeamFormed(_TeamState):
    """A team (tổ ANXH, tổ bảo vệ ANTT, tổ hòa giải, tổ PCCC liên gia, tổ vận động) was formed."""

    event_type: ClassVar[str] = "registry.team.formed.v1"
    topic: ClassVar[str] = "registry.teams"
    name: str = Field(max_length=200)
    formed_on: date
    formation_act: str = Field(max_length=200, description="The decision that formed it, e.g. QĐ 12/QĐ-UBND")

    def to_public(self) -> PublicTeamFormed:
        return copy_fields(PublicTeamFormed, self)


class _Membership(_TeamState):
    resident_id: str = Id
    household_id: str = Id
    full_name: str = Field(max_length=200)
    sex: Sex


class TeamMemberJoined(_Membership):
    """A resident joined a team as leader, deputy or member."""

    event_type: ClassVar[str] = "registry.team.member_joined.v1"
    topic: ClassVar[str] = "registry.teams"
    role: MemberRole
    appointed_on: date
    appointment_act: str | None = Field(default=None, max_length=200)


class TeamMemberLeft(_Membership):
    """A member left a team."""

    event_type: ClassVar[str] = "registry.team.member_left.v1"
    topic: ClassVar[str] = "registry.teams"
    role: MemberRole = Field(description="The role held until leaving")
    left_on: date


class TeamMemberRoleChanged(_Membership):
    """A member's role in a team changed."""

    event_type: ClassVar[str] = "registry.team.member_role_changed.v1"
    topic: ClassVar[str] = "registry.teams"
    role: MemberRole
    previous_role: MemberRole
    changed_on: date
    appointment_act: str | None = Field(default=None, max_length=200)


# -- facilities ----------------------------------------------------------------------------------------------
class PublicFacilityRegistered(PublicEvent):
    """A security camera or a public fire-fighting point was registered (public feed)."""

    event_type: ClassVar[str] = "public.registry.facility.registered.v1"
    facility_id: str
    group_id: str
    kind: FacilityKind
    installed_on: date | None = None


class FacilityRegistered(Event):
    """A facility was registered: a security camera or a public fire-fighting point (điểm chữa cháy công cộng)."""

    event_type: ClassVar[str] = "registry.facility.registered.v1"
    topic: ClassVar[str] = "registry.facilities"
    facility_id: str = Id
    group_id: str = Id
    kind: FacilityKind
    name: str = Field(max_length=200)
    location: str = Field(max_length=300, description="A public place, e.g. 'Ngã ba Trần Phú - Lê Lợi'")
    installed_on: date | None = None
    funded_by_campaign_id: str | None = Field(default=None, description="The donations campaign that paid for it")
    funded_by_expense_id: str | None = Field(default=None, description="The donations expense that bought it")

    def to_public(self) -> PublicFacilityRegistered:
        return copy_fields(PublicFacilityRegistered, self)


class FacilityDecommissioned(Event):
    """A facility was taken out of service."""

    event_type: ClassVar[str] = "registry.facility.decommissioned.v1"
    topic: ClassVar[str] = "registry.facilities"
    facility_id: str = Id
    group_id: str = Id
    kind: FacilityKind
    decommissioned_on: date
    reason: str = Field(max_length=500)


# -- boarding houses (khu nhà trọ) -------------------------------------------------------------------------
class BoardingHouseRegistered(Event):
    """A boarding house was registered with its landlord and rooms."""

    event_type: ClassVar[str] = "registry.boarding_house.registered.v1"
    topic: ClassVar[str] = "registry.boarding-houses"
    boarding_house_id: str = Id
    group_id: str = Id
    name: str = Field(max_length=200)
    landlord_resident_id: str = Id
    rooms: list[str] = Field(default_factory=list, max_length=500, description="Room labels")


class BoardingHouseChecked(Event):
    """Police checked a boarding house (the monthly check)."""

    event_type: ClassVar[str] = "registry.boarding_house.checked.v1"
    topic: ClassVar[str] = "registry.boarding-houses"
    boarding_house_id: str = Id
    group_id: str = Id
    checked_on: date


# -- residence declarations (Law on Residence 2020) -----------------------------------------------------------
class _Declaration(Event):
    declaration_id: str = Id
    resident_id: str = Id
    group_id: str = Id


class TemporaryResidenceRegistered(_Declaration):
    """Temporary residence (tạm trú) registered: a stay of 30 days or more, valid up to 2 years."""

    event_type: ClassVar[str] = "registry.residence.temporary_registered.v1"
    topic: ClassVar[str] = "registry.residence"
    boarding_house_id: str | None = None
    valid_from: date
    valid_until: date


class TemporaryResidenceRenewed(_Declaration):
    """A temporary residence was renewed to a new end date."""

    event_type: ClassVar[str] = "registry.residence.temporary_renewed.v1"
    topic: ClassVar[str] = "registry.residence"
    valid_until: date
    previous_valid_until: date


class TemporaryResidenceExpired(_Declaration):
    """A temporary residence reached its end date without renewal (emitted once, by the scheduled check)."""

    event_type: ClassVar[str] = "registry.residence.temporary_expired.v1"
    topic: ClassVar[str] = "registry.residence"
    expired_on: date


class TemporaryResidenceEnded(_Declaration):
    """A temporary residence was ended before its end date (the person left)."""

    event_type: ClassVar[str] = "registry.residence.temporary_ended.v1"
    topic: ClassVar[str] = "registry.residence"
    ended_on: date


class AbsenceDeclared(_Declaration):
    """Temporary absence (tạm vắng) declared, with its legal case. The destination stays in the registry."""

    event_type: ClassVar[str] = "registry.residence.absence_declared.v1"
    topic: ClassVar[str] = "registry.residence"
    case: AbsenceCase
    absent_from: date
    absent_until: date


class StayNotified(Event):
    """A boarding-house owner notified a lodger's stay (thông báo lưu trú); ``late`` if past the deadline."""

    event_type: ClassVar[str] = "registry.residence.stay_notified.v1"
    topic: ClassVar[str] = "registry.residence"
    notice_id: str = Id
    boarding_house_id: str = Id
    group_id: str = Id
    lodger_resident_id: str | None = Field(default=None, description="When the lodger is a registered resident")
    room: str | None = None
    arrived_at: datetime
    notified_at: datetime
    late: bool = Field(description="Filed after 23:00 of the arrival day (or after 08:00 next day for late arrivals)")


# -- places (issue 18) -------------------------------------------------------------------------------------------
class GroupAreaSet(Event):
    """A ward official drew or redrew a residential group's area. ``subject`` is the group id. An area is not
    personal data; ``geometry`` is the whole GeoJSON Polygon or MultiPolygon (WGS84, at most 5000 positions kept to
    7 decimals, so it always fits a message)."""

    event_type: ClassVar[str] = "registry.group.area_set.v1"
    topic: ClassVar[str] = "registry.wards"
    group_id: str = Id
    geometry: dict[str, Any] = Field(description="GeoJSON (RFC 7946) Polygon or MultiPolygon, WGS84")
    bbox: list[float] = Field(min_length=4, max_length=4, description="[minLon, minLat, maxLon, maxLat]")
