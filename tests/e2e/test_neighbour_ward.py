"""Two independent platforms side by side, two wards: a neighbour follows ward A's public feed with the example
subscriber (examples/neighbour-ward, run as a user runs it) and sees A's public facts, nothing of B, across a
restart of A's feed and of itself with no gap and no duplicate; webhooks survive the receiver being down and
arrive in order, verified; a revoked key is refused at once.

Platform A is started from the devstack's building blocks (so that its feed can be restarted alone); platform B
is a real `make run` (python -m shared.devstack run) on its own data directory and port range."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from shared.clock import ward_today
from shared.devstack.stack import (
    ROOT,
    EmbeddedPostgres,
    ServiceProcess,
    TansuBroker,
    create_topics,
    free_port,
    owner_url,
    service_env,
)
from shared.events import load_all_contracts
from shared.migrations import migrate, provision
from shared.settings import SERVICES
from tests.conftest import token
from tests.e2e.conftest import eventually
from tests.e2e.test_make_run import _free_block, _start, _stop

EXAMPLE = ROOT / "examples" / "neighbour-ward"
WARD_A, WARD_B = "phu-son", "hoa-binh"
FEED_LANDED = "feed" in SERVICES and (ROOT / "services" / "feed" / "api.py").exists()
#: Added by the contract branch (wip/feed-contract); until they exist the dashboard's mediations, money spent and
#: revocations stay empty and are not checked.
NEW_TYPES = ("public.awards.award.revoked.v1", "public.mediation.case.closed.v1",
             "public.donations.expense.recorded.v1", "public.donations.campaign.closed.v1")
CONTRACT_LANDED = set(NEW_TYPES) <= set(load_all_contracts())

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(600),
    pytest.mark.skipif(not FEED_LANDED, reason="the feed service (branch wip/feed) is not on this branch: "
                       "services/feed/api.py and SERVICE_PORTS['feed'] are missing"),
]


@dataclass
class Devstack:
    """One platform as `make run` builds it: its own PostgreSQL data directory, broker and service ports."""

    data: Path
    pg: EmbeddedPostgres
    broker: TansuBroker
    procs: dict[str, ServiceProcess] = field(default_factory=dict)

    def url(self, svc: str) -> str:
        return self.procs[svc].base_url

    def start(self, svc: str, port: int | None = None) -> ServiceProcess:
        env = service_env(svc, self.pg.admin_url, self.broker.bootstrap, port=port or free_port(),
                          FEED_ALLOW_PRIVATE_CALLBACKS="true",
                          FEED_WEBHOOK_RETRY_BASE_S="1")  # retries after 1 s, 2 s, 4 s...: the same policy, sooner
        self.procs[svc] = ServiceProcess(svc, env, self.data / f"{svc}.log").start()
        return self.procs[svc]

    async def restart(self, svc: str) -> None:
        old = self.procs[svc]
        old.stop()
        await asyncio.to_thread(self.start(svc, old.port).wait_ready, 90)

    def stop(self) -> None:
        for p in self.procs.values():
            p.stop()
        self.broker.stop()
        self.pg.stop()


async def start_devstack() -> Devstack:
    data = Path(tempfile.mkdtemp(prefix="ward-neighbour-a-"))
    os.chmod(data, 0o755)
    pg = await asyncio.to_thread(EmbeddedPostgres(data / "postgres").start)
    stack = Devstack(data, pg, TansuBroker(log_path=data / "tansu.log").start())
    await create_topics(stack.broker.bootstrap)
    await provision(pg.admin_url)
    for svc in SERVICES:
        await migrate(owner_url(pg.admin_url, svc), svc)
    for svc in SERVICES:
        stack.start(svc)
    await asyncio.gather(*(asyncio.to_thread(p.wait_ready, 90) for p in stack.procs.values()))
    return stack


@dataclass
class Platforms:
    a: Devstack
    b_urls: dict[str, str]


@pytest.fixture(scope="module")
async def platforms() -> AsyncIterator[Platforms]:
    data_b = Path(tempfile.mkdtemp(prefix="ward-neighbour-b-"))
    os.chmod(data_b, 0o755)
    base_b = _free_block(len(SERVICES))
    # Two platforms start at once, while the suite's other worker runs too: B may take longer than make run's minute.
    (proc_b, output_b, _), a = await asyncio.gather(asyncio.to_thread(_start, data_b, base_b, 240), start_devstack())
    try:
        assert "Ctrl-C stops everything" in output_b, output_b
        b_urls = {svc: f"http://127.0.0.1:{base_b + i}" for i, svc in enumerate(SERVICES)}
        yield Platforms(a, b_urls)
    finally:
        await asyncio.to_thread(_stop, proc_b)
        a.stop()
        if not os.environ.get("KEEP_E2E_LOGS"):
            shutil.rmtree(a.data, ignore_errors=True)
            shutil.rmtree(data_b, ignore_errors=True)


# -- helpers: the official's calls, the feed read directly, the example subscriber as a process ----------------
def official(ward: str = WARD_A) -> dict[str, str]:
    return {"Authorization": f"Bearer {token('ward_official', ward)}"}


async def register_subscriber(feed: str, name: str) -> dict:
    async with httpx.AsyncClient(base_url=feed, timeout=30) as c:
        r = await c.post("/v1/subscribers", headers=official(), json={
            "name": name, "wards": [WARD_A], "event_types": None, "oauth_client_id": None})
        assert r.status_code == 201, r.text
        return r.json()


async def feed_ids(feed: str, key: str) -> list[str]:
    """Every event id the feed serves this key, in the feed's order (the ground truth)."""
    ids: list[str] = []
    cursor = None
    async with httpx.AsyncClient(base_url=feed, timeout=30, headers={"Authorization": f"Bearer {key}"}) as c:
        while True:
            r = await c.get("/v1/events", params={"limit": 500, **({"after": cursor} if cursor else {})})
            r.raise_for_status()
            batch = r.json()
            if not batch:
                return ids
            ids += [e["id"] for e in batch]
            cursor = r.headers["Feed-Next-Cursor"]


class Neighbour:
    """The example subscriber, started as its README says (python -m neighbour), with its own state file."""

    def __init__(self, feed: str, db: Path, *, key: str = "", secrets: str = "", pull: bool = True) -> None:
        self.feed, self.db, self.key, self.secrets, self.pull = feed, db, key, secrets, pull
        self.port = free_port()
        self.log = db.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Neighbour:
        env = {**os.environ, "FEED_API_KEY": self.key, "FEED_WEBHOOK_SECRETS": self.secrets}
        args = [sys.executable, "-m", "neighbour", "--feed", self.feed, "--db", str(self.db), "--port", str(self.port),
                "--wait", "5", *([] if self.pull else ["--no-pull"])]
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(args, cwd=EXAMPLE, env=env, stdout=out, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # no goodbye: whatever was half done is rolled back
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)

    async def applied(self) -> list[dict]:
        async with httpx.AsyncClient(timeout=10) as c:
            return (await c.get(f"http://127.0.0.1:{self.port}/applied.json")).json()

    async def dashboard(self) -> dict:
        async with httpx.AsyncClient(timeout=10) as c:
            return (await c.get(f"http://127.0.0.1:{self.port}/dashboard.json")).json()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def demo_config(urls: dict[str, str], ward: str):
    from demo.config import Config

    return Config(urls=urls, ward_id=ward, timeout=120)


# -- the tests -------------------------------------------------------------------------------------------------
async def test_a_neighbour_follows_ward_a_across_restarts_sees_nothing_of_b_and_a_revoked_key_stops_it(platforms,
                                                                                                       tmp_path):
    from demo.client import Platform
    from demo.run import run_demo
    from demo.ward import set_up

    a, feed = platforms.a, platforms.a.url("feed")
    sub = await register_subscriber(feed, "Hòa Bình's dashboard")
    neighbour = Neighbour(feed, tmp_path / "neighbour.sqlite3", key=sub["api_key"]).start()
    a_urls = {svc: a.url(svc) for svc in SERVICES}
    try:
        await eventually(lambda: neighbour.dashboard(), timeout=30)
        # Public facts on both platforms at once: the article replayed on A, a ward set up on B.
        b_api = Platform(demo_config(platforms.b_urls, WARD_B), "b")
        replay = asyncio.create_task(run_demo(demo_config(a_urls, WARD_A), say=lambda _: None))
        try:
            await set_up(b_api)
        finally:
            await b_api.aclose()

        # Mid-stream: the neighbour dies without warning, and A's feed restarts while it is down.
        await eventually(lambda: _at_least(neighbour, 10), timeout=120)
        neighbour.kill()
        await a.restart("feed")
        neighbour.start()
        result = await replay
        assert result.ok

        # The rest of the story: the campaign closes after its expense, an award is revoked.
        api = Platform(demo_config(a_urls, WARD_A), "end")
        try:
            await api.ok("donations", f"/v1/campaigns/{result.campaign.campaign_id}/close",
                         api.actor("ward-official", "ward_official"), {})
            await api.ok("awards", f"/v1/awards/{result.festival.award_ids[0]}/revoke",
                         api.actor("city-admin", "admin", ward="*"),
                         {"reason": "Quyết định bị hủy", "revoked_on": ward_today().isoformat()})
        finally:
            await api.aclose()

        async def caught_up() -> bool:
            want = await feed_ids(feed, sub["api_key"])
            applied = await neighbour.applied()
            got = [e["id"] for e in applied]
            assert got == want, f"neighbour has {len(got)} events, the feed {len(want)}; first difference at " \
                f"{next((i for i, (x, y) in enumerate(zip(got, want, strict=False)) if x != y), min(len(got), len(want)))}"
            missing = {t for t in NEW_TYPES if CONTRACT_LANDED} - {e["type"] for e in applied}
            assert not missing, f"not yet seen: {missing}"
            return True

        await eventually(caught_up, timeout=120, interval=1)
        snap = await neighbour.dashboard()
        d = snap["dashboard"]
        assert d["by_ward"] == {WARD_A: d["events"]}, d["by_ward"]  # nothing of B
        assert d["events"] == len(await feed_ids(feed, sub["api_key"]))  # no gap, no duplicate
        assert {"drugs", "theft"} <= set(d["incidents_resolved"])
        assert snap["totals"]["raised_vnd"] >= 55_000_000  # the article's "nearly 60 million"
        assert d["awards"]["granted"] >= 1
        if CONTRACT_LANDED:  # the four public events of wip/feed-contract
            assert d["mediations"].get("succeeded", 0) >= 10
            assert snap["totals"]["spent_vnd"] > 0 and snap["totals"]["campaigns_closed"] >= 1
            assert d["awards"]["revoked"] == 1

        # A revoked key is refused at once: the running subscriber stops on its next request.
        async with httpx.AsyncClient(base_url=feed, timeout=30) as c:
            r = await c.post(f"/v1/subscribers/{sub['subscriber_id']}/keys/{sub['key_id']}/revoke",
                             headers=official())
            assert r.status_code == 200, r.text
            assert (await c.get("/v1/events", headers={"Authorization": f"Bearer {sub['api_key']}"})).status_code == 401
        assert await asyncio.to_thread(neighbour.proc.wait, 30) == 3, neighbour.output()
        assert "refused" in neighbour.output()
    finally:
        neighbour.stop()


async def _at_least(neighbour: Neighbour, n: int) -> bool:
    return len(await neighbour.applied()) >= n


async def test_webhooks_survive_the_receiver_being_down_and_arrive_in_order_verified(platforms, tmp_path):
    from demo.client import Platform
    from demo.ward import set_up

    a, feed = platforms.a, platforms.a.url("feed")
    sub = await register_subscriber(feed, "Hòa Bình's webhook")
    receiver = Neighbour(feed, tmp_path / "receiver.sqlite3", pull=False)
    headers = {"Authorization": f"Bearer {sub['api_key']}"}
    async with httpx.AsyncClient(base_url=feed, timeout=30, headers=headers) as c:
        r = await c.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/webhook",
                                               "start": "beginning"})
        if r.status_code == 404:
            pytest.skip("the feed's webhook routes are not wired on this branch (wip/feed-webhooks): "
                        "POST /v1/webhooks answered 404")
        assert r.status_code == 201, r.text
        hook = r.json()
        assert hook["secret"].startswith("whsec_")
        api = Platform(demo_config({svc: a.url(svc) for svc in SERVICES}, WARD_A), "hook")
        try:
            await set_up(api)  # new public facts on A while nobody listens at the callback URL
        finally:
            await api.aclose()

        async def failed_attempts() -> bool:
            log = (await c.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")).json()["items"]
            return any(d["outcome"] != "delivered" for d in log)

        await eventually(failed_attempts, timeout=60)
        receiver.secrets = hook["secret"]
        receiver.start()
        try:
            async def all_delivered() -> bool:
                return [e["id"] for e in await receiver.applied()] == await feed_ids(feed, sub["api_key"])

            await eventually(all_delivered, timeout=180, interval=1)  # retries back off 1 s, 2 s, 4 s, ...
            applied = await receiver.applied()
            assert {e["via"] for e in applied} == {"webhook"}
            assert {e["wardid"] for e in applied} == {WARD_A}
            log = (await c.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")).json()["items"]
            assert any(d["outcome"] == "delivered" for d in log)
        finally:
            receiver.stop()
