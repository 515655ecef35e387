"""HTTP routes of the two-way anonymous messages (issue 17): the police of the ward ask an anonymous tipster a
question through the tip and read the answers; the tipster, with no token (the follow-up code and secret are the
proof), answers. The tipster reads the questions in the follow-up's answer (``POST /v1/follow-up``, api_police.py).
Handlers: handlers_messages.py."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.incidents import schemas
from services.incidents.commands import AnswerPolice, AskTipster
from services.incidents.handlers import ANONYMOUS
from services.incidents.handlers_messages import for_police
from services.incidents.intake import normal_code
from shared import ratelimit
from shared.actor import ALL_WARDS, Principal, Role
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.errors import InvalidInput
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["police work"])

#: Whom a tipster's answer runs (and is audited) as: nobody (the audit row carries the tip's ward).
TIPSTER = Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=ALL_WARDS)


@router.post("/incidents/{incident_id}/tip-messages", status_code=201, response_model=schemas.TipMessage,
             summary="Ask the anonymous tipster a question (police of the ward); they read it with their code")
async def ask_tipster(incident_id: str, body: schemas.TipQuestionIn, request: Request,
                      principal: CurrentPrincipal) -> Response:
    return await dispatch(request, AskTipster(incident_id=incident_id, text=body.text), principal)


@router.get("/incidents/{incident_id}/tip-messages", response_model=schemas.TipMessagePage,
            summary="The questions asked to the anonymous tipster and their answers, oldest first (police)")
async def list_tip_messages(incident_id: str, request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    principal.require(Role.POLICE)
    pii = request.app.state.runtime.pii
    async with reading(request) as uow:
        inc = await uow.incidents.get(incident_id)
        principal.ensure_reaches(inc["ward_id"] if inc else None, "no such incident")
        found = await uow.tip_messages.list(incident_id, page)
    return json_response({**found, "items": [for_police(pii, m) for m in found["items"]]})


@router.post("/follow-up/messages", status_code=201, response_model=schemas.TipsterMessageReceipt,
             summary="The anonymous tipster answers the police, or writes to them (code + secret, no token)")
async def answer_police(body: schemas.TipsterMessageIn, request: Request) -> Response:
    # No token is looked at: the code and the secret are the only proof. Counted with the follow-up read (the same
    # buckets, per address and per code), so that a code's secret is not guessed twice as fast on two routes.
    s = request.app.state.runtime.settings
    code = normal_code(body.code) or body.code.strip().upper()
    await ratelimit.limit(request, "follow-up", limit=s.public_rate_limit, window_s=s.public_rate_window_s,
                          code=code)
    command = AnswerPolice(follow_up_code=code, secret=body.secret, text=body.text, reply_to=body.reply_to)
    # Every tipster runs as the same "anonymous": an Idempotency-Key is scoped by the tip's code, so that two
    # tipsters' keys never meet (the reply it keeps holds ids only; the key's record is sealed like any other).
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 160:
        raise InvalidInput("Idempotency-Key must be 1 to 160 characters on this route (it is scoped by the code)")
    application = request.app.state.runtime.application
    reply = await application.handle(command, TIPSTER, idempotency_key=f"follow-up/{code}/{key}" if key else None)
    return Response(content=reply.body, status_code=201, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"} if reply.replayed else None)
