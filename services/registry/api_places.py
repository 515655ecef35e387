"""HTTP routes for facilities and boarding houses."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import access, repository, views
from services.registry import commands_places as cmd
from services.registry.api_common import WARD_PATTERN, pool
from shared.auth import CurrentPrincipal, Role
from shared.commands import execute, json_response
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["facilities and boarding houses"])


@router.post("/facilities", status_code=201, summary="Register a security camera or a public fire-fighting point")
async def register_facility(body: cmd.RegisterFacility, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.POLICE, Role.ADMIN)
    return await execute(pool(request), request, principal, "facility.register",
                         lambda c: cmd.register_facility(c, principal, body))


@router.post("/facilities/{facility_id}/decommission", summary="Take a facility out of service")
async def decommission(facility_id: UUID, body: cmd.DecommissionFacility, request: Request,
                       principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.POLICE, Role.ADMIN)
    return await execute(pool(request), request, principal, "facility.decommission",
                         lambda c: cmd.decommission_facility(c, principal, str(facility_id), body))


@router.get("/facilities", summary="Facilities of a ward (public places: any caller of the ward)")
async def list_facilities(request: Request, principal: CurrentPrincipal, page: Page,
                          ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                          group_id: UUID | None = None,
                          kind: Literal["security_camera", "fire_point"] | None = None) -> Response:
    ward = access.list_ward(principal, ward_id)
    async with pool(request).acquire() as conn:
        rows = await repository.page(conn, "facilities", {
            "ward_id": ward, "group_id": str(group_id) if group_id else None, "kind": kind},
            page)
    return json_response(repository.BY_CREATION.page(rows, page, views.plain))


@router.get("/facilities/{facility_id}", summary="A facility")
async def get_facility(facility_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with pool(request).acquire() as conn:
        return json_response(views.plain(await access.load(conn, "facilities", str(facility_id), principal)))


@router.post("/boarding-houses", status_code=201, summary="Register a boarding house (khu nhà trọ) with its rooms")
async def register_boarding_house(body: cmd.RegisterBoardingHouse, request: Request,
                                  principal: CurrentPrincipal) -> Response:
    principal.require(*access.REGISTRARS)
    return await execute(pool(request), request, principal, "boarding_house.register",
                         lambda c: cmd.register_boarding_house(c, principal, body))


@router.post("/boarding-houses/{house_id}/checks", status_code=201, summary="Record a police check")
async def record_check(house_id: UUID, body: cmd.RecordCheck, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.POLICE)
    return await execute(pool(request), request, principal, "boarding_house.check",
                         lambda c: cmd.record_check(c, principal, str(house_id), body))


@router.get("/boarding-houses", summary="Boarding houses of a ward")
async def list_boarding_houses(request: Request, principal: CurrentPrincipal, page: Page,
                               ward_id: Annotated[str | None, Query(pattern=WARD_PATTERN)] = None,
                               group_id: UUID | None = None) -> Response:
    principal.require(*access.STAFF)
    ward = access.list_ward(principal, ward_id)
    async with pool(request).acquire() as conn:
        rows = await repository.page(conn, "boarding_houses", {
            "ward_id": ward, "group_id": str(group_id) if group_id else None},
            page)
    return json_response(repository.BY_CREATION.page(rows, page, views.plain))


@router.get("/boarding-houses/{house_id}", summary="A boarding house")
async def get_boarding_house(house_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with pool(request).acquire() as conn:
        row = await access.load(conn, "boarding_houses", str(house_id), principal)
    if not (access.is_staff(principal) or principal.resident_id == row["landlord_resident_id"]):
        principal.require(*access.STAFF)
    return json_response(views.plain(row))
