"""Running a state-changing HTTP command: one transaction for the change, its events (outbox), its audit
row and its idempotency record.

``Idempotency-Key`` (optional on every POST): the first response is stored with the change, in the same
transaction, sealed in the services that hold personal data (``shared.idempotency``); a repeat with the same key and body
returns that response and changes nothing; the same key with a different body is refused (422). Concurrent
repeats are serialised on the key. Records are deleted after ``IDEMPOTENCY_RETENTION_HOURS``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import Response

from shared import audit, idempotency
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput
from shared.jsonutil import dumps


@dataclass
class Outcome:
    """What a command handler returns: the response body and what it changed (for the audit trail)."""

    body: Any
    target_type: str
    target_id: str
    ward_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    status: int = 200


def _replay(runtime: object, row: asyncpg.Record, request_hash: str) -> Response:
    stored, body = row["request_hash"], bytes(row["response_body"])
    if row["sealed"]:
        try:
            stored, body = idempotency.unseal(runtime, row["principal"], row["key"], body)
        except Exception as exc:  # the key that sealed it is gone: never run the command a second time
            raise Conflict("the stored response of this Idempotency-Key can no longer be read; "
                           "check the outcome and use a new key") from exc
    if stored != request_hash:
        raise InvalidInput("this Idempotency-Key was already used for a different request")
    return Response(
        content=body,
        status_code=row["status_code"],
        media_type=row["content_type"],
        headers={"Idempotent-Replayed": "true"},
    )


async def execute(
    pool: asyncpg.Pool,
    request: Request,
    principal: Principal,
    command: str,
    handler: Callable[[asyncpg.Connection], Awaitable[Outcome]],
) -> Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 200):
        raise InvalidInput("Idempotency-Key must be 1 to 200 characters")
    runtime = request.app.state.runtime
    body_in = await request.body() if key else b""
    request_hash = idempotency.request_hash(request.method, request.url.path, body_in) if key else ""
    async with pool.acquire() as conn, conn.transaction():
        if key:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"idem:{principal.subject}:{key}")
            await conn.execute(  # a record past its retention is gone, whether or not the job has run yet
                "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 "
                "AND created_at < now() - make_interval(secs => $3)",
                principal.subject, key, float(runtime.settings.idempotency_retention_hours) * 3600,
            )
            row = await conn.fetchrow(
                "SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2", principal.subject, key
            )
            if row is not None:
                return _replay(runtime, row, request_hash)
        outcome = await handler(conn)
        await audit.record(
            conn,
            request.app.state.runtime.audit_keys,
            actor=principal.subject,
            actor_roles=[str(r) for r in principal.roles],
            ward_id=outcome.ward_id or principal.ward_id,
            command=command,
            target_type=outcome.target_type,
            target_id=str(outcome.target_id),
            details=outcome.details,
        )
        body = dumps(outcome.body).encode()
        if key:
            sealed = idempotency.seals(runtime)
            await conn.execute(
                "INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status_code, response_body, "
                "content_type, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, 'application/json', $8)",
                principal.subject, key, request.method, request.url.path, "" if sealed else request_hash,
                outcome.status, idempotency.seal(runtime, principal.subject, key, request_hash, body) if sealed else body,
                sealed,
            )
    return Response(content=body, status_code=outcome.status, media_type="application/json")


async def dispatch(request: Request, command: Any, principal: Principal) -> Response:
    """The HTTP adapter of every command: the service's ``Application`` runs it (with the request's
    ``Idempotency-Key``); 201 when it created something, 200 otherwise; a replay says so in a header."""
    application = request.app.state.runtime.application
    reply = await application.handle(command, principal, idempotency_key=request.headers.get("Idempotency-Key"))
    return Response(content=reply.body, status_code=201 if reply.created else 200, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"} if reply.replayed else None)


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response encoded like command responses (dates, UUIDs, Decimals), for read endpoints."""
    return Response(content=dumps(body).encode(), status_code=status, media_type="application/json")
