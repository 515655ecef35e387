"""HTTP routes for residence declarations, stay notices and the police's "checks due" view."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import commands as cmd
from services.registry import domain, schemas, views
from services.registry.handlers_common import led_groups, load
from shared import clock
from shared.auth import CurrentPrincipal, Role
from shared.commands import dispatch, json_response, reading
from shared.contracts.registry import DeclarationStatus
from shared.edge import WARD_PATTERN
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["residence"])
WardFilter = Annotated[str | None, Query(pattern=WARD_PATTERN)]


@router.post("/temporary-residences", status_code=201, response_model=schemas.Declaration,
             summary="Register temporary residence (tạm trú)")
async def register_temporary(body: cmd.RegisterTemporaryResidence, request: Request,
                             principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.post("/temporary-residences/{declaration_id}/renew", response_model=schemas.Declaration,
             summary="Renew a temporary residence")
async def renew_temporary(declaration_id: UUID, body: cmd.RenewTemporaryResidenceFields, request: Request,
                          principal: CurrentPrincipal) -> Response:
    command = cmd.RenewTemporaryResidence(declaration_id=declaration_id, **body.model_dump())
    return await dispatch(request, command, principal)


@router.post("/temporary-residences/{declaration_id}/end", response_model=schemas.Declaration,
             summary="End a temporary residence (the person left)")
async def end_temporary(declaration_id: UUID, body: cmd.EndTemporaryResidenceFields, request: Request,
                        principal: CurrentPrincipal) -> Response:
    command = cmd.EndTemporaryResidence(declaration_id=declaration_id, **body.model_dump())
    return await dispatch(request, command, principal)


@router.post("/absences", status_code=201, response_model=schemas.Declaration,
             summary="Declare temporary absence (tạm vắng)")
async def declare_absence(body: cmd.DeclareAbsence, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.get("/declarations", response_model=schemas.PageOf[schemas.Declaration],
            summary="Residence declarations of a ward")
async def list_declarations(request: Request, principal: CurrentPrincipal, page: Page, ward_id: WardFilter = None,
                            group_id: UUID | None = None, resident_id: UUID | None = None,
                            status: DeclarationStatus | None = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    async with reading(request) as uow:
        domain.ensure_lists_group(principal, str(group_id) if group_id else None, await led_groups(uow, principal))
        listed = await uow.declarations.page({
            "ward_id": ward, "group_id": str(group_id) if group_id else None,
            "resident_id": str(resident_id) if resident_id else None, "status": status}, page)
    return json_response({**listed, "items": [views.plain(d) for d in listed["items"]]})


@router.get("/declarations/{declaration_id}", response_model=schemas.Declaration,
            summary="A residence declaration")
async def get_declaration(declaration_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*domain.STAFF)
    async with reading(request) as uow:
        return json_response(views.plain(await load(uow.declarations, declaration_id, principal, "declaration")))


@router.post("/stay-notices", status_code=201, response_model=schemas.StayNotice,
             summary="File a stay notice (thông báo lưu trú) for a lodger")
async def notify_stay(body: cmd.NotifyStay, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.get("/stay-notices", response_model=schemas.PageOf[schemas.StayNotice],
            summary="Stay notices of a ward, by group or boarding house; `late=true` lists the late ones")
async def list_stay_notices(request: Request, principal: CurrentPrincipal, page: Page, ward_id: WardFilter = None,
                            group_id: UUID | None = None, boarding_house_id: UUID | None = None,
                            late: bool | None = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    group = str(group_id) if group_id else None
    async with reading(request) as uow:
        domain.ensure_lists_group(principal, group, await led_groups(uow, principal))
        listed = await uow.stay_notices.page({
            "ward_id": ward, "group_id": group,
            "boarding_house_id": str(boarding_house_id) if boarding_house_id else None, "late": late}, page)
    return json_response(listed)


@router.get("/checks-due", response_model=schemas.ChecksDue,
            summary="What the monthly police briefing (giao ban) must check")
async def checks_due(request: Request, principal: CurrentPrincipal, ward_id: WardFilter = None,
                     within_days: Annotated[int, Query(ge=0, le=366)] = 30) -> Response:
    principal.require(Role.POLICE, Role.WARD_OFFICIAL)
    ward = domain.list_ward(principal, ward_id)
    today = clock.ward_today()
    async with reading(request) as uow:
        expiring = await uow.declarations.expiring_within(ward, today + timedelta(days=within_days))
        lodgers = await uow.declarations.lodgers_without_notice(ward)
        unchecked = await uow.boarding_houses.not_checked_since(ward, today.replace(day=1))
    return json_response({
        "ward_id": ward, "as_of": today, "within_days": within_days, "declarations_expiring": expiring,
        "lodgers_without_stay_notice": lodgers, "boarding_houses_not_checked_this_month": unchecked,
    })
