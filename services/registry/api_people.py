"""HTTP routes for wards, groups, households and residents: decode, authorise, dispatch, encode."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import access, repository, views
from services.registry import commands_people as cmd
from services.registry.api_common import WARD_PATTERN, pii, pool
from shared.auth import CurrentPrincipal, Role
from shared.commands import execute, json_response
from shared.edge import WardId
from shared.errors import Forbidden
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["people and places"])


# -- wards and groups ------------------------------------------------------------------------------------------
@router.post("/wards", status_code=201, summary="Register a ward (phường)")
async def register_ward(body: cmd.RegisterWard, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.ADMIN, Role.CITY_OFFICIAL)
    principal.ensure_ward(body.id)
    return await execute(pool(request), request, principal, "ward.register", lambda c: cmd.register_ward(c, body))


@router.get("/wards/{ward_id}", summary="A ward")
async def get_ward(ward_id: WardId, request: Request, principal: CurrentPrincipal) -> Response:
    async with pool(request).acquire() as conn:
        return json_response(views.plain(await access.load(conn, "wards", ward_id, principal)))


@router.post("/groups", status_code=201, summary="Create a residential group (tổ dân phố)")
async def create_group(body: cmd.CreateGroup, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.ADMIN)
    principal.ensure_ward(body.ward_id)
    return await execute(pool(request), request, principal, "group.create", lambda c: cmd.create_group(c, body))


@router.get("/groups", summary="Residential groups of a ward")
async def list_groups(request: Request, principal: CurrentPrincipal, page: Page,
                      ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None) -> Response:
    ward = access.list_ward(principal, ward_id)  # group names are not personal: any caller of the ward
    async with pool(request).acquire() as conn:
        rows = await repository.page(conn, "groups", {"ward_id": ward}, page, repository.BY_NAME)
    return json_response(repository.BY_NAME.page(rows, page, views.plain))


@router.get("/groups/{group_id}", summary="A residential group")
async def get_group(group_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with pool(request).acquire() as conn:
        return json_response(views.plain(await access.load(conn, "groups", str(group_id), principal)))


# -- households --------------------------------------------------------------------------------------------------
@router.post("/households", status_code=201, summary="Register a household (hộ gia đình)")
async def register_household(body: cmd.RegisterHousehold, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*access.REGISTRARS)
    return await execute(pool(request), request, principal, "household.register",
                         lambda c: cmd.register_household(c, principal, body))


@router.patch("/households/{household_id}", summary="Change a household's address or head (chủ hộ)")
async def change_household(household_id: UUID, body: cmd.ChangeHousehold, request: Request,
                           principal: CurrentPrincipal) -> Response:
    principal.require(*access.REGISTRARS)
    return await execute(pool(request), request, principal, "household.change",
                         lambda c: cmd.change_household(c, principal, str(household_id), body))


@router.get("/households", summary="Households of a ward, by group")
async def list_households(request: Request, principal: CurrentPrincipal, page: Page,
                          ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                          group_id: UUID | None = None) -> Response:
    ward = access.list_ward(principal, ward_id)
    filters: dict[str, object] = {"ward_id": ward, "group_id": str(group_id) if group_id else None}
    if not access.is_staff(principal):
        if not (principal.has(Role.RESIDENT) and principal.household_id):
            raise Forbidden("only police and ward officials list households")
        filters["id"] = principal.household_id  # a resident's list is their own household
    async with pool(request).acquire() as conn:
        rows = await repository.page(conn, "households", filters, page)
    return json_response(repository.BY_CREATION.page(rows, page, views.plain))


@router.get("/households/{household_id}", summary="A household with its residents")
async def get_household(household_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with pool(request).acquire() as conn:
        row = await access.load(conn, "households", str(household_id), principal)
        access.ensure_sees_household(principal, row["id"])
        members = await repository.household_members(conn, row["id"])
    body = views.plain(row)
    body["residents"] = [views.resident(m, principal, pii(request)) for m in members]
    return json_response(body)


# -- residents -----------------------------------------------------------------------------------------------------
@router.post("/residents", status_code=201, summary="Register a resident in a household")
async def register_resident(body: cmd.RegisterResident, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*access.REGISTRARS)
    return await execute(pool(request), request, principal, "resident.register",
                         lambda c: cmd.register_resident(c, principal, pii(request), body))


@router.patch("/residents/{resident_id}", summary="Change a resident's details")
async def update_resident(resident_id: UUID, body: cmd.UpdateResident, request: Request,
                          principal: CurrentPrincipal) -> Response:
    principal.require(*access.REGISTRARS)
    return await execute(pool(request), request, principal, "resident.update",
                         lambda c: cmd.update_resident(c, principal, pii(request), str(resident_id), body))


@router.post("/residents/{resident_id}/move", summary="Move a resident to another household of the ward")
async def move_resident(resident_id: UUID, body: cmd.MoveResident, request: Request,
                        principal: CurrentPrincipal) -> Response:
    principal.require(*access.REGISTRARS)
    return await execute(pool(request), request, principal, "resident.move",
                         lambda c: cmd.move_resident(c, principal, pii(request), str(resident_id), body))


@router.get("/residents", summary="Residents of a ward, by group or household")
async def list_residents(request: Request, principal: CurrentPrincipal, page: Page,
                         ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                         group_id: UUID | None = None, household_id: UUID | None = None) -> Response:
    ward = access.list_ward(principal, ward_id)
    own = None
    if not access.is_staff(principal):
        if not (principal.has(Role.RESIDENT) and principal.household_id):
            raise Forbidden("only police and ward officials list residents")
        own = principal.household_id
    async with pool(request).acquire() as conn:
        rows = await repository.list_residents(
            conn, ward, group_id=str(group_id) if group_id else None,
            household_ids=[str(h) for h in (household_id, own) if h is not None], page=page)
    return json_response(repository.RESIDENTS_BY_NAME.page(rows, page, lambda r: views.resident(r, principal, pii(request))))


@router.get("/residents/{resident_id}", summary="A resident (the national ID only for police and ward officials)")
async def get_resident(resident_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with pool(request).acquire() as conn:
        row = await access.load(conn, "residents", str(resident_id), principal)
        access.ensure_sees_household(principal, row["household_id"])
    return json_response(views.resident(row, principal, pii(request)))
