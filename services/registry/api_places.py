"""HTTP routes for facilities and boarding houses."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.registry import commands as cmd
from services.registry import domain, schemas, views
from services.registry.handlers_common import led_groups, load
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.contracts.registry import FacilityKind
from shared.edge import WARD_PATTERN
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["facilities and boarding houses"])
WardFilter = Annotated[str | None, Query(pattern=WARD_PATTERN)]
BboxFilter = Annotated[str | None, Query(max_length=200, description=(
    "minLon,minLat,maxLon,maxLat (WGS84): matched on the points as the caller sees them (the group's area for "
    "callers who see no coordinates)"))]


@router.post("/facilities", status_code=201, response_model=schemas.Facility,
             summary="Register a security camera or a public fire-fighting point")
async def register_facility(body: cmd.RegisterFacility, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.post("/facilities/{facility_id}/decommission", response_model=schemas.Facility,
             summary="Take a facility out of service")
async def decommission(facility_id: UUID, body: cmd.DecommissionFacilityFields, request: Request,
                       principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.DecommissionFacility(facility_id=facility_id, **body.model_dump()), principal)


@router.get("/facilities", response_model=schemas.PageOf[schemas.Facility],
            summary="Facilities of a ward (public places: any caller of the ward)")
async def list_facilities(request: Request, principal: CurrentPrincipal, page: Page, ward_id: WardFilter = None,
                          group_id: UUID | None = None, kind: FacilityKind | None = None,
                          bbox: BboxFilter = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    box = domain.parse_bbox(bbox) if bbox is not None else None
    precision = domain.precision_for(principal)
    async with reading(request) as uow:
        listed = await uow.facilities.page_within(
            {"ward_id": ward, "group_id": str(group_id) if group_id else None, "kind": kind}, page,
            bbox=box, precision=precision)
    return json_response({**listed, "items": [views.placed(f, precision) for f in listed["items"]]})


@router.get("/facilities/{facility_id}", response_model=schemas.Facility, summary="A facility")
async def get_facility(facility_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        row = await load(uow.facilities, facility_id, principal, "facility")
    return json_response(views.placed(row, domain.precision_for(principal)))


@router.post("/boarding-houses", status_code=201, response_model=schemas.BoardingHouse,
             summary="Register a boarding house (khu nhà trọ) with its rooms")
async def register_boarding_house(body: cmd.RegisterBoardingHouse, request: Request,
                                  principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.post("/boarding-houses/{boarding_house_id}/checks", status_code=201, response_model=schemas.BoardingHouseCheck,
             summary="Record a police check")
async def record_check(boarding_house_id: UUID, body: cmd.RecordCheckFields, request: Request,
                       principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.RecordCheck(boarding_house_id=boarding_house_id, **body.model_dump()), principal)


@router.get("/boarding-houses", response_model=schemas.PageOf[schemas.BoardingHouse],
            summary="Boarding houses of a ward")
async def list_boarding_houses(request: Request, principal: CurrentPrincipal, page: Page,
                               ward_id: WardFilter = None, group_id: UUID | None = None,
                               bbox: BboxFilter = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    box = domain.parse_bbox(bbox) if bbox is not None else None
    precision = domain.precision_for(principal)
    async with reading(request) as uow:
        domain.ensure_lists_group(principal, str(group_id) if group_id else None, await led_groups(uow, principal))
        listed = await uow.boarding_houses.page_within(
            {"ward_id": ward, "group_id": str(group_id) if group_id else None}, page, bbox=box, precision=precision)
    return json_response({**listed, "items": [views.placed(b, precision) for b in listed["items"]]})


@router.get("/boarding-houses/{boarding_house_id}", response_model=schemas.BoardingHouse, summary="A boarding house")
async def get_boarding_house(boarding_house_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        row = await load(uow.boarding_houses, boarding_house_id, principal, "boarding house")
        domain.ensure_sees_boarding_house(principal, row, await led_groups(uow, principal))
    return json_response(views.placed(row, domain.precision_for(principal)))
