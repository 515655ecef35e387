"""The operator and developer commands, run as a person runs them (`wardctl ...` in a shell)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from shared import outbox
from shared.auth import Role, TokenVerifier
from shared.db import create_pool
from shared.devstack.stack import ROOT
from shared.errors import Unauthorized
from shared.settings import ServiceSettings
from tests.integration.probe import ProbeRecorded

pytestmark = pytest.mark.integration


def wardctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


def verifier(service: str) -> TokenVerifier:
    """What a development service trusts: the development key's JWKS."""
    return TokenVerifier(ServiceSettings(service_name=service, environment="development",
                                         database_url="postgresql://x@127.0.0.1:1/x", _env_file=None))


async def test_token_command_mints_a_token_the_services_accept() -> None:
    out = wardctl("token", "--roles", "police,ward_official", "--ward", "phu-son", "--sub", "officer-7",
                  "--team-ids", "t1,t2")
    assert out.returncode == 0, out.stderr
    for service in ("registry", "incidents", "mediation", "donations", "awards", "feed", "notify"):  # every service by default
        principal = await verifier(service).verify(out.stdout.strip())
        assert principal.subject == "officer-7" and principal.ward_id == "phu-son"
        assert principal.roles == {Role.POLICE, Role.WARD_OFFICIAL} and principal.team_ids == {"t1", "t2"}
    client = wardctl("token", "--roles", "feed_subscriber", "--ward", "dong-ve", "--azp", "dong-ve-feed", "--aud", "feed")
    assert client.returncode == 0, client.stderr
    principal = await verifier("feed").verify(client.stdout.strip())
    assert principal.roles == {Role.FEED_SUBSCRIBER} and principal.client_id == "dong-ve-feed"
    refused = wardctl("token", "--roles", "mayor", "--ward", "phu-son")
    assert refused.returncode != 0 and "mayor" in refused.stderr


async def test_token_command_mints_for_the_audience_asked() -> None:
    out = wardctl("token", "--roles", "ward_official", "--ward", "phu-son", "--aud", "awards")
    assert out.returncode == 0, out.stderr
    assert (await verifier("awards").verify(out.stdout.strip())).ward_id == "phu-son"
    with pytest.raises(Unauthorized, match="aud"):
        await verifier("registry").verify(out.stdout.strip())
    assert wardctl("token", "--roles", "ward_official", "--ward", "phu-son", "--aud", "payroll").returncode == 2


async def test_republish_command_queues_a_time_range_again(db) -> None:
    pool = await create_pool(db.app_url("registry"), "registry")
    try:
        async with pool.acquire() as conn, conn.transaction():
            await outbox.enqueue(conn, *[ProbeRecorded(ward_id="phu-son", subject=f"s{i}", value=i) for i in range(3)])
            await conn.execute("UPDATE outbox SET published_at = now()")
            # an old row, outside the range asked for
            await conn.execute("UPDATE outbox SET created_at = now() - interval '3 days' WHERE message_key = 's0'")
        since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
        out = wardctl("republish", "--service", "registry", "--since", since, DATABASE_URL=db.app_url("registry"))
        assert out.returncode == 0, out.stderr
        assert "4 outbox events queued" in out.stdout  # s1, s2 and their public copies
        unpublished = await pool.fetch("SELECT message_key FROM registry.outbox WHERE published_at IS NULL")
        assert sorted({r["message_key"] for r in unpublished}) == ["s1", "s2"]
    finally:
        await pool.close()


def test_schemas_command_reports_the_committed_schemas_up_to_date() -> None:
    out = wardctl("schemas")
    assert out.returncode == 0 and "up to date" in out.stdout, out.stdout
