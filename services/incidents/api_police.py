"""HTTP routes for police work and follow-up: anonymous follow-up, warnings (gọi hỏi, răn đe), the monthly
briefing (giao ban) as JSON and as a printable document, and the cameras incidents knows from the registry."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from services.incidents import briefing, schemas, views
from services.incidents.commands import RecordWarning
from services.incidents.domain import STAFF, month_bounds, secret_matches
from services.incidents.handlers_messages import for_tipster
from shared import clock, ratelimit
from shared.auth import CurrentPrincipal
from shared.claims import claim_secret
from shared.commands import dispatch, json_response, reading
from shared.errors import NotFound
from shared.openapi import media
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["police work"])

CLAIM_NOTICE = ("To be named on a certificate, send the claim secret with the name you choose to "
                "POST /v1/public/certificates/{verification_code}/claim at the awards service; the same "
                "secret withdraws the name. Anyone holding it can do so: keep it like the secret.")


# -- anonymous follow-up -----------------------------------------------------------------------------------------
@router.post("/follow-up", response_model=schemas.FollowUpWithMessages,
             summary="An anonymous reporter's status, outcome and recognition (code + secret, no token)")
async def follow_up(body: schemas.FollowUpIn, request: Request) -> Response:
    # No token: the code and the secret are the only proof (a token, if sent, is not looked at, so nothing of who
    # asks is tied to the tip). POST, so that the secret travels in the body and never in a URL or an access log.
    # Counted per address and per code before the secret is checked: guessing a code's secret is bounded however
    # many addresses try.
    runtime = request.app.state.runtime
    s = runtime.settings
    await ratelimit.limit(request, "follow-up", limit=s.public_rate_limit, window_s=s.public_rate_window_s,
                          code=body.follow_up_code.strip().upper())
    async with reading(request) as uow:
        inc = await uow.incidents.by_follow_up_code(body.follow_up_code.upper())
        if inc is None or not secret_matches(body.secret, inc["secret_hash"]):
            raise NotFound("no tip with this code and secret")  # one answer: no oracle for valid codes
        awards = await uow.projections.awards_for(inc["ward_id"], inc["reporter_ref"])
        messages = await uow.tip_messages.all_of(inc["incident_id"])  # the police's questions (issue 17)
    # The claim secret lets the reporter (and only the holder of this secret) put a name of their choice on a
    # certificate of merit at the awards service, or take it off again; derived here, never stored.
    claim = claim_secret(body.secret, inc["reporter_ref"]) if inc["claim_verifier"] else None
    return json_response({
        "incident_id": inc["incident_id"], "category": inc["category"], "state": inc["state"],
        "outcome": inc["outcome"], "received_at": inc["received_at"],
        "recognition": [{k: a[k] for k in ("title", "issuer", "decision_number", "decision_date",
                                           "verification_code", "year")} for a in awards],
        "claim_secret": claim,
        "claim_notice": CLAIM_NOTICE if claim else None,
        "messages": [for_tipster(runtime.pii, m) for m in messages],
    })


# -- warnings ----------------------------------------------------------------------------------------------------
@router.post("/warnings", status_code=201, response_model=schemas.WarningReceipt,
             summary="Record a warning (police)")
async def record_warning(body: RecordWarning, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, body, principal)


@router.get("/warnings", response_model=schemas.WarningPage,
            summary="Warnings of a month; the warned person for the police only")
async def list_warnings(request: Request, principal: CurrentPrincipal, page: Page,
                        month: str = Query(description="YYYY-MM"), group_id: str | None = None) -> Response:
    principal.require(*STAFF)
    start, end = month_bounds(month)
    runtime = request.app.state.runtime
    async with reading(request) as uow:
        found = await uow.warnings.list(principal.ward_id, group_id, start, end, page)
    return json_response({**found, "items": [views.warning(principal, runtime.pii, w) for w in found["items"]]})


# -- cameras (the registry's security cameras, as incidents knows them) --------------------------------------------
@router.get("/cameras", response_model=schemas.CameraPage,
            summary="The ward's security cameras incidents knows from the registry (citable once listed here)")
async def list_cameras(request: Request, principal: CurrentPrincipal, page: Page, group_id: str | None = None,
                       in_service: bool | None = Query(default=None, description=(
                           "true: only cameras that may be cited; false: only decommissioned ones"))) -> Response:
    async with reading(request) as uow:
        found = await uow.projections.cameras(principal.ward_id, page, group_id=group_id, in_service=in_service)
    return json_response({**found, "items": [views.camera(c) for c in found["items"]]})


# -- monthly briefing (giao ban) -----------------------------------------------------------------------------------
async def _briefing(request: Request, principal: CurrentPrincipal, group_id: str, month: str) -> dict:
    """A group looked up by its id: one of a ward the caller may not reach answers as one that does not exist."""
    principal.require(*STAFF)
    start, end = month_bounds(month)
    async with reading(request) as uow:
        group = await uow.projections.group(group_id)
        principal.ensure_reaches(group["ward_id"] if group else None, "no such residential group")
        rows = await uow.briefings.month(group["ward_id"], group_id, start, end)
    return briefing.summarise(group, month, rows, clock.ward_today())


_BRIEFING_404 = {404: {"description": "No such residential group, or one of a ward the caller may not reach"}}


@router.get("/briefings/{group_id}/{month}", response_model=schemas.Briefing, responses=_BRIEFING_404,
            summary="The monthly briefing of a residential group (JSON)")
async def briefing_json(group_id: str, month: str, request: Request, principal: CurrentPrincipal) -> Response:
    return json_response(await _briefing(request, principal, group_id, month))


@router.get("/briefings/{group_id}/{month}/print", response_class=HTMLResponse,
            responses={**media("text/html", "A printable A4 document"), **_BRIEFING_404},
            summary="The monthly briefing as a printable A4 document")
async def briefing_print(group_id: str, month: str, request: Request, principal: CurrentPrincipal) -> HTMLResponse:
    return HTMLResponse(briefing.render_html(await _briefing(request, principal, group_id, month)))
