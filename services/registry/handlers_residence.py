"""Handlers for residence declarations under the Law on Residence 2020: temporary residence (tạm trú), temporary
absence (tạm vắng), stay notices (thông báo lưu trú), and the daily expiry of temporary residences. The rules
themselves are in ``domain``."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.registry import domain, views
from services.registry.commands import (
    DeclareAbsence,
    EndTemporaryResidence,
    NotifyStay,
    RegisterTemporaryResidence,
    RenewTemporaryResidence,
)
from services.registry.handlers_common import anchor, led_groups, load, new_id, reference
from shared import clock
from shared.actor import Principal, Role
from shared.application import Created
from shared.contracts.registry import (
    AbsenceDeclared,
    StayNotified,
    TemporaryResidenceEnded,
    TemporaryResidenceExpired,
    TemporaryResidenceRegistered,
    TemporaryResidenceRenewed,
)


async def _refuse_overlap(uow: Any, resident_id: str, kind: str, start: date, end: date) -> None:
    await uow.residents.lock(resident_id)
    domain.refuse_overlap(await uow.declarations.active(resident_id, kind), start, end)


async def handle_register_temporary_residence(cmd: RegisterTemporaryResidence, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.RESIDENCE_CLERKS, Role.TEAM_LEADER, Role.RESIDENT)
    domain.check_temporary_residence(cmd.valid_from, cmd.valid_until)
    resident = await anchor(uow.residents, cmd.resident_id, actor, "resident_id", "resident")
    rid = resident["resident_id"]
    group_id = (await uow.households.get(resident["household_id"]))["group_id"]
    domain.ensure_declares_for(actor, rid, group_id, await led_groups(uow, actor))
    house_id = None
    if cmd.boarding_house_id is not None:
        house = await reference(uow.boarding_houses, cmd.boarding_house_id, resident["ward_id"], "boarding_house_id",
                                "boarding house")
        domain.check_room(cmd.room, house["rooms"])
        group_id, house_id = house["group_id"], house["boarding_house_id"]
    await _refuse_overlap(uow, rid, "temporary_residence", cmd.valid_from, cmd.valid_until)
    did = new_id()
    await uow.declarations.add({
        "declaration_id": did, "ward_id": resident["ward_id"], "group_id": group_id, "resident_id": rid,
        "kind": "temporary_residence", "status": "active", "valid_from": cmd.valid_from,
        "valid_until": cmd.valid_until, "boarding_house_id": house_id, "room": cmd.room})
    uow.emit(TemporaryResidenceRegistered(
        ward_id=resident["ward_id"], subject=did, declaration_id=did, resident_id=rid, group_id=group_id,
        boarding_house_id=house_id, valid_from=cmd.valid_from, valid_until=cmd.valid_until))
    uow.audit("declaration", did, ward_id=resident["ward_id"])
    return Created(views.plain(await uow.declarations.get(did)))


async def _active_temporary(uow: Any, actor: Principal, declaration_id: Any) -> dict[str, Any]:
    actor.require(*domain.RESIDENCE_CLERKS)
    row = await load(uow.declarations, declaration_id, actor, "declaration", lock=True)
    domain.check_active_temporary(row)
    return row


async def handle_renew_temporary_residence(cmd: RenewTemporaryResidence, uow: Any, actor: Principal) -> dict[str, Any]:
    row = await _active_temporary(uow, actor, cmd.declaration_id)
    did = row["declaration_id"]
    domain.check_renewal(row["valid_until"], cmd.valid_until, clock.ward_today())
    domain.refuse_overlap(await uow.declarations.active(row["resident_id"], "temporary_residence"),
                          row["valid_from"], cmd.valid_until, renewing=did)
    await uow.declarations.update(did, {"valid_until": cmd.valid_until})
    uow.emit(TemporaryResidenceRenewed(
        ward_id=row["ward_id"], subject=did, declaration_id=did, resident_id=row["resident_id"],
        group_id=row["group_id"], valid_until=cmd.valid_until, previous_valid_until=row["valid_until"]))
    uow.audit("declaration", did, ward_id=row["ward_id"])
    return views.plain(await uow.declarations.get(did))


async def handle_end_temporary_residence(cmd: EndTemporaryResidence, uow: Any, actor: Principal) -> dict[str, Any]:
    row = await _active_temporary(uow, actor, cmd.declaration_id)
    did = row["declaration_id"]
    domain.check_end(row, cmd.ended_on)
    await uow.declarations.update(did, {"status": "ended", "ended_on": cmd.ended_on})
    uow.emit(TemporaryResidenceEnded(
        ward_id=row["ward_id"], subject=did, declaration_id=did, resident_id=row["resident_id"],
        group_id=row["group_id"], ended_on=cmd.ended_on))
    uow.audit("declaration", did, ward_id=row["ward_id"])
    return views.plain(await uow.declarations.get(did))


async def handle_declare_absence(cmd: DeclareAbsence, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.RESIDENCE_CLERKS, Role.TEAM_LEADER, Role.RESIDENT)
    domain.check_absence(cmd.case, cmd.absent_from, cmd.absent_until)
    resident = await anchor(uow.residents, cmd.resident_id, actor, "resident_id", "resident")
    rid = resident["resident_id"]
    group_id = (await uow.households.get(resident["household_id"]))["group_id"]
    domain.ensure_declares_for(actor, rid, group_id, await led_groups(uow, actor))
    await _refuse_overlap(uow, rid, "absence", cmd.absent_from, cmd.absent_until)
    did = new_id()
    await uow.declarations.add({
        "declaration_id": did, "ward_id": resident["ward_id"], "group_id": group_id, "resident_id": rid,
        "kind": "absence", "status": "active", "valid_from": cmd.absent_from, "valid_until": cmd.absent_until,
        "absence_case": cmd.case, "destination": cmd.destination})
    uow.emit(AbsenceDeclared(
        ward_id=resident["ward_id"], subject=did, declaration_id=did, resident_id=rid, group_id=group_id,
        case=cmd.case, absent_from=cmd.absent_from, absent_until=cmd.absent_until))
    uow.audit("declaration", did, ward_id=resident["ward_id"])
    return Created(views.plain(await uow.declarations.get(did)))


async def handle_notify_stay(cmd: NotifyStay, uow: Any, actor: Principal) -> Created:
    house = await anchor(uow.boarding_houses, cmd.boarding_house_id, actor, "boarding_house_id", "boarding house")
    domain.ensure_files_stay_notice(actor, house)
    notified_at = clock.now()
    domain.check_arrival(cmd.arrived_at, notified_at)
    domain.check_room(cmd.room, house["rooms"])
    lodger_id = None
    if cmd.lodger_resident_id is not None:
        lodger_id = (await reference(uow.residents, cmd.lodger_resident_id, house["ward_id"], "lodger_resident_id",
                                     "resident"))["resident_id"]
    late = domain.stay_notice_is_late(cmd.arrived_at, notified_at)
    nid = new_id()
    row = {"notice_id": nid, "ward_id": house["ward_id"], "group_id": house["group_id"],
           "boarding_house_id": house["boarding_house_id"], "lodger_resident_id": lodger_id,
           "lodger_name": cmd.lodger_name, "room": cmd.room, "arrived_at": cmd.arrived_at,
           "notified_at": notified_at, "late": late}
    await uow.stay_notices.add(row)
    uow.emit(StayNotified(
        ward_id=house["ward_id"], subject=nid, notice_id=nid, boarding_house_id=house["boarding_house_id"],
        group_id=house["group_id"], lodger_resident_id=lodger_id, room=cmd.room, arrived_at=cmd.arrived_at,
        notified_at=notified_at, late=late))
    uow.audit("stay_notice", nid, ward_id=house["ward_id"], details={"late": late})
    return Created(row)


async def expire_temporary_residences(uow: Any, today: date | None = None) -> int:
    """Mark every active temporary residence whose last valid day has passed as expired, with one
    ``TemporaryResidenceExpired`` each. The status change and the event share one transaction, so a declaration
    is expired (and announced) exactly once however often and on however many replicas the job runs."""
    today = today or clock.ward_today()
    due = await uow.declarations.due_for_expiry(today)
    for row in due:
        await uow.declarations.update(row["declaration_id"], {"status": "expired"})
        uow.emit(TemporaryResidenceExpired(
            ward_id=row["ward_id"], subject=row["declaration_id"], declaration_id=row["declaration_id"],
            resident_id=row["resident_id"], group_id=row["group_id"], expired_on=row["valid_until"]))
    return len(due)


HANDLERS = {
    RegisterTemporaryResidence: handle_register_temporary_residence,
    RenewTemporaryResidence: handle_renew_temporary_residence,
    EndTemporaryResidence: handle_end_temporary_residence,
    DeclareAbsence: handle_declare_absence,
    NotifyStay: handle_notify_stay,
}
