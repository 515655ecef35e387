"""HTTP routes for residence declarations, stay notices and the police's "checks due" view."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import access, repository, views
from services.registry import commands_residence as cmd
from services.registry.api_common import WARD_PATTERN, pool
from shared import clock
from shared.auth import CurrentPrincipal, Role
from shared.commands import execute, json_response
from shared.paging import Keyset, Page

router = APIRouter(prefix="/v1", tags=["residence"])
STAY_NOTICES_BY_ARRIVAL = Keyset.of("arrived_at:timestamptz", "id:text")
RESIDENCE_CLERKS = (Role.POLICE, Role.WARD_OFFICIAL, Role.ADMIN)


@router.post("/temporary-residences", status_code=201, summary="Register temporary residence (tạm trú)")
async def register_temporary(body: cmd.RegisterTemporaryResidence, request: Request,
                             principal: CurrentPrincipal) -> Response:
    principal.require(*RESIDENCE_CLERKS)
    return await execute(pool(request), request, principal, "temporary_residence.register",
                         lambda c: cmd.register_temporary_residence(c, principal, body))


@router.post("/temporary-residences/{declaration_id}/renew", summary="Renew a temporary residence")
async def renew_temporary(declaration_id: UUID, body: cmd.RenewTemporaryResidence, request: Request,
                          principal: CurrentPrincipal) -> Response:
    principal.require(*RESIDENCE_CLERKS)
    return await execute(pool(request), request, principal, "temporary_residence.renew",
                         lambda c: cmd.renew_temporary_residence(c, principal, str(declaration_id), body))


@router.post("/temporary-residences/{declaration_id}/end", summary="End a temporary residence (the person left)")
async def end_temporary(declaration_id: UUID, body: cmd.EndTemporaryResidence, request: Request,
                        principal: CurrentPrincipal) -> Response:
    principal.require(*RESIDENCE_CLERKS)
    return await execute(pool(request), request, principal, "temporary_residence.end",
                         lambda c: cmd.end_temporary_residence(c, principal, str(declaration_id), body))


@router.post("/absences", status_code=201, summary="Declare temporary absence (tạm vắng)")
async def declare_absence(body: cmd.DeclareAbsence, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*RESIDENCE_CLERKS)
    return await execute(pool(request), request, principal, "absence.declare",
                         lambda c: cmd.declare_absence(c, principal, body))


@router.get("/declarations", summary="Residence declarations of a ward")
async def list_declarations(request: Request, principal: CurrentPrincipal, page: Page,
                            ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                            group_id: UUID | None = None, resident_id: UUID | None = None,
                            status: Literal["active", "expired", "ended"] | None = None) -> Response:
    principal.require(*access.STAFF)
    ward = access.list_ward(principal, ward_id)
    async with pool(request).acquire() as conn:
        rows = await repository.page(conn, "declarations", {
            "ward_id": ward, "group_id": str(group_id) if group_id else None,
            "resident_id": str(resident_id) if resident_id else None, "status": status},
            page)
    return json_response(repository.BY_CREATION.page(rows, page, views.plain))


@router.get("/declarations/{declaration_id}", summary="A residence declaration")
async def get_declaration(declaration_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*access.STAFF)
    async with pool(request).acquire() as conn:
        return json_response(views.plain(await access.load(conn, "declarations", str(declaration_id), principal)))


@router.post("/stay-notices", status_code=201, summary="File a stay notice (thông báo lưu trú) for a lodger")
async def notify_stay(body: cmd.NotifyStay, request: Request, principal: CurrentPrincipal) -> Response:
    return await execute(pool(request), request, principal, "stay.notify", lambda c: cmd.notify_stay(c, principal, body))


@router.get("/stay-notices", summary="Stay notices of a ward; `late=true` lists the late ones")
async def list_stay_notices(request: Request, principal: CurrentPrincipal, page: Page,
                            ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                            boarding_house_id: UUID | None = None, late: bool | None = None) -> Response:
    principal.require(*access.STAFF)
    ward = access.list_ward(principal, ward_id)
    async with pool(request).acquire() as conn:
        rows = await repository.page(conn, "stay_notices", {
            "ward_id": ward, "boarding_house_id": str(boarding_house_id) if boarding_house_id else None, "late": late},
            page, STAY_NOTICES_BY_ARRIVAL)
    return json_response(STAY_NOTICES_BY_ARRIVAL.page(rows, page, views.plain))


@router.get("/checks-due", summary="What the monthly police briefing (giao ban) must check")
async def checks_due(request: Request, principal: CurrentPrincipal,
                     ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                     within_days: Annotated[int, Query(ge=0, le=366)] = 30) -> Response:
    principal.require(Role.POLICE, Role.WARD_OFFICIAL)
    ward = access.list_ward(principal, ward_id)
    today = clock.ward_today()
    async with pool(request).acquire() as conn:
        expiring = await repository.expiring_within(conn, ward, today + timedelta(days=within_days))
        lodgers = await repository.lodgers_without_notice(conn, ward)
        unchecked = await repository.houses_not_checked_since(conn, ward, today.replace(day=1))
    return json_response({
        "ward_id": ward, "as_of": today, "within_days": within_days,
        "declarations_expiring": [dict(r) for r in expiring],
        "lodgers_without_stay_notice": [dict(r) for r in lodgers],
        "boarding_houses_not_checked_this_month": [dict(r) for r in unchecked],
    })
