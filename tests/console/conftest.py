"""The console in-process, on its own schema of a fresh database, calling the fake services of fakes.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from services.console.apis import Apis
from services.console.bootstrap import build
from tests.conftest import Database, make_database, settings_for
from tests.console.fakes import URLS, FakeServices


@pytest.fixture(scope="module")
async def console_db(pg_server) -> Database:
    return await make_database(pg_server.admin_url, ("console",))


@pytest.fixture
def services() -> FakeServices:
    return FakeServices()


@pytest.fixture
async def console(console_db, services) -> AsyncIterator[httpx.AsyncClient]:
    app = build(settings_for("console", console_db, None),
                apis=Apis(URLS, transport=services.transport()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
        client.headers["accept-language"] = "vi"
        yield client


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
