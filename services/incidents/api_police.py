"""HTTP routes for police work and follow-up: anonymous follow-up, warnings (gọi hỏi, răn đe), the monthly
briefing (giao ban) as JSON and as a printable document."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from services.incidents import briefing, commands, views
from services.incidents import repository as repo
from services.incidents.domain import secret_matches
from shared import clock, ratelimit
from shared.auth import CurrentPrincipal, Role
from shared.claims import claim_secret
from shared.commands import Outcome, execute, json_response
from shared.errors import NotFound
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["police work"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FollowUpIn(_In):
    follow_up_code: str = Field(min_length=1, max_length=32)
    secret: str = Field(min_length=1, max_length=128)


class WarnedPerson(_In):
    resident_id: str | None = Field(default=None, max_length=64)
    full_name: str = Field(min_length=1, max_length=200)


class WarningIn(_In):
    group_id: str = Field(min_length=1, max_length=64)
    kind: Literal["summons", "admonition"] = Field(description="summons = gọi hỏi, admonition = răn đe")
    person: WarnedPerson
    reason: str = Field(min_length=3, max_length=2000)
    issued_on: date
    incident_id: str | None = Field(default=None, max_length=64)


# -- anonymous follow-up -----------------------------------------------------------------------------------------
@router.post("/follow-up", summary="An anonymous reporter's status, outcome and recognition (code + secret)")
async def follow_up(body: FollowUpIn, request: Request, principal: CurrentPrincipal) -> Response:
    # POST, so that the secret travels in the body and never in a URL or an access log. Counted per address and per
    # code before the secret is checked: guessing a code's secret is bounded however many addresses try.
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, "follow-up", limit=s.public_rate_limit, window_s=s.public_rate_window_s,
                          code=body.follow_up_code.strip().upper())
    async with request.app.state.runtime.pool.acquire() as conn:
        inc = await repo.by_follow_up_code(conn, body.follow_up_code)
        if inc is None or not secret_matches(body.secret, inc["secret_hash"]) or inc["ward_id"] != principal.ward_id:
            raise NotFound("no tip with this code and secret")  # one answer: no oracle for valid codes
        awards = await repo.awards_for(conn, inc["ward_id"], inc["reporter_ref"])
    # The claim secret lets the reporter (and only the holder of this secret) put a name of their choice on a
    # certificate of merit at the awards service, or take it off again; derived here, never stored.
    claim = claim_secret(body.secret, inc["reporter_ref"]) if inc["claim_verifier"] else None
    return json_response({
        "incident_id": inc["incident_id"], "category": inc["category"], "state": inc["state"],
        "outcome": inc["outcome"], "received_at": inc["received_at"],
        "recognition": [{"title": a["title"], "issuer": a["issuer"], "decision_number": a["decision_number"],
                         "decision_date": a["decision_date"], "verification_code": a["verification_code"],
                         "year": a["year"]} for a in awards],
        "claim_secret": claim,
        "claim_notice": ("To be named on a certificate, send the claim secret with the name you choose to "
                         "POST /v1/public/certificates/{verification_code}/claim at the awards service; the same "
                         "secret withdraws the name. Anyone holding it can do so: keep it like the secret."
                         if claim else None),
    })


# -- warnings ----------------------------------------------------------------------------------------------------
@router.post("/warnings", status_code=201, summary="Record a warning (police)")
async def record_warning(body: WarningIn, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.POLICE)

    async def handler(conn: asyncpg.Connection) -> Outcome:
        out = await commands.record_warning(
            conn, request.app.state.runtime.pii, principal, group_id=body.group_id, kind=body.kind,
            person=body.person.model_dump(), reason=body.reason, issued_on=body.issued_on,
            incident_id=body.incident_id)
        return Outcome(out, "warning", out["warning_id"], ward_id=principal.ward_id, status=201,
                       details={"kind": body.kind, "group_id": body.group_id})

    return await execute(request.app.state.runtime.pool, request, principal, "warning.record", handler)


@router.get("/warnings", summary="Warnings of a month; the warned person for the police only")
async def list_warnings(request: Request, principal: CurrentPrincipal, month: str, page: Page,
                        group_id: str | None = None) -> Response:
    principal.require(*views.STAFF)
    start, end = briefing.month_bounds(month)
    pii = request.app.state.runtime.pii
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await repo.list_warnings(conn, principal.ward_id, group_id, start, end, page)

    def render(w: Any) -> dict[str, Any]:
        item = {k: w[k] for k in ("warning_id", "group_id", "kind", "reason", "issued_on", "incident_id")}
        if principal.has(Role.POLICE):
            item["person"] = json.loads(pii.decrypt(w["person"], commands.warning_context(w["warning_id"])))
        return item

    return json_response(repo.WARNINGS_BY_DATE.page(rows, page, render))


# -- monthly briefing (giao ban) -----------------------------------------------------------------------------------
async def _briefing(request: Request, principal: CurrentPrincipal, group_id: str, month: str) -> dict:
    principal.require(*views.STAFF)
    async with request.app.state.runtime.pool.acquire() as conn:
        return await briefing.build(conn, principal.ward_id, group_id, month, clock.ward_today())


@router.get("/briefings/{group_id}/{month}", summary="The monthly briefing of a residential group (JSON)")
async def briefing_json(group_id: str, month: str, request: Request, principal: CurrentPrincipal) -> Response:
    return json_response(await _briefing(request, principal, group_id, month))


@router.get("/briefings/{group_id}/{month}/print", response_class=HTMLResponse,
            summary="The monthly briefing as a printable A4 document")
async def briefing_print(group_id: str, month: str, request: Request, principal: CurrentPrincipal) -> HTMLResponse:
    return HTMLResponse(briefing.render_html(await _briefing(request, principal, group_id, month)))
