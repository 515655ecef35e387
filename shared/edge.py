"""What every route of every service checks at the edge, before any of its own code runs, in this order:

1. the caller's bearer token, on every route that needs one - before the request body is read or parsed, so
   that a caller without a valid token learns nothing from validation errors (401, never 400/422 first);
2. text that PostgreSQL cannot store: a NUL character (``\\u0000``, ``%00``) in the path, the query, a header or
   any string (or key) of a JSON body, and lone UTF-16 surrogates (``"\\ud800"``) in a JSON body (422);

and the helpers routes share for what they copy from a request into a response: validated ward ids in paths
and ``Content-Disposition`` headers built per RFC 6266 / RFC 8187.

FastAPI reads and decodes a JSON body before it solves a route's dependencies, so a dependency cannot make
authentication come first; every route is an ``EdgeRoute`` instead, whose handler runs these checks after routing
(so it knows whether the route needs a token) and before FastAPI's own handler reads the body.
"""

from __future__ import annotations

import json
import re
import typing
import unicodedata
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import AsyncExitStack
from typing import Annotated, Any
from urllib.parse import quote, unquote_to_bytes

from fastapi import APIRouter, HTTPException, Path
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import solve_dependencies
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from shared.auth import CurrentPrincipal
from shared.errors import Unauthorized

# -- ward ids ----------------------------------------------------------------------------------------------------
#: A ward id is a lowercase ASCII slug (``phu-son``): it goes into URLs, file names and headers as it is.
WARD_PATTERN = r"^[a-z0-9][a-z0-9-]{1,63}$"
WardId = Annotated[str, Path(pattern=WARD_PATTERN, description="The ward's id, a lowercase slug (phu-son)",
                             examples=["phu-son"])]


# -- Content-Disposition -----------------------------------------------------------------------------------------
_NOT_FILENAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(filename: str, *, inline: bool = False) -> dict[str, str]:
    """A ``Content-Disposition`` header for a download (RFC 6266): an ASCII ``filename`` for old clients and the
    exact name as ``filename*=UTF-8''...`` (RFC 8187 percent-encoding). Nothing of ``filename`` reaches the header
    unencoded, so quotes, CR/LF and non-Latin-1 text (Vietnamese) cannot break it."""
    folded = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    ascii_name = _NOT_FILENAME_SAFE.sub("_", folded.encode("ascii", "ignore").decode()).strip("._") or "download"
    kind = "inline" if inline else "attachment"
    return {"Content-Disposition": f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"}


# -- text PostgreSQL cannot store ----------------------------------------------------------------------------------
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnstorableText(HTTPException):
    """Text PostgreSQL cannot store. An ``HTTPException`` so that FastAPI's body reading lets it through (it turns
    any other exception raised while reading the body into a 400); rendered as a 422 ``invalid-input`` problem."""

    def __init__(self, where: str, problem: str = "holds a NUL character or an unpaired surrogate, "
                                                  "which cannot be stored", kind: str = "unstorable_text") -> None:
        super().__init__(422, f"{where} {problem}")
        self.where, self.kind = where, kind


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _json_body_is_storable(body: bytes) -> bool:
    # NUL and surrogates reach Python only through a \u escape or raw surrogate bytes (json.loads decodes bytes
    # with "surrogatepass"); a raw NUL byte is invalid JSON and FastAPI refuses it. Most bodies skip the parse.
    if b"\\u" not in body and b"\xed" not in body:
        return True
    try:
        parsed = json.loads(body)
    except ValueError:
        return True  # not JSON: FastAPI answers with its own validation problem
    return not any(_UNSTORABLE.search(s) for s in _strings(parsed))


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def check_url_and_headers(scope: Scope) -> None:
    """Refuse (422) a NUL in the path, the query or a header."""
    if "\x00" in scope.get("path", ""):
        raise UnstorableText("the path")
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
        raise UnstorableText("the query")
    if any(b"\x00" in value for _, value in scope.get("headers", ())):
        raise UnstorableText("a header")


def _checking_receive(receive: Receive) -> Receive:
    """Passes the body through unchanged, and refuses it when its last chunk shows it unstorable. Nothing is read
    ahead of the route, so any body-size limit inside the route still applies first."""
    chunks: list[bytes] = []

    async def checked() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = b"".join(chunks)
                if not _json_body_is_storable(body):
                    raise UnstorableText("the body")
                try:  # FastAPI would answer a bare 400 "error parsing the body" (RFC 8259: JSON is UTF-8)
                    body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise UnstorableText("the body", f"is not valid UTF-8 (byte {exc.start}): JSON text must "
                                                     "be encoded in UTF-8", "invalid_utf8") from None
        return message

    return checked


# -- authentication first ------------------------------------------------------------------------------------------
_AUTHENTICATED = typing.get_args(CurrentPrincipal)[1].dependency
#: The dependencies that authenticate a caller: ``CurrentPrincipal``'s, and those a service adds (the feed's
#: subscribers, by API key) with ``authenticates``.
_AUTHENTICATORS: list[Callable[..., Any]] = [_AUTHENTICATED]


def authenticates(call: Callable[..., Any]) -> None:
    """Declare ``call`` an authentication dependency: a route that uses it authenticates before its body is read.
    It is solved twice per request (here and by the route), so it must remember its answer in ``request.state``."""
    if call not in _AUTHENTICATORS:
        _AUTHENTICATORS.append(call)


def _find(dependant: Dependant) -> Dependant | None:
    for sub in dependant.dependencies:
        if sub.call in _AUTHENTICATORS:
            return sub
        found = _find(sub)
        if found is not None:
            return found
    return None


class EdgeRoute(APIRoute):
    """A route whose handler first authenticates the caller (when the route needs it), then refuses text that
    cannot be stored, and only then lets FastAPI read and validate the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        found = _find(self.dependant)
        # solve_dependencies calls the dependencies *of* the dependant it is given: a root holding only the auth one.
        auth = Dependant(dependencies=[found], path=self.path) if found is not None else None

        async def guarded(request: Request) -> Response:
            if auth is not None:
                # The route's own authentication dependency, solved from the headers alone: it raises
                # Unauthorized (401) before anything reads the body. The route solves it again (a cheap check).
                async with AsyncExitStack() as stack:
                    solved = await solve_dependencies(request=request, dependant=auth, async_exit_stack=stack,
                                                      embed_body_fields=False)
                if solved.errors:  # a header the authentication needs is malformed: nobody is authenticated
                    raise Unauthorized("a bearer token is required")
            check_url_and_headers(request.scope)
            if _is_json(request.scope):
                request._receive = _checking_receive(request._receive)
            return await handler(request)

        return guarded


class RawBodyRoute(APIRoute):
    """A route that reads its body raw (a provider's webhook: its signature is over the exact bytes, and what cannot
    be stored is the route's to drop rather than the edge's to refuse): the path, the query and the headers are
    checked as at the edge, the body is not. ``guard_routes`` leaves it as it is."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            check_url_and_headers(request.scope)
            return await handler(request)

        return checked


def guard_routes(routers: Iterable[APIRouter]) -> None:
    """Make every route of ``routers`` an ``EdgeRoute``, before the app includes them (FastAPI builds an included
    route's handler from the route's own ``get_route_handler``)."""
    for router in routers:
        for route in router.routes:
            if type(route) is APIRoute:
                route.__class__ = EdgeRoute
