"""Fixtures of the incidents tests: the service app on a real database (and broker when a test asks), and the
registry facts (groups, teams, cameras) seeded through the service's own consumers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest

from services.incidents.bootstrap import build
from services.incidents.consumers import HANDLERS as EVENT_HANDLERS
from services.incidents.uow import IncidentsUnitOfWork
from shared.actor import SYSTEM
from shared.application import PgContext
from shared.contracts.registry import FacilityDecommissioned, FacilityRegistered, GroupCreated, TeamFormed
from shared.db import _init_connection
from tests.application import TEST_AUDIT_KEYS
from tests.conftest import settings_for
from tests.incidents.fakes import dev_protector
from tests.integration.conftest import eventually, started  # noqa: F401 - fixtures for this package

WARD = "phu-son"
GROUP = "g-tran-phu"
OTHER_GROUP = "g-le-loi"
MEDIATION_TEAM = "t-hoa-giai-tran-phu"
ANXH_TEAM = "t-anxh-tran-phu"
CAMERA = "cam-nga-ba"
OLD_CAMERA = "cam-cho-cu"


def registry_facts() -> list:
    """The registry events a ward starts with: two groups, two teams, a working camera and a retired one."""
    return [
        GroupCreated(ward_id=WARD, subject=GROUP, group_id=GROUP, name="Tổ dân phố Trần Phú"),
        GroupCreated(ward_id=WARD, subject=OTHER_GROUP, group_id=OTHER_GROUP, name="Tổ dân phố Lê Lợi"),
        TeamFormed(ward_id=WARD, subject=MEDIATION_TEAM, team_id=MEDIATION_TEAM, group_id=GROUP, kind="mediation",
                   compliant=True, name="Tổ hòa giải Trần Phú", formed_on=date(2026, 1, 5), formation_act="QĐ 1"),
        TeamFormed(ward_id=WARD, subject=ANXH_TEAM, team_id=ANXH_TEAM, group_id=GROUP, kind="anxh",
                   compliant=True, name="Tổ ANXH Trần Phú", formed_on=date(2026, 1, 5), formation_act="QĐ 2"),
        FacilityRegistered(ward_id=WARD, subject=CAMERA, facility_id=CAMERA, group_id=GROUP, kind="security_camera",
                           name="Camera ngã ba", location="Ngã ba Trần Phú - Lê Lợi", funded_by_campaign_id="c-1"),
        FacilityRegistered(ward_id=WARD, subject=OLD_CAMERA, facility_id=OLD_CAMERA, group_id=GROUP,
                           kind="security_camera", name="Camera chợ cũ", location="Chợ cũ"),
        FacilityDecommissioned(ward_id=WARD, subject=OLD_CAMERA, facility_id=OLD_CAMERA, group_id=GROUP,
                               kind="security_camera", decommissioned_on=date(2026, 3, 1), reason="hỏng"),
    ]


async def seed(db, events: list) -> None:
    """Feed events to the service's event handlers directly, each in a unit of work as the consumer runs them (the
    broker path is covered by the flow tests)."""
    conn = await db.connect("incidents")
    await _init_connection(conn, "incidents")  # the service's own codecs: handlers may write the outbox
    ctx = PgContext(None, "incidents", TEST_AUDIT_KEYS, None)
    try:
        async with conn.transaction():
            for e in events:
                async with IncidentsUnitOfWork(ctx, conn, pii=dev_protector()) as uow:
                    await EVENT_HANDLERS[type(e)](e, uow)
                    await uow.commit(f"on {e.event_type}", SYSTEM)
    finally:
        await conn.close()


@pytest.fixture
async def service(db, started) -> AsyncIterator[httpx.AsyncClient]:  # noqa: F811
    """The incidents app without a broker (its events wait in the outbox), seeded with the registry facts."""
    await seed(db, registry_facts())
    app = build(settings_for("incidents", db, None))
    await started(app.state.runtime, wait_assigned=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://incidents") as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
