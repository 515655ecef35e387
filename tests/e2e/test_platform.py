"""The six services start as separate processes, answer on HTTP and describe their APIs and topics."""

from __future__ import annotations

import pytest

from shared.settings import SERVICES

pytestmark = pytest.mark.e2e


async def test_every_service_is_ready_with_their_api_and_event_docs(platform):
    for svc in SERVICES:
        async with platform.client(svc) as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 200, (svc, ready.text)
            assert ready.json()["checks"] == {"database": "ok", "schema": "ok", "broker": "ok"}
            openapi = (await client.get("/openapi.json")).json()
            assert openapi["info"]["title"] and openapi["paths"], svc
            spec = (await client.get("/asyncapi.json")).json()
            assert spec["asyncapi"].startswith("3."), svc
            assert (await client.get("/metrics")).status_code == 200
            assert (await client.get("/v1/definitely-not-a-route")).headers["content-type"] == "application/problem+json"
