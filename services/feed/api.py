"""HTTP routes of the feed service for officials: subscribers and their API keys.

Commands: decode the body and the path into a command and ``dispatch`` it (services/feed/handlers.py decides);
reads: one snapshot through the repositories, the caller's reach checked (another ward's subscriber answers as one
that does not exist)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.feed import commands, domain, schemas
from services.feed.handlers import NO_SUBSCRIBER, key_view, subscriber_view
from services.feed.repository import SUBSCRIBERS_BY_CREATION
from shared.actor import ALL_WARDS
from shared.auth import CurrentPrincipal
from shared.commands import dispatch, json_response, reading
from shared.errors import NotFound
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["subscribers"])


@router.post("/subscribers", status_code=201, summary="Register a subscriber and its first API key (shown once)",
             response_model=schemas.SubscriberCreatedOut)
async def create_subscriber(body: schemas.CreateSubscriberBody, request: Request,
                            principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.CreateSubscriber(**body.model_dump(by_alias=True)), principal)


@router.get("/subscribers", summary="The subscribers the caller may manage", response_model=schemas.SubscriberPage)
async def list_subscribers(request: Request, principal: CurrentPrincipal, page: Page) -> Response:
    domain.ensure_manager(principal)
    everyone = principal.can_access_ward(ALL_WARDS)  # a city official or admin for every ward
    async with reading(request) as uow:
        rows = await uow.subscribers.page(None if everyone else principal.ward_id, page)
    return json_response(SUBSCRIBERS_BY_CREATION.page(rows, page, subscriber_view))


@router.get("/subscribers/{subscriber_id}", summary="A subscriber with its keys (never the keys themselves)",
            response_model=schemas.SubscriberDetailOut)
async def get_subscriber(subscriber_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    domain.ensure_manager(principal)
    async with reading(request) as uow:
        row = await uow.subscribers.get(subscriber_id)
        if row is None or not domain.reaches(principal, row):
            raise NotFound(NO_SUBSCRIBER)
        keys = await uow.keys.of(subscriber_id)
    return json_response({**subscriber_view(row), "keys": [key_view(k) for k in keys]})


@router.post("/subscribers/{subscriber_id}/keys", status_code=201, response_model=schemas.NewKeyOut,
             summary="A new API key (rotation: the old ones stay valid until revoked)")
async def issue_key(subscriber_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.IssueKey(subscriber_id=subscriber_id), principal)


@router.post("/subscribers/{subscriber_id}/keys/{key_id}/revoke", response_model=schemas.RevokedKeyOut,
             summary="Revoke an API key: refused from the next request on")
async def revoke_key(subscriber_id: str, key_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.RevokeKey(subscriber_id=subscriber_id, key_id=key_id), principal)


@router.post("/subscribers/{subscriber_id}/disable", response_model=schemas.SubscriberOut,
             summary="Disable a subscriber: all its keys and its OAuth client are refused from the next request on")
async def disable_subscriber(subscriber_id: str, request: Request, principal: CurrentPrincipal) -> Response:
    return await dispatch(request, commands.DisableSubscriber(subscriber_id=subscriber_id), principal)
