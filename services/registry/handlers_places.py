"""Handlers for facilities (security cameras, public fire-fighting points) and boarding houses (khu nhà trọ)."""

from __future__ import annotations

from typing import Any

from services.registry import domain, views
from services.registry.commands import (
    DecommissionFacility,
    RecordCheck,
    RegisterBoardingHouse,
    RegisterFacility,
)
from services.registry.handlers_common import anchor, load, new_id, reference
from shared.actor import Principal, Role
from shared.application import Created
from shared.contracts.registry import (
    BoardingHouseChecked,
    BoardingHouseRegistered,
    FacilityDecommissioned,
    FacilityRegistered,
)


async def save_facility(uow: Any, row: dict[str, Any]) -> bool:
    """Add a facility and emit its event; False (and nothing emitted) when the id already exists."""
    if not await uow.facilities.add(row, if_absent=True):
        return False
    uow.emit(FacilityRegistered(
        ward_id=row["ward_id"], subject=row["facility_id"], facility_id=row["facility_id"], group_id=row["group_id"],
        kind=row["kind"], name=row["name"], location=row["location"], installed_on=row.get("installed_on"),
        funded_by_campaign_id=row.get("funded_by_campaign_id"), funded_by_expense_id=row.get("funded_by_expense_id")))
    return True


async def handle_register_facility(cmd: RegisterFacility, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.FACILITY_KEEPERS)
    group = await anchor(uow.groups, cmd.group_id, actor, "group_id", "group")
    fid = new_id()
    await save_facility(uow, {
        "facility_id": fid, "ward_id": group["ward_id"], "group_id": group["group_id"], "kind": cmd.kind,
        "name": cmd.name_, "location": cmd.location, "installed_on": cmd.installed_on,
        "funded_by_campaign_id": cmd.funded_by_campaign_id, "latitude": cmd.latitude, "longitude": cmd.longitude})
    uow.audit("facility", fid, ward_id=group["ward_id"])
    return Created(views.placed(await uow.facilities.get(fid), domain.precision_for(actor)))


async def handle_decommission_facility(cmd: DecommissionFacility, uow: Any, actor: Principal) -> dict[str, Any]:
    actor.require(*domain.FACILITY_KEEPERS)
    facility = await load(uow.facilities, cmd.facility_id, actor, "facility", lock=True)
    fid = facility["facility_id"]
    domain.check_decommission(facility, cmd.decommissioned_on)
    await uow.facilities.update(fid, {"decommissioned_on": cmd.decommissioned_on, "decommission_reason": cmd.reason})
    uow.emit(FacilityDecommissioned(
        ward_id=facility["ward_id"], subject=fid, facility_id=fid, group_id=facility["group_id"],
        kind=facility["kind"], decommissioned_on=cmd.decommissioned_on, reason=cmd.reason))
    uow.audit("facility", fid, ward_id=facility["ward_id"])
    return views.placed(await uow.facilities.get(fid), domain.precision_for(actor))


async def handle_register_boarding_house(cmd: RegisterBoardingHouse, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.REGISTRARS)
    group = await anchor(uow.groups, cmd.group_id, actor, "group_id", "group")
    landlord = await reference(uow.residents, cmd.landlord_resident_id, group["ward_id"], "landlord_resident_id",
                               "resident")
    rooms = domain.clean_rooms(cmd.rooms)
    bid = new_id()
    row = {"boarding_house_id": bid, "ward_id": group["ward_id"], "group_id": group["group_id"], "name": cmd.name_,
           "address": cmd.address, "landlord_resident_id": landlord["resident_id"], "rooms": rooms,
           "latitude": cmd.latitude, "longitude": cmd.longitude}
    await uow.boarding_houses.add(row)
    uow.emit(BoardingHouseRegistered(
        ward_id=group["ward_id"], subject=bid, boarding_house_id=bid, group_id=group["group_id"], name=cmd.name_,
        landlord_resident_id=landlord["resident_id"], rooms=rooms))
    uow.audit("boarding_house", bid, ward_id=group["ward_id"])
    return Created(views.placed(row, domain.precision_for(actor)))


async def handle_record_check(cmd: RecordCheck, uow: Any, actor: Principal) -> Created:
    actor.require(Role.POLICE)
    house = await load(uow.boarding_houses, cmd.boarding_house_id, actor, "boarding house")
    bid = house["boarding_house_id"]
    await uow.boarding_houses.add_check({"boarding_house_id": bid, "checked_on": cmd.checked_on,
                                         "checked_by": actor.subject, "notes": cmd.notes})
    uow.emit(BoardingHouseChecked(ward_id=house["ward_id"], subject=bid, boarding_house_id=bid,
                                  group_id=house["group_id"], checked_on=cmd.checked_on))
    uow.audit("boarding_house", bid, ward_id=house["ward_id"])
    return Created({"boarding_house_id": bid, "checked_on": cmd.checked_on})


HANDLERS = {
    RegisterFacility: handle_register_facility,
    DecommissionFacility: handle_decommission_facility,
    RegisterBoardingHouse: handle_register_boarding_house,
    RecordCheck: handle_record_check,
}
