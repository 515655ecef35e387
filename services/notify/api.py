"""HTTP routes of the notify service: the signed-in person's own in-app inbox, contact points and preferences,
and the statuses of their deliveries. The person is the token's ``sub``; nobody reads another's.

Commands go through ``dispatch`` (services/notify/handlers.py decides); reads take one snapshot. A contact point's
code is sent through the channel's adapter (shared/channels.py) after the command commits; sending codes is rate
limited per person and per client address.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.notify import commands, domain, schemas, timing
from services.notify.handlers import contact_view, delivery_view, notification_view
from services.notify.repository import DELIVERY_ORDER, INBOX_ORDER
from shared import ratelimit
from shared.auth import CurrentPrincipal
from shared.channels import ChannelError
from shared.commands import dispatch, json_response, reading
from shared.errors import InvalidInput, RuleViolation, ServiceUnavailable
from shared.paging import Page

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["notifications"])
contacts_router = APIRouter(prefix="/v1", tags=["contacts and preferences"])
Channel = Annotated[str, Path(pattern=r"^(email|sms|zalo)$", description="email, sms or zalo")]
Kind = Annotated[str, Path(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64, description="a kind of notification")]


# -- the inbox ------------------------------------------------------------------------------------------------------
@router.get("/notifications", summary="My notifications, newest first", response_model=schemas.NotificationPage)
async def list_notifications(request: Request, principal: CurrentPrincipal, page: Page,
                             unread: Annotated[bool, Query(description="only those not read yet")] = False
                             ) -> Response:
    async with reading(request) as uow:
        rows = await uow.notifications.page(principal.subject, unread, page)
    return json_response(INBOX_ORDER.page(rows, page, notification_view))


@router.get("/notifications/unread-count", summary="How many of my notifications are unread",
            response_model=schemas.CountOut)
async def unread_count(request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        return json_response({"count": await uow.notifications.unread_count(principal.subject)})


@router.post("/notifications/read-all", summary="Mark all my notifications read", response_model=schemas.MarkedOut)
async def read_all(request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.ReadAll(), principal)


@router.post("/notifications/{notification_id}/read", summary="Mark one of my notifications read",
             response_model=schemas.NotificationOut)
async def mark_read(notification_id: Annotated[str, Path(max_length=64)], request: Request,
                    principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.MarkRead(notification_id=notification_id), principal)


@router.get("/deliveries", summary="The statuses of my deliveries (of one notification, if given)",
            response_model=schemas.DeliveryList)
async def list_deliveries(request: Request, principal: CurrentPrincipal, page: Page,
                          notification_id: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    async with reading(request) as uow:
        rows = await uow.deliveries.page(principal.subject, notification_id, page)
    return json_response(DELIVERY_ORDER.page(rows, page, delivery_view))


# -- contact points -------------------------------------------------------------------------------------------------
def _sealer(request: Request) -> Any:
    return request.app.state.notify_config.sealer


@contacts_router.get("/contacts", summary="My contact points (a hint of each address, never the address); at most "
                     "one per channel, so never more than one page", response_model=schemas.ContactList)
async def list_contacts(request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        rows = await uow.contacts.of(principal.subject)
    # The platform's one shape of a list ({items, next_cursor}, never a bare array); three channels at most.
    return json_response({"items": [contact_view(r, _sealer(request)) for r in rows], "next_cursor": None})


async def send_code(request: Request, channel: str, address: str, code: str, key: str) -> None:
    """The code, through the channel's adapter (shared/channels.py). Nothing logs the address or the text."""
    sender = request.app.state.notify_senders.get(channel)
    if sender is None:  # the platform does not offer this channel: the person's choice to change, not an outage
        raise RuleViolation(f"this platform does not send by {channel}; choose another channel")
    outgoing = request.app.state.notify_outgoing
    subject, text = domain.code_message(code)
    try:
        await sender.send(outgoing(to=address, subject=subject, text=text, idempotency_key=key))
    except Exception as exc:  # the adapter's ChannelError, a timeout: the person asks again
        # what the channel said (a status, a code) or the exception's type: never its text, which may hold the address
        log.warning("verification code not sent", extra={
            "channel": channel, "error": exc.reason if isinstance(exc, ChannelError) else type(exc).__name__})
        raise ServiceUnavailable(f"the {channel} provider did not take the code; try again later") from exc


@contacts_router.put("/contacts/{channel}", status_code=202, response_model=schemas.ContactOut,
                     summary="Set my address for a channel: a 6-digit code is sent to it (verify it to receive)")
async def put_contact(channel: Channel, body: schemas.ContactIn, request: Request,
                      principal: CurrentPrincipal) -> Response:
    if channel not in request.app.state.notify_senders:  # refused before anything is stored
        raise RuleViolation(f"this platform does not send by {channel}; choose another channel")
    s = request.app.state.runtime.settings
    await ratelimit.limit(request, "contact-code", limit=s.notify_verify_rate_limit, window_s=3600,
                          code=principal.subject)
    application = request.app.state.runtime.application
    result = await application.run(commands.PutContact(channel=channel, address=body.address), principal)
    await send_code(request, channel, result["address"], result["code"],
                    f"verify:{principal.subject}:{channel}:{domain.code_digest(principal.subject, channel, result['code']).hex()[:16]}")
    return json_response({k: result[k] for k in ("channel", "address_hint", "verified")}, status=202)


@contacts_router.post("/contacts/{channel}/verify", response_model=schemas.ContactOut,
                      summary="Verify my address with the code sent to it")
async def verify_contact(channel: Channel, body: schemas.CodeIn, request: Request,
                         principal: CurrentPrincipal) -> Response:
    application = request.app.state.runtime.application
    result = await application.run(commands.VerifyContact(channel=channel, code=body.code), principal)
    if result.get("wrong_code"):
        raise InvalidInput("wrong code", extra={"attempts_left": result["attempts_left"]})
    return json_response(result)


@contacts_router.delete("/contacts/{channel}", response_model=schemas.ContactDeletedOut,
                        summary="Remove my address for a channel")
async def delete_contact(channel: Channel, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.DeleteContact(channel=channel), principal)


# -- preferences ----------------------------------------------------------------------------------------------------
@contacts_router.get("/preferences", summary="My preferences per kind (defaults where I set none), quiet hours",
                     response_model=schemas.PreferencesOut)
async def get_preferences(request: Request, principal: CurrentPrincipal) -> Response:
    async with reading(request) as uow:
        mine = await uow.preferences.of(principal.subject)
    kinds = [mine.get(kind) or domain.default_preference(kind) for kind in domain.KINDS]
    config = request.app.state.notify_config
    return json_response({"kinds": kinds, "quiet_hours": {"start": timing.QUIET_START.strftime("%H:%M"),
                                                          "end": timing.QUIET_END.strftime("%H:%M"),
                                                          "timezone": config.timezone}})


@contacts_router.put("/preferences/{kind}", response_model=schemas.PreferenceOut,
                     summary="Set by which channels I receive a kind, and whether in the daily digest")
async def put_preference(kind: Kind, body: schemas.PreferenceIn, request: Request,
                         principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.SetPreference(kind=kind, channels=body.channels, digest=body.digest),
                          principal)
