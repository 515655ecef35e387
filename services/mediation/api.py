"""HTTP routes of the mediation service, under /v1: authenticate, build the command from the body and the path,
dispatch it; reads open a read-only unit of work and encode what the repositories return. Every error status an
operation can answer is documented by shared.openapi; each success names its body (``response_model``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.mediation import commands, domain, handlers, recordbook, views
from services.mediation.domain import CaseFilters, Status
from services.mediation.schemas import (
    AssignMediatorsRequest,
    CaseOut,
    CasePage,
    ClassifyRequest,
    FailRequest,
    FollowUpRequest,
    HandOverRequest,
    OpenCaseRequest,
    RecordBook,
    RecordSessionRequest,
    RefusalGrounds,
    RefuseRequest,
    SucceedRequest,
    TeamPage,
    WithdrawRequest,
)
from shared.auth import CurrentPrincipal
from shared.clock import ward_today
from shared.commands import dispatch, json_response, reading
from shared.contracts.mediation import CaseKind
from shared.edge import content_disposition
from shared.openapi import media
from shared.paging import Page

router = APIRouter()

IdFilter = Annotated[str | None, Query(min_length=1, max_length=64)]
#: A case's id in a path: bounded as the commands' ``case_id`` is, so a longer one is a 422 problem, not a 500.
CaseIdPath = Annotated[str, Path(min_length=1, max_length=64, description="The case's `case_id`")]


@router.post("/v1/cases", status_code=201, response_model=CaseOut)
async def open_case(body: OpenCaseRequest, request: Request, p: CurrentPrincipal) -> Response:
    """Receive a case at a party's request, or take one up on a mediator's initiative (referrals come by event)."""
    return await dispatch(request, commands.OpenCase(**body.model_dump()), p)


@router.post("/v1/cases/{case_id}/team", response_model=CaseOut)
async def hand_over(case_id: CaseIdPath, body: HandOverRequest, request: Request, p: CurrentPrincipal) -> Response:
    """A ward official gives a case that has no team yet to a mediation team of the ward."""
    return await dispatch(request, commands.HandOver(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/classification", response_model=CaseOut)
async def classify(case_id: CaseIdPath, body: ClassifyRequest, request: Request, p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.Classify(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/mediators", response_model=CaseOut)
async def assign(case_id: CaseIdPath, body: AssignMediatorsRequest, request: Request, p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.AssignMediators(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/sessions", status_code=201, response_model=CaseOut)
async def record_session(case_id: CaseIdPath, body: RecordSessionRequest, request: Request,
                         p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.RecordSession(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/success", response_model=CaseOut)
async def succeed(case_id: CaseIdPath, body: SucceedRequest, request: Request, p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.Succeed(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/failure", response_model=CaseOut)
async def fail(case_id: CaseIdPath, body: FailRequest, request: Request, p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.Fail(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/withdrawal", response_model=CaseOut)
async def withdraw(case_id: CaseIdPath, body: WithdrawRequest, request: Request, p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.Withdraw(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/refusal", response_model=CaseOut)
async def refuse(case_id: CaseIdPath, body: RefuseRequest, request: Request, p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.Refuse(case_id=case_id, **body.model_dump()), p)


@router.post("/v1/cases/{case_id}/follow-ups", status_code=201, response_model=CaseOut)
async def follow_up(case_id: CaseIdPath, body: FollowUpRequest, request: Request, p: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.FollowUp(case_id=case_id, **body.model_dump()), p)


# -- reads --------------------------------------------------------------------------------------------------------


@router.get("/v1/cases", response_model=CasePage)
async def list_cases(
    request: Request, p: CurrentPrincipal, page: Page,
    status: Annotated[Status | None, Query(description="Only cases in this state")] = None,
    kind: Annotated[CaseKind | None, Query(description="Only cases of this kind of dispute")] = None,
    group_id: Annotated[IdFilter, Query(description="Only cases of this residential group")] = None,
    team_id: Annotated[IdFilter, Query(description="Only cases of this mediation team")] = None,
    referral_incident_id: Annotated[IdFilter, Query(
        description="Only the case the incidents service's referral of this incident opened (what a client that "
                    "referred a dispute waits for)")] = None,
    assignment_late: Annotated[bool | None, Query(
        description="true: only cases whose mediators were (or still are not) assigned within the legal period "
                    "(2 working days, Art. 20); false: only the others")] = None,
) -> Response:
    """The cases the caller may see, oldest receipt first: officials every case of the ward, mediators their
    teams' cases, residents the cases they are party to; the filters narrow that (all of them together)."""
    filters = CaseFilters(status=status, kind=kind, group_id=group_id, team_id=team_id,
                          referral_incident_id=referral_incident_id, assignment_late=assignment_late)
    today = ward_today()
    async with reading(request) as uow:
        listed = await uow.cases.page(domain.case_scope(p), filters, page, today)
    return json_response({"items": [views.case_view(f, today) for f in listed["items"]],
                          "next_cursor": listed["next_cursor"]})


@router.get("/v1/cases/{case_id}", response_model=CaseOut)
async def get_case(case_id: CaseIdPath, request: Request, p: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        return json_response(await handlers.read_case(uow, p, case_id))


@router.get("/v1/teams", response_model=TeamPage)
async def list_teams(request: Request, p: CurrentPrincipal, page: Page) -> Response:
    """The ward's mediation teams, their mediators and whether each meets Art. 12 of the law."""
    domain.ensure_may_list_teams(p)
    async with reading(request) as uow:
        listed = await uow.teams.page(p.ward_id, page)
    return json_response({"items": [views.team_view(t, t["members"]) for t in listed["items"]],
                          "next_cursor": listed["next_cursor"]})


@router.get("/v1/refusal-grounds", response_model=RefusalGrounds)
async def refusal_grounds(_principal: CurrentPrincipal) -> Response:
    """Matters that may not be mediated at the grassroots, with their legal basis."""
    return json_response({"grounds": [g.__dict__ for g in domain.EXCLUDED_GROUNDS.values()]})


@router.get("/v1/teams/{team_id}/record-book/{year}", response_model=RecordBook,
            responses=media("text/csv", "The record book, as `format` asks", also=("text/html",)))
async def record_book(team_id: str, year: int, request: Request, p: CurrentPrincipal,
                      format: Literal["json", "csv", "html"] = Query("json")) -> Response:
    """Sổ theo dõi hoạt động hòa giải ở cơ sở: the team's mediators and ward officials may read it (JSON, CSV for
    spreadsheets, or a printable HTML document)."""
    async with reading(request) as uow:
        book = await handlers.read_record_book(uow, p, team_id, year)
    if format == "csv":
        return Response(recordbook.to_csv(book), media_type="text/csv; charset=utf-8",
                        headers=content_disposition(f"so-hoa-giai-{team_id}-{year}.csv"))
    if format == "html":
        return HTMLResponse(recordbook.to_html(book))
    return json_response(book)

