"""HTTP routes of incidents: intake, reading by role, and the lifecycle commands (police). Thin adapters: the
commands go to the application (``dispatch``), the reads to the repositories."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from services.incidents import geo, schemas, views
from services.incidents.commands import (
    AssignIncident,
    CiteFootage,
    CloseIncident,
    DiscloseReporter,
    ExtendDeadline,
    ReferToMediation,
    ReopenIncident,
    ReportIncident,
    ResolveIncident,
    StartWork,
    TriageIncident,
)
from services.incidents.domain import STAFF, State, ensure_may_see, is_staff
from services.incidents.handlers import own_reporter_ref, reporter_actor
from shared import ratelimit
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.errors import InvalidInput
from shared.paging import Page

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


def _runtime(request: Request):
    return request.app.state.runtime


# -- intake ----------------------------------------------------------------------------------------------------------
@router.post("", status_code=201, response_model=schemas.ReportReceipt,
             summary="Report an incident or a crime tip (identified or anonymous)")
async def report(body: ReportIncident, request: Request, principal: CurrentPrincipal) -> Response:
    if body.anonymous:
        if request.headers.get("Idempotency-Key"):
            # A replay would have to return the secret, which is never stored: refuse rather than half-protect.
            raise InvalidInput("an anonymous tip takes no Idempotency-Key: its reply holds a secret that is not kept")
        # Bounded per client address (a keyed pseudonym, its counter deleted when the window ends: nothing of it
        # stays to be matched with the tip).
        s = _runtime(request).settings
        await ratelimit.limit(request, "anonymous-tip", limit=s.public_rate_limit, window_s=s.public_rate_window_s)
    return await dispatch(request, body, reporter_actor(principal, _runtime(request).pii, anonymous=body.anonymous))


# -- reading ---------------------------------------------------------------------------------------------------------
@router.get("", response_model=schemas.IncidentPage,
            summary="Incidents of the ward (police, officials) or the caller's own reports (residents)")
async def list_incidents(request: Request, principal: CurrentPrincipal, page: Page, group_id: str | None = None,
                         state: State | None = None,
                         bbox: str | None = Query(default=None, max_length=200,
                                                  description="minLon,minLat,maxLon,maxLat (WGS84)"),
                         near: str | None = Query(default=None, max_length=100, description="lat,lon (WGS84)"),
                         radius_m: float | None = Query(default=None, description="With near: 1..5000 metres"),
                         ) -> Response:
    ref = None if is_staff(principal) else own_reporter_ref(principal, _runtime(request).pii)
    box = geo.parse_bbox(bbox) if bbox is not None else None
    around = geo.parse_near(near, radius_m) if near is not None else None
    if radius_m is not None and around is None:
        raise InvalidInput("radius_m goes with near=lat,lon")
    async with reading(request) as uow:
        if box is None and around is None:
            found = await uow.incidents.list(principal.ward_id, page, group_id=group_id, state=state,
                                             reporter_ref=ref)
        else:
            found = await uow.places.list(principal.ward_id, page, group_id=group_id, state=state, reporter_ref=ref,
                                          bbox=box, near=around)
    return json_response({**found, "items": [views.summary_for(principal, i) for i in found["items"]]})


@router.get("/{incident_id}", response_model=schemas.IncidentDetail,
            summary="One incident; never the reporter's identity (police: POST .../reporter-disclosure)")
async def get_incident(incident_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    pii = _runtime(request).pii
    async with reading(request) as uow:
        inc = ensure_may_see(principal, await uow.incidents.get(incident_id), own_reporter_ref(principal, pii))
        footage = await uow.incidents.footage(incident_id)
    return json_response(views.detail(principal, inc, footage))


@router.get("/{incident_id}/history", response_model=schemas.TransitionPage,
            summary="The audit trail of the incident's transitions: who, when, why")
async def history(incident_id: str, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    principal.require(*STAFF)
    async with reading(request) as uow:
        inc = await uow.incidents.get(incident_id)
        principal.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
        return json_response(await uow.incidents.transitions(incident_id, page))


@router.post("/{incident_id}/reporter-disclosure", response_model=schemas.ReporterDisclosure,
             summary="Who reported the incident (police of its ward only; every disclosure audited)")
async def disclose_reporter(incident_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    # A POST: reading a reporter's identity is an act the audit trail records, not a plain read.
    if request.headers.get("Idempotency-Key"):
        # A replay would answer the identity again with no audit row, and keep it (sealed) until the retention ends.
        raise InvalidInput("a reporter disclosure takes no Idempotency-Key: every reading of it is audited")
    return await dispatch(request, DiscloseReporter(incident_id=incident_id), principal)


# -- lifecycle (police) ----------------------------------------------------------------------------------------------
_SUMMARY = {"response_model": schemas.IncidentSummary}


@router.post("/{incident_id}/triage", **_SUMMARY, summary="Triage: confirm the category, mark a crime tip")
async def triage(incident_id: str, body: schemas.TriageIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, TriageIncident(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/assign", **_SUMMARY, summary="Assign to the police or to a team of the ward")
async def assign(incident_id: str, body: schemas.AssignIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, AssignIncident(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/start", **_SUMMARY, summary="Start work on an assigned incident")
async def start(incident_id: str, body: schemas.NoteIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, StartWork(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/footage", **_SUMMARY, summary="Cite footage of a registered, working camera")
async def cite_footage(incident_id: str, body: schemas.Footage, request: Request,
                       principal: CurrentPrincipal) -> Response:
    return await dispatch(request, CiteFootage(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/resolve", **_SUMMARY, summary="Resolve: solved, unfounded or transferred")
async def resolve(incident_id: str, body: schemas.ResolveIn, request: Request,
                  principal: CurrentPrincipal) -> Response:
    return await dispatch(request, ResolveIncident(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/refer-to-mediation", **_SUMMARY, summary="Refer a dispute to the group's mediation team")
async def refer(incident_id: str, body: schemas.ReferIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, ReferToMediation(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/extend-deadline", **_SUMMARY,
             summary="Extend a crime tip's deadline once, to at most 2 months")
async def extend(incident_id: str, body: schemas.ExtendIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, ExtendDeadline(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/close", **_SUMMARY, summary="Close a resolved incident")
async def close(incident_id: str, body: schemas.NoteIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, CloseIncident(incident_id=incident_id, **body.model_dump()), principal)


@router.post("/{incident_id}/reopen", **_SUMMARY, summary="Reopen a resolved or closed incident")
async def reopen(incident_id: str, body: schemas.ReasonIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, ReopenIncident(incident_id=incident_id, **body.model_dump()), principal)
