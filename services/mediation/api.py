"""HTTP routes of the mediation service, under /v1: decode, authorise, dispatch, encode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.mediation import access, commands, domain, recordbook, repository
from services.mediation.schemas import (
    AssignMediators,
    Classify,
    Fail,
    FollowUp,
    HandOver,
    OpenCase,
    RecordSession,
    Refuse,
    Succeed,
    Withdraw,
)
from services.mediation.views import case_view, team_view
from shared.auth import CurrentPrincipal, Principal, Role
from shared.commands import Outcome, execute, json_response
from shared.edge import content_disposition
from shared.errors import Forbidden, NotFound
from shared.openapi import media
from shared.paging import Keyset, Page, page_of

router = APIRouter()
TEAMS_BY_GROUP = Keyset.of("group_id:text", "team_id:text")


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.runtime.pool


async def _run(request: Request, p: Principal, command: str,
               use_case: Callable[[asyncpg.Connection], Awaitable[dict[str, Any]]], status: int = 200) -> Response:
    async def handler(conn: asyncpg.Connection) -> Outcome:
        view = await use_case(conn)
        return Outcome(view, "mediation_case", view["case_id"], ward_id=view["ward_id"],
                       details={"status": view["status"]}, status=status)
    return await execute(_pool(request), request, p, command, handler)


@router.post("/v1/cases", status_code=201)
async def open_case(body: OpenCase, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.open", lambda conn: commands.open_case(conn, p, body), 201)


@router.post("/v1/cases/{case_id}/team")
async def hand_over(case_id: str, body: HandOver, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.hand_over", lambda c: commands.hand_over(c, p, case_id, body))


@router.post("/v1/cases/{case_id}/classification")
async def classify(case_id: str, body: Classify, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.classify", lambda c: commands.classify(c, p, case_id, body))


@router.post("/v1/cases/{case_id}/mediators")
async def assign(case_id: str, body: AssignMediators, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.assign", lambda c: commands.assign(c, p, case_id, body))


@router.post("/v1/cases/{case_id}/sessions", status_code=201)
async def record_session(case_id: str, body: RecordSession, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.session", lambda c: commands.record_session(c, p, case_id, body),
                      201)


@router.post("/v1/cases/{case_id}/success")
async def succeed(case_id: str, body: Succeed, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.succeed", lambda c: commands.succeed(c, p, case_id, body))


@router.post("/v1/cases/{case_id}/failure")
async def fail(case_id: str, body: Fail, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.fail", lambda c: commands.fail(c, p, case_id, body))


@router.post("/v1/cases/{case_id}/withdrawal")
async def withdraw(case_id: str, body: Withdraw, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.withdraw", lambda c: commands.withdraw(c, p, case_id, body))


@router.post("/v1/cases/{case_id}/refusal")
async def refuse(case_id: str, body: Refuse, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.refuse", lambda c: commands.refuse(c, p, case_id, body))


@router.post("/v1/cases/{case_id}/follow-ups", status_code=201)
async def follow_up(case_id: str, body: FollowUp, request: Request, p: CurrentPrincipal) -> Response:
    return await _run(request, p, "case.follow_up", lambda c: commands.follow_up(c, p, case_id, body), 201)


# -- reads --------------------------------------------------------------------------------------------------------


@router.get("/v1/cases")
async def list_cases(request: Request, p: CurrentPrincipal, page: Page, assignment_late: bool | None = None) -> Response:
    """Officials: every case of the ward; mediators: their teams' cases; residents: the cases they are party to.
    ``assignment_late=true``: only those whose mediators were (or still are not) assigned within the legal period."""
    scope = {
        "everything": access.is_official(p, p.ward_id),
        "team_ids": sorted(p.team_ids) if p.has(Role.TEAM_MEMBER, Role.TEAM_LEADER) and p.team_ids else [],
        "party_resident_id": p.resident_id,
    }
    keyset = repository.CASES_BY_RECEIPT
    async with _pool(request).acquire() as conn:
        if assignment_late is None:
            rows = await repository.list_cases(conn, p.ward_id, page, **scope)
            return json_response(keyset.page([await case_view(conn, r) for r in rows], page))
        # Lateness depends on today's date: derived, not stored; filtered after it is computed, then paged alike.
        views = [await case_view(conn, r) for r in await repository.list_cases(conn, p.ward_id, None, **scope)]
    views = [v for v in views if v["assignment_late"] is assignment_late]
    return json_response(page_of(views, keyset, page, key=lambda v: (v["received_at"], v["case_id"])))


@router.get("/v1/cases/{case_id}")
async def get_case(case_id: str, request: Request, p: CurrentPrincipal) -> Response:
    async with _pool(request).acquire() as conn:
        row = await repository.case(conn, case_id)
        if row is None or not p.can_access_ward(row["ward_id"]):
            raise NotFound(f"no case {case_id}")
        access.ensure_can_see(p, row, await repository.parties(conn, case_id))
        return json_response(await case_view(conn, row))


@router.get("/v1/teams")
async def list_teams(request: Request, p: CurrentPrincipal, page: Page) -> Response:
    """The ward's mediation teams, their mediators and whether each meets Art. 12 of the law."""
    p.require(*access.OFFICIALS, Role.TEAM_MEMBER, Role.TEAM_LEADER)
    args: list[object] = [p.ward_id]
    async with _pool(request).acquire() as conn:
        rows = await conn.fetch(TEAMS_BY_GROUP.query("SELECT * FROM teams", ["ward_id = $1"], args, page), *args)
        return json_response(TEAMS_BY_GROUP.page([await team_view(conn, t) for t in rows], page))


@router.get("/v1/refusal-grounds")
async def refusal_grounds(p: CurrentPrincipal) -> Response:
    """Matters that may not be mediated at the grassroots, with their legal basis."""
    return json_response({"grounds": [g.__dict__ for g in domain.EXCLUDED_GROUNDS.values()]})


@router.get("/v1/teams/{team_id}/record-book/{year}", response_class=Response,
            responses=media("application/json", "The record book, as `format` asks", also=("text/csv", "text/html")))
async def record_book(team_id: str, year: int, request: Request, p: CurrentPrincipal,
                      format: Literal["json", "csv", "html"] = Query("json")) -> Response:
    """Sổ theo dõi hoạt động hòa giải ở cơ sở: the team's mediators and ward officials may read it."""
    async with _pool(request).acquire() as conn:
        team = await repository.team(conn, team_id)
        if team is None or not p.can_access_ward(team["ward_id"]):
            raise NotFound(f"no mediation team {team_id}")
        if not (access.is_official(p, team["ward_id"]) or access.is_mediator_of(p, team_id)):
            raise Forbidden("only the team's mediators and ward officials may read its record book")
        if not 2000 <= year <= 2100:
            raise NotFound(f"no record book for {year}")
        book = await recordbook.build(conn, team, year)
    if format == "csv":
        return Response(recordbook.to_csv(book), media_type="text/csv; charset=utf-8",
                        headers=content_disposition(f"so-hoa-giai-{team_id}-{year}.csv"))
    if format == "html":
        return HTMLResponse(recordbook.to_html(book))
    return json_response(book)
