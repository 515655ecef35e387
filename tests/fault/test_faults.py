"""Faults the plumbing must survive: a consumer killed between its database commit and its offset commit,
two replicas in one group with one killed, PostgreSQL restarted under load. Each asserts the end state:
nothing lost, nothing counted twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from shared.devstack.stack import ROOT, EmbeddedPostgres, role_url
from shared.events import to_kafka
from tests.conftest import auth, make_database, settings_for
from tests.integration.conftest import eventually
from tests.integration.probe import ProbeRecorded, consumer_runtime, create_probe_tables, publisher_app
from tests.kafka_helpers import produce

pytestmark = pytest.mark.fault


def _spawn(db, broker, log: Path, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": db.app_url("incidents"), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
                   "SERVICE_NAME": "incidents", **env}
    return subprocess.Popen([sys.executable, "-m", "tests.fault.probe_consumer_process"], cwd=ROOT, env=environment,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)


async def _produce_events(bootstrap: str, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        key, value, headers = to_kafka(ProbeRecorded(ward_id="phu-son", subject=f"e{i}", value=i))
        await produce(bootstrap, "registry.wards", value, key=key.encode(), headers=list(headers.items()))


async def _effects(db) -> list[int]:
    return sorted(r["value"] for r in await db.fetch("incidents", "SELECT value FROM probe_effects"))


async def test_consumer_killed_between_database_commit_and_offset_commit(probe_db, broker, started):
    await _produce_events(broker.bootstrap, 30)
    log = Path(tempfile.mkstemp(prefix="crash-consumer-", suffix=".log")[1])
    crashing = _spawn(probe_db, broker, log, CRASH_AFTER_COMMIT="1")
    rc = await asyncio.to_thread(crashing.wait, 90)
    assert rc == 137, log.read_text()[-2000:]
    committed_before_crash = len(await _effects(probe_db))
    assert committed_before_crash > 0  # its transaction did commit: the offsets did not
    # The replacement gets the same records again (offsets were never committed) and must not double count.
    await started(consumer_runtime(settings_for("incidents", probe_db, broker)))

    async def all_handled() -> bool:
        return await _effects(probe_db) == list(range(30))

    await eventually(all_handled, timeout=60)
    assert await probe_db.fetchval("incidents", "SELECT count(*) FROM inbox WHERE outcome = 'handled'") == 30
    # a redelivered event that slipped past the inbox would have hit the effect's primary key and been dead-lettered
    assert await probe_db.fetchval("incidents", "SELECT count(*) FROM dead_letters") == 0


async def test_two_replicas_in_one_group_one_killed(probe_db, broker):
    logs = [Path(tempfile.mkstemp(prefix=f"replica-{i}-", suffix=".log")[1]) for i in range(2)]
    replicas = [_spawn(probe_db, broker, log) for log in logs]
    try:
        await _produce_events(broker.bootstrap, 40)

        async def some_handled() -> bool:
            return len(await _effects(probe_db)) >= 40

        await eventually(some_handled, timeout=90)
        replicas[0].send_signal(signal.SIGKILL)
        replicas[0].wait()
        await _produce_events(broker.bootstrap, 40, start=40)

        async def all_handled() -> bool:
            return await _effects(probe_db) == list(range(80))

        await eventually(all_handled, timeout=120)
        assert await probe_db.fetchval("incidents", "SELECT count(*) FROM dead_letters") == 0
    finally:
        for r in replicas:
            if r.poll() is None:
                r.terminate()
                r.wait(20)


async def test_postgresql_restarted_under_load(broker, started):
    tmp = Path(tempfile.mkdtemp(prefix="ward-restart-pg-"))
    os.chmod(tmp, 0o755)
    pg = EmbeddedPostgres(tmp / "data").start()
    try:
        db = await make_database(pg.admin_url)
        await create_probe_tables(db)
        app, publisher = publisher_app(settings_for("registry", db, broker))
        await started(publisher)
        await started(consumer_runtime(settings_for("incidents", db, broker)))
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        outcomes: dict[str, int] = {}

        async def post_until_accepted(i: int) -> None:
            # a client that retries with the same Idempotency-Key until it gets an answer
            headers = {**auth("ward_official", sub="loader"), "Idempotency-Key": f"load-{i}"}
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                for _ in range(200):
                    r = await client.post("/probe", json={"id": f"r{i}", "value": i}, headers=headers)
                    if r.status_code == 201:
                        outcomes[f"r{i}"] = r.json()["value"]
                        return
                    await asyncio.sleep(0.1)

        async def restart_twice() -> None:
            for _ in range(2):
                await asyncio.sleep(0.5)
                await asyncio.to_thread(pg.stop, "immediate")
                await asyncio.sleep(0.5)
                await asyncio.to_thread(pg.start)

        await asyncio.gather(restart_twice(), *(post_until_accepted(i) for i in range(60)))
        assert len(outcomes) == 60

        async def consistent() -> bool:
            state = await db.fetchval("registry", "SELECT count(*) FROM probe_state")
            effects = await db.fetchval("incidents", "SELECT count(*) FROM probe_effects")
            return state == 60 and effects == 60

        await eventually(consistent, timeout=120)
        assert sorted(await _effects(db)) == list(range(60))
        assert await db.fetchval("registry", "SELECT count(*) FROM outbox WHERE event_type = 'registry.probe.recorded.v1'") == 60
        assert role_url  # the services' roles survived the restart with the data directory
    finally:
        pg.stop("immediate")
