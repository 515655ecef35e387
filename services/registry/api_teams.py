"""HTTP routes for teams and their members."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import access, views
from services.registry import commands_teams as cmd
from services.registry.api_common import WARD_PATTERN, pool
from shared.auth import CurrentPrincipal, Role
from shared.commands import execute, json_response
from shared.paging import Keyset, Page, page_of

router = APIRouter(prefix="/v1", tags=["teams"])
TEAMS_BY_KIND = Keyset.of("kind:text", "name:text", "id:text")
MEMBERS_BY_APPOINTMENT = Keyset.of("m.id:bigint")


@router.post("/teams", status_code=201, summary="Form a team of one of the five kinds")
async def form_team(body: cmd.FormTeam, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.ADMIN)
    return await execute(pool(request), request, principal, "team.form", lambda c: cmd.form_team(c, principal, body))


@router.get("/teams", summary="Teams of a ward with their compliance; `compliant=false` lists the flagged ones")
async def list_teams(request: Request, principal: CurrentPrincipal, page: Page,
                     ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                     group_id: UUID | None = None, kind: cmd.TeamKind | None = None,
                     compliant: bool | None = None) -> Response:
    ward = access.list_ward(principal, ward_id)
    if not access.is_staff(principal):
        principal.require(Role.POLICE, Role.WARD_OFFICIAL)  # raises: team members read their own team by id
    async with pool(request).acquire() as conn:
        where = ["ward_id = $1", "$2::text IS NULL OR group_id = $2", "$3::text IS NULL OR kind = $3"]
        args: list[object] = [ward, str(group_id) if group_id else None, kind]
        if compliant is None:
            rows = await conn.fetch(TEAMS_BY_KIND.query("SELECT * FROM teams", where, args, page), *args)
            return json_response(TEAMS_BY_KIND.page([await views.team(conn, r) for r in rows], page))
        # Compliance is derived from the members, never stored, so it cannot go stale; the filter is applied
        # after computing it (a ward has tens of teams, not thousands), then paged the same way.
        rows = await conn.fetch(TEAMS_BY_KIND.unpaged("SELECT * FROM teams", where), *args)
        teams = [t for t in [await views.team(conn, r) for r in rows] if t["compliant"] is compliant]
    return json_response(page_of(teams, TEAMS_BY_KIND, page, key=lambda t: (t["kind"], t["name"], t["id"])))


@router.get("/teams/{team_id}", summary="A team with its active members and compliance")
async def get_team(team_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with pool(request).acquire() as conn:
        row = await access.load(conn, "teams", str(team_id), principal)
        access.ensure_sees_team(principal, row["id"])
        return json_response(await views.team(conn, row))


@router.post("/teams/{team_id}/members", status_code=201, summary="Add a member (leader, deputy or member)")
async def add_member(team_id: UUID, body: cmd.AddMember, request: Request, principal: CurrentPrincipal) -> Response:
    return await execute(pool(request), request, principal, "team.member.add",
                         lambda c: cmd.add_member(c, principal, str(team_id), body))


@router.patch("/teams/{team_id}/members/{resident_id}", summary="Change a member's role")
async def change_role(team_id: UUID, resident_id: UUID, body: cmd.ChangeRole, request: Request,
                      principal: CurrentPrincipal) -> Response:
    return await execute(pool(request), request, principal, "team.member.change_role",
                         lambda c: cmd.change_role(c, principal, str(team_id), str(resident_id), body))


@router.post("/teams/{team_id}/members/{resident_id}/leave", summary="A member leaves the team")
async def remove_member(team_id: UUID, resident_id: UUID, body: cmd.RemoveMember, request: Request,
                        principal: CurrentPrincipal) -> Response:
    return await execute(pool(request), request, principal, "team.member.leave",
                         lambda c: cmd.remove_member(c, principal, str(team_id), str(resident_id), body))


@router.get("/teams/{team_id}/members", summary="A team's members, past and present, in order of appointment")
async def list_members(team_id: UUID, request: Request, principal: CurrentPrincipal, page: Page,
                       active: bool | None = None) -> Response:
    async with pool(request).acquire() as conn:
        row = await access.load(conn, "teams", str(team_id), principal)
        access.ensure_sees_team(principal, row["id"])
        args: list[object] = [row["id"], active]
        where = ["m.team_id = $1", "$2::boolean IS NULL OR (m.left_on IS NULL) = $2"]
        rows = await conn.fetch(MEMBERS_BY_APPOINTMENT.query(
            "SELECT m.id, m.resident_id, m.role, m.appointed_on, m.appointment_act, m.left_on, r.full_name, r.sex, "
            "r.household_id FROM team_members m JOIN residents r ON r.id = m.resident_id", where, args, page), *args)
    return json_response(MEMBERS_BY_APPOINTMENT.page(rows, page, lambda r: {k: v for k, v in dict(r).items() if k != "id"}))
