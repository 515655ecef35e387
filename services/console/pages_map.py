"""The ward's map (issue 18), and merging two reports of the same thing.

The map: the residential groups' areas (registry ``GET /v1/groups/areas``, GeoJSON) and the incidents' markers
(incidents ``GET /v1/incidents/map``, GeoJSON) at the precision the *viewer's* token gives - the exact point for the
police and officials, the point rounded to about 100 m for a group leader or member, no point for a resident. The
console adds no precision of its own: it draws what the services answered, and lists the same markers in a table
(readable without the map, and without JavaScript). Leaflet is served by the console (static/leaflet, BSD-2-Clause),
started by static/map.js from the page's data (a JSON data block: no inline script); background tiles come from
CONSOLE_MAP_TILES_URL when it is set, and only then does the page's Content-Security-Policy admit that origin.

Merging (ward officials and police): an incident reported twice is closed into the other (incidents
``POST /v1/incidents/{id}/merge``: audited, with an event); the page offers the open reports of the same category
near it (``GET /v1/incidents/nearby``) and takes any other incident's id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import labels, messages, nav
from services.console.apis import ApiProblem
from services.console.messages import _
from services.console.pages import (
    Refused,
    Sent,
    gettext_for,
    person,
    post_form,
    render,
    token,
)
from services.console.security import CONTENT_SECURITY_POLICY
from services.console.sessions import Session

router = APIRouter()

#: Who may merge (incidents decides too): the ward's officials and the police.
MERGERS = nav.OFFICIALS | nav.POLICE
MERGE_INCOMPLETE = _("Choose the report this one repeats, and say why they are the same (at least 3 characters).")
MERGE_SAME = _("A report cannot be merged into itself.")
#: A group area's bounds are widened by this much (degrees, about 200 m) for the markers' query.
MARGIN = 0.002


@dataclass(frozen=True)
class MapConfig:
    """CONSOLE_MAP_* settings as the pages use them."""

    tiles_url: str = ""
    attribution: str = ""
    center: tuple[float, float, int] = (21.0285, 105.8542, 15)

    @classmethod
    def of(cls, settings: Any) -> MapConfig:
        return cls(tiles_url=settings.console_map_tiles_url if tile_origin(settings.console_map_tiles_url) else "",
                   attribution=settings.console_map_tiles_attribution,
                   center=parse_center(settings.console_map_center))


def tile_origin(url: str) -> str | None:
    """The origin a tile URL template loads from, as a CSP source (``{s}`` subdomains as ``*``); None when the
    template is not an absolute http(s) URL with ``{z}``, ``{x}`` and ``{y}``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.netloc or not all(k in url for k in ("{z}", "{x}", "{y}")):
        return None
    host = parts.netloc.replace("{s}", "*")
    if any(c in host for c in "{} ;,'\"") or "@" in host:
        return None
    return f"{parts.scheme}://{host}"


def parse_center(value: str) -> tuple[float, float, int]:
    try:
        lat, lon, zoom = (v.strip() for v in value.split(","))
        out = (float(lat), float(lon), int(zoom))
    except ValueError:
        return MapConfig.center
    return out if -90 <= out[0] <= 90 and -180 <= out[1] <= 180 and 0 <= out[2] <= 19 else MapConfig.center


def config(request: Request) -> MapConfig:
    return getattr(request.app.state, "map", None) or MapConfig()


def with_tiles(response: Response, request: Request) -> Response:
    """The page's CSP, admitting the tile server's images when tiles are set (nothing else changes)."""
    origin = tile_origin(config(request).tiles_url)
    if origin:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}")
    return response


def _positions(geometry: dict[str, Any] | None) -> list[tuple[float, float]]:
    """Every (lon, lat) of a GeoJSON geometry."""
    out: list[tuple[float, float]] = []

    def walk(c: Any) -> None:
        if isinstance(c, list | tuple) and len(c) >= 2 and all(isinstance(v, int | float) for v in c[:2]):
            out.append((float(c[0]), float(c[1])))
        elif isinstance(c, list | tuple):
            for x in c:
                walk(x)

    if geometry:
        walk(geometry.get("coordinates"))
    return out


def bbox_of(areas: dict[str, Any]) -> str | None:
    """``minLon,minLat,maxLon,maxLat`` around the areas (widened by MARGIN), or None when there are none."""
    points = [p for f in areas.get("features", []) for p in _positions(f.get("geometry"))]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return ",".join(f"{v:.6f}" for v in (max(-180.0, min(lons) - MARGIN), max(-90.0, min(lats) - MARGIN),
                                         min(180.0, max(lons) + MARGIN), min(90.0, max(lats) + MARGIN)))


async def group_areas(request: Request, token: str) -> tuple[dict[str, Any], ApiProblem | None]:
    try:
        return await request.app.state.apis.call("registry", "GET", "/v1/groups/areas", token=token), None
    except ApiProblem as exc:
        return {"type": "FeatureCollection", "features": []}, exc


def _markers(collection: dict[str, Any]) -> list[dict[str, Any]]:
    """The markers as table rows: the properties, and the point only as the service gave it."""
    rows = []
    for f in collection.get("features", []):
        p = dict(f.get("properties") or {})
        coords = (f.get("geometry") or {}).get("coordinates") if (f.get("geometry") or {}).get("type") == "Point" \
            else None
        p["latitude"], p["longitude"] = (coords[1], coords[0]) if coords else (None, None)
        rows.append(p)
    return rows


@router.get("/map", include_in_schema=False)
async def ward_map(request: Request) -> Response:
    session, refused = await person(request, nav.MAP_VIEWERS)
    if refused:
        return refused
    assert session is not None
    token = session.data["access_token"]
    gettext = gettext_for(request)
    areas, problem = await group_areas(request, token)
    bbox = bbox_of(areas) or "-180,-90,180,90"
    markers: dict[str, Any] = {"type": "FeatureCollection", "features": []}
    try:
        markers = await request.app.state.apis.call("incidents", "GET", "/v1/incidents/map", token=token,
                                                    params={"bbox": bbox})
    except ApiProblem as exc:
        problem = problem or exc
    names = {f["properties"]["group_id"]: f["properties"].get("name", "")
             for f in areas.get("features", []) if (f.get("properties") or {}).get("group_id")}
    try:  # the groups without an area yet have markers too (their names from registry's list)
        names |= {g["group_id"]: g["name"] for g in await request.app.state.apis.list_all("registry", "/v1/groups",
                                                                                           token)}
    except ApiProblem:
        pass
    cfg = config(request)
    words = {"categories": {k: gettext(v) for k, v in labels.INCIDENT_CATEGORIES.items()},
             "states": {k: gettext(v) for k, v in labels.INCIDENT_STATES_ALL.items()},
             "precision": {k: gettext(v) for k, v in labels.PRECISIONS.items()},
             "supporters": gettext(_("Also reported by")), "open": gettext(_("Open the incident"))}
    response = render(request, "map.html", session, status=200,
                      error=messages.explain(problem, gettext) if problem else None,
                      areas=areas, markers=markers, rows=_markers(markers), group_names=names, cfg=cfg, words=words,
                      merger=bool(MERGERS & set(session.data.get("roles", ()))),
                      police="police" in session.data.get("roles", ()))
    return with_tiles(response, request)


# -- merging two reports ----------------------------------------------------------------------------------------------
def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


async def _merge_page(request: Request, session: Session, incident_id: str, *, status: int = 200,
                      error: str | None = None, form: dict[str, str] | None = None) -> Response:
    apis, token = request.app.state.apis, session.data["access_token"]
    try:
        incident = await apis.call("incidents", "GET", f"/v1/incidents/{quote(incident_id, safe='')}", token=token)
    except ApiProblem as exc:
        return render(request, "error.html", session, status=messages.page_status(exc),
                      error=messages.explain(exc, gettext_for(request)))
    place = incident.get("place") or {}
    candidates: list[dict[str, Any]] = []
    if _finite(place.get("latitude")) and _finite(place.get("longitude")):
        try:
            near = await apis.call("incidents", "GET", "/v1/incidents/nearby", token=token,
                                   params={"category": incident["category"], "latitude": place["latitude"],
                                           "longitude": place["longitude"]})
            candidates = [c for c in near.get("items", []) if c.get("incident_id") != incident_id]
        except ApiProblem as exc:
            error = error or messages.explain(exc, gettext_for(request))
    return render(request, "map_merge.html", session, status=status, error=error, incident=incident,
                  candidates=candidates, form=form or {}, merged=request.query_params.get("merged"))


@router.get("/incidents/{incident_id}/merge", include_in_schema=False)
async def merge_form(request: Request, incident_id: str) -> Response:
    session, refused = await person(request, MERGERS)
    if refused:
        return refused
    assert session is not None
    return await _merge_page(request, session, incident_id)


MERGE_REFUSED = _("The rules do not allow this merge (both reports must be open, in your ward, and not the same "
                  "one). Nothing was changed.")


@router.post("/incidents/{incident_id}/merge", include_in_schema=False)
async def merge(request: Request, incident_id: str) -> Response:
    async def send(session: Session, form: dict[str, str]) -> dict[str, Any]:
        into, reason = (form.get("other", "").strip() or form.get("into", "").strip()), form.get("reason", "").strip()
        if not into or len(reason) < 3:
            raise Refused(MERGE_INCOMPLETE)
        if into == incident_id:
            raise Refused(MERGE_SAME)
        await request.app.state.apis.call("incidents", "POST", f"/v1/incidents/{quote(incident_id, safe='')}/merge",
                                          token=token(session), json={"into": into, "reason": reason})
        return {"into": into, "police": "police" in session.data.get("roles", ())}

    def explain(exc: ApiProblem) -> str:
        gettext = gettext_for(request)
        return gettext(MERGE_REFUSED) if exc.problem_type == "rule-violated" else messages.explain(exc, gettext)

    def done(sent: Sent) -> str:
        into = quote(sent.answer["into"], safe="")
        return (f"/police/incidents/{into}" if sent.answer["police"]
                else f"/incidents/{into}/merge?merged={quote(incident_id, safe='')}")

    return await post_form(request, MERGERS, send, explain=explain, done=done,
                           again=lambda sent: _merge_page(request, sent.session, incident_id, status=sent.status,
                                                          error=sent.error, form=sent.form))
