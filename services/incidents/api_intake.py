"""Reports in by SMS and Zalo (issue 17): the providers' webhooks.

``POST /v1/intake/sms`` (the SMS gateway: ``{message_id, from, to?, text}``, signed ``X-Signature`` over
``X-Timestamp`` + body, shared/channels.py) and ``POST /v1/intake/zalo`` (the Zalo OA webhook, event
``user_send_text``: ``{sender: {id}, message: {msg_id, text}, ...}``, signed ``X-ZEvent-Signature``). For each:

1. the signature, over the raw body, before anything else is read (401 otherwise); a channel that is not configured
   answers 404;
2. the provider's message id (the deduplication key) and the text, parsed (intake.py); what PostgreSQL cannot store
   (a NUL: a GSM gateway may hand on "@" as one) is dropped, not refused, so that the sender's message is not lost;
3. rate limits: per sender (a keyed pseudonym of the number, its counter deleted when its window ends) and, for the
   follow-up and the answer, per follow-up code (the buckets of ``POST /v1/follow-up``): 429;
4. the command, with the provider's message id (keyed-hashed: never stored in clear) as its Idempotency-Key: a
   redelivered webhook files nothing twice and gets the reply the first delivery made, which the idempotency record
   keeps sealed (for a tip: its follow-up code and secret, until IDEMPOTENCY_RETENTION_HOURS);
5. the reply, sent back to the sender through the gateway's ``send`` (the same key as the gateway's
   Idempotency-Key: a repeated send is one message). A send that may succeed later answers 503, so that the provider
   delivers the webhook again, which replays the command and sends again.

For an anonymous tip the sender's number (or Zalo id) lives only in this request: it is not in the command, the
incident, the audit row, the event, the idempotency record or a log line, and it is handed to the gateway's
``send`` as the reply's recipient only. These routes are ``shared.edge.RawBodyRoute``s: the edge's JSON check would refuse
a whole SMS for a NUL before its signature is even checked; only the path, query and headers are checked there.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from fastapi import APIRouter, Request, Response

from services.incidents import intake
from services.incidents.commands import AnswerPolice, Place, ReportByMessage, ReporterContact
from services.incidents.handlers import ANONYMOUS, REPORTER_PURPOSE
from services.incidents.handlers_messages import open_questions, text_of, tip_by_code
from services.incidents.schemas import IntakeReceipt
from shared import ratelimit
from shared.actor import ALL_WARDS, Principal, Role
from shared.channels import ChannelError, Outgoing, channels_from
from shared.commands import json_response
from shared.edge import RawBodyRoute
from shared.errors import InvalidInput, NotFound, ServiceUnavailable, Unauthorized

log = logging.getLogger(__name__)

#: A webhook is one text message: a few kilobytes. Larger is refused (413) before it is read.
MAX_WEBHOOK_BYTES = 64 * 1024
#: Where the message id is pseudonymised (the pseudonym key is never rotated: a redelivery maps to the same key).
MESSAGE_PURPOSE = "incidents/intake-message"


router = APIRouter(prefix="/v1/intake", tags=["intake"], route_class=RawBodyRoute)

_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}}


def _gateway(request: Request, channel: str) -> Any:
    """The channel's adapter (shared/channels.py), built once per app; None when the channel is not configured."""
    state = request.app.state
    if not hasattr(state, "intake_channels"):
        state.intake_channels = channels_from(request.app.state.runtime.settings)
    return state.intake_channels.get(channel)


# -- what the providers post --------------------------------------------------------------------------------------
def _json(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise InvalidInput("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the body is not a JSON object")
    return payload


def _field(value: Any, name: str, max_length: int) -> str:
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise InvalidInput(f"{name} is missing")
    value = str(value).strip()
    if len(value) > max_length or "\x00" in value:
        raise InvalidInput(f"{name} is not one the provider sends")  # never echoed: it may be a number
    return value


def _sms(payload: dict[str, Any]) -> tuple[str, str, str] | None:
    """(provider message id, sender, text) of the SMS gateway's webhook."""
    text = payload.get("text")
    if not isinstance(text, str):
        raise InvalidInput("text is missing")
    return _field(payload.get("message_id"), "message_id", 200), _field(payload.get("from"), "from", 32), text


def _zalo(payload: dict[str, Any]) -> tuple[str, str, str] | None:
    """(message id, sender's Zalo user id, text) of a ``user_send_text`` event; None for any other event (a follow,
    an image, a sticker: acknowledged, nothing filed)."""
    if payload.get("event_name") != "user_send_text":
        return None
    sender, message = payload.get("sender"), payload.get("message")
    if not isinstance(sender, dict) or not isinstance(message, dict) or not isinstance(message.get("text"), str):
        raise InvalidInput("a user_send_text event has sender.id, message.msg_id and message.text")
    return (_field(message.get("msg_id"), "message.msg_id", 200), _field(sender.get("id"), "sender.id", 64),
            message["text"])


# -- what each text does -----------------------------------------------------------------------------------------
async def _intake_ward(request: Request) -> tuple[str, str]:
    """The group (and its ward) a text is filed under."""
    runtime = request.app.state.runtime
    group_id = runtime.settings.incidents_intake_group_id
    if not group_id:
        raise ServiceUnavailable("reports by message are not configured (INCIDENTS_INTAKE_GROUP_ID)")
    async with runtime.application.read() as uow:
        group = await uow.projections.group(group_id)
    if group is None:
        raise ServiceUnavailable("the intake's residential group is not known yet (INCIDENTS_INTAKE_GROUP_ID)")
    return group_id, group["ward_id"]


async def _report(request: Request, channel: str, sender: str, found: intake.Inbound, key: str) -> tuple[str, bool]:
    runtime = request.app.state.runtime
    group_id, ward_id = await _intake_ward(request)
    facts = {"category": "other", "place": Place(group_id=group_id), "description": found.text, "channel": channel,
             "cut": found.cut}
    if found.kind == "tip":
        command = ReportByMessage(**facts, anonymous=True)
        actor = Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=ward_id)
    else:
        command = ReportByMessage(**facts, reporter=ReporterContact(full_name=found.name or ""), sender=sender)
        ref = runtime.pii.pseudonym(f"{channel}:{sender}", REPORTER_PURPOSE)
        actor = Principal(subject=f"reporter:{ref}", roles=frozenset({Role.RESIDENT}), ward_id=ward_id)
    reply = await runtime.application.handle(command, actor, idempotency_key=key)
    return reply.json()["reply"], reply.replayed


async def _follow_up(request: Request, found: intake.Inbound) -> str:
    runtime = request.app.state.runtime
    async with runtime.application.read() as uow:
        try:
            inc = await tip_by_code(uow, found.code or "", found.secret or "")
        except NotFound:
            return intake.PROBLEMS["not_found"]
        waiting = open_questions(await uow.tip_messages.all_of(inc["incident_id"]))
    return intake.follow_up_reply(inc["state"], [(n, text_of(runtime.pii, q)) for n, q in enumerate(waiting, 1)])


async def _answer(request: Request, found: intake.Inbound, key: str) -> tuple[str, bool]:
    runtime = request.app.state.runtime
    command = AnswerPolice(follow_up_code=found.code, secret=found.secret, text=found.text, reply_to_oldest=True)
    actor = Principal(subject=ANONYMOUS, roles=frozenset({Role.RESIDENT}), ward_id=ALL_WARDS)
    try:
        reply = await runtime.application.handle(command, actor, idempotency_key=key)
    except NotFound:
        return intake.PROBLEMS["not_found"], False
    return intake.answer_receipt(), reply.replayed


async def _inbound(request: Request, channel: str) -> Response:
    runtime = request.app.state.runtime
    gateway = _gateway(request, channel)
    if gateway is None:
        raise NotFound(f"the {channel} line is not configured")
    body = await request.body()
    try:
        if channel == "zalo":  # Zalo signs no time of sending: an event older than the deduplication's memory is
            # refused, so that a captured webhook replayed later files nothing (the SMS gateway's window is 5 min)
            gateway.verify_inbound(body, request.headers,
                                   max_age_s=runtime.settings.idempotency_retention_hours * 3600)
        else:
            gateway.verify_inbound(body, request.headers)
    except Exception:  # InvalidSignature, or anything a forged body makes the check trip on
        raise Unauthorized("the webhook's signature does not verify") from None
    parsed = (_sms if channel == "sms" else _zalo)(_json(body))
    if parsed is None:
        return json_response({"status": "ignored"})
    message_id, sender, raw = parsed
    s = runtime.settings
    # Per sender: a keyed pseudonym of the number, only ever in a rate-limit counter deleted when its window ends.
    await ratelimit.limit_buckets(runtime, [f"intake:{channel}:sender:{ratelimit.pseudonym(runtime, 'sender', sender)}"],
                                  limit=s.intake_rate_limit, window_s=s.intake_rate_window_s)
    found = intake.parse(raw)
    key = f"intake/{channel}/{runtime.pii.pseudonym(message_id, MESSAGE_PURPOSE)}"
    replayed = False
    if found.kind in ("follow_up", "answer"):
        await ratelimit.limit_buckets(runtime, [f"follow-up:code:{found.code}"], limit=s.public_rate_limit,
                                      window_s=s.public_rate_window_s)
    if found.kind in ("tip", "report"):
        text, replayed = await _report(request, channel, sender, found, key)
    elif found.kind == "follow_up":
        text = await _follow_up(request, found)
    elif found.kind == "answer":
        text, replayed = await _answer(request, found, key)
    elif found.kind == "help":
        text = intake.HELP
    else:
        text = intake.PROBLEMS.get(found.problem or "", intake.HELP)
    await _reply(gateway, channel, sender, text, key)
    return json_response({"status": "replayed" if replayed else "accepted"})


async def _reply(gateway: Any, channel: str, to: str, text: str, key: str) -> None:
    outgoing = Outgoing(to=to, subject="", text=intake.ascii_text(text) if channel == "sms" else text,
                        idempotency_key=hashlib.sha256(key.encode()).hexdigest()[:32])
    try:
        await gateway.send(outgoing)
    except ChannelError as exc:
        # Named by the failure only (never the recipient or the text).
        log.warning("intake reply not sent", extra={"channel": channel, "reason": exc.reason,
                                                    "retryable": exc.retryable})
        if exc.retryable:  # the provider delivers the webhook again: the command replays, the reply is sent again
            raise ServiceUnavailable("the reply could not be sent yet; deliver the webhook again") from None


_RESPONSES: dict[int | str, dict[str, Any]] = {401: {"description": "The signature does not verify"},
                                              404: {"description": "The channel is not configured"}}


@router.post("/sms", response_model=IntakeReceipt, openapi_extra=_BODY, max_body_size=MAX_WEBHOOK_BYTES,
             responses=_RESPONSES, summary="The SMS gateway's webhook: a text in (tip, report, follow-up, answer)")
async def sms_webhook(request: Request) -> Response:
    return await _inbound(request, "sms")


@router.post("/zalo", response_model=IntakeReceipt, openapi_extra=_BODY, max_body_size=MAX_WEBHOOK_BYTES,
             responses=_RESPONSES, summary="The Zalo OA webhook: a follower's text in (tip, report, follow-up, answer)")
async def zalo_webhook(request: Request) -> Response:
    return await _inbound(request, "zalo")

