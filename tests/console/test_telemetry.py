"""The console's operations: /metrics by the services' names and labels, and one trace from a console click to
the service it calls (server span -> client span -> the service's server span), through a real OTLP receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from services.console.apis import Apis
from services.console.bootstrap import build
from shared.telemetry import tracer_provider
from tests.conftest import settings_for
from tests.console.conftest import csrf
from tests.console.fakes import CODE, PASSWORD, URLS, USERNAME
from tests.otlp_receiver import SPAN_KIND_CLIENT, SPAN_KIND_SERVER


def identity_service(services) -> FastAPI:
    """identity's routes as the fakes answer them, served by a FastAPI app instrumented as shared/http.py
    instruments every service: its server span continues the trace context the console sends."""
    app = FastAPI()
    seen: list[str | None] = []
    app.state.traceparents = seen

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str, request: Request):
        seen.append(request.headers.get("traceparent"))
        body = await request.body()
        answer = services.answer(httpx.Request(request.method, f"http://identity.test/{path}", content=body,
                                               headers=dict(request.headers)))
        return httpx_to_fastapi(answer)

    FastAPIInstrumentor.instrument_app(app, tracer_provider=tracer_provider(), exclude_spans=["receive", "send"])
    return app


def httpx_to_fastapi(answer: httpx.Response):
    from fastapi.responses import Response
    return Response(answer.content, status_code=answer.status_code,
                    media_type=answer.headers.get("content-type", "application/json"))


@pytest.fixture
async def traced_console(console_db, services) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    service = identity_service(services)
    fake = services.transport()

    class Route(httpx.AsyncBaseTransport):  # identity through the instrumented app, the rest from the fakes
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.host == "identity.test":
                return await httpx.ASGITransport(app=service).handle_async_request(request)
            return await fake.handle_async_request(request)

    app = build(settings_for("console", console_db, None), apis=Apis(URLS, transport=Route()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
        yield client, service


async def test_a_console_click_and_the_service_it_calls_are_one_trace(traced_console, otlp):
    client, service = traced_console
    page = await client.get("/sign-in")
    r = await client.post("/sign-in", data={"csrf_token": csrf(page.text), "username": USERNAME,
                                            "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in/code"
    assert service.state.traceparents and all(service.state.traceparents)

    for _ in range(100):
        spans = otlp.snapshot()
        if any(s.name == "POST /sign-in" for s in spans) and any(s.name == "POST /{path:path}" for s in spans):
            break
        await asyncio.sleep(0.05)
    click = next(s for s in spans if s.name == "POST /sign-in" and s.kind == SPAN_KIND_SERVER)
    call = next(s for s in spans if s.kind == SPAN_KIND_CLIENT and s.attributes.get("ward.target") == "identity")
    served = next(s for s in spans if s.name == "POST /{path:path}")
    assert call.trace_id == click.trace_id == served.trace_id  # one trace
    assert served.parent_span_id == call.span_id
    # what a service in its own process continues: the W3C header carries the console's trace and client span (in
    # this process the service's span is INTERNAL, a child of the current span; across processes it is SERVER)
    assert service.state.traceparents[0].startswith(f"00-{call.trace_id}-{call.span_id}-")
    assert call.attributes["http.request.method"] == "POST" and call.attributes["http.response.status_code"] == 200
    # nothing a person typed leaves in a span: no URL, no body
    assert not [s for s in spans if any(PASSWORD in str(v) or USERNAME in str(v) for v in s.attributes.values())]
    await client.post("/sign-in/code", data={"csrf_token": csrf(page.text), "code": CODE})


async def test_metrics_count_requests_by_route_template_and_calls_by_service(console):
    await console.get("/sign-in")
    await console.get("/dashboard")
    text = (await console.get("/metrics")).text
    assert 'ward_http_requests_total{method="GET",route="/sign-in",service="console",status="200"}' in text
    assert 'ward_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/dashboard",' in text
    assert "ward_console_api_calls_total" in text
