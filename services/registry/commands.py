"""The registry's commands: what a caller asks it to change. Path parameters are fields of the command.

A command that a route takes with an id in its path is written as its body's fields (``*Fields``, also the HTTP
request body in ``schemas``) plus the id, so that each field is declared once. ``name`` is the audit trail's
command string.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, ClassVar, Self

from geojson_pydantic import MultiPolygon, Polygon
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.registry.domain import check_area, check_point
from shared.application import Command
from shared.contracts.registry import AbsenceCase, FacilityKind, MemberRole, Sex, TeamKind
from shared.edge import WARD_PATTERN as WARD_ID


class Fields(BaseModel):
    """A request body: no unknown fields."""

    model_config = ConfigDict(extra="forbid")


# -- wards, groups, households, residents ---------------------------------------------------------------------
class RegisterWard(Command):
    name: ClassVar[str] = "ward.register"
    ward_id: str = Field(pattern=WARD_ID, description="A slug, e.g. phu-son")
    name_: str = Field(alias="name", min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=200)

    model_config = ConfigDict(populate_by_name=True)


class CreateGroup(Command):
    name: ClassVar[str] = "group.create"
    ward_id: str = Field(pattern=WARD_ID)
    name_: str = Field(alias="name", min_length=1, max_length=200)

    model_config = ConfigDict(populate_by_name=True)


class RegisterHousehold(Command):
    name: ClassVar[str] = "household.register"
    group_id: uuid.UUID
    address: str = Field(min_length=1, max_length=300)


class ChangeHouseholdFields(Fields):
    address: str | None = Field(default=None, min_length=1, max_length=300)
    head_resident_id: uuid.UUID | None = None


class ChangeHousehold(Command, ChangeHouseholdFields):
    name: ClassVar[str] = "household.change"
    partial: ClassVar[bool] = True
    household_id: uuid.UUID


class RegisterResident(Command):
    name: ClassVar[str] = "resident.register"
    household_id: uuid.UUID
    full_name: str = Field(min_length=1, max_length=200)
    sex: Sex
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=30)
    national_id: str | None = Field(default=None, max_length=20, description="12 digits; personal data")


class UpdateResidentFields(Fields):
    """Only the fields sent change; ``null`` removes an optional one."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    sex: Sex | None = None
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=30)
    national_id: str | None = Field(default=None, max_length=20)


class UpdateResident(Command, UpdateResidentFields):
    name: ClassVar[str] = "resident.update"
    partial: ClassVar[bool] = True
    resident_id: uuid.UUID


class MoveResidentFields(Fields):
    household_id: uuid.UUID


class MoveResident(Command, MoveResidentFields):
    name: ClassVar[str] = "resident.move"
    resident_id: uuid.UUID


# -- teams -------------------------------------------------------------------------------------------------------
class FormTeam(Command):
    name: ClassVar[str] = "team.form"
    group_id: uuid.UUID
    kind: TeamKind
    name_: str = Field(alias="name", min_length=1, max_length=200)
    formed_on: date
    formation_act: str = Field(min_length=1, max_length=200, description="e.g. QĐ 12/QĐ-UBND")

    model_config = ConfigDict(populate_by_name=True)


class AddMemberFields(Fields):
    resident_id: uuid.UUID
    role: MemberRole
    appointed_on: date
    appointment_act: str | None = Field(default=None, max_length=200)


class AddMember(Command, AddMemberFields):
    name: ClassVar[str] = "team.member.add"
    team_id: uuid.UUID


class ChangeRoleFields(Fields):
    role: MemberRole
    changed_on: date
    appointment_act: str | None = Field(default=None, max_length=200)


class ChangeRole(Command, ChangeRoleFields):
    name: ClassVar[str] = "team.member.change_role"
    team_id: uuid.UUID
    resident_id: uuid.UUID


class RemoveMemberFields(Fields):
    left_on: date


class RemoveMember(Command, RemoveMemberFields):
    name: ClassVar[str] = "team.member.leave"
    team_id: uuid.UUID
    resident_id: uuid.UUID


# -- facilities and boarding houses -----------------------------------------------------------------------------
class RegisterFacility(Command):
    name: ClassVar[str] = "facility.register"
    group_id: uuid.UUID
    kind: FacilityKind
    name_: str = Field(alias="name", min_length=1, max_length=200)
    location: str = Field(min_length=1, max_length=300, description="A public place")
    installed_on: date | None = None
    funded_by_campaign_id: str | None = Field(default=None, min_length=1, max_length=64)
    latitude: float | None = Field(default=None, description="WGS84, with longitude (both or neither)")
    longitude: float | None = Field(default=None, description="WGS84, with latitude (both or neither)")

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _point(self) -> Self:
        check_point(self.latitude, self.longitude)
        return self


class DecommissionFacilityFields(Fields):
    decommissioned_on: date
    reason: str = Field(min_length=1, max_length=500)


class DecommissionFacility(Command, DecommissionFacilityFields):
    name: ClassVar[str] = "facility.decommission"
    facility_id: uuid.UUID


class RegisterBoardingHouse(Command):
    name: ClassVar[str] = "boarding_house.register"
    group_id: uuid.UUID
    name_: str = Field(alias="name", min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=300)
    landlord_resident_id: uuid.UUID
    rooms: tuple[str, ...] = Field(default=(), max_length=500)
    latitude: float | None = Field(default=None, description="WGS84, with longitude (both or neither); a home's")
    longitude: float | None = Field(default=None, description="WGS84, with latitude (both or neither)")

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _point(self) -> Self:
        check_point(self.latitude, self.longitude)
        return self


class RecordCheckFields(Fields):
    checked_on: date
    notes: str | None = Field(default=None, max_length=2000)


class RecordCheck(Command, RecordCheckFields):
    name: ClassVar[str] = "boarding_house.check"
    boarding_house_id: uuid.UUID


# -- residence declarations --------------------------------------------------------------------------------------
class RegisterTemporaryResidence(Command):
    name: ClassVar[str] = "temporary_residence.register"
    resident_id: uuid.UUID
    valid_from: date
    valid_until: date
    boarding_house_id: uuid.UUID | None = None
    room: str | None = Field(default=None, max_length=50)


class RenewTemporaryResidenceFields(Fields):
    valid_until: date


class RenewTemporaryResidence(Command, RenewTemporaryResidenceFields):
    name: ClassVar[str] = "temporary_residence.renew"
    declaration_id: uuid.UUID


class EndTemporaryResidenceFields(Fields):
    ended_on: date


class EndTemporaryResidence(Command, EndTemporaryResidenceFields):
    name: ClassVar[str] = "temporary_residence.end"
    declaration_id: uuid.UUID


class DeclareAbsence(Command):
    name: ClassVar[str] = "absence.declare"
    resident_id: uuid.UUID
    case: AbsenceCase
    absent_from: date
    absent_until: date
    destination: str = Field(min_length=1, max_length=300)


class NotifyStay(Command):
    """The notice time is the server's clock, not the caller's word: lateness is a fact the police rely on."""

    name: ClassVar[str] = "stay.notify"
    boarding_house_id: uuid.UUID
    lodger_resident_id: uuid.UUID | None = None
    lodger_name: str = Field(min_length=1, max_length=200)
    room: str | None = Field(default=None, max_length=50)
    arrived_at: AwareDatetime


# -- places (issue 18) ----------------------------------------------------------------------------------------------
def _checked_area(geometry: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    check_area(geometry.type, geometry.coordinates)
    return geometry


#: A residential group's area: a GeoJSON (RFC 7946) Polygon or MultiPolygon in WGS84, rings closed, at most
#: ``domain.MAX_AREA_VERTICES`` positions. Holes (interior rings) are allowed; ring orientation is not enforced
#: (RFC 7946 section 3.1.6: parsers should not reject a ring for its winding).
AreaGeometry = Annotated[Polygon | MultiPolygon, AfterValidator(_checked_area)]
# (No pydantic discriminator: with one, the request body's OpenAPI schema carried each discriminator mapping as the
# whole union instead of a $ref, a document schemathesis and other OpenAPI tools cannot read. Each model's `type` is
# a Literal, so the plain union picks the same one.)


class SetGroupArea(Command):
    name: ClassVar[str] = "group.area.set"
    group_id: uuid.UUID
    geometry: AreaGeometry
