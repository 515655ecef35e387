"""The festival's list (Ngày hội toàn dân bảo vệ an ninh Tổ quốc): who receives what from which issuer, with
the evidence behind each award, as JSON and as a printable PDF."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.awards import domain, schemas
from services.awards.certificate import festival_document, render_festival
from shared.auth import CurrentPrincipal
from shared.commands import json_response, reading
from shared.edge import WardId, content_disposition
from shared.openapi import media

router = APIRouter(prefix="/v1", tags=["festival"])

Year = Path(ge=2000, le=2100)


async def _festival(request: Request, ward_id: str, year: int) -> dict[str, Any]:
    async with reading(request) as uow:
        awards = await uow.awards.granted_of_year(ward_id, year)  # a revoked award is not read out
        achievements = await uow.achievements.of_ward(ward_id, year=year)
        ward_name = await uow.directory.name_of(ward_id, "ward", ward_id) or ward_id
    return festival_document(ward_id, ward_name, year, awards, achievements)


# The .pdf route comes first: {year} alone would also match "2024.pdf" and refuse it as not a number.
@router.get("/wards/{ward_id}/festival/{year}.pdf", response_class=Response, summary="The printable list",
            responses=media("application/pdf", "The festival's list, printable"))
async def festival_pdf(ward_id: WardId, request: Request, principal: CurrentPrincipal, year: int = Year) -> Response:
    domain.ensure_official_of(principal, ward_id)
    data = await _festival(request, ward_id, year)
    pdf = render_festival(data["ward_name"], year, data["awards"])
    return Response(content=pdf, media_type="application/pdf",
                    headers=content_disposition(f"ngay-hoi-{ward_id}-{year}.pdf", inline=True))


@router.get("/wards/{ward_id}/festival/{year}", summary="The festival's list of awards, with their evidence",
            response_model=schemas.Festival)
async def festival_json(ward_id: WardId, request: Request, principal: CurrentPrincipal, year: int = Year) -> Response:
    domain.ensure_official_of(principal, ward_id)
    return json_response(await _festival(request, ward_id, year))
