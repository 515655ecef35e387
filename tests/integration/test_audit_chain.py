"""The keyed audit chain and its published heads: each tampering is named, an intact chain passes, heads carry no
personal data and leave on their interval and at shutdown; ``wardctl audit verify`` against the broker's log."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from shared import audit
from shared.db import create_pool
from shared.devstack.stack import ROOT
from shared.events import from_kafka, load_all_contracts
from tests.conftest import auth, settings_for
from tests.integration.conftest import eventually
from tests.integration.probe import publisher_app
from tests.kafka_helpers import read_topic

pytestmark = pytest.mark.integration

HEAD = "registry.audit.head-published.v1"
OFFICIAL = "official-Nguyen-Van-A"  # a subject that must not leave in a head


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t")


async def _write_rows(app, n: int, start: int = 0) -> None:
    async with _client(app) as client:
        for i in range(start, start + n):
            r = await client.post("/probe", json={"id": f"a{i}", "value": i}, headers=auth("ward_official", sub=OFFICIAL))
            assert r.status_code == 201, r.text


async def _admin(db, sql: str) -> None:
    conn = await asyncpg.connect(db.admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _verify(db, keys: audit.AuditKeys, heads=()) -> audit.Report:
    conn = await db.connect("registry")
    try:
        return await audit.verify(conn, keys, heads)
    finally:
        await conn.close()


async def _heads(db) -> list[audit.Head]:
    conn = await db.connect("registry")
    try:
        return await audit.heads_from_outbox(conn, "registry")
    finally:
        await conn.close()


async def _seqs(db) -> list[int]:
    return [r["seq"] for r in await db.fetch("registry", "SELECT seq FROM audit_log ORDER BY seq")]


async def test_an_intact_chain_passes_and_each_tampering_is_named(probe_db, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    await _write_rows(app, 5)
    await runtime.run_job("audit-head")
    keys = runtime.audit_keys
    heads = await _heads(probe_db)
    seqs = await _seqs(probe_db)
    assert heads[-1].seq == seqs[-1]  # (the job also ran once at start, whenever that fell)
    ok = await _verify(probe_db, keys, heads)
    assert ok.ok and ok.rows == 5 and ok.last_seq == seqs[-1] and ok.heads_checked == len(heads)

    # A wrong key does not verify: the MAC depends on the key the database never held.
    forged_keys = audit.AuditKeys(keys.current_id, {keys.current_id: b"x" * 40})
    assert (await _verify(probe_db, forged_keys)).broken.kind == "edited"

    # An edited row: named, by its seq, as edited.
    await _admin(probe_db, f"UPDATE registry.audit_log SET target_id = 'forged' WHERE seq = {seqs[1]}")
    edited = await _verify(probe_db, keys, heads)
    assert (edited.broken.kind, edited.broken.seq) == ("edited", seqs[1])
    assert "edited" in edited.broken.message


async def test_recomputing_the_chain_without_the_key_is_seen(probe_db, started):
    """What the unkeyed chain allowed: edit a row and recompute every hash after it. Without the key, the first
    recomputed row no longer matches its MAC."""
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    await _write_rows(app, 4)
    seqs = await _seqs(probe_db)
    conn = await asyncpg.connect(probe_db.admin_url)
    try:
        rows = await conn.fetch("SELECT * FROM registry.audit_log ORDER BY seq")
        prev = rows[0]["hash"]
        for row in rows[1:]:
            target = "forged" if row["seq"] == seqs[1] else row["target_id"]
            fields = {**audit._fields(row), "target_id": target}
            new = hashlib.sha256((prev + json.dumps(fields)).encode()).hexdigest()
            await conn.execute("UPDATE registry.audit_log SET target_id = $1, prev_hash = $2, hash = $3 WHERE seq = $4",
                               target, prev, new, row["seq"])
            prev = new
    finally:
        await conn.close()
    report = await _verify(probe_db, runtime.audit_keys)
    assert (report.broken.kind, report.broken.seq) == ("edited", seqs[1])


async def test_rows_rewritten_as_unkeyed_legacy_rows_are_seen(probe_db, started):
    """The downgrade: rewrite the tail as rows from before keying (key_id NULL, a plain hash anyone can compute)."""
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    await _write_rows(app, 4)
    seqs = await _seqs(probe_db)
    conn = await asyncpg.connect(probe_db.admin_url)
    try:
        prev = await conn.fetchval("SELECT hash FROM registry.audit_log WHERE seq = $1", seqs[1])
        for row in await conn.fetch("SELECT * FROM registry.audit_log WHERE seq > $1 ORDER BY seq", seqs[1]):
            fields = {**audit._fields(row), "target_id": "forged"}
            new = audit._legacy_hash(prev, fields)
            await conn.execute("UPDATE registry.audit_log SET target_id = 'forged', key_id = NULL, prev_hash = $1, "
                               "hash = $2 WHERE seq = $3", prev, new, row["seq"])
            prev = new
    finally:
        await conn.close()
    report = await _verify(probe_db, runtime.audit_keys)
    assert (report.broken.kind, report.broken.seq) == ("edited", seqs[2])
    assert "no key id" in report.broken.message


async def test_a_deleted_middle_row_is_named_as_a_deletion(probe_db, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    await _write_rows(app, 5)
    await runtime.run_job("audit-head")
    seqs = await _seqs(probe_db)
    await _admin(probe_db, f"DELETE FROM registry.audit_log WHERE seq = {seqs[2]}")
    report = await _verify(probe_db, runtime.audit_keys, await _heads(probe_db))
    assert (report.broken.kind, report.broken.seq) == ("deleted", seqs[3])
    assert f"after row {seqs[1]}" in report.broken.message
    # The first row too: the chain then starts elsewhere than at the genesis.
    await _admin(probe_db, f"DELETE FROM registry.audit_log WHERE seq = {seqs[0]}")
    report = await _verify(probe_db, runtime.audit_keys)
    assert (report.broken.kind, report.broken.seq) == ("deleted", seqs[1])


async def test_a_cut_tail_is_seen_only_against_a_published_head(probe_db, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    await _write_rows(app, 5)
    await runtime.run_job("audit-head")
    heads = await _heads(probe_db)
    seqs = await _seqs(probe_db)
    await _admin(probe_db, f"DELETE FROM registry.audit_log WHERE seq >= {seqs[3]}")
    assert (await _verify(probe_db, runtime.audit_keys)).ok  # the rows alone cannot show it
    report = await _verify(probe_db, runtime.audit_keys, heads)
    assert (report.broken.kind, report.broken.seq) == ("cut_tail", seqs[2])
    assert f"names row {seqs[4]}" in report.broken.message
    # The tail cut and then written again (new rows under the cut seqs): the head's row has another hash.
    await _admin(probe_db, f"DELETE FROM registry.audit_log WHERE seq = {seqs[2]}")
    await _write_rows(app, 3, start=10)
    report = await _verify(probe_db, runtime.audit_keys, heads)
    assert report.broken.kind in {"deleted", "head_mismatch"}


async def test_legacy_rows_verify_as_they_were_and_the_keyed_chain_follows_them(probe_db, started):
    conn = await asyncpg.connect(probe_db.admin_url)
    try:  # two rows as the unkeyed chain wrote them (key_id NULL), details in the order the command built them
        prev = audit.GENESIS
        details = {"campaign_id": "c-1", "amount_vnd": 500_000}  # jsonb keeps them the other way round
        for i in range(2):
            row = await conn.fetchrow(
                "INSERT INTO registry.audit_log (actor, actor_roles, ward_id, command, target_type, target_id, "
                "details, prev_hash, hash) VALUES ('old', '{admin}', 'phu-son', 'old.cmd', 't', $1, $2::jsonb, $3, $4) "
                "RETURNING *", f"old{i}", json.dumps(details), prev, f"{i:064d}")
            fields = {**audit._fields(row), "details": details}
            prev = audit._legacy_hash(prev, fields)
            await conn.execute("UPDATE registry.audit_log SET hash = $1 WHERE seq = $2", prev, row["seq"])
        assert list(json.loads(await conn.fetchval("SELECT details::text FROM registry.audit_log LIMIT 1"))) == \
            ["amount_vnd", "campaign_id"]
    finally:
        await conn.close()
    app, runtime = publisher_app(settings_for("registry", probe_db, None))
    await started(runtime)
    await _write_rows(app, 2)
    report = await _verify(probe_db, runtime.audit_keys)
    assert report.ok and report.rows == 4 and report.legacy_rows == 2
    await _admin(probe_db, "UPDATE registry.audit_log SET target_id = 'x' WHERE target_id = 'old1'")
    assert (await _verify(probe_db, runtime.audit_keys)).broken.kind == "edited"


async def test_rotated_keys_verify_with_the_retired_key(probe_db, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, None, audit_key_id="k1", audit_key="a" * 40))
    await started(runtime)
    await _write_rows(app, 2)
    await runtime.stop()
    app, runtime = publisher_app(settings_for("registry", probe_db, None, audit_key_id="k2", audit_key="b" * 40,
                                              audit_retired_keys={"k1": "a" * 40}))
    await started(runtime)
    await _write_rows(app, 2, start=5)
    assert [r["key_id"] for r in await probe_db.fetch("registry", "SELECT key_id FROM audit_log ORDER BY seq")] == \
        ["k1", "k1", "k2", "k2"]
    assert (await _verify(probe_db, runtime.audit_keys)).ok
    without_old = audit.AuditKeys("k2", {"k2": b"b" * 40})
    assert (await _verify(probe_db, without_old)).broken.kind == "unknown_key"


async def test_heads_leave_on_their_interval_and_at_shutdown_with_no_personal_data(probe_db, broker, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, broker, audit_head_interval_s=0.2))
    await started(runtime, wait_assigned=False)
    await _write_rows(app, 2)

    async def head_names_last_row() -> bool:
        heads = await _heads(probe_db)
        return bool(heads) and heads[-1].seq == (await _seqs(probe_db))[-1]

    await eventually(head_names_last_row)
    first = len(await _heads(probe_db))
    await _write_rows(app, 1, start=2)
    await eventually(head_names_last_row)  # the job ran again, on its interval
    assert len(await _heads(probe_db)) == first + 1
    before = REGISTRY.get_sample_value("ward_audit_head_published_timestamp_seconds", {"service": "registry"})
    await asyncio.sleep(0.5)  # several intervals with no new row: no new head
    assert len(await _heads(probe_db)) == first + 1
    # ...yet the head is still the published one, and the gauge the WardAuditHeadNotPublished alert reads moves on.
    after = REGISTRY.get_sample_value("ward_audit_head_published_timestamp_seconds", {"service": "registry"})
    assert before is not None and after > before

    await _write_rows(app, 1, start=3)
    runtime.jobs.clear()  # no interval job from here on: only the shutdown can publish the last row
    await runtime.stop()
    payloads = [json.loads(bytes(r["payload"])) for r in
                await probe_db.fetch("registry", "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq", HEAD)]
    last_seq = (await _seqs(probe_db))[-1]
    assert payloads[-1]["reason"] == "shutdown" and payloads[-1]["seq"] == last_seq

    load_all_contracts()
    records = await read_topic(broker.bootstrap, "registry.audit",
                               until=lambda rs: any(b'"shutdown"' in r.value for r in rs))
    events = [from_kafka(r.value, dict(r.headers)) for r in records]
    assert events[-1].reason == "shutdown" and events[-1].seq == last_seq  # it left before the process did
    for body in payloads:  # a head is a position and a MAC: nothing of any row's content
        assert set(body) == {"id", "occurred_at", "ward_id", "subject", "service", "seq", "hash", "key_id", "reason"}
        assert body["ward_id"] == "*" and body["subject"] == "registry"
        assert OFFICIAL not in json.dumps(body) and "Nguyễn" not in json.dumps(body, ensure_ascii=False)


async def _wardctl(*args: str, **env: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shared.cli", *args, cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    return proc.returncode, out.decode()


async def test_wardctl_audit_verify_reads_the_heads_from_the_broker(probe_db, broker, started):
    app, runtime = publisher_app(settings_for("registry", probe_db, broker))
    await started(runtime, wait_assigned=False)
    await _write_rows(app, 4)

    async def relay_has_reached_the_broker() -> bool:  # else the shutdown head would wait in the outbox
        return await probe_db.fetchval(
            "registry", "SELECT count(*) > 0 AND bool_and(published_at IS NOT NULL) FROM outbox")

    await eventually(relay_has_reached_the_broker)
    await runtime.stop()  # the shutdown head goes to registry.audit
    env = {"SERVICE_NAME": "registry", "DATABASE_URL": probe_db.app_url("registry"),
           "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap}
    load_all_contracts()
    assert await read_topic(broker.bootstrap, "registry.audit", min_count=1)
    code, out = await _wardctl("audit", "verify", "registry", **env)
    assert code == 0 and "intact" in out, out
    assert "kafka" in out

    # Whoever owns the database cuts the tail and removes the heads from the outbox too: Kafka still has one.
    seqs = await _seqs(probe_db)
    await _admin(probe_db, f"DELETE FROM registry.audit_log WHERE seq > {seqs[1]}")
    await _admin(probe_db, "DELETE FROM registry.outbox")
    code, out = await _wardctl("audit", "verify", "registry", **env)
    assert code == 1 and "cut_tail" in out and f"ends at row {seqs[1]}" in out, out
    # Without the broker (told so), the same cut goes unseen: that is why the topic is the anchor.
    code, out = await _wardctl("audit", "verify", "registry", "--no-kafka", **env)
    assert code == 0, out
    # A broker that cannot be reached is an error, not a pass.
    code, out = await _wardctl("audit", "verify", "registry", "--kafka-timeout", "3",
                               **{**env, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert code == 2, out


async def _record_together(db, keys: audit.AuditKeys, n: int, tag: str) -> None:
    """``n`` commands whose transactions are open at the same time: each appends to a lane of its own."""
    pool = await create_pool(db.app_url("registry"), "registry", min_size=n, max_size=n)
    try:
        async def one(i: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await audit.record(conn, keys, actor="a", actor_roles=["admin"], ward_id="phu-son", command="c",
                                   target_type="t", target_id=f"{tag}{i}")
                await asyncio.sleep(0.3)  # still holding its lane while the others take theirs

        await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await pool.close()


async def test_commands_committing_together_append_to_lanes_each_verified_and_headed(probe_db):
    keys = audit.AuditKeys("k", {"k": b"k" * 40})
    await _record_together(probe_db, keys, 4, "first")
    await _record_together(probe_db, keys, 4, "second")
    rows = await probe_db.fetch("registry", "SELECT seq, lane, prev_hash, hash FROM audit_log ORDER BY seq")
    assert sorted({r["lane"] for r in rows}) == [0, 1, 2, 3]
    assert (await _verify(probe_db, keys)).ok
    pool = await create_pool(probe_db.app_url("registry"), "registry", max_size=1)
    try:
        async with pool.acquire() as conn, conn.transaction():
            await audit.publish_head(conn, "registry", "interval")
        async with pool.acquire() as conn, conn.transaction():  # nothing new: no new head
            assert await audit.publish_head(conn, "registry", "interval") is None
    finally:
        await pool.close()
    heads = await _heads(probe_db)
    tips = {r["lane"]: r for r in rows}  # the last row of each lane
    assert sorted(h.seq for h in heads) == sorted(r["seq"] for r in tips.values())
    assert (await _verify(probe_db, keys, heads)).ok
    # A lane's row moved to another lane: its MAC covers its lane.
    lane2 = [r for r in rows if r["lane"] == 2]
    await _admin(probe_db, f"UPDATE registry.audit_log SET lane = 0 WHERE seq = {lane2[0]['seq']}")
    report = await _verify(probe_db, keys)
    assert (report.broken.kind, report.broken.seq) == ("edited", lane2[0]["seq"])
    await _admin(probe_db, f"UPDATE registry.audit_log SET lane = 2 WHERE seq = {lane2[0]['seq']}")
    # The tail of one lane cut (not the trail's last row): the rows alone cannot show it, its published head does.
    lane1_tip = tips[1]["seq"]
    await _admin(probe_db, f"DELETE FROM registry.audit_log WHERE seq = {lane1_tip}")
    assert (await _verify(probe_db, keys)).ok
    report = await _verify(probe_db, keys, heads)
    assert report.broken.kind in {"head_mismatch", "cut_tail"} and f"names row {lane1_tip}" in report.broken.message \
        or (report.broken.kind, report.broken.seq) == ("head_mismatch", lane1_tip)
    # A row deleted inside a lane: the next row of that lane is named.
    await _admin(probe_db, f"DELETE FROM registry.audit_log WHERE seq = {lane2[0]['seq']}")
    report = await _verify(probe_db, keys)
    assert (report.broken.kind, report.broken.seq) == ("deleted", lane2[1]["seq"])
    assert "(lane 2)" in report.broken.message


async def test_in_a_lane_other_than_0_an_edit_a_reordering_and_a_head_with_another_hash_are_each_named(probe_db):
    keys = audit.AuditKeys("k", {"k": b"k" * 40})
    for round_ in ("first", "second"):
        await _record_together(probe_db, keys, 4, round_)
    rows = await probe_db.fetch("registry", "SELECT seq, lane, target_id FROM audit_log ORDER BY seq")
    lane3 = [r for r in rows if r["lane"] == 3]
    assert len(lane3) == 2 and (await _verify(probe_db, keys)).ok
    # An edited row of lane 3: its MAC no longer matches.
    await _admin(probe_db, f"UPDATE registry.audit_log SET target_id = 'other' WHERE seq = {lane3[0]['seq']}")
    report = await _verify(probe_db, keys)
    assert (report.broken.kind, report.broken.seq) == ("edited", lane3[0]["seq"])
    await _admin(probe_db, f"UPDATE registry.audit_log SET target_id = '{lane3[0]['target_id']}' "
                           f"WHERE seq = {lane3[0]['seq']}")
    assert (await _verify(probe_db, keys)).ok
    # Lane 3's two rows swapped (each takes the other's seq): the order is under the MAC.
    a, b = lane3[0]["seq"], lane3[1]["seq"]
    await _admin(probe_db, f"UPDATE registry.audit_log SET seq = -1 WHERE seq = {a}; "
                           f"UPDATE registry.audit_log SET seq = {a} WHERE seq = {b}; "
                           f"UPDATE registry.audit_log SET seq = {b} WHERE seq = -1")
    report = await _verify(probe_db, keys)
    assert report.broken is not None and report.broken.seq == a, report.broken
    await _admin(probe_db, f"UPDATE registry.audit_log SET seq = -1 WHERE seq = {a}; "
                           f"UPDATE registry.audit_log SET seq = {a} WHERE seq = {b}; "
                           f"UPDATE registry.audit_log SET seq = {b} WHERE seq = -1")
    assert (await _verify(probe_db, keys)).ok
    # A head of lane 3 that names its last row with another hash (the lane rewritten by a key holder, say).
    forged = audit.Head(seq=b, hash="f" * 64, key_id="k", at=datetime.now(UTC))
    report = await _verify(probe_db, keys, [forged])
    assert (report.broken.kind, report.broken.seq) == ("head_mismatch", b)
    assert "has another hash" in report.broken.message
