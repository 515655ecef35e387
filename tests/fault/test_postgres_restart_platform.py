"""PostgreSQL restarted under load, with the five services running as processes: contributions keep being posted
(clients retry with the same Idempotency-Key, as the API asks them to) while the database goes away twice. The
ledger ends exact to the đồng, each contribution counted once, the target reached exactly once, and awards credits
each team the same amounts."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from demo import ward
from demo.client import Platform as DemoApi
from demo.config import Config
from shared.clock import ward_today
from shared.devstack.stack import EmbeddedPostgres
from shared.settings import SERVICES
from tests.e2e.conftest import eventually, running_platform
from tests.kafka_helpers import header, read_topic

pytestmark = pytest.mark.fault

AMOUNTS = [1_000_000 + 12_345 * i for i in range(40)]  # 40 contributions, 4 per mobilisation team
REFUSED_DURING_OUTAGE: list[int] = []


async def _post_until_accepted(api: DemoApi, path: str, actor, body: dict) -> dict:
    key = f"pg-restart-{uuid.uuid4().hex}"
    for _ in range(600):
        try:
            r = await api.request("donations", "POST", path, actor, json=body, key=key)
        except Exception:  # the service itself answered nothing: try again, same key
            REFUSED_DURING_OUTAGE.append(0)
            await asyncio.sleep(0.2)
            continue
        if r.status_code in (200, 201):
            return r.json()
        if r.status_code >= 500:
            REFUSED_DURING_OUTAGE.append(r.status_code)
        if r.status_code >= 500 or any(waiting in r.text for waiting in (
                "not a current member", "not a known team", "have not reached donations yet",
                "households the registry holds")):  # donations has not counted all the households yet
            await asyncio.sleep(0.2)
            continue
        raise AssertionError(f"{r.status_code} {r.text}")
    raise AssertionError("never accepted")


async def test_postgresql_restarted_under_load_leaves_the_ledger_exact() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ward-pg-restart-"))
    os.chmod(tmp, 0o755)
    pg = EmbeddedPostgres(tmp / "data").start()
    try:
        async with running_platform(pg.admin_url) as plat:
            api = DemoApi(Config(urls={s: plat.url(s) for s in SERVICES}, timeout=120), uuid.uuid4().hex[:6])
            try:
                w = await ward.set_up(api)
                teams = w.teams["mobilisation"]
                today = ward_today()
                official = api.actor("organiser", "ward_official")
                # The vote is checked against the households donations counts from the registry's events.
                households = len(await api.list_all("registry", "/v1/households", official, group_id=w.group_id))
                campaign = await _post_until_accepted(api, "/v1/campaigns", official, {
                    "ward_id": api.config.ward_id, "group_id": w.group_id, "name": "Camera an ninh",
                    "purpose": "Camera", "target_vnd": 30_000_000,
                    "starts_on": (today - timedelta(days=5)).isoformat(), "ends_on": (today + timedelta(days=5)).isoformat(),
                    "organiser": "Ban công tác mặt trận", "team_ids": [t["team_id"] for t in teams],
                    "vote": {"record_ref": "BB 1", "held_on": (today - timedelta(days=6)).isoformat(),
                             "in_favour": households - 2, "against": 1, "abstained": 1}})
                cid = campaign["campaign_id"]

                async def contribute(i: int, amount: int) -> None:
                    await asyncio.sleep(i * 0.12)  # spread over ~5 s: the load goes on through both outages
                    team = teams[i % len(teams)]
                    leader = team["members"][0]
                    collector = api.actor(f"c-{leader}", "team_leader", resident_id=leader, team_ids=[team["team_id"]])
                    await _post_until_accepted(api, f"/v1/campaigns/{cid}/contributions", collector, {
                        "team_id": team["team_id"], "channel": "cash", "amount_vnd": amount,
                        "receipt_number": f"PG-{i:03d}", "received_on": today.isoformat(), "donor_kind": "anonymous"})

                async def restart_twice() -> None:
                    for _ in range(2):
                        await asyncio.sleep(1.0)
                        await asyncio.to_thread(pg.stop, "immediate")  # a crash: no checkpoint
                        await asyncio.sleep(1.5)
                        await asyncio.to_thread(pg.start)

                REFUSED_DURING_OUTAGE.clear()
                await asyncio.gather(restart_twice(), *(contribute(i, a) for i, a in enumerate(AMOUNTS)))
                assert REFUSED_DURING_OUTAGE, "the restarts did not hit the load: nothing was tested"

                async def report() -> dict:
                    r = await api.request("donations", "GET", f"/v1/campaigns/{cid}/report", official)
                    return r.json() if r.status_code == 200 else {}

                rep = await eventually(report, timeout=60)
                assert rep["raised_vnd"] == sum(AMOUNTS)
                assert rep["contributions"] == len(AMOUNTS)
                assert rep["target_reached_on"] is not None

                async def reached_once() -> bool:
                    records = await read_topic(plat.broker.bootstrap, "donations.campaigns", min_count=2, timeout=5)
                    mine = [r for r in records if r.key == cid.encode()
                            and header(r, "ce_type") == "donations.campaign.target_reached.v1"]
                    assert len(mine) <= 1
                    return len(mine) == 1

                assert await eventually(reached_once, timeout=60)
                ledger = await read_topic(plat.broker.bootstrap, "donations.ledger", min_count=len(AMOUNTS), timeout=60)
                recorded = [json.loads(r.value) for r in ledger
                            if header(r, "ce_type") == "donations.contribution.recorded.v1" and r.key == cid.encode()]
                assert len({e["contribution_id"] for e in recorded}) == len(AMOUNTS)
                assert sum({e["contribution_id"]: e["amount_vnd"] for e in recorded}.values()) == sum(AMOUNTS)
                expected_by_team: dict[str, int] = {}
                for i, amount in enumerate(AMOUNTS):
                    tid = teams[i % len(teams)]["team_id"]
                    expected_by_team[tid] = expected_by_team.get(tid, 0) + amount

                async def awards_credited_each_team_exactly() -> bool:
                    r = await api.request("awards", "GET", f"/v1/wards/{api.config.ward_id}/achievements", official,
                                          params={"year": today.year, "limit": 200})
                    rows = r.json()["items"] if r.status_code == 200 else []
                    got = {a["holder_ref"]: a["amount_vnd"] for a in rows if a["kind"] == "collections"}
                    return got == expected_by_team

                assert await eventually(awards_credited_each_team_exactly, timeout=60)
                for svc in SERVICES:
                    async with httpx.AsyncClient(base_url=plat.url(svc)) as client:
                        assert (await client.get("/health/ready")).status_code == 200, svc
            finally:
                await api.aclose()
    finally:
        pg.stop("immediate")
