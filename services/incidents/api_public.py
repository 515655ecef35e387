"""Routes without a token (issue 16): an anonymous tip, and the residential groups a tip can name.

Nobody signs in to tip the police off. The ward is the one of the residential group the tip names; the tip runs as
``handlers.reporter_actor``'s anonymous reporter (nothing of the caller reaches the database, the audit trail, the
logs or the traces), and every route is counted per client address (a keyed pseudonym whose counter is deleted when
its window ends: shared/ratelimit.py), so a flood answers 429. The follow-up (code + secret) is in api_police.py.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import Field

from services.incidents import schemas
from services.incidents.commands import Attachment, Place, ReportIncident
from services.incidents.handlers import ANONYMOUS
from shared import ratelimit
from shared.actor import Principal, Role
from shared.commands import dispatch, json_response, reading
from shared.contracts.incidents import Category
from shared.errors import InvalidInput
from shared.paging import Page

router = APIRouter(prefix="/v1/public", tags=["public"])


class AnonymousTip(schemas._Value):
    """What an anonymous tip is made of: the report's facts, without a reporter."""

    category: Category
    is_crime_tip: bool = Field(default=False, description="A crime tip (tố giác tội phạm) runs a 20-day deadline")
    place: Place
    happened_at: datetime | None = None
    description: str = Field(min_length=5, max_length=5000)
    evidence: list[Attachment] = Field(default_factory=list, max_length=20)


async def _within_limits(request: Request, scope: str) -> None:
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, scope, limit=s.public_rate_limit, window_s=s.public_rate_window_s)


@router.post("/tips", status_code=201, response_model=schemas.ReportReceipt,
             summary="An anonymous tip, without a token (the follow-up code and secret are shown once)")
async def anonymous_tip(body: AnonymousTip, request: Request) -> Response:
    if request.headers.get("Idempotency-Key"):
        # A replay would have to return the secret, which is never stored: refuse rather than half-protect.
        raise InvalidInput("an anonymous tip takes no Idempotency-Key: its reply holds a secret that is not kept")
    await _within_limits(request, "anonymous-tip")
    async with reading(request) as uow:
        group = await uow.projections.group(body.place.group_id)
    if group is None:
        raise InvalidInput(f"unknown residential group {body.place.group_id!r}")
    command = ReportIncident(**body.model_dump(), anonymous=True)
    # The anonymous reporter of the group's ward: the same principal a resident's anonymous tip runs as.
    actor = Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=group["ward_id"])
    return await dispatch(request, command, actor)


@router.get("/groups", response_model=schemas.PublicGroupPage,
            summary="The residential groups a tip can name (id, name, ward), by ward and name")
async def public_groups(request: Request, page: Page, ward_id: str | None = None) -> Response:
    await _within_limits(request, "public-read")
    async with reading(request) as uow:
        return json_response(await uow.projections.groups(page, ward_id=ward_id))
