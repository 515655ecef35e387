"""What the registry's HTTP operations answer (``response_model=``, for the OpenAPI document) and the request
bodies of the commands that take an id in their path (``commands.*Fields``). Vocabularies come from
``shared.contracts.registry``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from shared.contracts.registry import (
    AbsenceCase,
    DeclarationKind,
    DeclarationStatus,
    FacilityKind,
    MemberRole,
    Sex,
    TeamKind,
)

T = TypeVar("T")


class PageOf(BaseModel, Generic[T]):
    """One page of a list (shared.paging): ``next_cursor`` null when there is no more."""

    items: list[T]
    next_cursor: str | None


class Ward(BaseModel):
    ward_id: str
    name: str
    city: str


class Group(BaseModel):
    group_id: str
    ward_id: str
    name: str
    household_count: int = Field(description="Households registered in the group")


class Household(BaseModel):
    household_id: str
    ward_id: str
    group_id: str
    address: str
    head_resident_id: str | None


class Resident(BaseModel):
    resident_id: str
    ward_id: str
    household_id: str
    full_name: str
    sex: Sex
    birth_date: date | None
    phone: str | None
    has_national_id: bool
    national_id: str | None = Field(default=None, description="Only for police and ward officials")
    group_id: str | None = Field(default=None, description="In lists: the group of the resident's household")


class HouseholdWithResidents(Household):
    residents: list[Resident] = Field(description="At most 200")


class ActiveMember(BaseModel):
    resident_id: str
    role: MemberRole
    appointed_on: date
    appointment_act: str | None
    full_name: str
    sex: Sex
    household_id: str


class TeamMember(ActiveMember):
    left_on: date | None


class ComplianceIssue(BaseModel):
    """One reason a team is not compliant, for programs: a stable ``code`` with its parameters. Expect codes
    added later: show ``message`` for a code you do not know."""

    code: str = Field(description="`no_leader`: no leader (tổ trưởng); `too_few_mediators`: a mediation team "
                                  "has fewer than `minimum` mediators (`active` now); `no_woman_mediator`: no "
                                  "woman among a mediation team's mediators",
                      examples=["no_leader", "too_few_mediators", "no_woman_mediator"])
    message: str = Field(description="The issue in English, as in `compliance_issues`",
                         examples=["fewer than 3 mediators (2)"])
    minimum: int | None = Field(None, description="`too_few_mediators`: how many mediators the law requires "
                                                  "(absent for other codes)", examples=[3])
    active: int | None = Field(None, description="`too_few_mediators`: how many active mediators the team has "
                                                 "(absent for other codes)", examples=[2])


class Team(BaseModel):
    team_id: str
    ward_id: str
    group_id: str
    kind: TeamKind
    name: str
    formed_on: date
    formation_act: str
    compliant: bool
    compliance: list[ComplianceIssue] = Field(
        description="Why the team is not compliant, as codes with their parameters (empty when it is compliant)")
    compliance_issues: list[str] = Field(description="The same issues as English sentences, in the same order")
    members: list[ActiveMember]


class Place(BaseModel):
    """Where a record is, at the caller's precision: ``exact`` (police, ward and city officials), ``approximate``
    (team leaders and members: rounded to 3 decimals, ~100 m), ``group`` (anyone else: no coordinates, the
    residential group only). Coordinates are null also when none were recorded."""

    latitude: float | None
    longitude: float | None
    precision: Literal["exact", "approximate", "group"]
    group_id: str


class Facility(BaseModel):
    facility_id: str
    ward_id: str
    group_id: str
    kind: FacilityKind
    name: str
    location: str
    installed_on: date | None
    funded_by_campaign_id: str | None
    funded_by_expense_id: str | None
    decommissioned_on: date | None
    decommission_reason: str | None
    place: Place


class BoardingHouse(BaseModel):
    boarding_house_id: str
    ward_id: str
    group_id: str
    name: str
    address: str
    landlord_resident_id: str
    rooms: list[str]
    place: Place = Field(description="Where it is, as precisely as the caller may see a home")


class BoardingHouseCheck(BaseModel):
    boarding_house_id: str
    checked_on: date


class Declaration(BaseModel):
    declaration_id: str
    ward_id: str
    group_id: str
    resident_id: str
    kind: DeclarationKind
    status: DeclarationStatus
    valid_from: date
    valid_until: date
    boarding_house_id: str | None
    room: str | None
    absence_case: AbsenceCase | None
    destination: str | None
    ended_on: date | None


class StayNotice(BaseModel):
    notice_id: str
    ward_id: str
    group_id: str
    boarding_house_id: str
    lodger_resident_id: str | None
    lodger_name: str
    room: str | None
    arrived_at: datetime
    notified_at: datetime
    late: bool


class ExpiringDeclaration(BaseModel):
    declaration_id: str
    resident_id: str
    group_id: str
    kind: DeclarationKind
    valid_until: date
    full_name: str


class LodgerWithoutNotice(BaseModel):
    resident_id: str
    boarding_house_id: str
    room: str | None
    group_id: str
    full_name: str


class UncheckedBoardingHouse(BaseModel):
    boarding_house_id: str
    name: str
    group_id: str
    last_checked_on: date | None


class ChecksDue(BaseModel):
    ward_id: str
    as_of: date
    within_days: int
    declarations_expiring: list[ExpiringDeclaration]
    lodgers_without_stay_notice: list[LodgerWithoutNotice]
    boarding_houses_not_checked_this_month: list[UncheckedBoardingHouse]


# -- places (issue 18) ---------------------------------------------------------------------------------------------
class AreaProperties(BaseModel):
    group_id: str
    name: str = Field(description="The group's name")
    ward_id: str
    updated_at: datetime


class AreaFeature(BaseModel):
    """A residential group's area: a GeoJSON Feature (``application/geo+json``) with its bounding box."""

    type: Literal["Feature"]
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, WGS84")
    bbox: list[float] = Field(description="[minLon, minLat, maxLon, maxLat]")
    properties: AreaProperties


class AreaCollection(BaseModel):
    """The ward's groups' areas: a GeoJSON FeatureCollection (``application/geo+json``)."""

    type: Literal["FeatureCollection"]
    features: list[AreaFeature]
