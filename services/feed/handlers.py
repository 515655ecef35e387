"""The feed service's use cases: subscribers and their API keys (by officials), and the authentication of a
subscriber (by the system, on every request of a subscriber: it refuses revoked keys and disabled subscribers at
once, and counts each use).

Each ``handle_<x>(cmd, uow, actor)`` loads through the unit of work, applies services/feed/domain.py's rules,
saves, audits and answers. No SQL, no HTTP.
"""

from __future__ import annotations

import hmac
import uuid
from typing import Any

from services.feed import commands as cmds
from services.feed import domain
from shared.actor import Principal
from shared.application import Created
from shared.asyncapi_public import public_event_types
from shared.errors import NotFound, RuleViolation, Unauthorized

Uow = Any
NO_SUBSCRIBER = "no such subscriber"


def subscriber_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("subscriber_id", "name", "wards", "event_types", "oauth_client_id", "status",
                                    "created_at", "disabled_at", "last_used_at", "use_count")}


def key_view(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("key_id", "created_at", "revoked_at", "last_used_at", "use_count")}


async def reachable(uow: Uow, actor: Principal, subscriber_id: str) -> dict[str, Any]:
    """The subscriber, if the caller could have granted all its wards; else 404, as if it did not exist."""
    domain.ensure_manager(actor)
    row = await uow.subscribers.get(subscriber_id)
    if row is None or not domain.reaches(actor, row):
        raise NotFound(NO_SUBSCRIBER)
    return row


def _audit(uow: Uow, row: dict[str, Any], details: dict[str, Any]) -> None:
    wards = row["wards"]
    uow.audit("subscriber", row["subscriber_id"], ward_id=wards[0] if len(wards) == 1 else None, details=details)


async def handle_create_subscriber(cmd: cmds.CreateSubscriber, uow: Uow, actor: Principal) -> Created:
    wards = sorted(set(cmd.wards))
    domain.ensure_may_grant(actor, wards)
    event_types = domain.check_event_types(cmd.event_types, public_event_types())
    row = {"subscriber_id": str(uuid.uuid4()), "name": cmd.display_name, "wards": wards,
           "event_types": event_types, "oauth_client_id": cmd.oauth_client_id, "created_by": actor.subject}
    await uow.subscribers.add(row)
    key = domain.new_key()
    await uow.keys.add(key.key_id, row["subscriber_id"], key.key_hash, actor.subject)
    _audit(uow, row, {"wards": wards, "event_types": event_types, "key_id": key.key_id})
    saved = await uow.subscribers.get(row["subscriber_id"])
    return Created({**subscriber_view(saved), "api_key": key.api_key, "key_id": key.key_id})


async def handle_issue_key(cmd: cmds.IssueKey, uow: Uow, actor: Principal) -> Created:
    row = await reachable(uow, actor, cmd.subscriber_id)
    if row["status"] != "active":
        raise RuleViolation("the subscriber is disabled: it gets no new key")
    key = domain.new_key()
    added = await uow.keys.add(key.key_id, row["subscriber_id"], key.key_hash, actor.subject)
    _audit(uow, row, {"issued_key_id": key.key_id})
    return Created({"subscriber_id": row["subscriber_id"], "key_id": key.key_id, "api_key": key.api_key,
                    "created_at": added["created_at"]})


async def handle_revoke_key(cmd: cmds.RevokeKey, uow: Uow, actor: Principal) -> dict[str, Any]:
    row = await reachable(uow, actor, cmd.subscriber_id)
    key = await uow.keys.get(cmd.key_id)
    if key is None or key["subscriber_id"] != row["subscriber_id"]:
        raise NotFound("no such key")
    await uow.keys.revoke(cmd.key_id)
    _audit(uow, row, {"revoked_key_id": cmd.key_id})
    return {"subscriber_id": row["subscriber_id"], **key_view(await uow.keys.get(cmd.key_id))}


async def handle_disable_subscriber(cmd: cmds.DisableSubscriber, uow: Uow, actor: Principal) -> dict[str, Any]:
    row = await reachable(uow, actor, cmd.subscriber_id)
    await uow.subscribers.disable(row["subscriber_id"])
    _audit(uow, row, {"status": "disabled"})
    return subscriber_view(await uow.subscribers.get(row["subscriber_id"]))


def _grant(row: dict[str, Any], key_id: str | None) -> dict[str, Any]:
    return {"subscriber_id": row["subscriber_id"], "wards": list(row["wards"]),
            "event_types": None if row["event_types"] is None else list(row["event_types"]), "key_id": key_id}


async def handle_authenticate_key(cmd: cmds.AuthenticateKey, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001 - the system's
    key = await uow.keys.get(cmd.key_id)
    if key is None or not hmac.compare_digest(bytes(key["key_hash"]).hex(), cmd.key_hash) or key["revoked_at"]:
        raise Unauthorized("invalid API key")
    row = await uow.subscribers.get(key["subscriber_id"])
    if row is None or row["status"] != "active":
        raise Unauthorized("invalid API key")
    await uow.keys.count_use(cmd.key_id)
    await uow.subscribers.count_use(row["subscriber_id"])
    return _grant(row, cmd.key_id)


async def handle_authenticate_client(cmd: cmds.AuthenticateClient, uow: Uow, actor: Principal) -> dict[str, Any]:  # noqa: ARG001 - the system's
    row = await uow.subscribers.by_client(cmd.oauth_client_id)
    if row is None or row["status"] != "active":
        raise Unauthorized("this OAuth client is not an active feed subscriber")
    await uow.subscribers.count_use(row["subscriber_id"])
    return _grant(row, None)


HANDLERS = {
    cmds.CreateSubscriber: handle_create_subscriber,
    cmds.IssueKey: handle_issue_key,
    cmds.RevokeKey: handle_revoke_key,
    cmds.DisableSubscriber: handle_disable_subscriber,
    cmds.AuthenticateKey: handle_authenticate_key,
    cmds.AuthenticateClient: handle_authenticate_client,
}
