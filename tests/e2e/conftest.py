"""The platform as it runs: the service processes on the embedded stack, exporting traces over OTLP."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.devstack.stack import ServiceProcess, TansuBroker, create_topics, free_port, service_env
from shared.settings import SERVICES, WEB_SERVICES
from tests.conftest import Database, make_database
from tests.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.e2e


@dataclass
class Platform:
    db: Database
    broker: TansuBroker
    otlp: OtlpReceiver
    processes: dict[str, ServiceProcess]
    logs: Path

    def url(self, service: str) -> str:
        return self.processes[service].base_url

    def client(self, service: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url(service), timeout=30)

    def start_service(self, service: str, **env: str) -> ServiceProcess:
        # Every browser test signs in from one address (the loopback) on this one platform: the per-address limits
        # of sign-in and of the public routes (tested on their own in tests/identity, tests/incidents) are lifted.
        env = {"SIGN_IN_RATE_LIMIT": "100000", "PUBLIC_RATE_LIMIT": "100000", **env}
        p = ServiceProcess(service, service_env(service, self.db.admin_url, self.broker.bootstrap, port=free_port(),
                                                data_dir=self.logs,  # evidence files (issue 18) in <logs>/evidence
                                                ENVIRONMENT="test", OTEL_EXPORTER_OTLP_ENDPOINT=self.otlp.endpoint, **env),
                           self.logs / f"{service}-{len(self.processes)}.log").start()
        return p

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


@asynccontextmanager
async def running_platform(admin_url: str) -> AsyncIterator[Platform]:
    """Every service as a process on a fresh database and a fresh broker, exporting traces to a real OTLP receiver."""
    db = await make_database(admin_url)
    broker = TansuBroker().start()
    await create_topics(broker.bootstrap)
    otlp = OtlpReceiver().start()
    logs = Path(tempfile.mkdtemp(prefix="ward-e2e-logs-"))
    plat = Platform(db, broker, otlp, {}, logs)

    async def start_ready(svc: str, **env: str) -> None:
        # free_port() hands out a port from the ephemeral range: another process's outgoing connection can take it
        # before the service binds it (the console once lost its port to one: "address already in use"). Such a
        # start is tried again on another port; any other failure stands.
        for attempt in range(3):
            plat.processes[svc] = p = plat.start_service(svc, **env)
            try:
                await asyncio.to_thread(p.wait_ready, 90)
                return
            except RuntimeError:
                log = p.log_path.read_text(errors="replace") if p.log_path else ""
                if attempt == 2 or "address already in use" not in log:
                    raise

    try:
        await asyncio.gather(*(start_ready(svc) for svc in SERVICES))
        api_urls = json.dumps({svc: plat.url(svc) for svc in SERVICES})
        for svc in WEB_SERVICES:  # the console, calling the services where they listen (known once they are up)
            await start_ready(svc, CONSOLE_API_URLS=api_urls)
        yield plat
    finally:
        for p in plat.processes.values():
            p.stop()
        plat.broker.stop()
        otlp.stop()
        if os.environ.get("KEEP_E2E_LOGS"):
            print(f"e2e logs kept in {logs}")


# Package scope: the platform stops when the last e2e test is done, before the fault suite starts its own.
@pytest.fixture(scope="package")
async def platform(pg_server) -> AsyncIterator[Platform]:
    async with running_platform(pg_server.admin_url) as plat:
        yield plat


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 60.0, interval: float = 0.25) -> object:
    deadline = asyncio.get_running_loop().time() + timeout
    last: object = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except (AssertionError, httpx.HTTPError, KeyError, IndexError) as exc:
            last = exc
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not met within {timeout}s; last: {last!r}")
        await asyncio.sleep(interval)


@pytest.fixture(scope="package")
async def replayed(platform: Platform):
    """The seed article replayed once through the platform's HTTP APIs (``make demo``), shared by the e2e tests
    that check what the replay caused: the flows' traces, the public topic."""
    from demo.config import Config
    from demo.run import run_demo

    lines: list[str] = []
    result = await run_demo(Config(urls={svc: platform.url(svc) for svc in SERVICES}, timeout=90), say=lines.append)
    assert result.ok, "\n".join(lines)
    result.output = lines  # what `make demo` printed, for the tests that read it
    return result
