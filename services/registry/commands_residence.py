"""Use cases for residence declarations under the Law on Residence 2020: temporary residence (tạm trú),
temporary absence (tạm vắng) and stay notices (thông báo lưu trú). The rules themselves are in ``domain``."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

import asyncpg
from pydantic import AwareDatetime, BaseModel, Field

from services.registry import access, domain, repository, views
from services.registry.commands_people import new_id
from shared import clock, outbox
from shared.auth import Principal, Role
from shared.commands import Outcome
from shared.contracts.registry import (
    AbsenceDeclared,
    StayNotified,
    TemporaryResidenceEnded,
    TemporaryResidenceRegistered,
    TemporaryResidenceRenewed,
)
from shared.errors import Conflict, Forbidden, InvalidInput, RuleViolation


class RegisterTemporaryResidence(BaseModel):
    resident_id: uuid.UUID
    valid_from: date
    valid_until: date
    boarding_house_id: uuid.UUID | None = None
    room: str | None = Field(default=None, max_length=50)


class RenewTemporaryResidence(BaseModel):
    valid_until: date


class EndTemporaryResidence(BaseModel):
    ended_on: date


class DeclareAbsence(BaseModel):
    resident_id: uuid.UUID
    case: Literal["bail_or_probation", "military_age", "other"]
    absent_from: date
    absent_until: date
    destination: str = Field(min_length=1, max_length=300)


class NotifyStay(BaseModel):
    boarding_house_id: uuid.UUID
    lodger_resident_id: uuid.UUID | None = None
    lodger_name: str = Field(min_length=1, max_length=200)
    room: str | None = Field(default=None, max_length=50)
    arrived_at: AwareDatetime


async def _refuse_overlap(conn: asyncpg.Connection, resident_id: str, kind: str, start: date, end: date) -> None:
    await repository.lock_resident(conn, resident_id)
    for other in await repository.active_declarations(conn, resident_id, kind):
        if domain.overlaps(start, end, other["valid_from"], other["valid_until"]):
            raise Conflict(f"the period overlaps declaration {other['id']} of the same person")


def _view(row: asyncpg.Record) -> dict[str, object]:
    return views.plain(row)


async def register_temporary_residence(conn: asyncpg.Connection, principal: Principal,
                                       cmd: RegisterTemporaryResidence) -> Outcome:
    domain.check_temporary_residence(cmd.valid_from, cmd.valid_until)
    resident = await access.anchor(conn, "residents", str(cmd.resident_id), principal, "resident_id")
    household = await repository.get(conn, "households", resident["household_id"])
    group_id = household["group_id"]
    if cmd.boarding_house_id is not None:
        house = await access.reference(conn, "boarding_houses", str(cmd.boarding_house_id), resident["ward_id"],
                                       "boarding_house_id")
        if cmd.room is not None and cmd.room not in house["rooms"]:
            raise InvalidInput(f"room: the boarding house has no room {cmd.room!r}")
        group_id = house["group_id"]
    await _refuse_overlap(conn, resident["id"], "temporary_residence", cmd.valid_from, cmd.valid_until)
    did = new_id()
    await repository.insert(conn, "declarations", {
        "id": did, "ward_id": resident["ward_id"], "group_id": group_id, "resident_id": resident["id"],
        "kind": "temporary_residence", "status": "active", "valid_from": cmd.valid_from,
        "valid_until": cmd.valid_until,
        "boarding_house_id": str(cmd.boarding_house_id) if cmd.boarding_house_id else None, "room": cmd.room})
    await outbox.enqueue(conn, TemporaryResidenceRegistered(
        ward_id=resident["ward_id"], subject=did, declaration_id=did, resident_id=resident["id"], group_id=group_id,
        boarding_house_id=str(cmd.boarding_house_id) if cmd.boarding_house_id else None,
        valid_from=cmd.valid_from, valid_until=cmd.valid_until))
    return Outcome(_view(await repository.get(conn, "declarations", did)), "declaration", did,
                   ward_id=resident["ward_id"], status=201)


async def _active_temporary(conn: asyncpg.Connection, principal: Principal, declaration_id: str) -> asyncpg.Record:
    row = await access.load(conn, "declarations", declaration_id, principal, lock=True)
    if row["kind"] != "temporary_residence":
        raise InvalidInput("not a temporary residence declaration")
    if row["status"] != "active":
        raise RuleViolation(f"the declaration is {row['status']}")
    return row


async def renew_temporary_residence(conn: asyncpg.Connection, principal: Principal, declaration_id: str,
                                    cmd: RenewTemporaryResidence) -> Outcome:
    row = await _active_temporary(conn, principal, declaration_id)
    domain.check_renewal(row["valid_until"], cmd.valid_until, clock.ward_today())
    for other in await repository.active_declarations(conn, row["resident_id"], "temporary_residence"):
        if other["id"] != declaration_id and domain.overlaps(row["valid_from"], cmd.valid_until,
                                                             other["valid_from"], other["valid_until"]):
            raise Conflict(f"the renewed period overlaps declaration {other['id']} of the same person")
    await repository.update(conn, "declarations", declaration_id, {"valid_until": cmd.valid_until})
    await outbox.enqueue(conn, TemporaryResidenceRenewed(
        ward_id=row["ward_id"], subject=declaration_id, declaration_id=declaration_id,
        resident_id=row["resident_id"], group_id=row["group_id"], valid_until=cmd.valid_until,
        previous_valid_until=row["valid_until"]))
    return Outcome(_view(await repository.get(conn, "declarations", declaration_id)), "declaration", declaration_id,
                   ward_id=row["ward_id"])


async def end_temporary_residence(conn: asyncpg.Connection, principal: Principal, declaration_id: str,
                                  cmd: EndTemporaryResidence) -> Outcome:
    row = await _active_temporary(conn, principal, declaration_id)
    if not row["valid_from"] <= cmd.ended_on <= row["valid_until"]:
        raise InvalidInput("ended_on must fall within the declaration's period")
    await repository.update(conn, "declarations", declaration_id, {"status": "ended", "ended_on": cmd.ended_on})
    await outbox.enqueue(conn, TemporaryResidenceEnded(
        ward_id=row["ward_id"], subject=declaration_id, declaration_id=declaration_id,
        resident_id=row["resident_id"], group_id=row["group_id"], ended_on=cmd.ended_on))
    return Outcome(_view(await repository.get(conn, "declarations", declaration_id)), "declaration", declaration_id,
                   ward_id=row["ward_id"])


async def declare_absence(conn: asyncpg.Connection, principal: Principal, cmd: DeclareAbsence) -> Outcome:
    domain.check_absence(cmd.case, cmd.absent_from, cmd.absent_until)
    resident = await access.anchor(conn, "residents", str(cmd.resident_id), principal, "resident_id")
    household = await repository.get(conn, "households", resident["household_id"])
    await _refuse_overlap(conn, resident["id"], "absence", cmd.absent_from, cmd.absent_until)
    did = new_id()
    await repository.insert(conn, "declarations", {
        "id": did, "ward_id": resident["ward_id"], "group_id": household["group_id"], "resident_id": resident["id"],
        "kind": "absence", "status": "active", "valid_from": cmd.absent_from, "valid_until": cmd.absent_until,
        "absence_case": cmd.case, "destination": cmd.destination})
    await outbox.enqueue(conn, AbsenceDeclared(
        ward_id=resident["ward_id"], subject=did, declaration_id=did, resident_id=resident["id"],
        group_id=household["group_id"], case=cmd.case, absent_from=cmd.absent_from, absent_until=cmd.absent_until))
    return Outcome(_view(await repository.get(conn, "declarations", did)), "declaration", did,
                   ward_id=resident["ward_id"], status=201)


async def notify_stay(conn: asyncpg.Connection, principal: Principal, cmd: NotifyStay, *,
                      now: datetime | None = None) -> Outcome:
    """The notice time is the server's clock, not the caller's word: lateness is a fact the police rely on."""
    house = await access.anchor(conn, "boarding_houses", str(cmd.boarding_house_id), principal, "boarding_house_id")
    if not (principal.has(Role.POLICE, Role.WARD_OFFICIAL, Role.ADMIN) or principal.resident_id == house["landlord_resident_id"]):
        raise Forbidden("stay notices are filed by the boarding house's landlord, the police or ward officials")
    notified_at = now or clock.now()
    if cmd.arrived_at > notified_at:
        raise InvalidInput("arrived_at is in the future")
    if cmd.room is not None and cmd.room not in house["rooms"]:
        raise InvalidInput(f"room: the boarding house has no room {cmd.room!r}")
    lodger_id = None
    if cmd.lodger_resident_id is not None:
        lodger = await access.reference(conn, "residents", str(cmd.lodger_resident_id), house["ward_id"],
                                        "lodger_resident_id")
        lodger_id = lodger["id"]
    late = domain.stay_notice_is_late(cmd.arrived_at, notified_at)
    nid = new_id()
    row = {"id": nid, "ward_id": house["ward_id"], "group_id": house["group_id"], "boarding_house_id": house["id"],
           "lodger_resident_id": lodger_id, "lodger_name": cmd.lodger_name, "room": cmd.room,
           "arrived_at": cmd.arrived_at, "notified_at": notified_at, "late": late}
    await repository.insert(conn, "stay_notices", row)
    await outbox.enqueue(conn, StayNotified(
        ward_id=house["ward_id"], subject=nid, notice_id=nid, boarding_house_id=house["id"],
        group_id=house["group_id"], lodger_resident_id=lodger_id, room=cmd.room, arrived_at=cmd.arrived_at,
        notified_at=notified_at, late=late))
    return Outcome(row, "stay_notice", nid, ward_id=house["ward_id"], status=201, details={"late": late})
