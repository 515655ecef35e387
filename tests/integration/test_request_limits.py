"""Request bodies are refused over their route's limit before they are read, and JSON nesting is bounded.

Over real HTTP (uvicorn on a free port), because what matters is what the server reads from the socket: a client
streams a 200 MiB body from a generator, and the test counts how much of it the server ever took.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Body, FastAPI

from shared.http import create_app
from shared.limits import DRAIN_BYTES, BodyRefused, JsonDepthLimit
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from tests.conftest import auth, settings_for
from tests.harness import client_for, served
from tests.integration.probe import publisher_app

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
CHUNK = 64 * 1024
#: Whatever the server does not read stays in the kernel's socket buffers (a few MiB on loopback at most) or
#: in the generator; a server that read the body would consume all 200 MiB.
READ_AT_MOST = 32 * MiB


class Counted:
    """A request body streamed from a generator, counting what the client handed to the connection."""

    def __init__(self, total: int) -> None:
        self.total, self.sent = total, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"[" + b"1," * (CHUNK // 2 - 1) + b"1"  # any bytes: the limit comes first
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk


def _limits_app() -> tuple[FastAPI, dict[str, int]]:
    settings = ServiceSettings(service_name="registry", environment="test", database_url="postgresql://unused/x")
    runtime = ServiceRuntime(settings, description="limits")
    calls = {"nobody": 0}
    router = APIRouter()

    @router.post("/echo")
    async def echo(body: Any = Body()) -> dict[str, Any]:
        return {"received": body}

    @router.post("/small", max_body_size=1000)
    async def small(body: dict[str, Any]) -> dict[str, int]:
        return {"keys": len(body)}

    @router.post("/large", max_body_size=4 * MiB)
    async def large(body: dict[str, Any]) -> dict[str, int]:
        return {"length": len(body.get("text", ""))}

    @router.post("/nobody")
    async def nobody() -> dict[str, int]:
        calls["nobody"] += 1  # stands for a command that changes state: it must not run for a refused request
        return calls

    return create_app(runtime, [router], title="limits"), calls


def _assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 413 and body["type"].endswith("content-too-large")
    assert str(limit) in body["detail"]


async def _post_stream(client: httpx.AsyncClient, path: str, total: int, *, declare_length: bool,
                       headers: dict[str, str] | None = None) -> tuple[httpx.Response | None, int]:
    """POST a streamed body; the response, or None when the server closed the connection while the client was
    still sending (it refused the body and would not read the rest), and how much the client handed over."""
    content = Counted(total)
    headers = {"Content-Type": "application/json", **(headers or {})}
    if declare_length:
        headers["Content-Length"] = str(total)
    try:
        response = await client.post(path, content=content, headers=headers)
    except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
        return None, content.sent
    return response, content.sent


async def test_an_unauthenticated_200_mib_post_is_refused_without_being_read(probe_db, started):
    """Over a real socket: the server answers and closes; it never reads the 200 MiB."""
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        for declare_length in (True, False):
            for headers in ({}, auth("ward_official")):
                response, sent = await _post_stream(client, "/probe", 200 * MiB, declare_length=declare_length,
                                                    headers=headers)
                # the 413 reaches a client that reads while it writes; httpx writes the whole body first, so it
                # may see the connection closed instead - either way the server stopped reading
                if response is not None:
                    _assert_too_large(response, 1_048_576)
                    assert response.headers.get("connection") == "close"
                assert sent < READ_AT_MOST, f"the server read {sent} bytes of a 200 MiB body"
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM probe_state") == 0


async def test_a_200_mib_body_is_answered_413_after_reading_at_most_the_limit(probe_db, started):
    """In process (httpx's ASGI transport hands the app one chunk each time it asks): what the generator gave
    is exactly what the service read."""
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    async with client_for(app) as client:
        declared, declared_sent = await _post_stream(client, "/probe", 200 * MiB, declare_length=True)
        chunked, chunked_sent = await _post_stream(client, "/probe", 200 * MiB, declare_length=False,
                                                   headers=auth("ward_official"))
    assert declared is not None and chunked is not None
    _assert_too_large(declared, 1_048_576)
    _assert_too_large(chunked, 1_048_576)
    assert declared_sent == 0, "a declared length over the limit is refused before a byte is read"
    # the limit, then at most what is drained to keep the connection usable (DRAIN_BYTES), to the chunk
    assert chunked_sent <= 1_048_576 + DRAIN_BYTES + 2 * CHUNK, f"read {chunked_sent} bytes of a chunked body"
    assert await probe_db.fetchval("registry", "SELECT count(*) FROM probe_state") == 0


async def test_routes_declare_larger_or_smaller_limits_and_an_unread_body_is_still_refused():
    app, calls = _limits_app()
    # A fresh connection per request: after a refusal the server may close the connection it refused on, and a
    # pooled client could race that close with its next request (a ReadError that says nothing about the limits).
    fresh = httpx.Limits(max_keepalive_connections=0)
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=60, limits=fresh) as client:
        under_default = await client.post("/echo", json={"text": "x" * (MiB - 100)})
        over_default = await client.post("/echo", json={"text": "x" * (MiB + 100)})
        small_ok = await client.post("/small", json={"a": "x" * 900})
        small_over = await client.post("/small", json={"a": "x" * 1100})
        large_ok = await client.post("/large", json={"text": "x" * (3 * MiB)})
        large_over = await client.post("/large", json={"text": "x" * (4 * MiB)})
        nobody_ok = await client.post("/nobody")
        nobody_over = await client.post("/nobody", content=b"x" * (2 * MiB))
        chunked_small, chunked_sent = await _post_stream(client, "/small", 200 * MiB, declare_length=False)
    assert under_default.status_code == 200
    _assert_too_large(over_default, 1_048_576)
    assert small_ok.status_code == 200
    _assert_too_large(small_over, 1000)
    assert large_ok.status_code == 200 and large_ok.json() == {"length": 3 * MiB}
    _assert_too_large(large_over, 4 * MiB)
    assert nobody_ok.status_code == 200
    _assert_too_large(nobody_over, 1_048_576)
    assert calls["nobody"] == 1, "an endpoint ran for a request refused as too large"
    assert chunked_sent < READ_AT_MOST
    if chunked_small is not None:
        _assert_too_large(chunked_small, 1000)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("body", [
    _nested(33),
    b'{"a":' * 33 + b"1" + b"}" * 33,
    _nested(100_000),  # past the parser's recursion: must not reach it
    b'["\\"[[[", ' + _nested(33) + b"]",  # an escaped quote does not end the string; what follows counts
])
async def test_json_nested_too_deep_is_a_problem(body: bytes):
    app, _ = _limits_app()
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post("/echo", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "nested deeper than 32" in response.json()["detail"]


@pytest.mark.parametrize("body", [
    _nested(32),
    b'{"a":' * 31 + b'"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{"' + b"}" * 31,  # brackets in a string
    b'["\\\\", ' + _nested(31) + b"]",  # an escaped backslash, then the string ends
])
async def test_json_within_the_depth_limit_is_accepted(body: bytes):
    app, _ = _limits_app()
    async with served(app) as base, httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post("/echo", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text


async def _scan_in_chunks(chunks: list[bytes]) -> bool:
    """Feed the depth limit these receive messages, as a server would; True if it let the body through."""
    messages = [{"type": "http.request", "body": c, "more_body": n < len(chunks) - 1} for n, c in enumerate(chunks)]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["more_body"]:
            pass

    async def send(message: Any) -> None:
        raise AssertionError("nothing is sent")

    scope = {"type": "http", "headers": [(b"content-type", b"application/json; charset=utf-8")]}
    try:
        await JsonDepthLimit(inner, max_depth=32)(scope, receive, send)
    except BodyRefused as exc:
        assert exc.status_code == 422
        return False
    return True


async def test_depth_is_counted_across_chunk_boundaries():
    """The scanner keeps its state between the chunks of a streamed body (an escape split from its byte)."""
    deep = b'["a\\"b", ' + _nested(33) + b"]"
    fine = b'["a\\\\", "\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", ' + _nested(30) + b"]"
    for body, accepted in ((deep, False), (fine, True)):
        assert await _scan_in_chunks([body]) is accepted
        for i in range(1, len(body)):
            assert await _scan_in_chunks([body[:i], body[i:]]) is accepted, (body[:i], body[i:])
        assert await _scan_in_chunks([body[i:i + 1] for i in range(len(body))]) is accepted
