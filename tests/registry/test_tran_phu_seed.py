"""Done-when of issue 3: the seed's Trần Phú group entered through the API, its events on Kafka reaching a
consumer of another service, and cameras bought by donations registered from donations' events, once."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date

import pytest

from services.registry.bootstrap import build
from services.registry.consumers import camera_facility_id
from shared.contracts.donations import CameraPurchase, ExpenseRecorded
from shared.contracts.registry import (
    FacilityRegistered,
    GroupCreated,
    ResidentRegistered,
    TeamFormed,
    TeamMemberJoined,
)
from shared.events import to_kafka
from shared.runtime import ServiceRuntime
from tests.conftest import settings_for
from tests.harness import client_for
from tests.kafka_helpers import produce, read_topic
from tests.registry.conftest import WARD, Api, eventually

pytestmark = pytest.mark.integration

SEED_TEAMS = {"anxh": 10, "security_order": 1, "mediation": 1, "fire_prevention": 2, "mobilisation": 10}
NATIONAL_ID = "038185009876"


def recording_consumer(settings) -> tuple[ServiceRuntime, list]:
    """Another service (awards plays it) that records the registry events it receives."""
    runtime = ServiceRuntime(settings, description="stands for a consumer of registry events")
    got: list = []

    async def record(conn, event) -> None:
        got.append(event)

    runtime.consume({GroupCreated: record, ResidentRegistered: record, TeamFormed: record,
                     TeamMemberJoined: record, FacilityRegistered: record})
    return runtime, got


async def _produce(bootstrap: str, event) -> None:
    key, value, headers = to_kafka(event)
    await produce(bootstrap, event.topic, value, key=key.encode(), headers=list(headers.items()))


async def test_tran_phu_group_is_entered_and_its_events_reach_another_service(db, broker, started):
    app = build(settings_for("registry", db, broker))
    await started(app.state.runtime)
    other, received = recording_consumer(settings_for("awards", db, broker))
    await started(other)

    async with client_for(app) as client:
        api = Api(client)
        await api.ward()
        group = await api.group("Tổ dân phố Trần Phú")
        people = []
        for i in range(30):
            house = await api.household(group["group_id"])
            sex = "female" if i % 3 == 0 else "male"
            extra = {"national_id": NATIONAL_ID} if i == 0 else {}
            people.append(await api.resident(house["household_id"], f"Cư dân {i:02d}", sex, **extra))
        teams: dict[str, list[dict]] = {}
        n = 0
        for kind, count in SEED_TEAMS.items():
            for k in range(count):
                team = await api.team(group["group_id"], kind, f"Tổ {kind} {k + 1}")
                await api.member(team["team_id"], people[n % 30]["resident_id"], "leader")
                n += 1
                teams.setdefault(kind, []).append(team)
        mediation = teams["mediation"][0]
        for p in people[25:28]:  # two more mediators and, among them, women (Cư dân 27 is female)
            await api.member(mediation["team_id"], p["resident_id"])
        await api.ok("POST", "/v1/facilities", {"group_id": group["group_id"], "kind": "fire_point",
                                               "name": "Điểm PCCC công cộng", "location": "Đầu ngõ 12 Trần Phú"})
        await api.ok("POST", "/v1/facilities", {"group_id": group["group_id"], "kind": "security_camera",
                                               "name": "Camera ngã ba", "location": "Ngã ba Trần Phú - Lê Lợi",
                                               "installed_on": "2024-05-01"})

        # Donations paid for two cameras: the expense arrives twice (a redelivery with a new event id), and one
        # expense names a group the ward does not have (dead-lettered, nothing registered from it).
        expense = dict(ward_id=WARD, subject="campaign-1", expense_id="expense-7", campaign_id="campaign-1",
                       group_id=group["group_id"], item="2 camera an ninh", amount_vnd=12_000_000, invoice_ref="HĐ 0042",
                       cameras=[CameraPurchase(name=f"Camera {i}", location=f"Ngõ {i} Trần Phú", group_id=group["group_id"],
                                               installed_on=date(2024, 6, 1)) for i in (1, 2)])
        await _produce(broker.bootstrap, ExpenseRecorded(**expense))
        await _produce(broker.bootstrap, ExpenseRecorded(**expense))
        await _produce(broker.bootstrap, ExpenseRecorded(**{**expense, "expense_id": "expense-bad", "cameras": [
            CameraPurchase(name="X", location="Y", group_id=str(uuid.uuid4()))]}))

        async def cameras_registered() -> bool:
            return len([e for e in received if isinstance(e, FacilityRegistered)]) >= 4
        await eventually(cameras_registered, timeout=40)

        async def dead_lettered() -> bool:
            return await db.fetchval("registry", "SELECT count(*) FROM dead_letters") == 1
        await eventually(dead_lettered, timeout=20)

        # The registry's own view of the group.
        listed = await api.ok("GET", "/v1/teams", params={"group_id": group["group_id"], "limit": 200})
        assert Counter(t["kind"] for t in listed["items"]) == SEED_TEAMS
        assert all(t["compliant"] for t in listed["items"])
        facilities = await api.ok("GET", "/v1/facilities", params={"group_id": group["group_id"]})
        assert Counter(f["kind"] for f in facilities["items"]) == {"security_camera": 3, "fire_point": 1}
        funded = [f for f in facilities["items"] if f["funded_by_expense_id"]]
        assert {f["facility_id"] for f in funded} == {camera_facility_id("expense-7", 0), camera_facility_id("expense-7", 1)}
        assert all(f["funded_by_campaign_id"] == "campaign-1" for f in funded)

    # What the other service received: every team formed, with its compliance, and the cameras once each.
    async def all_received() -> bool:
        return Counter(type(e).__name__ for e in received)["TeamMemberJoined"] == 27
    await eventually(all_received, timeout=30)
    kinds = Counter(e.kind for e in received if isinstance(e, TeamFormed))
    assert kinds == SEED_TEAMS
    assert len([e for e in received if isinstance(e, ResidentRegistered)]) == 30
    cameras = [e for e in received if isinstance(e, FacilityRegistered) and e.funded_by_expense_id]
    assert sorted(e.facility_id for e in cameras) == sorted(camera_facility_id("expense-7", i) for i in (0, 1))
    last_mediation = [e for e in received if isinstance(e, TeamMemberJoined) and e.team_id == mediation["team_id"]][-1]
    assert last_mediation.compliant is True

    # And on the wire: no national ID in any registry topic.
    for topic in ("registry.residents", "registry.teams", "public.ward-events"):
        for record in await read_topic(broker.bootstrap, topic, min_count=1, timeout=10):
            assert NATIONAL_ID.encode() not in record.value
