"""HTTP routes of the donations service (/v1): thin adapters. A command route builds the command from the body and
the path and dispatches it (the handlers decide who may); a read opens a read-only unit of work (one snapshot)
and encodes what the repositories answer.

Who may do what (domain.py): ward officials open and close campaigns, record corrections and approve expenses;
members of a campaign's mobilisation teams record what they collected and the pledges they took; the
transparency report and the campaigns are readable by anyone of the ward (any authenticated role whose token is
for that ward)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.donations import commands as cmd
from services.donations import domain, schemas
from services.donations.handlers import load_campaign
from services.donations.report import build_report, report_csv
from services.donations.repository import (
    CAMPAIGNS_BY_OPENING,
    CONTRIBUTIONS_BY_SEQ,
    EXPENSES_BY_PROPOSAL,
    TEAMS_BY_ID,
)
from shared.auth import CurrentPrincipal, Principal
from shared.commands import dispatch, json_response, reading
from shared.contracts.registry import TeamKind
from shared.edge import content_disposition
from shared.errors import NotFound
from shared.openapi import media
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["donations"])



# -- commands -------------------------------------------------------------------------------------------------
@router.post("/campaigns", status_code=201, response_model=schemas.CampaignOpenedOut,
             summary="Open a campaign (mở cuộc vận động) after the households' vote")
async def open_campaign(body: cmd.OpenCampaign, request: Request, principal: CurrentPrincipal) -> Response:
    """The vote is checked against the households the registry holds for the group (GET /v1/groups/{group_id});
    until the registry's households have reached donations, opening is refused (422)."""
    return await dispatch(request, body, principal)


@router.post("/campaigns/{campaign_id}/close", response_model=schemas.CampaignClosedOut,
             summary="Close a campaign: no more contributions or pledges")
async def close_campaign(campaign_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.CloseCampaign(campaign_id=campaign_id), principal)


@router.post("/campaigns/{campaign_id}/contributions", status_code=201, response_model=schemas.ContributionOut,
             summary="Record a contribution the caller collected (send an Idempotency-Key)")
async def record_contribution(campaign_id: str, body: schemas.ContributionIn, request: Request,
                              principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.RecordContribution(campaign_id=campaign_id, **body.model_dump()), principal)


@router.post("/contributions/{contribution_id}/reversals", status_code=201, response_model=schemas.ReversalOut,
             summary="Correct a contribution by a reversing entry (refund or void)")
async def reverse_contribution(contribution_id: str, body: schemas.ReversalIn, request: Request,
                               principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.ReverseContribution(contribution_id=contribution_id, **body.model_dump()),
                          principal)


@router.post("/campaigns/{campaign_id}/pledges", status_code=201, response_model=schemas.PledgeMadeOut,
             summary="Record a pledge with its instalments")
async def make_pledge(campaign_id: str, body: schemas.PledgeIn, request: Request,
                      principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.MakePledge(campaign_id=campaign_id, **body.model_dump()), principal)


@router.post("/campaigns/{campaign_id}/expenses", status_code=201, response_model=schemas.ExpenseProposedOut,
             summary="Propose an expense with its invoice")
async def propose_expense(campaign_id: str, body: schemas.ExpenseIn, request: Request,
                          principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.ProposeExpense(campaign_id=campaign_id, **body.model_dump()), principal)


@router.post("/expenses/{expense_id}/approve", response_model=schemas.ExpenseApprovedOut,
             summary="Approve an expense: it is paid from the balance (by another official than its proposer)")
async def approve_expense(expense_id: str, body: schemas.ApprovalIn, request: Request,
                          principal: CurrentPrincipal) -> Response:
    return await dispatch(request, cmd.ApproveExpense(expense_id=expense_id, **body.model_dump()), principal)


# -- reads ----------------------------------------------------------------------------------------------------
def _summary(r: dict[str, Any]) -> dict[str, Any]:
    return {k: r[k] for k in ("campaign_id", "group_id", "name", "purpose", "target_vnd", "starts_on", "ends_on",
                              "closed_on", "target_reached_on")}


@router.get("/campaigns", response_model=schemas.CampaignPage, summary="Campaigns of the caller's ward")
async def list_campaigns(request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    async with reading(request) as uow:
        rows = await uow.campaigns.page(principal.ward_id, page)
    return json_response(CAMPAIGNS_BY_OPENING.page(rows, page, _summary))


@router.get("/campaigns/{campaign_id}", response_model=schemas.CampaignOut,
            summary="A campaign: its period, teams, vote, and money raised, spent and left")
async def get_campaign(campaign_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        c = await load_campaign(uow, campaign_id, principal, lock=False)
        team_ids = await uow.campaigns.team_ids(campaign_id)
        raised = await uow.ledger.raised_vnd(campaign_id)
        spent = await uow.expenses.spent_vnd(campaign_id)
    return json_response({
        **_summary(c), "ward_id": c["ward_id"], "organiser": c["organiser"],
        "status": "closed" if c["closed_on"] else "open", "team_ids": team_ids,
        "vote": {"record_ref": c["vote_record_ref"], "held_on": c["vote_held_on"],
                 "households_total": c["households_total"], "in_favour": c["households_in_favour"],
                 "against": c["households_against"], "abstained": c["households_abstained"]},
        "raised_vnd": raised, "spent_vnd": spent, "balance_vnd": raised - spent, "opened_at": c["opened_at"],
    })


@router.get("/campaigns/{campaign_id}/contributions", response_model=schemas.ContributionPage,
            summary="The campaign's contributions (sổ thu), in the order recorded, with their reversals")
async def list_contributions(campaign_id: str, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    """For the ward's officials and the collectors (the receipts to check, a contribution to reverse); the donor's
    id is not listed, only the name they chose for the honour roll."""
    domain.ensure_official_or_collector(principal)
    async with reading(request) as uow:
        await load_campaign(uow, campaign_id, principal, lock=False)
        rows = await uow.ledger.contributions_page(campaign_id, page)
    return json_response(CONTRIBUTIONS_BY_SEQ.page(rows, page, lambda r: {
        "contribution_id": r["entry_id"], "reversal": r["reversal_kind"], "reversed_vnd": r["reversed_vnd"] or 0,
        **{k: r[k] for k in ("receipt_number", "received_on", "amount_vnd", "channel", "in_kind_description",
                             "team_id", "donor_kind", "public_name", "reversal_reason", "recorded_at")}}))


def _expense(x: dict[str, Any]) -> dict[str, Any]:
    return {**{k: x[k] for k in ("expense_id", "campaign_id", "item", "amount_vnd", "invoice_ref", "paid_on",
                                 "cameras", "proposed_by", "proposed_at", "approved_by", "approval_ref",
                                 "approved_at")},
            "status": "approved" if x["approved_by"] is not None else "proposed"}


@router.get("/campaigns/{campaign_id}/expenses", response_model=schemas.ExpensePage,
            summary="The campaign's expenses, proposed (awaiting a second official's approval) or approved")
async def list_expenses(campaign_id: str, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    async with reading(request) as uow:
        await load_campaign(uow, campaign_id, principal, lock=False)
        rows = await uow.expenses.page(campaign_id, page)
    return json_response(EXPENSES_BY_PROPOSAL.page(rows, page, _expense))


async def _report(request: Request, campaign_id: str, principal: Principal) -> dict:
    async with reading(request) as uow:
        # One snapshot: the totals, the ledger and the expenses are read as of the same moment.
        campaign = await load_campaign(uow, campaign_id, principal, lock=False)
        team_ids = await uow.campaigns.team_ids(campaign_id)
        teams = await uow.teams.by_id(team_ids)
        return build_report(campaign, {t: (teams[t]["name"] if t in teams else None) for t in team_ids},
                            await uow.ledger.entries(campaign_id), await uow.expenses.approved(campaign_id))


@router.get("/campaigns/{campaign_id}/report", response_model=schemas.ReportOut,
            summary="Public transparency report (báo cáo công khai), JSON")
async def report(campaign_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return json_response(await _report(request, campaign_id, principal))


@router.get("/campaigns/{campaign_id}/report.csv", summary="Public transparency report, CSV",
            response_class=Response, responses=media("text/csv", "The report as CSV (UTF-8)"))
async def report_as_csv(campaign_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    body = report_csv(await _report(request, campaign_id, principal))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers=content_disposition(f"campaign-{campaign_id}.csv"))


@router.get("/pledges/{pledge_id}", response_model=schemas.PledgeOut,
            summary="A pledge's instalments: paid, due or overdue")
async def get_pledge(pledge_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    domain.ensure_official_or_collector(principal)
    async with reading(request) as uow:
        pledge = await uow.pledges.get(pledge_id)
        if pledge is None:
            raise NotFound("no such pledge")
        await load_campaign(uow, pledge["campaign_id"], principal, lock=False, not_found="no such pledge")
        rows = await uow.pledges.instalments(pledge_id)
    return json_response({
        "pledge_id": pledge_id, "campaign_id": pledge["campaign_id"], "team_id": pledge["team_id"],
        "total_vnd": pledge["total_vnd"],
        "instalments": [{"number": r["number"], "due_on": r["due_on"], "amount_vnd": r["amount_vnd"],
                         "status": domain.instalment_status(r["paid"], r["flagged_on"]),
                         "flagged_overdue_on": r["flagged_on"]} for r in rows],
    })


@router.get("/expenses/{expense_id}", response_model=schemas.ExpenseOut,
            summary="An expense: proposed or approved, with its invoice and the cameras it bought")
async def get_expense(expense_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        x = await uow.expenses.get(expense_id)
        if x is None:
            raise NotFound("no such expense")
        await load_campaign(uow, x["campaign_id"], principal, lock=False, not_found="no such expense")
    return json_response(_expense(x))


@router.get("/teams", response_model=schemas.TeamPage,
            summary="The teams of the caller's ward that donations knows (from the registry's events), with "
                    "their current members")
async def list_teams(request: Request, principal: CurrentPrincipal, page: Page,
                     group_id: Annotated[str | None, Query(max_length=64)] = None,
                     kind: Annotated[TeamKind | None, Query()] = None) -> Response:
    """What donations has learnt of the registry's teams: a client that has just formed a team or added a member
    in the registry waits here until donations knows it, before opening a campaign or collecting."""
    domain.ensure_official_or_collector(principal)
    async with reading(request) as uow:
        rows = await uow.teams.page(principal.ward_id, page, group_id=group_id, kind=kind)
    return json_response(TEAMS_BY_ID.page(rows, page, lambda r: {
        k: r[k] for k in ("team_id", "ward_id", "group_id", "kind", "name", "members")}))


@router.get("/groups/{group_id}", response_model=schemas.GroupOut,
            summary="A residential group as donations knows it: its households' count from the registry's events")
async def get_group(group_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    """404 until the first of the group's households has reached donations: a campaign's vote is checked against
    ``households``, so a client that has just registered households waits here for the count it expects."""
    async with reading(request) as uow:
        group = await uow.households.group(group_id)
    principal.ensure_reaches(group["ward_id"] if group else None,
                             "no households of this group have reached donations yet")
    assert group is not None
    return json_response(group)
