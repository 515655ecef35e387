"""HTTP routes for the residential groups' areas (issue 18), as GeoJSON (RFC 7946, ``application/geo+json``).

Group areas are not personal data: any signed-in person of the ward reads them; only a ward official draws them.
This router is mounted before the people router, so that ``/v1/groups/areas`` is not taken for a group id.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from services.registry import commands as cmd
from services.registry import domain, schemas, views
from services.registry.handlers_common import load
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.edge import WARD_PATTERN
from shared.errors import NotFound

router = APIRouter(prefix="/v1", tags=["residential groups' areas"])
WardFilter = Annotated[str | None, Query(pattern=WARD_PATTERN)]
BboxFilter = Annotated[str | None, Query(max_length=200, description="minLon,minLat,maxLon,maxLat (WGS84)")]
GEOJSON = "application/geo+json"


class GeoJSONResponse(JSONResponse):
    """Documents (and answers) the GeoJSON media type (RFC 7946 section 12)."""

    media_type = GEOJSON


def geojson(response: Response) -> Response:
    response.headers["content-type"] = GEOJSON
    return response


@router.get("/groups/areas", response_model=schemas.AreaCollection,
            response_class=GeoJSONResponse,
            summary="The areas of a ward's residential groups, as a GeoJSON FeatureCollection")
async def list_areas(request: Request, principal: CurrentPrincipal, ward_id: WardFilter = None,
                     bbox: BboxFilter = None) -> Response:
    ward = domain.list_ward(principal, ward_id)
    box = domain.parse_bbox(bbox) if bbox is not None else None
    async with reading(request) as uow:
        rows = await uow.group_areas.of_ward(ward, box)
    return geojson(json_response({"type": "FeatureCollection", "features": [views.area_feature(r) for r in rows]}))


@router.get("/groups/{group_id}/area", response_model=schemas.AreaFeature,
            response_class=GeoJSONResponse,
            summary="A residential group's area, as a GeoJSON Feature (404 when none was drawn)")
async def get_area(group_id: UUID, request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        group = await load(uow.groups, group_id, principal, "group")
        row = await uow.group_areas.of_group(group["group_id"])
    if row is None:
        raise NotFound(f"group {group_id} has no area yet")
    return geojson(json_response(views.area_feature(row)))


@router.put("/groups/{group_id}/area", response_model=schemas.AreaFeature,
            response_class=GeoJSONResponse,
            summary="Draw or redraw a residential group's area (a ward official): a GeoJSON Polygon or MultiPolygon")
async def set_area(group_id: UUID, body: cmd.AreaGeometry, request: Request, principal: CurrentPrincipal) -> Response:
    return geojson(await dispatch(request, cmd.SetGroupArea(group_id=group_id, geometry=body), principal))
