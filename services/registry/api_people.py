"""HTTP routes for wards, groups, households and residents: decode, dispatch, encode."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import commands as cmd
from services.registry import domain, schemas, views
from services.registry.handlers_common import led_groups, load
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response
from shared.edge import WARD_PATTERN, WardId
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["people and places"])
WardFilter = Annotated[str | None, Query(pattern=WARD_PATTERN)]


def _app(request: Request):
    return request.app.state.runtime.application


# -- wards and groups ------------------------------------------------------------------------------------------
@router.post("/wards", status_code=201, response_model=schemas.Ward, summary="Register a ward (phường)")
async def register_ward(body: cmd.RegisterWard, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.get("/wards/{ward_id}", response_model=schemas.Ward, summary="A ward")
async def get_ward(ward_id: WardId, request: Request, principal: CurrentPrincipal) -> Response:
    async with _app(request).read() as uow:
        return json_response(views.plain(await load(uow.wards, ward_id, principal, "ward")))


@router.post("/groups", status_code=201, response_model=schemas.Group,
             summary="Create a residential group (tổ dân phố)")
async def create_group(body: cmd.CreateGroup, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.get("/groups", response_model=schemas.PageOf[schemas.Group],
            summary="Residential groups of a ward, with their household counts")
async def list_groups(request: Request, principal: CurrentPrincipal, page: Page,
                      ward_id: WardFilter = None) -> Response:
    ward = domain.list_ward(principal, ward_id)  # group names are not personal: any caller of the ward
    async with _app(request).read() as uow:
        listed = await uow.groups.page_of_ward(ward, page)
    return json_response({**listed, "items": [views.plain(g) for g in listed["items"]]})


@router.get("/groups/{group_id}", response_model=schemas.Group,
            summary="A residential group, with its household count")
async def get_group(group_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with _app(request).read() as uow:
        return json_response(views.plain(await load(uow.groups, group_id, principal, "group")))


# -- households --------------------------------------------------------------------------------------------------
@router.post("/households", status_code=201, response_model=schemas.Household,
             summary="Register a household (hộ gia đình)")
async def register_household(body: cmd.RegisterHousehold, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.patch("/households/{household_id}", response_model=schemas.Household,
              summary="Change a household's address or head (chủ hộ)")
async def change_household(household_id: UUID, body: cmd.ChangeHouseholdFields, request: Request,
                           principal: CurrentPrincipal) -> Response:
    command = cmd.ChangeHousehold(household_id=household_id, **body.model_dump(exclude_unset=True))
    return await dispatch(request, command, principal)


@router.get("/households", response_model=schemas.PageOf[schemas.Household],
            summary="Households of a ward, by group")
async def list_households(request: Request, principal: CurrentPrincipal, page: Page, ward_id: WardFilter = None,
                          group_id: UUID | None = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    group = str(group_id) if group_id else None
    async with _app(request).read() as uow:
        # a resident's list is their own household; a team leader's, a group of their teams
        own = domain.own_household_filter(principal, "households", group, await led_groups(uow, principal))
        listed = await uow.households.page(
            {"ward_id": ward, "group_id": str(group_id) if group_id else None, "id": own}, page)
    return json_response({**listed, "items": [views.plain(h) for h in listed["items"]]})


@router.get("/households/{household_id}", response_model=schemas.HouseholdWithResidents,
            summary="A household with its residents")
async def get_household(household_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with _app(request).read() as uow:
        row = await load(uow.households, household_id, principal, "household")
        domain.ensure_sees_household(principal, row["household_id"], row["group_id"], await led_groups(uow, principal))
        members = await uow.residents.of_household(row["household_id"])
        pii = uow.pii
    body = views.plain(row)
    body["residents"] = [views.resident(m, principal, pii) for m in members]
    return json_response(body)


# -- residents -----------------------------------------------------------------------------------------------------
@router.post("/residents", status_code=201, response_model=schemas.Resident,
             summary="Register a resident in a household")
async def register_resident(body: cmd.RegisterResident, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.patch("/residents/{resident_id}", response_model=schemas.Resident, summary="Change a resident's details")
async def update_resident(resident_id: UUID, body: cmd.UpdateResidentFields, request: Request,
                          principal: CurrentPrincipal) -> Response:
    command = cmd.UpdateResident(resident_id=resident_id, **body.model_dump(exclude_unset=True))
    return await dispatch(request, command, principal)


@router.post("/residents/{resident_id}/move", response_model=schemas.Resident,
             summary="Move a resident to another household of the ward")
async def move_resident(resident_id: UUID, body: cmd.MoveResidentFields, request: Request,
                        principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.MoveResident(resident_id=resident_id, **body.model_dump()), principal)


@router.get("/residents", response_model=schemas.PageOf[schemas.Resident],
            summary="Residents of a ward, by group or household")
async def list_residents(request: Request, principal: CurrentPrincipal, page: Page, ward_id: WardFilter = None,
                         group_id: UUID | None = None, household_id: UUID | None = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    group = str(group_id) if group_id else None
    async with _app(request).read() as uow:
        own = domain.own_household_filter(principal, "residents", group, await led_groups(uow, principal))
        listed = await uow.residents.page_of_ward(
            ward, group_id=str(group_id) if group_id else None,
            household_ids=[str(h) for h in (household_id, own) if h is not None], page=page)
        pii = uow.pii
    return json_response({**listed, "items": [views.resident(r, principal, pii) for r in listed["items"]]})


@router.get("/residents/{resident_id}", response_model=schemas.Resident,
            summary="A resident (the national ID only for police and ward officials)")
async def get_resident(resident_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with _app(request).read() as uow:
        row = await load(uow.residents, resident_id, principal, "resident")
        household = await uow.households.get(row["household_id"])
        domain.ensure_sees_household(principal, row["household_id"], household["group_id"],
                                     await led_groups(uow, principal))
        pii = uow.pii
    return json_response(views.resident(row, principal, pii))
