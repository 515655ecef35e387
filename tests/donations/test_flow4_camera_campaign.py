"""Flow 4 of the brief, against a real broker: the registry's mobilisation teams arrive as events; the Trần Phú
camera campaign raises nearly 60,000,000 đồng through its 10 teams from many concurrent requests (with retries
and reversals among them); the target is announced exactly once; an approved expense carries the cameras the
registry registers (the real registry service runs beside it); and the public report's totals are the
ledger's, to the đồng."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date

import httpx
import pytest

from services.donations.bootstrap import build
from services.registry.bootstrap import build as build_registry
from shared.clock import ward_today
from shared.contracts.registry import TeamMemberLeft
from shared.events import to_kafka
from tests.conftest import auth, settings_for
from tests.donations.conftest import (
    OFFICIAL,
    OFFICIAL_2,
    RESIDENT,
    campaign_body,
    collector,
    member_joined,
    team_formed,
)
from tests.integration.conftest import eventually
from tests.kafka_helpers import header, produce, read_topic

pytestmark = pytest.mark.integration
TARGET = 55_000_000
HOUSEHOLDS = 12


def amount(team: int, j: int) -> int:
    return 250_000 + 50_000 * ((team * 7 + j) % 9)


async def _publish(bootstrap: str, *events) -> None:
    for event in events:
        key, value, headers = to_kafka(event)
        await produce(bootstrap, event.topic, value, key=key.encode(), headers=list(headers.items()))


async def test_camera_campaign_raises_through_ten_teams_and_pays_for_cameras(db, broker, started):
    app = build(settings_for("donations", db, broker))
    registry = build_registry(settings_for("registry", db, broker))
    await asyncio.gather(started(app.state.runtime), started(registry.state.runtime))  # the ~5 s joins overlap
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=registry, raise_app_exceptions=False),
                                 base_url="http://registry") as reg:
        ward = await reg.post("/v1/wards", json={"ward_id": "phu-son", "name": "Phường Phú Sơn", "city": "Thanh Hóa"},
                              headers=auth("admin", ward="*"))
        assert ward.status_code == 201, ward.text
        group = await reg.post("/v1/groups", json={"ward_id": "phu-son", "name": "Tổ dân phố Trần Phú"},
                               headers=auth("ward_official"))
        assert group.status_code == 201, group.text
        group_id = group.json()["group_id"]
        # The group's households, registered in the registry: donations counts them from its events, and
        # checks the households' vote against that count.
        for h in range(HOUSEHOLDS):
            house = await reg.post("/v1/households", json={"group_id": group_id, "address": f"Số {2 * h + 1} Trần Phú"},
                                   headers=auth("ward_official"))
            assert house.status_code == 201, house.text
    # The registry's team events: 10 mobilisation teams with one collector each, and a member who left team 10.
    await _publish(broker.bootstrap, *(team_formed(f"team-{i:02d}", group=group_id) for i in range(1, 11)),
                   *(member_joined(f"team-{i:02d}", f"member-{i:02d}", group=group_id) for i in range(1, 11)),
                   member_joined("team-10", "member-11", group=group_id),
                   TeamMemberLeft(**{**member_joined("team-10", "member-11", group=group_id).model_dump(
                       exclude={"id", "occurred_at", "appointed_on", "appointment_act"}), "left_on": date(2024, 5, 1)}))

    async def projected() -> bool:
        return await db.fetchval("donations", "SELECT count(*) FROM team_members WHERE active") == 10 and \
            await db.fetchval("donations", "SELECT count(*) FROM team_members WHERE NOT active") == 1

    await eventually(projected, timeout=30)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://donations") as client:
        async def households_known() -> bool:  # the read a client waits on before opening the campaign
            r = await client.get(f"/v1/groups/{group_id}", headers=OFFICIAL)
            return r.status_code == 200 and r.json()["households"] == HOUSEHOLDS

        await eventually(households_known, timeout=30)
        vote = {**campaign_body()["vote"], "in_favour": 9, "against": 2, "abstained": 1}
        r = await client.post("/v1/campaigns", json=campaign_body(target_vnd=TARGET, group_id=group_id, vote=vote),
                              headers=OFFICIAL)
        assert r.status_code == 201, r.text
        campaign_id = r.json()["campaign_id"]
        url = f"/v1/campaigns/{campaign_id}/contributions"

        async def contribute(team: int, j: int, value: int) -> httpx.Response:
            body = {"team_id": f"team-{team:02d}", "channel": "cash" if j % 3 else "bank_transfer",
                    "amount_vnd": value, "receipt_number": f"PT-{team:02d}-{j:03d}",
                    "donor_kind": "household", "donor_ref": f"hh-{team}-{j}",
                    "public_name": f"Hộ {team}-{j}" if j % 4 == 0 else None}
            return await client.post(url, json=body, headers={**collector(team), "Idempotency-Key": f"c-{team}-{j}"})

        # A member who left team 10 can no longer collect for it.
        left = collector(11, team=10)
        gone = await client.post(url, json={"team_id": "team-10", "channel": "cash", "amount_vnd": 1,
                                            "receipt_number": "PT-X", "donor_kind": "anonymous"}, headers=left)
        assert gone.status_code == 403

        # Phase 1: 120 contributions at once, a quarter of them sent twice (a retry racing the original).
        phase1 = [(t, j) for t in range(1, 11) for j in range(1, 13)]
        calls = [contribute(t, j, amount(t, j)) for t, j in phase1]
        calls += [contribute(t, j, amount(t, j)) for t, j in phase1 if j % 4 == 1]  # same Idempotency-Key
        responses = await asyncio.gather(*calls)
        assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
        ids = {(t, j): responses[i].json()["contribution_id"] for i, (t, j) in enumerate(phase1)}

        # Phase 2: ten more contributions, six reversals (each also retried) at once; the running total
        # may cross the target, dip under it and cross again: it is announced once all the same.
        reversed_keys = [(t, 1) for t in (1, 3, 5, 7, 9, 10)]

        async def reverse(t: int, j: int) -> httpx.Response:
            return await client.post(f"/v1/contributions/{ids[(t, j)]}/reversals",
                                     json={"kind": "refund" if t % 2 else "void", "reason": "hoàn trả theo đề nghị"},
                                     headers={**OFFICIAL, "Idempotency-Key": f"r-{t}-{j}"})

        phase2 = [contribute(t, 13, amount(t, 13) + 200_000) for t in range(1, 11)]
        phase2 += [reverse(t, j) for t, j in reversed_keys] * 2
        responses2 = await asyncio.gather(*phase2)
        assert all(r.status_code == 201 for r in responses2), [r.text for r in responses2 if r.status_code != 201]

        expected = sum(amount(t, j) for t, j in phase1) + sum(amount(t, 13) + 200_000 for t in range(1, 11)) \
            - sum(amount(t, j) for t, j in reversed_keys)
        assert expected == 57_450_000  # nearly 60,000,000 đồng, as the article says

        # The cameras: proposed by one official, approved by another, paid from the balance.
        cameras = [{"name": f"Camera TP-{i}", "location": loc, "group_id": group_id, "installed_on": ward_today().isoformat()}
                   for i, loc in enumerate(["Ngã ba Trần Phú - Lê Lợi", "Ngõ 12 Trần Phú", "Nhà văn hóa tổ dân phố",
                                            "Ngõ 45 Trần Phú", "Cổng chợ Phú Sơn", "Ngõ 78 Trần Phú"], 1)]
        proposed = await client.post(f"/v1/campaigns/{campaign_id}/expenses", headers=OFFICIAL, json={
            "item": "Camera an ninh và lắp đặt", "amount_vnd": 52_800_000, "invoice_ref": "HĐ 0001234",
            "paid_on": ward_today().isoformat(), "cameras": cameras})
        assert proposed.status_code == 201, proposed.text
        expense_id = proposed.json()["expense_id"]
        approved = await client.post(f"/v1/expenses/{expense_id}/approve", json={"approval_ref": "QĐ 45/QĐ-UBND"},
                                     headers=OFFICIAL_2)
        assert approved.status_code == 200, approved.text

        report = (await client.get(f"/v1/campaigns/{campaign_id}/report", headers=RESIDENT)).json()
        report_csv = (await client.get(f"/v1/campaigns/{campaign_id}/report.csv", headers=RESIDENT)).text

    # The report's totals are the sums of the ledger, to the đồng.
    ledger_sum = await db.fetchval("donations", "SELECT sum(amount_vnd) FROM ledger_entries WHERE campaign_id = $1",
                                   campaign_id)
    by_team = {r["team_id"]: r["s"] for r in await db.fetch(
        "donations", "SELECT team_id, sum(amount_vnd) AS s FROM ledger_entries WHERE campaign_id = $1 GROUP BY 1",
        campaign_id)}
    assert report["raised_vnd"] == ledger_sum == expected
    assert {t["team_id"]: t["raised_vnd"] for t in report["by_team"]} == by_team
    assert sum(by_team.values()) == expected and len(by_team) == 10
    assert sum(report["by_channel"].values()) == expected
    assert report["contributions"] == 130 and report["reversed_vnd"] == 2_800_000
    assert report["spent_by_item"] == [{"item": "Camera an ninh và lắp đặt", "amount_vnd": 52_800_000}]
    assert report["balance_vnd"] == expected - 52_800_000
    assert report["target_reached_on"] == ward_today().isoformat()
    assert sum(h["amount_vnd"] for h in report["honour_roll"]) == sum(
        amount(t, j) for t, j in phase1 if j % 4 == 0)
    rows = list(csv.DictReader(io.StringIO(report_csv)))
    totals = {r["label"]: int(r["amount_vnd"]) for r in rows if r["section"] == "total"}
    assert totals == {"raised": expected, "reversed": 2_800_000, "spent": 52_800_000, "balance": expected - 52_800_000}
    assert sum(int(r["amount_vnd"]) for r in rows if r["section"] == "by_team") == expected

    # On Kafka: the target reached exactly once, and the expense with its cameras for the registry.
    def target_events(records) -> list:
        return [r for r in records if header(r, "ce_type") == "donations.campaign.target_reached.v1"]

    campaigns = await read_topic(broker.bootstrap, "donations.campaigns", until=lambda rs: len(target_events(rs)) >= 1)
    assert await db.fetchval("donations", "SELECT count(*) FROM outbox WHERE event_type = $1",
                             "donations.campaign.target_reached.v1") == 1
    await asyncio.sleep(0.5)  # let a wrongly repeated announcement arrive, if there were one
    campaigns = await read_topic(broker.bootstrap, "donations.campaigns", min_count=len(campaigns) + 1, timeout=1)
    [reached] = target_events(campaigns)
    body = json.loads(reached.value)
    assert body["raised_vnd"] >= TARGET and sum(body["team_totals"].values()) == body["raised_vnd"]
    assert reached.key.decode() == campaign_id

    # the expense's topic also carries ExpenseProposed (it waits for a second official: notify tells them)
    recorded = "donations.expense.recorded.v1"
    expenses = await read_topic(broker.bootstrap, "donations.expenses",
                                until=lambda rs: any(header(r, "ce_type") == recorded for r in rs))
    [expense] = [json.loads(r.value) for r in expenses if header(r, "ce_type") == recorded]
    assert expense["expense_id"] == expense_id and expense["campaign_id"] == campaign_id
    assert [c["name"] for c in expense["cameras"]] == [f"Camera TP-{i}" for i in range(1, 7)]
    assert all(c["group_id"] == group_id for c in expense["cameras"])

    # ... and the registry registered the six cameras as facilities paid by this campaign, once each.
    async def registered() -> bool:
        return await db.fetchval("registry", "SELECT count(*) FROM facilities WHERE funded_by_expense_id = $1",
                                 expense_id) == 6

    await eventually(registered, timeout=30)
    facilities = await db.fetch("registry", "SELECT kind, location, group_id, funded_by_campaign_id FROM facilities")
    assert sorted(f["location"] for f in facilities) == sorted(c["location"] for c in cameras)
    assert {(f["kind"], f["group_id"], f["funded_by_campaign_id"]) for f in facilities} == {
        ("security_camera", group_id, campaign_id)}

    ledger = await read_topic(broker.bootstrap, "donations.ledger",
                              until=lambda rs: len(rs) >= 136)  # 130 contributions + 6 reversals, none twice
    await asyncio.sleep(0.3)
    ledger = await read_topic(broker.bootstrap, "donations.ledger", min_count=137, timeout=1)
    assert len(ledger) == 136
    assert {r.key.decode() for r in ledger} == {campaign_id}
