"""HTTP routes of places (issue 18): the ward map (GeoJSON), nearby duplicates offered at intake (signed in, and
without a token), "me too" (signed in, and anonymous with a follow-up code), and an official's merge.

Every point leaves at the viewer's precision (``geo.precision_for``: exact, approximate, or the group only), and
crime tips are shown or offered only to those who may know they exist (``geo.sees_crime_tips``). The list's
``?bbox=`` and ``?near=`` are in ``api.py``. This router goes before ``api.router``: ``/v1/incidents/map`` and
``/v1/incidents/nearby`` would otherwise be taken for an incident's id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from services.incidents import geo, schemas
from services.incidents.commands import MergeIncidents, SupportIncident, SupportIncidentAnonymously
from services.incidents.domain import secret_matches
from services.incidents.handlers import ANONYMOUS, reporter_actor
from shared import clock, ratelimit
from shared.actor import Principal, Role
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.contracts.incidents import Category
from shared.errors import InvalidInput, NotFound
from shared.jsonutil import dumps

router = APIRouter(prefix="/v1")

GEOJSON = "application/geo+json"
_LATITUDE = Query(ge=-90, le=90, description="WGS84 degrees")
_LONGITUDE = Query(ge=-180, le=180, description="WGS84 degrees")


async def _within_public_limits(request: Request, scope: str) -> None:
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, scope, limit=s.public_rate_limit, window_s=s.public_rate_window_s)


# -- the map ---------------------------------------------------------------------------------------------------------
def feature(viewer: Principal, inc: dict[str, Any]) -> dict[str, Any]:
    precision = geo.precision_for(viewer)
    lat, lon = geo.coordinates(inc["latitude"], inc["longitude"], precision)
    return {
        "type": "Feature",  # no Feature id: ids are named for what they are (properties.incident_id)
        "geometry": None if lat is None else {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"incident_id": inc["incident_id"], "category": inc["category"], "state": inc["state"],
                       "group_id": inc["group_id"], "received_at": inc["received_at"],
                       "precision": precision.value, "supporters": inc.get("supporters") or 0},
    }


@router.get("/incidents/map", tags=["places"], response_class=Response,
            responses={200: {"content": {GEOJSON: {}}, "description": "A GeoJSON FeatureCollection of Points"}},
            summary="The ward's incidents in a bounding box, as GeoJSON at the caller's precision")
async def incident_map(request: Request, principal: CurrentPrincipal,
                       bbox: str = Query(max_length=200, description="minLon,minLat,maxLon,maxLat (WGS84)"),
                       ) -> Response:
    """Police and officials: every incident, exact; team leaders and members: incidents that are not crime tips,
    snapped to ~100 m; residents (and anyone else): not crime tips, no geometry (``null``), the group only."""
    box = geo.parse_bbox(bbox)
    async with reading(request) as uow:
        found = await uow.places.on_map(principal.ward_id, box, crime_tips=geo.sees_crime_tips(principal))
    body = {"type": "FeatureCollection", "features": [feature(principal, i) for i in found]}
    return Response(content=dumps(body).encode(), media_type=GEOJSON)


# -- nearby duplicates ---------------------------------------------------------------------------------------------
async def _nearby(request: Request, viewer: Principal | None, category: str, latitude: float,
                  longitude: float) -> Response:
    now = clock.now()
    async with reading(request) as uow:
        candidates = await uow.places.nearby_candidates(
            viewer.ward_id if viewer is not None else None, category, latitude, longitude,
            geo.DUPLICATE_RADIUS_M * geo.INDEX_MARGIN, now - geo.DUPLICATE_WINDOW,
            crime_tips=geo.sees_crime_tips(viewer))
    return json_response({"items": geo.duplicates(candidates, latitude, longitude, now), "next_cursor": None})


@router.get("/incidents/nearby", tags=["places"], response_model=schemas.NearbyPage,
            summary="Open reports of the category within 50 m received in the last 7 days (offered at intake)")
async def nearby(request: Request, principal: CurrentPrincipal, category: Category,
                 latitude: float = _LATITUDE, longitude: float = _LONGITUDE) -> Response:
    return await _nearby(request, principal, category, latitude, longitude)


@router.get("/public/nearby", tags=["public"], response_model=schemas.NearbyPage,
            summary="Nearby reports without a token (never crime tips; no coordinates; rate-limited)")
async def public_nearby(request: Request, category: Category, latitude: float = _LATITUDE,
                        longitude: float = _LONGITUDE) -> Response:
    await _within_public_limits(request, "public-read")
    return await _nearby(request, None, category, latitude, longitude)


# -- "me too" ---------------------------------------------------------------------------------------------------------
@router.post("/incidents/{incident_id}/supporters", tags=["places"], response_model=schemas.SupportReceipt,
             summary='"Me too": add yourself to a report (counted once per person)')
async def support(incident_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    actor = reporter_actor(principal, request.app.state.runtime.pii, anonymous=False)
    return await dispatch(request, SupportIncident(incident_id=incident_id), actor)


@router.post("/public/incidents/{incident_id}/supporters", tags=["public"], status_code=201,
             response_model=schemas.AnonymousSupportReceipt,
             summary='"Me too" without a token: counted, nothing of you kept; a follow-up code and secret shown once')
async def support_anonymously(incident_id: str, request: Request) -> Response:
    if request.headers.get("Idempotency-Key"):
        raise InvalidInput("an anonymous supporter takes no Idempotency-Key: its reply holds a secret that is not kept")
    await _within_public_limits(request, "anonymous-support")
    command = SupportIncidentAnonymously(incident_id=incident_id)
    async with reading(request) as uow:
        inc = await uow.incidents.get(command.incident_id)
    if inc is None:
        raise NotFound("no such incident")
    actor = Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=inc["ward_id"])
    return await dispatch(request, command, actor)


@router.post("/public/supporters/follow-up", tags=["public"], response_model=schemas.SupportFollowUp,
             summary="Follow a report you supported anonymously (its code and secret)")
async def support_follow_up(body: schemas.FollowUpIn, request: Request) -> Response:
    s = request.app.state.runtime.settings
    code = body.follow_up_code.strip().upper()
    await ratelimit.limit(request, "follow-up", limit=s.public_rate_limit, window_s=s.public_rate_window_s, code=code)
    async with reading(request) as uow:
        found = await uow.places.supporter_by_code(code)
        if found is None or not secret_matches(body.secret, found["secret_hash"]):
            raise NotFound("no report with this code and secret")
        inc = await uow.incidents.get(found["incident_id"])
        if inc.get("merged_into"):  # follow the report it now counts on
            inc = await uow.incidents.get(inc["merged_into"])
    return json_response({"incident_id": inc["incident_id"], "category": inc["category"], "state": inc["state"],
                          "outcome": inc["outcome"], "received_at": inc["received_at"],
                          "supporters": inc["supporters"]})


# -- merging duplicates -------------------------------------------------------------------------------------------------
@router.post("/incidents/{incident_id}/merge", tags=["places"], response_model=schemas.MergeReceipt,
             summary="Merge a duplicate report into another open report of the ward (ward officials, police)")
async def merge(incident_id: str, body: schemas.MergeIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, MergeIncidents(incident_id=incident_id, **body.model_dump()), principal)
