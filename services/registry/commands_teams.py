"""Use cases for teams and their members: tổ ANXH, tổ bảo vệ ANTT, tổ hòa giải, tổ PCCC liên gia, tổ vận động.

Every team event carries the team's compliance as it stands after the change (``domain.team_compliance``), so
mediation and awards can act on one event. Changes of one team are serialised by locking its row.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field

from services.registry import access, repository, views
from services.registry.commands_people import new_id
from services.registry.domain import team_compliance
from shared import outbox
from shared.auth import Principal
from shared.commands import Outcome
from shared.contracts.registry import TeamFormed, TeamMemberJoined, TeamMemberLeft, TeamMemberRoleChanged
from shared.errors import Conflict, InvalidInput, NotFound

TeamKind = Literal["anxh", "security_order", "mediation", "fire_prevention", "mobilisation"]
Role = Literal["leader", "deputy", "member"]


class FormTeam(BaseModel):
    group_id: uuid.UUID
    kind: TeamKind
    name: str = Field(min_length=1, max_length=200)
    formed_on: date
    formation_act: str = Field(min_length=1, max_length=200, description="e.g. QĐ 12/QĐ-UBND")


class AddMember(BaseModel):
    resident_id: uuid.UUID
    role: Role
    appointed_on: date
    appointment_act: str | None = Field(default=None, max_length=200)


class ChangeRole(BaseModel):
    role: Role
    changed_on: date
    appointment_act: str | None = Field(default=None, max_length=200)


class RemoveMember(BaseModel):
    left_on: date


async def _state(conn: asyncpg.Connection, team: asyncpg.Record) -> dict[str, object]:
    issues = team_compliance(team["kind"], repository.as_active(await repository.active_members(conn, team["id"])))
    return {"ward_id": team["ward_id"], "subject": team["id"], "team_id": team["id"], "group_id": team["group_id"],
            "kind": team["kind"], "compliant": not issues, "compliance_issues": issues}


async def form_team(conn: asyncpg.Connection, principal: Principal, cmd: FormTeam) -> Outcome:
    group = await access.anchor(conn, "groups", str(cmd.group_id), principal, "group_id")
    tid = new_id()
    row = {"id": tid, "ward_id": group["ward_id"], "group_id": group["id"], "kind": cmd.kind, "name": cmd.name,
           "formed_on": cmd.formed_on, "formation_act": cmd.formation_act}
    await repository.insert(conn, "teams", row)
    team = await repository.get(conn, "teams", tid)
    await outbox.enqueue(conn, TeamFormed(**await _state(conn, team), name=cmd.name, formed_on=cmd.formed_on,
                                          formation_act=cmd.formation_act))
    return Outcome(await views.team(conn, team), "team", tid, ward_id=group["ward_id"], status=201)


def _check_leader(members: list[asyncpg.Record], role: str, resident_id: str) -> None:
    if role == "leader" and any(m["role"] == "leader" and m["resident_id"] != resident_id for m in members):
        raise Conflict("the team already has a leader; change the current leader's role first")


def _membership_fields(resident: asyncpg.Record) -> dict[str, object]:
    return {"resident_id": resident["id"], "household_id": resident["household_id"],
            "full_name": resident["full_name"], "sex": resident["sex"]}


async def add_member(conn: asyncpg.Connection, principal: Principal, team_id: str, cmd: AddMember) -> Outcome:
    team = await access.load(conn, "teams", team_id, principal, lock=True)
    access.ensure_manages_team(principal, team_id)
    resident = await access.reference(conn, "residents", str(cmd.resident_id), team["ward_id"], "resident_id")
    if cmd.appointed_on < team["formed_on"]:
        raise InvalidInput("appointed_on is before the team was formed")
    members = await repository.active_members(conn, team_id)
    if any(m["resident_id"] == resident["id"] for m in members):
        raise Conflict("this resident is already a member of the team")
    _check_leader(members, cmd.role, resident["id"])
    await repository.insert(conn, "team_members", {
        "team_id": team_id, "resident_id": resident["id"], "role": cmd.role, "appointed_on": cmd.appointed_on,
        "appointment_act": cmd.appointment_act})
    await outbox.enqueue(conn, TeamMemberJoined(
        **await _state(conn, team), **_membership_fields(resident), role=cmd.role, appointed_on=cmd.appointed_on,
        appointment_act=cmd.appointment_act))
    return Outcome(await views.team(conn, team), "team", team_id, ward_id=team["ward_id"], status=201,
                   details={"joined": resident["id"], "role": cmd.role})


async def _membership(conn: asyncpg.Connection, principal: Principal, team_id: str, resident_id: str):  # noqa: ANN202
    team = await access.load(conn, "teams", team_id, principal, lock=True)
    access.ensure_manages_team(principal, team_id)
    membership = await repository.active_membership(conn, team_id, resident_id)
    if membership is None:
        raise NotFound("this resident is not an active member of the team")
    resident = await repository.get(conn, "residents", resident_id)
    return team, membership, resident


async def change_role(conn: asyncpg.Connection, principal: Principal, team_id: str, resident_id: str,
                      cmd: ChangeRole) -> Outcome:
    team, membership, resident = await _membership(conn, principal, team_id, resident_id)
    if membership["role"] == cmd.role:
        raise InvalidInput(f"the member already has the role {cmd.role}")
    if cmd.changed_on < membership["appointed_on"]:
        raise InvalidInput("changed_on is before the member was appointed")
    _check_leader(await repository.active_members(conn, team_id), cmd.role, resident_id)
    await conn.execute("UPDATE team_members SET role = $2, appointment_act = coalesce($3, appointment_act) WHERE id = $1",
                       membership["id"], cmd.role, cmd.appointment_act)
    await outbox.enqueue(conn, TeamMemberRoleChanged(
        **await _state(conn, team), **_membership_fields(resident), role=cmd.role,
        previous_role=membership["role"], changed_on=cmd.changed_on, appointment_act=cmd.appointment_act))
    return Outcome(await views.team(conn, team), "team", team_id, ward_id=team["ward_id"],
                   details={"member": resident_id, "role": cmd.role})


async def remove_member(conn: asyncpg.Connection, principal: Principal, team_id: str, resident_id: str,
                        cmd: RemoveMember) -> Outcome:
    team, membership, resident = await _membership(conn, principal, team_id, resident_id)
    if cmd.left_on < membership["appointed_on"]:
        raise InvalidInput("left_on is before the member was appointed")
    await conn.execute("UPDATE team_members SET left_on = $2 WHERE id = $1", membership["id"], cmd.left_on)
    await outbox.enqueue(conn, TeamMemberLeft(
        **await _state(conn, team), **_membership_fields(resident), role=membership["role"], left_on=cmd.left_on))
    return Outcome(await views.team(conn, team), "team", team_id, ward_id=team["ward_id"],
                   details={"left": resident_id})
