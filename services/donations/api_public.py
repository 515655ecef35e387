"""Routes without a token (issue 16): a campaign's public transparency report (báo cáo công khai).

The report is what the ward posts on its notice board: the target, what was raised (by team and channel), what was
spent (by item), the balance, the in-kind gifts and the honour roll of the donors who chose a public name - never
a household, a resident or a collector. Anyone who has the campaign's id may read it without signing in; every
request is counted per client address (a keyed pseudonym whose counter is deleted when its window ends:
shared/ratelimit.py), so a flood answers 429. Nothing of the caller is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.donations import schemas
from services.donations.report import build_report, report_csv
from shared import ratelimit
from shared.commands import json_response, reading
from shared.edge import content_disposition
from shared.errors import NotFound
from shared.openapi import media

router = APIRouter(prefix="/v1/public", tags=["public"])

CampaignId = Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


async def public_report(request: Request, campaign_id: str) -> dict[str, Any]:
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, "public-report", limit=s.public_rate_limit, window_s=s.public_rate_window_s)
    async with reading(request) as uow:
        # One snapshot: the totals, the ledger and the expenses are read as of the same moment.
        campaign = await uow.campaigns.get(campaign_id, lock=False)
        if campaign is None:
            raise NotFound("no such campaign")
        team_ids = await uow.campaigns.team_ids(campaign_id)
        teams = await uow.teams.by_id(team_ids)
        return build_report(campaign, {t: (teams[t]["name"] if t in teams else None) for t in team_ids},
                            await uow.ledger.entries(campaign_id), await uow.expenses.approved(campaign_id))


@router.get("/campaigns/{campaign_id}/report", response_model=schemas.ReportOut,
            summary="A campaign's public transparency report (báo cáo công khai), JSON, without a token")
async def report(request: Request, campaign_id: str = CampaignId) -> Response:
    return json_response(await public_report(request, campaign_id))


@router.get("/campaigns/{campaign_id}/report.csv", summary="The public transparency report as CSV, without a token",
            response_class=Response, responses=media("text/csv", "The report as CSV (UTF-8)"))
async def report_as_csv(request: Request, campaign_id: str = CampaignId) -> Response:
    body = report_csv(await public_report(request, campaign_id))
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers=content_disposition(f"campaign-{campaign_id}.csv"))
