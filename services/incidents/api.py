"""HTTP routes of incidents: intake, reading by role, and the lifecycle commands (police)."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Literal

import asyncpg
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.incidents import commands, views
from services.incidents import repository as repo
from services.incidents.domain import FootageCitation, ReportIn
from shared import ratelimit
from shared.auth import CurrentPrincipal, Principal, Role
from shared.commands import Outcome, execute, json_response
from shared.contracts.incidents import Category, DisputeParty
from shared.errors import InvalidInput
from shared.paging import Page

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TriageIn(_In):
    category: Category | None = None
    is_crime_tip: bool | None = None
    note: str | None = Field(default=None, max_length=2000)


class AssignIn(_In):
    kind: Literal["police", "team"]
    team_id: str | None = Field(default=None, max_length=64)
    officer: str | None = Field(default=None, max_length=200, description="The area police officer's user id")
    note: str | None = Field(default=None, max_length=2000)


class NoteIn(_In):
    note: str | None = Field(default=None, max_length=2000)


class ResolveIn(_In):
    outcome: Literal["solved", "unfounded", "transferred"]
    note: str = Field(min_length=3, max_length=2000)


class ReferIn(_In):
    summary: str = Field(min_length=5, max_length=2000, description="Written by police; never the reporter")
    parties: list[DisputeParty] = Field(min_length=1, max_length=20)


class ExtendIn(_In):
    until: date | None = Field(default=None, description="At most 2 months from receipt; the full 2 months if omitted")
    reason: str = Field(min_length=3, max_length=2000)


class ReasonIn(_In):
    reason: str = Field(min_length=3, max_length=2000)


def _pii(request: Request):  # noqa: ANN202
    return request.app.state.runtime.pii


# -- intake ----------------------------------------------------------------------------------------------------------
@router.post("", status_code=201, summary="Report an incident or a crime tip (identified or anonymous)")
async def report(body: ReportIn, request: Request, principal: CurrentPrincipal) -> Response:
    actor = principal
    if body.anonymous:
        if request.headers.get("Idempotency-Key"):
            # A replay would have to return the secret, which is never stored: refuse rather than half-protect.
            raise InvalidInput("an anonymous tip takes no Idempotency-Key: its reply holds a secret that is not kept")
        # Bounded per client address (a keyed pseudonym, its counter deleted when the window ends: nothing of it
        # stays to be matched with the tip).
        s = request.app.state.runtime.settings
        await ratelimit.limit(request, "anonymous-tip", limit=s.public_rate_limit, window_s=s.public_rate_window_s)
        # Nothing of the caller's token may be kept with an anonymous tip, not even in the audit trail.
        actor = Principal(subject="anonymous", roles=frozenset({Role.RESIDENT}), ward_id=principal.ward_id)
    else:
        ref = _pii(request).pseudonym(commands.reporter_key(principal), commands.REPORTER_PURPOSE)
        actor = dataclasses.replace(principal, subject=f"reporter:{ref}")

    async def handler(conn: asyncpg.Connection) -> Outcome:
        reply, inc = await commands.report(conn, _pii(request), principal, body)
        return Outcome(reply, "incident", inc["incident_id"], ward_id=inc["ward_id"], status=201,
                       details={"category": inc["category"], "is_crime_tip": inc["is_crime_tip"]})

    return await execute(request.app.state.runtime.pool, request, actor, "incident.report", handler)


# -- reading ---------------------------------------------------------------------------------------------------------
@router.get("", summary="Incidents of the ward (police, officials) or the caller's own reports (residents)")
async def list_incidents(request: Request, principal: CurrentPrincipal, page: Page, group_id: str | None = None,
                         state: str | None = None) -> Response:
    ref = None
    if not views.is_staff(principal):
        ref = _pii(request).pseudonym(commands.reporter_key(principal), commands.REPORTER_PURPOSE)
    async with request.app.state.runtime.pool.acquire() as conn:
        rows = await repo.list_incidents(conn, principal.ward_id, page, group_id=group_id, state=state, reporter_ref=ref)
    return json_response(repo.INCIDENTS_NEWEST_FIRST.page(rows, page, views.summary))


@router.get("/{incident_id}", summary="One incident; the reporter's identity for the police only")
async def get_incident(incident_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    async with request.app.state.runtime.pool.acquire() as conn:
        inc = await repo.get_incident(conn, incident_id)
        principal.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
        return json_response(await views.detail(conn, principal, _pii(request), inc))


@router.get("/{incident_id}/history", summary="The audit trail of the incident's transitions: who, when, why")
async def history(incident_id: str, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    principal.require(*views.STAFF)
    async with request.app.state.runtime.pool.acquire() as conn:
        inc = await repo.get_incident(conn, incident_id)
        principal.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
        rows = await repo.transitions(conn, incident_id, page)
    return json_response(repo.TRANSITIONS_IN_ORDER.page(
        rows, page, lambda r: {k: v for k, v in dict(r).items() if k != "seq"}))


# -- lifecycle (police) ----------------------------------------------------------------------------------------------
Step = Callable[[asyncpg.Connection, asyncpg.Record, str], Awaitable[asyncpg.Record | None]]


async def _police_command(request: Request, principal: Principal, incident_id: str, command: str, step: Step,
                          details: dict | None = None) -> Response:
    principal.require(Role.POLICE)

    async def handler(conn: asyncpg.Connection) -> Outcome:
        inc = await commands.load_for_change(conn, principal, incident_id)
        after = await step(conn, inc, principal.subject) or await repo.get_incident(conn, incident_id)
        assert after is not None
        return Outcome(views.summary(after), "incident", incident_id, ward_id=after["ward_id"],
                       details={"from": inc["state"], "to": after["state"], **(details or {})})

    return await execute(request.app.state.runtime.pool, request, principal, f"incident.{command}", handler)


@router.post("/{incident_id}/triage")
async def triage(incident_id: str, body: TriageIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "triage", lambda c, i, a: commands.triage(
        c, i, a, body.category, body.is_crime_tip, body.note))


@router.post("/{incident_id}/assign")
async def assign(incident_id: str, body: AssignIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "assign", lambda c, i, a: commands.assign(
        c, i, a, body.kind, body.team_id, body.officer, body.note))


@router.post("/{incident_id}/start")
async def start(incident_id: str, body: NoteIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "start",
                                 lambda c, i, a: commands.start(c, i, a, body.note))


@router.post("/{incident_id}/footage", summary="Cite footage of a registered, working camera")
async def cite_footage(incident_id: str, body: FootageCitation, request: Request,
                       principal: CurrentPrincipal) -> Response:
    async def step(c: asyncpg.Connection, i: asyncpg.Record, a: str) -> None:
        await commands.cite_footage(c, i, body)

    return await _police_command(request, principal, incident_id, "cite_footage", step,
                                 {"camera_id": body.camera_id})


@router.post("/{incident_id}/resolve")
async def resolve(incident_id: str, body: ResolveIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "resolve", lambda c, i, a: commands.resolve(
        c, i, a, body.outcome, body.note), {"outcome": body.outcome})


@router.post("/{incident_id}/refer-to-mediation", summary="Refer a dispute to the group's mediation team")
async def refer(incident_id: str, body: ReferIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "refer_to_mediation",
                                 lambda c, i, a: commands.refer_to_mediation(c, i, a, body.summary, body.parties))


@router.post("/{incident_id}/extend-deadline", summary="Extend a crime tip's deadline once, to at most 2 months")
async def extend(incident_id: str, body: ExtendIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "extend_deadline",
                                 lambda c, i, a: commands.extend_deadline(c, i, a, body.until, body.reason))


@router.post("/{incident_id}/close")
async def close(incident_id: str, body: NoteIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "close",
                                 lambda c, i, a: commands.close(c, i, a, body.note))


@router.post("/{incident_id}/reopen")
async def reopen(incident_id: str, body: ReasonIn, request: Request, principal: CurrentPrincipal) -> Response:
    return await _police_command(request, principal, incident_id, "reopen",
                                 lambda c, i, a: commands.reopen(c, i, a, body.reason), {"reason": body.reason})
