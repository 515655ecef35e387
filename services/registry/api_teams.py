"""HTTP routes for teams and their members."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import commands as cmd
from services.registry import domain, schemas, views
from services.registry.handlers_common import load
from services.registry.repository import TEAMS_BY_KIND
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.contracts.registry import TeamKind
from shared.edge import WARD_PATTERN
from shared.paging import Page, page_of

router = APIRouter(prefix="/v1", tags=["teams"])


@router.post("/teams", status_code=201, response_model=schemas.Team,
             summary="Form a team of one of the five kinds")
async def form_team(body: cmd.FormTeam, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.get("/teams", response_model=schemas.PageOf[schemas.Team],
            summary="Teams of a ward with their compliance; `compliant=false` lists the flagged ones")
async def list_teams(request: Request, principal: CurrentPrincipal, page: Page,
                     ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                     group_id: UUID | None = None, kind: TeamKind | None = None,
                     compliant: bool | None = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    domain.ensure_lists_teams(principal)
    async with reading(request) as uow:
        # Compliance is derived from the members, never stored, so it cannot go stale; a compliance filter is
        # applied after computing it (a ward has tens of teams, not thousands), then paged the same way.
        listed = await uow.teams.page_of_ward(ward, str(group_id) if group_id else None, kind,
                                              page if compliant is None else None)
        teams = [views.team(t, await uow.teams.active_members(t["team_id"])) for t in listed["items"]]
    if compliant is None:
        return json_response({**listed, "items": teams})
    teams = [t for t in teams if t["compliant"] is compliant]
    return json_response(page_of(teams, TEAMS_BY_KIND, page, key=lambda t: (t["kind"], t["name"], t["team_id"])))


@router.get("/teams/{team_id}", response_model=schemas.Team, summary="A team with its active members and compliance")
async def get_team(team_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        row = await load(uow.teams, team_id, principal, "team")
        domain.ensure_sees_team(principal, row["team_id"])
        return json_response(views.team(row, await uow.teams.active_members(row["team_id"])))


@router.post("/teams/{team_id}/members", status_code=201, response_model=schemas.Team,
             summary="Add a member (leader, deputy or member)")
async def add_member(team_id: UUID, body: cmd.AddMemberFields, request: Request,
                     principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.AddMember(team_id=team_id, **body.model_dump()), principal)


@router.patch("/teams/{team_id}/members/{resident_id}", response_model=schemas.Team, summary="Change a member's role")
async def change_role(team_id: UUID, resident_id: UUID, body: cmd.ChangeRoleFields, request: Request,
                      principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.ChangeRole(team_id=team_id, resident_id=resident_id, **body.model_dump()),
                          principal)


@router.post("/teams/{team_id}/members/{resident_id}/leave", response_model=schemas.Team,
             summary="A member leaves the team")
async def remove_member(team_id: UUID, resident_id: UUID, body: cmd.RemoveMemberFields, request: Request,
                        principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.RemoveMember(team_id=team_id, resident_id=resident_id, **body.model_dump()),
                          principal)


@router.get("/teams/{team_id}/members", response_model=schemas.PageOf[schemas.TeamMember],
            summary="A team's members, past and present, in order of appointment")
async def list_members(team_id: UUID, request: Request, principal: CurrentPrincipal, page: Page,
                       active: bool | None = None) -> Response:
    async with reading(request) as uow:
        row = await load(uow.teams, team_id, principal, "team")
        domain.ensure_sees_team(principal, row["team_id"])
        return json_response(await uow.teams.members_page(row["team_id"], active, page))
