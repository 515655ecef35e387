"""The use cases of webhooks: a subscriber creates, pauses, resumes its webhooks, rotates their secrets and asks
for a redelivery. The delivery itself is the worker's (delivery.py), not a command's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from services.feed import callbacks, domain, signing, webhooks
from services.feed import commands_webhooks as cmds
from services.feed.consumers import public_event_types
from shared.actor import Principal
from shared.application import Created
from shared.errors import NotFound, RuleViolation

Uow = Any  # services.feed.uow.FeedUnitOfWork, or the tests' fake
NO_SUCH_WEBHOOK = "no such webhook"


def webhook_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"webhook_id": row["webhook_id"], "url": row["url"], "status": row["status"],
            "paused_reason": row["paused_reason"], "wards": row["wards"], "event_types": row["event_types"],
            "failures": row["failures"], "next_attempt_at": row["next_attempt_at"] if row["failures"] else None,
            "created_at": row["created_at"]}


async def own(uow: Uow, subscriber_id: str, webhook_id: str) -> dict[str, Any]:
    """A webhook of this subscriber; another's answers as one that does not exist."""
    row = await uow.webhooks.get(webhook_id)
    if row is None or row["subscriber_id"] != subscriber_id:
        raise NotFound(NO_SUCH_WEBHOOK)
    return row


def _audit(uow: Uow, row: dict[str, Any], details: dict[str, Any]) -> None:
    uow.audit("webhook", row["webhook_id"], details={"subscriber_id": row["subscriber_id"], **details})


async def handle_create_webhook(cmd: cmds.CreateWebhook, uow: Uow, actor: Principal) -> Created:  # noqa: ARG001 - the subscriber is in the command
    subscriber = await uow.subscribers.get(cmd.subscriber_id)
    if subscriber is None or subscriber["status"] != "active":
        raise RuleViolation("the subscriber is disabled")
    wards = webhooks.narrowed(cmd.wards, list(subscriber["wards"]), "wards")
    event_types = webhooks.narrowed(domain.check_event_types(cmd.event_types, public_event_types()),
                                    subscriber["event_types"], "event_types")
    callbacks.parse(cmd.url)  # syntax; its addresses are checked by the route and before every delivery
    position = {"now": None, "beginning": 0}.get(cmd.start, -1)
    if position is None:
        position = await uow.feed.last_seq()
    elif position < 0:
        position = domain.decode_cursor(cmd.start)
    webhook_id = str(uuid.uuid4())
    secret = webhooks.new_secret()
    row = await uow.webhooks.add(webhook_id, cmd.subscriber_id, cmd.url, wards, event_types,
                                 signing.seal(uow.webhook_secrets, webhook_id, secret), position)
    _audit(uow, row, {"start": cmd.start if cmd.start in ("now", "beginning") else "cursor"})
    return Created({**webhook_view(row), "secret": secret})


async def handle_pause_webhook(cmd: cmds.PauseWebhook, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001
    row = await own(uow, cmd.subscriber_id, cmd.webhook_id)
    if row["status"] != webhooks.PAUSED:
        row = await uow.webhooks.set_status(row["webhook_id"], webhooks.PAUSED, "paused by the subscriber")
    _audit(uow, row, {"status": webhooks.PAUSED})
    return webhook_view(row)


async def handle_resume_webhook(cmd: cmds.ResumeWebhook, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001
    row = await own(uow, cmd.subscriber_id, cmd.webhook_id)
    row = await uow.webhooks.set_status(row["webhook_id"], webhooks.ACTIVE, None)
    _audit(uow, row, {"status": webhooks.ACTIVE})
    return webhook_view(row)


async def handle_rotate_secret(cmd: cmds.RotateWebhookSecret, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001
    row = await own(uow, cmd.subscriber_id, cmd.webhook_id)
    secret = webhooks.new_secret()
    until = datetime.now(UTC) + webhooks.SECRET_GRACE
    await uow.webhooks.set_secret(row["webhook_id"], signing.seal(uow.webhook_secrets, row["webhook_id"], secret),
                                  previous_until=until)
    _audit(uow, row, {"secret": "rotated"})
    return {"webhook_id": row["webhook_id"], "secret": secret, "previous_secret_valid_until": until}


async def handle_redeliver(cmd: cmds.RedeliverWebhookDelivery, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001
    row = await own(uow, cmd.subscriber_id, cmd.webhook_id)
    delivery = await uow.webhooks.delivery(row["webhook_id"], cmd.delivery_id)
    if delivery is None:
        raise NotFound("no such delivery")
    await uow.webhooks.request_redelivery(row["webhook_id"], delivery["seq"])
    _audit(uow, row, {"redeliver": cmd.delivery_id})
    return {"webhook_id": row["webhook_id"], "delivery_id": cmd.delivery_id, "event_id": delivery["event_id"],
            "status": "queued"}


HANDLERS = {
    cmds.CreateWebhook: handle_create_webhook,
    cmds.PauseWebhook: handle_pause_webhook,
    cmds.ResumeWebhook: handle_resume_webhook,
    cmds.RotateWebhookSecret: handle_rotate_secret,
    cmds.RedeliverWebhookDelivery: handle_redeliver,
}
