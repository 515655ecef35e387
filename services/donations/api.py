"""HTTP routes of the donations service (/v1): decode, authorise, dispatch to the use cases, encode.

Who may do what: ward officials open and close campaigns, record corrections and approve expenses; members of
a campaign's mobilisation teams record what they collected and the pledges they took; the transparency report
is readable by anyone of the ward (any authenticated role whose token is for that ward)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.donations import commands, expenses
from services.donations import repository as repo
from services.donations.models import (
    ApproveExpense,
    MakePledge,
    OpenCampaign,
    ProposeExpense,
    RecordContribution,
    ReverseContribution,
)
from services.donations.report import build_report, report_csv
from shared.auth import CurrentPrincipal, Principal, Role
from shared.commands import execute, json_response
from shared.edge import content_disposition
from shared.errors import NotFound
from shared.openapi import media
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["donations"])
COLLECTORS = (Role.TEAM_MEMBER, Role.TEAM_LEADER)


def _pool(request: Request):  # noqa: ANN202
    return request.app.state.runtime.pool


@router.post("/campaigns", status_code=201, summary="Open a campaign (mở cuộc vận động) after the households' vote")
async def open_campaign(body: OpenCampaign, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL)
    principal.ensure_ward(body.ward_id)
    return await execute(_pool(request), request, principal, "campaign.open",
                         lambda conn: commands.open_campaign(conn, body, principal))


@router.post("/campaigns/{campaign_id}/close", summary="Close a campaign: no more contributions or pledges")
async def close_campaign(campaign_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL)
    return await execute(_pool(request), request, principal, "campaign.close",
                         lambda conn: commands.close_campaign(conn, campaign_id, principal))


@router.post("/campaigns/{campaign_id}/contributions", status_code=201,
             summary="Record a contribution the caller collected (send an Idempotency-Key)")
async def record_contribution(campaign_id: str, body: RecordContribution, request: Request,
                              principal: CurrentPrincipal) -> Response:
    principal.require(*COLLECTORS)
    return await execute(_pool(request), request, principal, "contribution.record",
                         lambda conn: commands.record_contribution(conn, campaign_id, body, principal))


@router.post("/contributions/{contribution_id}/reversals", status_code=201,
             summary="Correct a contribution by a reversing entry (refund or void)")
async def reverse_contribution(contribution_id: str, body: ReverseContribution, request: Request,
                               principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL)
    return await execute(_pool(request), request, principal, "contribution.reverse",
                         lambda conn: commands.reverse_contribution(conn, contribution_id, body, principal))


@router.post("/campaigns/{campaign_id}/pledges", status_code=201, summary="Record a pledge with its instalments")
async def make_pledge(campaign_id: str, body: MakePledge, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(*COLLECTORS)
    return await execute(_pool(request), request, principal, "pledge.make",
                         lambda conn: commands.make_pledge(conn, campaign_id, body, principal))


@router.post("/campaigns/{campaign_id}/expenses", status_code=201, summary="Propose an expense with its invoice")
async def propose_expense(campaign_id: str, body: ProposeExpense, request: Request,
                          principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.TEAM_LEADER)
    return await execute(_pool(request), request, principal, "expense.propose",
                         lambda conn: expenses.propose_expense(conn, campaign_id, body, principal))


@router.post("/expenses/{expense_id}/approve", summary="Approve an expense: it is paid from the balance")
async def approve_expense(expense_id: str, body: ApproveExpense, request: Request,
                          principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL)
    return await execute(_pool(request), request, principal, "expense.approve",
                         lambda conn: expenses.approve_expense(conn, expense_id, body, principal))


# -- reads ----------------------------------------------------------------------------------------------------
async def _report(request: Request, campaign_id: str, principal: Principal) -> dict:
    async with _pool(request).acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        # One snapshot: the totals, the ledger and the expenses are read as of the same moment.
        campaign = await commands.load_campaign(conn, campaign_id, principal, lock=False)
        team_ids = await repo.campaign_team_ids(conn, campaign_id)
        teams = await repo.teams_by_id(conn, team_ids)
        return build_report(campaign, {t: (teams[t]["name"] if t in teams else None) for t in team_ids},
                            await repo.ledger(conn, campaign_id), await repo.approved_expenses(conn, campaign_id))


@router.get("/campaigns", summary="Campaigns of the caller's ward")
async def list_campaigns(request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    async with _pool(request).acquire() as conn:
        rows = await repo.list_campaigns(conn, principal.ward_id, page)
    return json_response(repo.CAMPAIGNS_BY_OPENING.page(rows, page, lambda r: {
        k: r[k] for k in ("campaign_id", "group_id", "name", "purpose", "target_vnd", "starts_on", "ends_on",
                          "closed_on", "target_reached_on")}))


@router.get("/campaigns/{campaign_id}/report", summary="Public transparency report (báo cáo công khai), JSON")
async def report(campaign_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return json_response(await _report(request, campaign_id, principal))


@router.get("/campaigns/{campaign_id}/report.csv", summary="Public transparency report, CSV",
            response_class=Response, responses=media("text/csv", "The report as CSV (UTF-8)"))
async def report_as_csv(campaign_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    body = report_csv(await _report(request, campaign_id, principal))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers=content_disposition(f"campaign-{campaign_id}.csv"))


@router.get("/pledges/{pledge_id}", summary="A pledge's instalments: paid, due or overdue")
async def get_pledge(pledge_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    principal.require(Role.WARD_OFFICIAL, *COLLECTORS)
    async with _pool(request).acquire() as conn:
        pledge = await repo.get_pledge(conn, pledge_id)
        if pledge is None:
            raise NotFound("no such pledge")
        await commands.load_campaign(conn, pledge["campaign_id"], principal, lock=False, not_found="no such pledge")
        rows = await repo.instalments(conn, pledge_id)
    return json_response({
        "pledge_id": pledge_id, "campaign_id": pledge["campaign_id"], "team_id": pledge["team_id"],
        "total_vnd": pledge["total_vnd"],
        "instalments": [{"number": r["number"], "due_on": r["due_on"], "amount_vnd": r["amount_vnd"],
                         "status": "paid" if r["paid"] else ("overdue" if r["flagged_on"] else "due"),
                         "flagged_overdue_on": r["flagged_on"]} for r in rows],
    })
