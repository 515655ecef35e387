"""Use cases for facilities (security cameras, public fire-fighting points) and boarding houses (khu nhà trọ)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field

from services.registry import access, repository, views
from services.registry.commands_people import new_id
from shared import outbox
from shared.auth import Principal
from shared.commands import Outcome
from shared.contracts.registry import (
    BoardingHouseChecked,
    BoardingHouseRegistered,
    FacilityDecommissioned,
    FacilityRegistered,
)
from shared.errors import Conflict, InvalidInput


class RegisterFacility(BaseModel):
    group_id: uuid.UUID
    kind: Literal["security_camera", "fire_point"]
    name: str = Field(min_length=1, max_length=200)
    location: str = Field(min_length=1, max_length=300, description="A public place")
    installed_on: date | None = None
    funded_by_campaign_id: str | None = Field(default=None, min_length=1, max_length=64)


class DecommissionFacility(BaseModel):
    decommissioned_on: date
    reason: str = Field(min_length=1, max_length=500)


class RegisterBoardingHouse(BaseModel):
    group_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=300)
    landlord_resident_id: uuid.UUID
    rooms: list[str] = Field(default_factory=list, max_length=500)


class RecordCheck(BaseModel):
    checked_on: date
    notes: str | None = Field(default=None, max_length=2000)


async def save_facility(conn: asyncpg.Connection, row: dict[str, object]) -> bool:
    """Insert a facility and enqueue its event; False (and nothing enqueued) when the id already exists."""
    if not await repository.insert(conn, "facilities", row, on_conflict_nothing=True):
        return False
    await outbox.enqueue(conn, FacilityRegistered(
        ward_id=row["ward_id"], subject=row["id"], facility_id=row["id"], group_id=row["group_id"], kind=row["kind"],
        name=row["name"], location=row["location"], installed_on=row.get("installed_on"),
        funded_by_campaign_id=row.get("funded_by_campaign_id"), funded_by_expense_id=row.get("funded_by_expense_id")))
    return True


async def register_facility(conn: asyncpg.Connection, principal: Principal, cmd: RegisterFacility) -> Outcome:
    group = await access.anchor(conn, "groups", str(cmd.group_id), principal, "group_id")
    row = {"id": new_id(), "ward_id": group["ward_id"], **cmd.model_dump(), "group_id": group["id"]}
    await save_facility(conn, row)
    return Outcome(views.plain(await repository.get(conn, "facilities", row["id"])), "facility", row["id"],
                   ward_id=group["ward_id"], status=201)


async def decommission_facility(conn: asyncpg.Connection, principal: Principal, facility_id: str,
                                cmd: DecommissionFacility) -> Outcome:
    facility = await access.load(conn, "facilities", facility_id, principal, lock=True)
    if facility["decommissioned_on"] is not None:
        raise Conflict("the facility is already decommissioned")
    if facility["installed_on"] is not None and cmd.decommissioned_on < facility["installed_on"]:
        raise InvalidInput("decommissioned_on is before the facility was installed")
    await repository.update(conn, "facilities", facility_id,
                            {"decommissioned_on": cmd.decommissioned_on, "decommission_reason": cmd.reason})
    await outbox.enqueue(conn, FacilityDecommissioned(
        ward_id=facility["ward_id"], subject=facility_id, facility_id=facility_id, group_id=facility["group_id"],
        kind=facility["kind"], decommissioned_on=cmd.decommissioned_on, reason=cmd.reason))
    return Outcome(views.plain(await repository.get(conn, "facilities", facility_id)), "facility", facility_id,
                   ward_id=facility["ward_id"])


async def register_boarding_house(conn: asyncpg.Connection, principal: Principal, cmd: RegisterBoardingHouse) -> Outcome:
    group = await access.anchor(conn, "groups", str(cmd.group_id), principal, "group_id")
    landlord = await access.reference(conn, "residents", str(cmd.landlord_resident_id), group["ward_id"],
                                      "landlord_resident_id")
    rooms = [r.strip() for r in cmd.rooms]
    if any(not r for r in rooms) or len(set(rooms)) != len(rooms):
        raise InvalidInput("rooms must be distinct, non-empty labels")
    bid = new_id()
    row = {"id": bid, "ward_id": group["ward_id"], "group_id": group["id"], "name": cmd.name, "address": cmd.address,
           "landlord_resident_id": landlord["id"], "rooms": rooms}
    await repository.insert(conn, "boarding_houses", row)
    await outbox.enqueue(conn, BoardingHouseRegistered(
        ward_id=group["ward_id"], subject=bid, boarding_house_id=bid, group_id=group["id"], name=cmd.name,
        landlord_resident_id=landlord["id"], rooms=rooms))
    return Outcome(row, "boarding_house", bid, ward_id=group["ward_id"], status=201)


async def record_check(conn: asyncpg.Connection, principal: Principal, house_id: str, cmd: RecordCheck) -> Outcome:
    house = await access.load(conn, "boarding_houses", house_id, principal)
    await repository.insert(conn, "boarding_house_checks", {
        "boarding_house_id": house_id, "checked_on": cmd.checked_on, "checked_by": principal.subject,
        "notes": cmd.notes})
    await outbox.enqueue(conn, BoardingHouseChecked(
        ward_id=house["ward_id"], subject=house_id, boarding_house_id=house_id, group_id=house["group_id"],
        checked_on=cmd.checked_on))
    return Outcome({"boarding_house_id": house_id, "checked_on": cmd.checked_on}, "boarding_house", house_id,
                   ward_id=house["ward_id"], status=201)
