"""Fixtures of the awards tests: the service on a real database, other services' facts fed to its handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.awards.bootstrap import build
from tests.awards.seed import WARD
from tests.conftest import auth
from tests.harness import ServiceUnderTest, serve
from tests.integration.conftest import eventually, started  # noqa: F401 - fixtures re-exported

pytestmark = pytest.mark.integration

WARD_OFFICIAL = auth("ward_official", WARD)
CITY_OFFICIAL = auth("city_official", WARD)


class Service(ServiceUnderTest):
    """The awards service with the steps of an award: issuers and criteria, evaluation, review and approval."""

    async def configure(self, issuers: dict[str, dict], criteria: list[dict], year: int = 2024) -> None:
        for issuer, body in issuers.items():
            who = WARD_OFFICIAL if issuer == "ward_chairman" else CITY_OFFICIAL
            r = await self.client.post(f"/v1/wards/{WARD}/issuers/{issuer}", json=body, headers=who)
            assert r.status_code == 201, r.text
        for body in criteria:
            r = await self.client.post(f"/v1/wards/{WARD}/criteria", json={"year": year, **body}, headers=WARD_OFFICIAL)
            assert r.status_code == 201, r.text

    async def evaluate(self, year: int = 2024) -> list[dict[str, Any]]:
        r = await self.client.post(f"/v1/wards/{WARD}/nominations/evaluate", json={"year": year}, headers=WARD_OFFICIAL)
        proposed = r.json()["proposed"]
        assert r.status_code == (201 if proposed else 200), r.text  # 201 when it proposed nominations
        return proposed

    async def grant(self, nomination: dict[str, Any], number: str = "1/QĐ-UBND", on: str = "2024-08-10",
                    review: bool = True) -> dict:
        """Review by the council (unless done), then approval by the nomination's issuer."""
        nid = nomination["nomination_id"]
        if review:
            r = await self.client.post(f"/v1/nominations/{nid}/review", json={"council_minutes_ref": "BB 05/HĐTĐKT"},
                                       headers=WARD_OFFICIAL)
            assert r.status_code == 200, r.text
        who = WARD_OFFICIAL if nomination["issuer"] == "ward_chairman" else CITY_OFFICIAL
        r = await self.client.post(f"/v1/nominations/{nid}/approve",
                                   json={"decision_number": number, "decision_date": on}, headers=who)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
async def svc(db, started) -> AsyncIterator[Service]:  # noqa: F811
    """The service without a broker: its events wait in the outbox (the Kafka path is in test_festival)."""
    async with serve(build, "awards", db, started, kind=Service) as service:
        yield service
