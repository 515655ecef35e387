"""Fixtures for the registry's tests: the real service on a fresh database (and a broker when a test asks)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.registry.bootstrap import build
from tests.conftest import auth
from tests.harness import serve
from tests.integration.conftest import eventually, started  # noqa: F401 - fixtures re-exported

pytestmark = pytest.mark.integration

WARD = "phu-son"


class Api:
    """An HTTP client of the registry that acts under a role of a ward."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(self, method: str, path: str, role: str | list[str] = "ward_official", ward: str = WARD,
                   json: Any = None, params: dict | None = None, headers: dict | None = None,
                   **claims: object) -> httpx.Response:
        return await self.client.request(method, path, json=json, params=params,
                                         headers={**auth(role, ward, **claims), **(headers or {})})

    async def ok(self, method: str, path: str, json: Any = None, role: str | list[str] = "ward_official",
                 **kw: Any) -> dict:
        r = await self.call(method, path, role=role, json=json, **kw)
        assert r.status_code in (200, 201), (r.status_code, r.text)
        return r.json()

    # a few builders, so each test reads as the situation it sets up
    async def ward(self, ward: str = WARD, name: str = "Phường Phú Sơn") -> dict:
        return await self.ok("POST", "/v1/wards", {"ward_id": ward, "name": name, "city": "Thanh Hóa"},
                             role="admin", ward="*")

    async def group(self, name: str = "Tổ dân phố Trần Phú", ward: str = WARD) -> dict:
        return await self.ok("POST", "/v1/groups", {"ward_id": ward, "name": name}, ward=ward)

    async def household(self, group_id: str, ward: str = WARD) -> dict:
        return await self.ok("POST", "/v1/households", {"group_id": group_id, "address": f"{uuid.uuid4().hex[:4]} Trần Phú"},
                             ward=ward)

    async def resident(self, household_id: str, name: str = "Nguyễn Văn An", sex: str = "male", ward: str = WARD,
                       **extra: Any) -> dict:
        return await self.ok("POST", "/v1/residents", {"household_id": household_id, "full_name": name, "sex": sex,
                                                         **extra}, ward=ward)

    async def team(self, group_id: str, kind: str, name: str) -> dict:
        return await self.ok("POST", "/v1/teams", {"group_id": group_id, "kind": kind, "name": name,
                                                     "formed_on": "2024-01-15", "formation_act": "QĐ 12/QĐ-UBND"})

    async def member(self, team_id: str, resident_id: str, role: str = "member") -> dict:
        return await self.ok("POST", f"/v1/teams/{team_id}/members", {
            "resident_id": resident_id, "role": role, "appointed_on": "2024-02-01"})


@pytest.fixture
async def registry(db, broker, started) -> AsyncIterator[tuple[Api, Any]]:  # noqa: F811
    """The registry on a real broker, without its consumer: these tests read the outbox. The consumer is tested in
    test_tran_phu_seed."""
    async with serve(build, "registry", db, started, broker) as svc:
        yield Api(svc.client), svc.app.state.runtime


async def outbox_types(db) -> list[str]:
    """The domain events in the outbox, in order (the audit chain's heads, published on a timer, left out)."""
    rows = await db.fetch("registry", "SELECT event_type FROM outbox WHERE event_type <> 'registry.audit.head-published.v1' "
                                      "ORDER BY seq")
    return [r["event_type"] for r in rows]


async def outbox_payloads(db) -> list[bytes]:
    return [bytes(r["payload"]) for r in await db.fetch("registry", "SELECT payload FROM outbox ORDER BY seq")]
