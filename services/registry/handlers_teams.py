"""Handlers for teams and their members: tổ ANXH, tổ bảo vệ ANTT, tổ hòa giải, tổ PCCC liên gia, tổ vận động.

Every team event carries the team's compliance as it stands after the change (``domain.team_compliance``), so
mediation and awards can act on one event. Changes of one team are serialised by locking its row.
"""

from __future__ import annotations

from typing import Any

from services.registry import domain, views
from services.registry.commands import AddMember, ChangeRole, FormTeam, RemoveMember
from services.registry.handlers_common import anchor, load, new_id, reference
from shared.actor import Principal
from shared.application import Created
from shared.contracts.registry import TeamFormed, TeamMemberJoined, TeamMemberLeft, TeamMemberRoleChanged
from shared.errors import NotFound


async def _state(uow: Any, team: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The team facts every team event repeats, and the active members they were computed from."""
    members = await uow.teams.active_members(team["team_id"])
    issues = views.compliance(team["kind"], members)
    return ({"ward_id": team["ward_id"], "subject": team["team_id"], "team_id": team["team_id"],
             "group_id": team["group_id"], "kind": team["kind"], "compliant": not issues,
             "compliance_issues": issues}, members)


def _membership_fields(resident: dict[str, Any]) -> dict[str, Any]:
    return {"resident_id": resident["resident_id"], "household_id": resident["household_id"],
            "full_name": resident["full_name"], "sex": resident["sex"]}


async def handle_form_team(cmd: FormTeam, uow: Any, actor: Principal) -> Created:
    actor.require(*domain.OFFICIALS)
    group = await anchor(uow.groups, cmd.group_id, actor, "group_id", "group")
    tid = new_id()
    await uow.teams.add({"team_id": tid, "ward_id": group["ward_id"], "group_id": group["group_id"],
                         "kind": cmd.kind, "name": cmd.name_, "formed_on": cmd.formed_on,
                         "formation_act": cmd.formation_act})
    team = await uow.teams.get(tid)
    state, members = await _state(uow, team)
    uow.emit(TeamFormed(**state, name=cmd.name_, formed_on=cmd.formed_on, formation_act=cmd.formation_act))
    uow.audit("team", tid, ward_id=group["ward_id"])
    return Created(views.team(team, members))


async def handle_add_member(cmd: AddMember, uow: Any, actor: Principal) -> Created:
    team = await load(uow.teams, cmd.team_id, actor, "team", lock=True)
    tid = team["team_id"]
    domain.ensure_manages_team(actor, tid)
    resident = await reference(uow.residents, cmd.resident_id, team["ward_id"], "resident_id", "resident")
    members = await uow.teams.active_members(tid)
    domain.check_new_member(team, members, resident["resident_id"], cmd.appointed_on)
    domain.check_leader(members, cmd.role, resident["resident_id"])
    await uow.teams.add_member({"team_id": tid, "resident_id": resident["resident_id"], "role": cmd.role,
                                "appointed_on": cmd.appointed_on, "appointment_act": cmd.appointment_act})
    state, members = await _state(uow, team)
    uow.emit(TeamMemberJoined(**state, **_membership_fields(resident), role=cmd.role, appointed_on=cmd.appointed_on,
                              appointment_act=cmd.appointment_act))
    uow.audit("team", tid, ward_id=team["ward_id"], details={"joined": resident["resident_id"], "role": cmd.role})
    return Created(views.team(team, members))


async def _membership(uow: Any, actor: Principal, team_id: Any, resident_id: Any) -> tuple[dict, dict, dict]:
    team = await load(uow.teams, team_id, actor, "team", lock=True)
    domain.ensure_manages_team(actor, team["team_id"])
    membership = await uow.teams.active_membership(team["team_id"], str(resident_id))
    if membership is None:
        raise NotFound("this resident is not an active member of the team")
    return team, membership, await uow.residents.get(str(resident_id))


async def handle_change_role(cmd: ChangeRole, uow: Any, actor: Principal) -> dict[str, Any]:
    team, membership, resident = await _membership(uow, actor, cmd.team_id, cmd.resident_id)
    tid, rid = team["team_id"], resident["resident_id"]
    domain.check_role_change(membership, cmd.role, cmd.changed_on)
    domain.check_leader(await uow.teams.active_members(tid), cmd.role, rid)
    await uow.teams.change_role(membership["id"], cmd.role, cmd.appointment_act)
    state, members = await _state(uow, team)
    uow.emit(TeamMemberRoleChanged(**state, **_membership_fields(resident), role=cmd.role,
                                   previous_role=membership["role"], changed_on=cmd.changed_on,
                                   appointment_act=cmd.appointment_act))
    uow.audit("team", tid, ward_id=team["ward_id"], details={"member": rid, "role": cmd.role})
    return views.team(team, members)


async def handle_remove_member(cmd: RemoveMember, uow: Any, actor: Principal) -> dict[str, Any]:
    team, membership, resident = await _membership(uow, actor, cmd.team_id, cmd.resident_id)
    tid, rid = team["team_id"], resident["resident_id"]
    domain.check_not_before_appointment(membership, cmd.left_on, "left_on")
    await uow.teams.end_membership(membership["id"], cmd.left_on)
    state, members = await _state(uow, team)
    uow.emit(TeamMemberLeft(**state, **_membership_fields(resident), role=membership["role"], left_on=cmd.left_on))
    uow.audit("team", tid, ward_id=team["ward_id"], details={"left": rid})
    return views.team(team, members)


HANDLERS = {
    FormTeam: handle_form_team,
    AddMember: handle_add_member,
    ChangeRole: handle_change_role,
    RemoveMember: handle_remove_member,
}
