"""What the service test suites share: a service's app on the real database (and a broker when asked), an HTTP
client on it, other services' events handed to its handlers, and the events it wrote to its outbox."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from shared.events import Event
from shared.settings import ServiceSettings
from tests.conftest import Database, settings_for


def client_for(app: FastAPI, base_url: str = "http://t") -> httpx.AsyncClient:
    """A client that runs requests in-process; a 500 comes back as a response (the problem body), not a raise."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url=base_url)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app served by uvicorn on a free port, for what the in-process transport cannot show (a streamed
    response, a body the server stops reading); its base URL. The lifespan is the test's to run."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(200):
            if server.started:
                break
            await asyncio.sleep(0.05)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def outbox_events(db: Database, service: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """The bodies of the events a service wrote to its outbox, in order (of one type, if given)."""
    rows = await db.fetch(service, "SELECT payload FROM outbox WHERE $1::text IS NULL OR event_type = $1 ORDER BY seq",
                          event_type)
    return [json.loads(bytes(r["payload"])) for r in rows]


@dataclass
class ServiceUnderTest:
    app: FastAPI
    client: httpx.AsyncClient
    db: Database
    service: str = ""
    handlers: dict[type[Event], Callable[..., Any]] = field(default_factory=dict)

    async def feed(self, *events: Event) -> None:
        """Hand other services' events to this service's handlers in one transaction, as its inbox consumer
        would (the Kafka path itself is covered by each service's flow test)."""
        async with self.app.state.runtime.pool.acquire() as conn, conn.transaction():
            for event in events:
                await self.handlers[type(event)](conn, event)

    async def outbox(self, event_type: str | None = None) -> list[dict[str, Any]]:
        return await outbox_events(self.db, self.service, event_type)


@asynccontextmanager
async def serve(
    build: Callable[[ServiceSettings], FastAPI],
    service: str,
    db: Database,
    started: Callable[..., Any],
    broker: Any = None,
    *,
    kind: type[ServiceUnderTest] = ServiceUnderTest,
    **overrides: object,
) -> AsyncIterator[ServiceUnderTest]:
    """The service's app, started without its Kafka consumer (a consumer group still joining makes every stop wait
    ~5 s on tansu); without a broker its events simply wait in the outbox."""
    app = build(settings_for(service, db, broker, **overrides))
    handlers = dict(app.state.runtime.handlers)
    app.state.runtime.handlers.clear()
    await started(app.state.runtime, wait_assigned=False)
    async with client_for(app, f"http://{service}") as client:
        yield kind(app, client, db, service, handlers)


def assert_indistinguishable(theirs: httpx.Response, their_id: str, unknown: httpx.Response, unknown_id: str) -> None:
    """Another ward's record and one that does not exist answer alike: the same status, the same problem (the ids,
    which the caller chose, aside), so that no id can be probed across wards."""
    def norm(r: httpx.Response, id_: str) -> tuple[int, str, str]:
        return r.status_code, r.headers.get("content-type", ""), r.text.replace(id_, "<id>")

    assert norm(theirs, their_id) == norm(unknown, unknown_id), (theirs.text, unknown.text)
    assert theirs.status_code in (404, 422) and theirs.headers["content-type"] == "application/problem+json"
