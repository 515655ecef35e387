"""The HTTP adapter of commands: a route builds a ``shared.application.Command`` from its request and the caller,
and ``dispatch`` runs it through the service's ``Application`` with the request's ``Idempotency-Key``.

``Idempotency-Key`` (optional on every POST): the first reply is stored with the change, in the same transaction,
sealed in the services that hold personal data (``shared.idempotency``); a repeat of the same command (compared in
canonical form) returns that reply and changes nothing; the same key for another command is refused (422).
Concurrent repeats are serialised on the key. Records are deleted after ``IDEMPOTENCY_RETENTION_HOURS``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from shared.auth import Principal
from shared.jsonutil import dumps


async def dispatch(request: Request, command: Any, principal: Principal) -> Response:
    """The HTTP adapter of every command: the service's ``Application`` runs it (with the request's
    ``Idempotency-Key``); 201 when it created something, 200 otherwise; a replay says so in a header."""
    application = request.app.state.runtime.application
    reply = await application.handle(command, principal, idempotency_key=request.headers.get("Idempotency-Key"))
    return Response(content=reply.body, status_code=201 if reply.created else 200, media_type="application/json",
                    headers={"Idempotent-Replayed": "true"} if reply.replayed else None)


def reading(request: Request) -> Any:
    """A read-only unit of work of the service (one snapshot for a whole read): ``async with reading(request) as
    uow:`` then the repositories; a read route does nothing else with storage."""
    return request.app.state.runtime.application.read()


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response encoded like command responses (dates, UUIDs, Decimals), for read endpoints."""
    return Response(content=dumps(body).encode(), status_code=status, media_type="application/json")
