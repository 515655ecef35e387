"""Limits on what a request may make a service read: the body's size, and JSON nesting.

* ``BodyLimit`` (outermost of the service's middleware): a body over its route's limit is refused with 413
  before it is read - a declared ``Content-Length`` at once, a chunked body as soon as the bytes received pass
  the limit (Starlette's ``RequestBodyLimitMiddleware``). The default is the ``HTTP_MAX_BODY_BYTES`` setting;
  a route declares its own, larger or smaller, with FastAPI's ``max_body_size=`` in its decorator.
* ``declared_length_within_limit`` (a dependency of every route): an endpoint that takes no body never reads
  it, so the limit is checked on the declared length before such an endpoint runs (and commits anything).
* ``JsonDepthLimit``: a JSON body nested deeper than ``HTTP_MAX_JSON_DEPTH`` is refused while it streams in,
  before the parser sees it.

After a refusal the rest of the body is drained only when little is left (then the connection stays usable);
otherwise the response closes the connection, so the server does not go on reading what it refused.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import Request
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY, RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MiB = 1024 * 1024
#: What is read and thrown away after a refusal so that the connection can serve the next request; beyond it
#: (or after DRAIN_S) the connection is closed instead.
DRAIN_BYTES = 4 * MiB
DRAIN_S = 2.0


class BodyRefused(HTTPException):
    """A request body refused while it is received (before it is parsed): a problem of its own type.

    An ``HTTPException`` because FastAPI passes those through its body reading (any other error raised there
    becomes a bare 400)."""

    def __init__(self, status: int, title: str, detail: str, type_suffix: str) -> None:
        super().__init__(status_code=status, detail=detail)
        self.title, self.type_suffix = title, type_suffix


def too_large(limit: int | None) -> BodyRefused:
    return BodyRefused(413, "Content too large", f"the request body exceeds this route's limit of {limit} bytes",
                       "content-too-large")


async def declared_length_within_limit(request: Request) -> None:
    """Refuse a declared ``Content-Length`` over the route's limit before the endpoint runs."""
    limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    declared = request.headers.get("content-length")
    if limit is not None and declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isdigit() else None


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_size: int) -> None:
        self.app = RequestBodyLimitMiddleware(app, max_body_size=max_body_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received, more = 0, True
        declared = _declared_length(scope)
        replacing = False

        async def receive_counted() -> Message:
            nonlocal received, more
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                more = message.get("more_body", False)
            else:
                more = False
            return message

        async def drained() -> bool:
            """Read and discard the rest of a refused body if it is small; True when none is left."""
            nonlocal more
            # A route that accepts large bodies gets its limit's worth of draining too: a body just over 4 MiB sent to
            # a 4 MiB route is a client's honest mistake, and deserves the 413 rather than a reset connection.
            allowance = max(DRAIN_BYTES, (scope.get(MAX_BODY_SIZE_SCOPE_KEY) or 0) + 64 * 1024)
            if declared is not None and declared - received > allowance:
                return False
            budget, loop = allowance, asyncio.get_running_loop()
            deadline = loop.time() + DRAIN_S
            while more and budget >= 0:
                try:
                    message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
                except TimeoutError:
                    return False
                budget -= len(message.get("body", b""))
                more = message["type"] == "http.request" and message.get("more_body", False)
            return not more

        async def send_guarded(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start":
                if message["status"] == 413 and dict(message.get("headers", ())).get(
                        b"content-type", b"").startswith(b"text/plain"):
                    # Starlette answers a response begun while a declared length is over the limit itself, in
                    # plain text: make it a problem like every other refusal.
                    from shared.http import problem

                    refused = too_large(scope.get(MAX_BODY_SIZE_SCOPE_KEY))
                    response = problem(413, refused.title, str(refused.detail), refused.type_suffix, scope["path"])
                    message = {**message, "headers": response.raw_headers}
                    replacing = True
                    await send(_close_unless(message, await drained() if more else True))
                    await send({"type": "http.response.body", "body": response.body})
                    return
                if more and message["status"] >= 400:
                    message = _close_unless(message, await drained())
            elif replacing:
                return  # the plain-text body, already replaced
            await send(message)

        await self.app(scope, receive_counted, send_guarded)


def _close_unless(message: Message, body_consumed: bool) -> Message:
    if body_consumed:
        return message
    headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"connection"]
    return {**message, "headers": [*headers, (b"connection", b"close")]}


_JSON_STRUCTURE = re.compile(rb'[\\"\[\]{}]')
_BACKSLASH, _QUOTE, _OPENING, _CLOSING = ord("\\"), ord('"'), (ord("["), ord("{")), (ord("]"), ord("}"))


class JsonDepthLimit:
    """Refuse a JSON body nested deeper than ``max_depth`` while it streams in, before ``json.loads`` sees it.

    Counts brackets outside strings, chunk by chunk (a regular expression jumps over everything else), so the
    cost is linear and a body of a million ``[`` never reaches the parser's recursion."""

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        depth, in_string, escape_first = 0, False, False
        max_depth = self.max_depth

        async def receive_checked() -> Message:
            nonlocal depth, in_string, escape_first
            message = await receive()
            if message["type"] != "http.request":
                return message
            body: bytes = message.get("body", b"")
            escaped_at = 0 if escape_first else -1  # the byte after a backslash inside a string
            escape_first = False
            for match in _JSON_STRUCTURE.finditer(body):
                i = match.start()
                if i == escaped_at:
                    continue
                char = body[i]
                if in_string:
                    if char == _BACKSLASH:
                        escaped_at = i + 1
                        escape_first = escaped_at == len(body)  # it escapes the next chunk's first byte
                    elif char == _QUOTE:
                        in_string = False
                elif char == _QUOTE:
                    in_string = True
                elif char in _OPENING:
                    depth += 1
                    if depth > max_depth:
                        raise BodyRefused(422, "Invalid input", f"JSON nested deeper than {max_depth} levels",
                                          "invalid-input")
                elif char in _CLOSING:
                    depth -= 1
            return message

        await self.app(scope, receive_checked, send)


def _is_json(scope: Scope) -> bool:
    media = Headers(scope=scope).get("content-type", "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")
