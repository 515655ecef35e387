"""Assisted intake (issue 17): ``POST /v1/incidents/assisted``, a team leader files a report for a resident of one of
their teams' groups. The rules are in ``handlers_assisted.py``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from services.incidents.commands import ReportForResident
from services.incidents.schemas import _Out
from shared.auth import CurrentPrincipal
from shared.commands import dispatch

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


class AssistedReceipt(_Out):
    incident_id: str
    state: str
    assisted: bool = Field(description="Always true: entered by a team leader for the resident who reports")


@router.post("/assisted", status_code=201, response_model=AssistedReceipt,
             summary="A team leader files a report for a resident of one of their teams' groups (never a crime tip)")
async def report_for_resident(body: ReportForResident, request: Request, principal: CurrentPrincipal) -> Response:
    # The leader runs it (and is audited as such); the resident is the reporter (handlers_assisted).
    return await dispatch(request, body, principal)
