"""Handlers for wards, residential groups (tổ dân phố), households (hộ gia đình) and residents (nhân khẩu)."""

from __future__ import annotations

from typing import Any

from services.registry import domain, views
from services.registry.commands import (
    ChangeHousehold,
    CreateGroup,
    MoveResident,
    RegisterHousehold,
    RegisterResident,
    RegisterWard,
    UpdateResident,
)
from services.registry.handlers_common import anchor, led_groups, load, new_id, reference
from services.registry.repository import NATIONAL_ID_PURPOSE, national_id_context
from shared.actor import Principal, Role
from shared.application import Created
from shared.contracts.registry import (
    GroupCreated,
    HouseholdHeadChanged,
    HouseholdRegistered,
    ResidentMoved,
    ResidentRegistered,
    ResidentUpdated,
    WardRegistered,
)
from shared.errors import Conflict, InvalidInput


async def handle_register_ward(cmd: RegisterWard, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.WARD_REGISTRARS)
    actor.ensure_ward(cmd.ward_id)
    ward = {"ward_id": cmd.ward_id, "name": cmd.name_, "city": cmd.city}
    if not await uow.wards.add(ward, if_absent=True):
        raise Conflict(f"ward {cmd.ward_id} is already registered")
    uow.emit(WardRegistered(ward_id=cmd.ward_id, subject=cmd.ward_id, name=cmd.name_, city=cmd.city))
    uow.audit("ward", cmd.ward_id, ward_id=cmd.ward_id)
    return Created(ward)


async def handle_create_group(cmd: CreateGroup, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.OFFICIALS)
    actor.ensure_ward(cmd.ward_id)
    await reference(uow.wards, cmd.ward_id, cmd.ward_id, "ward_id", "ward")
    gid = new_id()
    if not await uow.groups.add({"group_id": gid, "ward_id": cmd.ward_id, "name": cmd.name_}, if_absent=True):
        raise Conflict(f"the ward already has a group named {cmd.name_!r}")
    uow.emit(GroupCreated(ward_id=cmd.ward_id, subject=gid, group_id=gid, name=cmd.name_))
    uow.audit("group", gid, ward_id=cmd.ward_id)
    return Created({"group_id": gid, "ward_id": cmd.ward_id, "name": cmd.name_, "household_count": 0})


async def handle_register_household(cmd: RegisterHousehold, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.REGISTRARS, Role.TEAM_LEADER)
    group = await anchor(uow.groups, cmd.group_id, actor, "group_id", "group")
    domain.ensure_registers_in_group(actor, group["group_id"], await led_groups(uow, actor))
    hid = new_id()
    row = {"household_id": hid, "ward_id": group["ward_id"], "group_id": group["group_id"], "address": cmd.address}
    await uow.households.add(row)
    uow.emit(HouseholdRegistered(ward_id=group["ward_id"], subject=hid, household_id=hid, group_id=group["group_id"]))
    uow.audit("household", hid, ward_id=group["ward_id"])
    return Created({**row, "head_resident_id": None})


async def handle_change_household(cmd: ChangeHousehold, uow: Any, actor: Principal) -> dict[str, Any]:
    actor.require(*domain.REGISTRARS)
    household = await load(uow.households, cmd.household_id, actor, "household", lock=True)
    hid = household["household_id"]
    changes: dict[str, Any] = {}
    if cmd.address is not None:
        changes["address"] = cmd.address
    if cmd.head_resident_id is not None:
        head = await reference(uow.residents, cmd.head_resident_id, household["ward_id"], "head_resident_id",
                               "resident")
        domain.check_head(hid, head)
        changes["head_resident_id"] = head["resident_id"]
    if not changes:
        raise InvalidInput("nothing to change")
    await uow.households.update(hid, changes)
    if "head_resident_id" in changes and changes["head_resident_id"] != household["head_resident_id"]:
        uow.emit(HouseholdHeadChanged(ward_id=household["ward_id"], subject=hid, household_id=hid,
                                      group_id=household["group_id"], head_resident_id=changes["head_resident_id"]))
    uow.audit("household", hid, ward_id=household["ward_id"], details={"changed": sorted(changes)})
    return views.plain(await uow.households.get(hid))


async def _protect_national_id(uow: Any, ward_id: str, resident_id: str, raw: str) -> dict[str, Any]:
    number = domain.validate_national_id(raw)
    # Unique within the ward only: the answer must never tell a registrar who is registered in another ward. One
    # person, one number nationwide is the national population database's to enforce, not this register's.
    if await uow.residents.national_id_taken(ward_id, uow.pii.blind_index_candidates(number, NATIONAL_ID_PURPOSE),
                                             resident_id):
        raise Conflict("this national ID number is already registered to another resident of the ward")
    return {"national_id_cipher": uow.pii.encrypt(number, national_id_context(resident_id)),
            "national_id_index": uow.pii.blind_index(number, NATIONAL_ID_PURPOSE)}


async def handle_register_resident(cmd: RegisterResident, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.REGISTRARS, Role.TEAM_LEADER)
    domain.ensure_no_national_id_from_leader(actor, cmd.national_id)
    household = await anchor(uow.households, cmd.household_id, actor, "household_id", "household")
    domain.ensure_registers_in_group(actor, household["group_id"], await led_groups(uow, actor))
    rid = new_id()
    row: dict[str, Any] = {
        "resident_id": rid, "ward_id": household["ward_id"], "household_id": household["household_id"],
        "full_name": cmd.full_name, "sex": cmd.sex, "birth_date": cmd.birth_date, "phone": cmd.phone,
    }
    if cmd.national_id is not None:
        row.update(await _protect_national_id(uow, household["ward_id"], rid, cmd.national_id))
    await uow.residents.add(row)
    uow.emit(ResidentRegistered(
        ward_id=household["ward_id"], subject=rid, resident_id=rid, household_id=household["household_id"],
        group_id=household["group_id"], full_name=cmd.full_name, sex=cmd.sex))
    uow.audit("resident", rid, ward_id=household["ward_id"])
    return Created(views.resident(await uow.residents.get(rid), actor, uow.pii))


async def handle_update_resident(cmd: UpdateResident, uow: Any, actor: Principal) -> dict[str, Any]:
    actor.require(*domain.REGISTRARS)
    before = await load(uow.residents, cmd.resident_id, actor, "resident", lock=True)
    rid = before["resident_id"]
    sent = cmd.model_fields_set - {"resident_id", "national_id"}
    changes = {field: getattr(cmd, field) for field in sorted(sent)}
    domain.check_resident_changes(changes)
    if cmd.national_id is not None:
        changes.update(await _protect_national_id(uow, before["ward_id"], rid, cmd.national_id))
    if not changes:
        raise InvalidInput("nothing to change")
    await uow.residents.update(rid, changes)
    after = await uow.residents.get(rid)
    if (after["full_name"], after["sex"]) != (before["full_name"], before["sex"]):
        uow.emit(ResidentUpdated(ward_id=after["ward_id"], subject=rid, resident_id=rid,
                                 full_name=after["full_name"], sex=after["sex"]))
    # The audit trail names which fields changed, never their values (the national ID among them).
    uow.audit("resident", rid, ward_id=after["ward_id"], details={"changed": domain.changed_fields(changes)})
    return views.resident(after, actor, uow.pii)


async def handle_move_resident(cmd: MoveResident, uow: Any, actor: Principal) -> dict[str, Any]:
    actor.require(*domain.REGISTRARS)
    resident = await load(uow.residents, cmd.resident_id, actor, "resident", lock=True)
    rid = resident["resident_id"]
    target = await reference(uow.households, cmd.household_id, resident["ward_id"], "household_id", "household")
    domain.check_move(resident, target["household_id"], await uow.households.headed_by(rid))
    await uow.residents.update(rid, {"household_id": target["household_id"]})
    uow.emit(ResidentMoved(
        ward_id=resident["ward_id"], subject=rid, resident_id=rid, from_household_id=resident["household_id"],
        to_household_id=target["household_id"], group_id=target["group_id"]))
    uow.audit("resident", rid, ward_id=resident["ward_id"])
    return views.resident(await uow.residents.get(rid), actor, uow.pii)


HANDLERS = {
    RegisterWard: handle_register_ward,
    CreateGroup: handle_create_group,
    RegisterHousehold: handle_register_household,
    ChangeHousehold: handle_change_household,
    RegisterResident: handle_register_resident,
    UpdateResident: handle_update_resident,
    MoveResident: handle_move_resident,
}
