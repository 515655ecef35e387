"""Use cases for wards, residential groups (tổ dân phố), households (hộ gia đình) and residents (nhân khẩu).

Each runs on the caller's connection inside ``shared.commands.execute``'s transaction: the change, its events
(outbox) and the audit row commit together or not at all.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field

from services.registry import access, repository, views
from services.registry.domain import validate_national_id
from services.registry.repository import NATIONAL_ID_PURPOSE
from shared import outbox
from shared.auth import Principal
from shared.commands import Outcome
from shared.contracts.registry import (
    GroupCreated,
    HouseholdHeadChanged,
    HouseholdRegistered,
    ResidentMoved,
    ResidentRegistered,
    ResidentUpdated,
    WardRegistered,
)
from shared.crypto import PersonalDataProtector
from shared.errors import Conflict, InvalidInput

WARD_ID = r"^[a-z0-9][a-z0-9-]{1,63}$"


def new_id() -> str:
    return str(uuid.uuid4())


class RegisterWard(BaseModel):
    id: str = Field(pattern=WARD_ID, description="A slug, e.g. phu-son")
    name: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=200)


class CreateGroup(BaseModel):
    ward_id: str = Field(pattern=WARD_ID)
    name: str = Field(min_length=1, max_length=200)


class RegisterHousehold(BaseModel):
    group_id: uuid.UUID
    address: str = Field(min_length=1, max_length=300)


class ChangeHousehold(BaseModel):
    address: str | None = Field(default=None, min_length=1, max_length=300)
    head_resident_id: uuid.UUID | None = None


class RegisterResident(BaseModel):
    household_id: uuid.UUID
    full_name: str = Field(min_length=1, max_length=200)
    sex: Literal["female", "male"]
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=30)
    national_id: str | None = Field(default=None, max_length=20, description="12 digits; personal data")


class UpdateResident(BaseModel):
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    sex: Literal["female", "male"] | None = None
    birth_date: date | None = None
    phone: str | None = Field(default=None, max_length=30)
    national_id: str | None = Field(default=None, max_length=20)


class MoveResident(BaseModel):
    household_id: uuid.UUID


async def register_ward(conn: asyncpg.Connection, cmd: RegisterWard) -> Outcome:
    if not await repository.insert(conn, "wards", cmd.model_dump(), on_conflict_nothing=True):
        raise Conflict(f"ward {cmd.id} is already registered")
    await outbox.enqueue(conn, WardRegistered(ward_id=cmd.id, subject=cmd.id, name=cmd.name, city=cmd.city))
    return Outcome(cmd.model_dump(), "ward", cmd.id, ward_id=cmd.id, status=201)


async def create_group(conn: asyncpg.Connection, cmd: CreateGroup) -> Outcome:
    await access.reference(conn, "wards", cmd.ward_id, cmd.ward_id, "ward_id")
    gid = new_id()
    if not await repository.insert(conn, "groups", {"id": gid, "ward_id": cmd.ward_id, "name": cmd.name},
                                   on_conflict_nothing=True):
        raise Conflict(f"the ward already has a group named {cmd.name!r}")
    await outbox.enqueue(conn, GroupCreated(ward_id=cmd.ward_id, subject=gid, group_id=gid, name=cmd.name))
    return Outcome({"id": gid, "ward_id": cmd.ward_id, "name": cmd.name}, "group", gid, ward_id=cmd.ward_id, status=201)


async def register_household(conn: asyncpg.Connection, principal: Principal, cmd: RegisterHousehold) -> Outcome:
    group = await access.anchor(conn, "groups", str(cmd.group_id), principal, "group_id")
    hid = new_id()
    row = {"id": hid, "ward_id": group["ward_id"], "group_id": group["id"], "address": cmd.address}
    await repository.insert(conn, "households", row)
    await outbox.enqueue(conn, HouseholdRegistered(ward_id=group["ward_id"], subject=hid, household_id=hid,
                                                   group_id=group["id"]))
    return Outcome({**row, "head_resident_id": None}, "household", hid, ward_id=group["ward_id"], status=201)


async def change_household(conn: asyncpg.Connection, principal: Principal, household_id: str, cmd: ChangeHousehold) -> Outcome:
    household = await access.load(conn, "households", household_id, principal, lock=True)
    changes: dict[str, object] = {}
    if cmd.address is not None:
        changes["address"] = cmd.address
    if cmd.head_resident_id is not None:
        head = await access.reference(conn, "residents", str(cmd.head_resident_id), household["ward_id"], "head_resident_id")
        if head["household_id"] != household_id:
            raise InvalidInput("head_resident_id: the head of household must be a member of it")
        changes["head_resident_id"] = head["id"]
    if not changes:
        raise InvalidInput("nothing to change")
    await repository.update(conn, "households", household_id, changes)
    if "head_resident_id" in changes and changes["head_resident_id"] != household["head_resident_id"]:
        await outbox.enqueue(conn, HouseholdHeadChanged(
            ward_id=household["ward_id"], subject=household_id, household_id=household_id,
            group_id=household["group_id"], head_resident_id=str(changes["head_resident_id"])))
    body = views.plain(await repository.get(conn, "households", household_id))
    return Outcome(body, "household", household_id, ward_id=household["ward_id"], details={"changed": sorted(changes)})


async def _protect_national_id(conn: asyncpg.Connection, pii: PersonalDataProtector, ward_id: str, resident_id: str,
                               raw: str) -> dict[str, object]:
    number = validate_national_id(raw)
    index = pii.blind_index(number, NATIONAL_ID_PURPOSE)
    # Unique within the ward only: the answer must never tell a registrar who is registered in another ward. One
    # person, one number nationwide is the national population database's to enforce, not this register's.
    if await repository.national_id_taken(conn, ward_id, pii.blind_index_candidates(number, NATIONAL_ID_PURPOSE),
                                          resident_id):
        raise Conflict("this national ID number is already registered to another resident of the ward")
    return {"national_id_cipher": pii.encrypt(number, repository.national_id_context(resident_id)),
            "national_id_index": index}


async def register_resident(conn: asyncpg.Connection, principal: Principal, pii: PersonalDataProtector,
                            cmd: RegisterResident) -> Outcome:
    household = await access.anchor(conn, "households", str(cmd.household_id), principal, "household_id")
    rid = new_id()
    row: dict[str, object] = {
        "id": rid, "ward_id": household["ward_id"], "household_id": household["id"], "full_name": cmd.full_name,
        "sex": cmd.sex, "birth_date": cmd.birth_date, "phone": cmd.phone,
    }
    if cmd.national_id is not None:
        row.update(await _protect_national_id(conn, pii, household["ward_id"], rid, cmd.national_id))
    await repository.insert(conn, "residents", row)
    await outbox.enqueue(conn, ResidentRegistered(
        ward_id=household["ward_id"], subject=rid, resident_id=rid, household_id=household["id"],
        group_id=household["group_id"], full_name=cmd.full_name, sex=cmd.sex))
    body = views.resident(await repository.get(conn, "residents", rid), principal, pii)
    return Outcome(body, "resident", rid, ward_id=household["ward_id"], status=201)


async def update_resident(conn: asyncpg.Connection, principal: Principal, pii: PersonalDataProtector,
                          resident_id: str, cmd: UpdateResident) -> Outcome:
    before = await access.load(conn, "residents", resident_id, principal, lock=True)
    changes = cmd.model_dump(exclude_unset=True, exclude={"national_id"})
    if "full_name" in changes and changes["full_name"] is None or "sex" in changes and changes["sex"] is None:
        raise InvalidInput("full_name and sex cannot be removed")
    if cmd.national_id is not None:
        changes.update(await _protect_national_id(conn, pii, before["ward_id"], resident_id, cmd.national_id))
    if not changes:
        raise InvalidInput("nothing to change")
    await repository.update(conn, "residents", resident_id, changes)
    after = await repository.get(conn, "residents", resident_id)
    if (after["full_name"], after["sex"]) != (before["full_name"], before["sex"]):
        await outbox.enqueue(conn, ResidentUpdated(ward_id=after["ward_id"], subject=resident_id,
                                                   resident_id=resident_id, full_name=after["full_name"], sex=after["sex"]))
    # The audit trail names which fields changed, never their values (the national ID among them).
    fields = sorted({"national_id" if k.startswith("national_id") else k for k in changes})
    return Outcome(views.resident(after, principal, pii), "resident", resident_id, ward_id=after["ward_id"],
                   details={"changed": fields})


async def move_resident(conn: asyncpg.Connection, principal: Principal, pii: PersonalDataProtector,
                        resident_id: str, cmd: MoveResident) -> Outcome:
    resident = await access.load(conn, "residents", resident_id, principal, lock=True)
    target = await access.reference(conn, "households", str(cmd.household_id), resident["ward_id"], "household_id")
    if target["id"] == resident["household_id"]:
        raise InvalidInput("the resident already lives in this household")
    if await conn.fetchval("SELECT 1 FROM households WHERE head_resident_id = $1", resident_id):
        raise Conflict("the resident heads their household: name another head first")
    await repository.update(conn, "residents", resident_id, {"household_id": target["id"]})
    await outbox.enqueue(conn, ResidentMoved(
        ward_id=resident["ward_id"], subject=resident_id, resident_id=resident_id,
        from_household_id=resident["household_id"], to_household_id=target["id"], group_id=target["group_id"]))
    body = views.resident(await repository.get(conn, "residents", resident_id), principal, pii)
    return Outcome(body, "resident", resident_id, ward_id=resident["ward_id"])
