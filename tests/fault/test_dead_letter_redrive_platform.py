"""A handler bug on the running platform dead-letters the events of a real flow; the fixed service is started and
the operator runs `wardctl dead-letters redrive` from a shell; the flow then completes with every figure exact and
nothing counted twice.

The bug is a poison a real bug causes, without a hook in the services' code: the awards database refuses the
facts of successful mediations (a constraint its handler does not satisfy, as a migration that disagrees with the
handler would), so every ``mediation.case.succeeded.v1`` of the Phú Sơn replay fails its three attempts and is
dead-lettered while the rest of the platform goes on. The fix: the service is stopped, the constraint dropped (the
corrected release), the service started again on the same port."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import asyncpg
import pytest

from demo import donations, festival, incidents, summary, ward
from demo.client import Platform as DemoApi
from demo.config import Config
from shared.devstack.stack import ROOT, ServiceProcess
from shared.settings import SERVICES
from tests.e2e.conftest import Platform, eventually, running_platform

pytestmark = pytest.mark.fault

CASE_SUCCEEDED = "mediation.case.succeeded.v1"
FAULT = "fault_injected_mediation_credit_bug"


@pytest.fixture(scope="module")
async def plat(pg_server) -> AsyncIterator[Platform]:
    async with running_platform(pg_server.admin_url) as p:
        yield p


async def _as_owner(p: Platform, sql: str) -> None:
    conn = await asyncpg.connect(p.db.owner_url("awards"))
    try:
        await conn.execute("SET search_path TO awards")
        await conn.execute(sql)
    finally:
        await conn.close()


async def _val(p: Platform, service: str, sql: str, *args: object) -> int:
    return int(await p.db.fetchval(service, sql, *args))


def _wardctl(p: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DATABASE_URL": p.db.app_url("awards")}, timeout=300)


@pytest.mark.timeout(900)  # the replay, a restart and the festival on a loaded machine: minutes, not the default 3
async def test_a_handler_bug_dead_letters_a_flow_and_redrive_after_the_fix_completes_it_exactly_once(plat):
    await _as_owner(plat, f"ALTER TABLE achievement_facts ADD CONSTRAINT {FAULT} "
                          "CHECK (fact_key NOT LIKE 'case:%') NOT VALID")
    config = Config(urls={svc: plat.url(svc) for svc in SERVICES}, timeout=120)
    api = DemoApi(config, "redrive")
    try:
        # The replay up to the festival: registry, donations, crime tips, ten disputes mediated, warnings.
        w = await ward.set_up(api)
        campaign = await donations.run(api, w)
        cases = incidents.Cases()
        await incidents.wait_for_group(api, w)
        await incidents.crime_tips(api, w, campaign, cases)
        await incidents.disputes(api, w, cases)
        await incidents.warnings(api, w, cases)
        assert len(cases.mediation_cases) == 10

        async def all_dead() -> bool:
            return await _val(plat, "awards", "SELECT count(*) FROM dead_letters WHERE event_type = $1",
                              CASE_SUCCEEDED) == 10

        await eventually(all_dead, timeout=120)  # each of the ten successes failed its attempts in awards
        assert await _val(plat, "awards", "SELECT count(*) FROM achievement_facts WHERE fact_key LIKE 'case:%'") == 0
        dead_ids = [r["message_id"] for r in await plat.db.fetch(
            "awards", "SELECT message_id FROM dead_letters WHERE event_type = $1", CASE_SUCCEEDED)]
        # Republishing the producer's events, as the runbook used to say, changes nothing: the inbox saw them.
        assert {r["outcome"] for r in await plat.db.fetch(
            "awards", "SELECT outcome FROM inbox WHERE message_id = ANY($1::text[])", dead_ids)} == {"dead_lettered"}

        # The fixed version: awards stopped, the corrected release (no constraint) started on the same port.
        old = plat.processes["awards"]
        old.stop()
        await _as_owner(plat, f"ALTER TABLE achievement_facts DROP CONSTRAINT {FAULT}")
        fixed = ServiceProcess("awards", dict(old.env), plat.logs / "awards-fixed.log").start()
        plat.processes["awards"] = fixed
        await asyncio.to_thread(fixed.wait_ready, 90)

        listed = await asyncio.to_thread(_wardctl, plat, "dead-letters", "list", "awards")
        assert listed.returncode == 0 and "awards: 10 dead letters" in listed.stdout, listed.stdout + listed.stderr
        out = await asyncio.to_thread(_wardctl, plat, "dead-letters", "redrive", "awards", "--event-type",
                                      CASE_SUCCEEDED, "--operator", "ops-on-call", "--wait", "180")
        assert out.returncode == 0, out.stdout + out.stderr
        assert "redriven 10, failed again 0" in out.stdout, out.stdout

        # The rest of the flow: the festival honours the mediation team and its mediators; every figure exact.
        fest = await festival.run(api, w, cases.anonymous_follow_up)
        figures = await summary.read_back(api, w, campaign, cases, fest)
        assert figures.ok, figures.render()
    finally:
        await api.aclose()

    # Nothing happened twice. Each case counted once for each of its two mediators and once for the team ...
    case_keys = [f"case:{c}" for c in cases.mediation_cases]
    facts = await plat.db.fetch("awards", "SELECT fact_key, count(*) AS n FROM achievement_facts "
                                          "WHERE fact_key = ANY($1::text[]) GROUP BY fact_key", case_keys)
    assert {r["fact_key"]: r["n"] for r in facts} == dict.fromkeys(case_keys, 3)
    team = w.team("mediation")
    rows = await plat.db.fetch("awards", "SELECT holder_kind, holder_ref, count FROM achievements "
                                         "WHERE kind = 'mediations_succeeded' AND group_id = $1", w.group_id)
    assert sorted((r["holder_kind"], r["holder_ref"], r["count"]) for r in rows) == sorted(
        [("collective", team["team_id"], 10), ("individual", team["members"][0], 10), ("individual", team["members"][1], 10)])
    # ... each fact published once (one AchievementRecorded per fact), each event handled once and resolved.
    ach_ids = [r["achievement_id"] for r in await plat.db.fetch(
        "awards", "SELECT achievement_id FROM achievements WHERE kind = 'mediations_succeeded' AND group_id = $1",
        w.group_id)]
    assert await _val(plat, "awards", "SELECT count(*) FROM outbox WHERE event_type = 'awards.achievement.recorded.v1' "
                                      "AND message_key = ANY($1::text[])", ach_ids) == 30
    assert {r["outcome"] for r in await plat.db.fetch(
        "awards", "SELECT outcome FROM inbox WHERE message_id = ANY($1::text[])", dead_ids)} == {"handled"}
    assert await _val(plat, "awards", "SELECT count(*) FROM dead_letters WHERE status = 'redriven' "
                                      "AND message_id = ANY($1::text[])", dead_ids) == 10
    assert await _val(plat, "awards", "SELECT count(*) FROM audit_log WHERE command = 'dead_letters.redrive' "
                                      "AND actor = 'ops-on-call'") == 10
    # The mediation cases: ten; and nothing else was dead-lettered anywhere (the redrives went to awards' own
    # dead-letter topic, which only awards reads, and the copies there were not dead-lettered again).
    assert await _val(plat, "mediation", "SELECT count(*) FROM cases WHERE case_id = ANY($1::text[])",
                      cases.mediation_cases) == 10
    for svc in SERVICES:
        expected = 10 if svc == "awards" else 0
        assert await _val(plat, svc, "SELECT count(*) FROM dead_letters") == expected, svc
