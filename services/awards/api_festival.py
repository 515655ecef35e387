"""The festival's list (Ngày hội toàn dân bảo vệ an ninh Tổ quốc): who receives what from which issuer, with
the evidence behind each award, as JSON and as a printable PDF."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.awards import repository as repo
from services.awards.certificate import recipient_display, render_festival
from shared.auth import CurrentPrincipal, Role
from shared.commands import json_response
from shared.edge import WardId, content_disposition
from shared.openapi import media

router = APIRouter(prefix="/v1", tags=["festival"])

Year = Path(ge=2000, le=2100)


async def festival(conn: asyncpg.Connection, ward_id: str, year: int) -> dict[str, Any]:
    awards = [a for a in await repo.awards_of_year(conn, ward_id, year) if a["status"] == "granted"]
    achievements = {r["achievement_id"]: r for r in await repo.achievements(conn, ward_id, year)}
    rows = []
    for a in awards:
        rows.append({
            "award_id": a["award_id"], "recipient_kind": a["recipient_kind"], "recipient_ref": a["recipient_ref"],
            "recipient": recipient_display(a), "title": a["title"], "issuer": a["issuer"],
            "issuer_title": a["issuer_title"], "decision_number": a["decision_number"],
            "decision_date": a["decision_date"], "verification_code": a["verification_code"],
            "achievements": [
                {"achievement_id": aid, "kind": achievements[aid]["kind"], "count": achievements[aid]["count"],
                 "amount_vnd": achievements[aid]["amount_vnd"],
                 "evidence_event_ids": list(achievements[aid]["evidence_event_ids"] or [])}
                for aid in a["achievement_ids"] if aid in achievements
            ],
        })
    ward_name = await repo.name_of(conn, ward_id, "ward", ward_id) or ward_id
    return {"ward_id": ward_id, "ward_name": ward_name, "year": year, "awards": rows}


# The .pdf route comes first: {year} alone would also match "2024.pdf" and refuse it as not a number.
@router.get("/wards/{ward_id}/festival/{year}.pdf", response_class=Response, summary="The printable list",
            responses=media("application/pdf", "The festival's list, printable"))
async def festival_pdf(ward_id: WardId, request: Request, principal: CurrentPrincipal, year: int = Year) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)
    principal.ensure_ward(ward_id)
    async with request.app.state.runtime.pool.acquire() as conn:
        data = await festival(conn, ward_id, year)
    pdf = render_festival(data["ward_name"], year, data["awards"])
    return Response(content=pdf, media_type="application/pdf",
                    headers=content_disposition(f"ngay-hoi-{ward_id}-{year}.pdf", inline=True))


@router.get("/wards/{ward_id}/festival/{year}", summary="The festival's list of awards, with their evidence")
async def festival_json(ward_id: WardId, request: Request, principal: CurrentPrincipal, year: int = Year) -> Response:
    principal.require(Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)
    principal.ensure_ward(ward_id)
    async with request.app.state.runtime.pool.acquire() as conn:
        return json_response(await festival(conn, ward_id, year))
