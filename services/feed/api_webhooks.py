"""HTTP routes of webhooks, for subscribers (API key or OAuth client): create, list, read, pause, resume, rotate
the secret, the delivery log, redelivery. A callback URL is checked here (it is resolved: I/O the handler does
not do) and again by the worker before every delivery."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.feed import callbacks, domain
from services.feed import commands_webhooks as cmds
from services.feed import schemas_webhooks as schemas
from services.feed.access import CurrentSubscriber
from services.feed.handlers_webhooks import NO_SUCH_WEBHOOK, webhook_view
from services.feed.repository_webhooks import DELIVERIES, WEBHOOKS
from shared.actor import ALL_WARDS, Principal, Role
from shared.application import Command
from shared.commands import dispatch, json_response, reading
from shared.errors import NotFound
from shared.paging import Page

router = APIRouter(prefix="/v1", tags=["webhooks"])


def actor(subscriber: domain.Subscriber) -> Principal:
    """The subscriber as the actor of its commands (the audit trail and Idempotency-Key records name it)."""
    return Principal(subject=f"feed-subscriber:{subscriber.subscriber_id}", roles=frozenset({Role.FEED_SUBSCRIBER}),
                     ward_id=subscriber.wards[0] if len(subscriber.wards) == 1 else ALL_WARDS)


async def _run(request: Request, command: Command, subscriber: domain.Subscriber) -> Response:
    return await dispatch(request, command, actor(subscriber))


@router.post("/webhooks", status_code=201, response_model=schemas.WebhookCreatedOut,
             summary="Register a callback URL; its signing secret is shown once")
async def create_webhook(body: schemas.CreateWebhookBody, request: Request,  # type: ignore[valid-type]
                         subscriber: CurrentSubscriber) -> Response:
    await callbacks.check(body.url, allow_private=request.app.state.runtime.settings.feed_allow_private_callbacks)
    command = cmds.CreateWebhook(subscriber_id=subscriber.subscriber_id, **body.model_dump())
    return await _run(request, command, subscriber)


@router.get("/webhooks", response_model=schemas.WebhookPage, summary="The subscriber's webhooks")
async def list_webhooks(request: Request, subscriber: CurrentSubscriber, page: Page) -> Response:
    async with reading(request) as uow:
        rows = await uow.webhooks.page(subscriber.subscriber_id, page)
    return json_response(WEBHOOKS.page(rows, page, webhook_view))


async def _own(uow: object, subscriber: domain.Subscriber, webhook_id: str) -> dict:
    row = await uow.webhooks.get(webhook_id)  # type: ignore[attr-defined]
    if row is None or row["subscriber_id"] != subscriber.subscriber_id:
        raise NotFound(NO_SUCH_WEBHOOK)
    return row


@router.get("/webhooks/{webhook_id}", response_model=schemas.WebhookOut, summary="One webhook")
async def get_webhook(webhook_id: str, request: Request, subscriber: CurrentSubscriber) -> Response:
    async with reading(request) as uow:
        row = await _own(uow, subscriber, webhook_id)
    return json_response(webhook_view(row))


@router.post("/webhooks/{webhook_id}/pause", response_model=schemas.WebhookOut, summary="Stop delivering")
async def pause_webhook(webhook_id: str, request: Request, subscriber: CurrentSubscriber) -> Response:
    return await _run(request, cmds.PauseWebhook(subscriber_id=subscriber.subscriber_id, webhook_id=webhook_id),
                      subscriber)


@router.post("/webhooks/{webhook_id}/resume", response_model=schemas.WebhookOut,
             summary="Deliver again, from the held event")
async def resume_webhook(webhook_id: str, request: Request, subscriber: CurrentSubscriber) -> Response:
    return await _run(request, cmds.ResumeWebhook(subscriber_id=subscriber.subscriber_id, webhook_id=webhook_id),
                      subscriber)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=schemas.SecretOut,
             summary="A new signing secret, shown once")
async def rotate_secret(webhook_id: str, request: Request, subscriber: CurrentSubscriber) -> Response:
    command = cmds.RotateWebhookSecret(subscriber_id=subscriber.subscriber_id, webhook_id=webhook_id)
    return await _run(request, command, subscriber)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=schemas.DeliveryPage,
            summary="Every delivery attempt, newest first")
async def list_deliveries(webhook_id: str, request: Request, subscriber: CurrentSubscriber, page: Page) -> Response:
    async with reading(request) as uow:
        await _own(uow, subscriber, webhook_id)
        rows = await uow.webhooks.deliveries(webhook_id, page)
    return json_response(DELIVERIES.page(rows, page, _delivery_view))


def _delivery_view(row: dict) -> dict:
    return {k: row[k] for k in schemas.DeliveryOut.model_fields}


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", status_code=202,
             response_model=schemas.RedeliveryOut, summary="Send a delivery's event once more (logged)")
async def redeliver(webhook_id: str, delivery_id: str, request: Request, subscriber: CurrentSubscriber) -> Response:
    command = cmds.RedeliverWebhookDelivery(subscriber_id=subscriber.subscriber_id, webhook_id=webhook_id,
                                            delivery_id=delivery_id)
    response = await _run(request, command, subscriber)
    response.status_code = 202  # accepted: the worker sends it
    return response
