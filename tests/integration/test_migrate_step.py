"""Migrations are their own step (`wardctl migrate`, as the schema owners); a running service holds only its
application role, which cannot change the insert-only audit trail or ledger, and is not ready until its schema
has every migration its code expects."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit

import asyncpg
import pytest

from services.registry.bootstrap import build as build_registry
from shared import migrations
from shared.devstack.stack import ROOT, service_env
from shared.migrations import migrations_for
from shared.settings import DATABASE_SERVICES, SERVICES, ServiceSettings
from tests.conftest import Database, make_database, settings_for

pytestmark = pytest.mark.integration


def wardctl(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_OWNER_DATABASE_URL")}
    return subprocess.run([sys.executable, "-m", "shared.cli", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


async def provisioned_only(admin_url: str) -> Database:
    """A fresh database with the roles and schemas, and no migration applied (what the migrate step finds)."""
    return await make_database(admin_url, migrated=False)


def owner_env(db: Database, *services: str) -> dict[str, str]:
    return {f"{s.upper()}_OWNER_DATABASE_URL": db.owner_url(s) for s in services}


async def test_wardctl_migrate_applies_the_schemas_as_their_owners(pg_server) -> None:
    db = await provisioned_only(pg_server.admin_url)
    missing = await asyncio.to_thread(wardctl, "migrate", "registry", "donations", **owner_env(db, "registry"))
    assert missing.returncode == 2 and "DONATIONS_OWNER_DATABASE_URL is not set" in missing.stderr
    assert "postgresql://" not in missing.stderr + missing.stdout  # no login is echoed
    unknown = await asyncio.to_thread(wardctl, "migrate", "billing")
    assert unknown.returncode == 2 and "unknown service" in unknown.stderr

    two = await asyncio.to_thread(wardctl, "migrate", "registry", "donations", **owner_env(db, "registry", "donations"))
    assert two.returncode == 0, two.stderr
    assert "registry: applied shared/0001_plumbing" in two.stdout and "donations/0001_donations" in two.stdout
    every = await asyncio.to_thread(wardctl, "migrate", **owner_env(db, *DATABASE_SERVICES))  # the console's too
    assert every.returncode == 0, every.stderr
    assert "registry: applied nothing (up to date)" in every.stdout and "awards: applied shared/0001" in every.stdout
    for service in SERVICES:
        done = {r["version"] for r in await db.fetch(service, "SELECT version FROM schema_migrations")}
        assert done == {m.version for m in migrations_for(service)}
        owner = await db.fetchval(service, "SELECT tableowner FROM pg_tables WHERE schemaname = $1 AND tablename = 'audit_log'",
                                  service)
        assert owner == f"{service}_owner"


async def test_a_service_whose_schema_is_behind_its_code_is_not_ready(pg_server, started, tmp_path,
                                                                    monkeypatch) -> None:
    db = await provisioned_only(pg_server.admin_url)
    app = build_registry(settings_for("registry", db, None))
    runtime = await started(app.state.runtime, wait_assigned=False)
    checks = await runtime.readiness()
    assert checks["schema"].startswith("not migrated:") and "wardctl migrate registry" in checks["schema"], checks
    assert "registry/0001_registry" in checks["schema"]
    assert (await asyncio.to_thread(wardctl, "migrate", "registry", **owner_env(db, "registry"))).returncode == 0
    # a release whose code expects one more migration than was applied (started before its migration step)
    future = tmp_path / "0099_future.sql"
    future.write_text("SELECT 1;")
    expected = migrations.migrations_for
    monkeypatch.setattr(migrations, "migrations_for",
                        lambda service: [*expected(service), migrations.Migration(f"{service}/0099_future", future)])
    checks = await runtime.readiness()
    assert "1 migration(s) pending (registry/0099_future)" in checks["schema"], checks
    monkeypatch.undo()
    assert (await runtime.readiness())["schema"] == "ok"


async def test_with_a_running_service_credentials_the_audit_trail_and_ledger_cannot_be_changed(db) -> None:
    for service in SERVICES:
        settings = ServiceSettings(**{k.lower(): v for k, v in service_env(service, db.admin_url, "127.0.0.1:1").items()})
        # the running service's settings hold its application login and nothing else
        assert urlsplit(settings.database_url).username == service
        assert not [f for f in ServiceSettings.model_fields if "migration" in f or "owner" in f]
        conn = await asyncpg.connect(settings.database_url)
        try:
            await conn.execute(f'SET search_path TO "{service}"')
            await conn.execute("INSERT INTO audit_log (actor, actor_roles, command, target_type, target_id, prev_hash, hash)"
                               " VALUES ('a', '{}', 'c', 't', 'x', '0', $1)", uuid.uuid4().hex)
            tables = {"audit_log": "seq"}
            if service == "donations":
                tables.update(ledger_entries="seq", expenses="expense_id", expense_approvals="expense_id")
            for table, column in tables.items():
                for sql in (f"UPDATE {table} SET {column} = {column}",
                            f"DELETE FROM {table}",
                            f"TRUNCATE {table}"):
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute(sql)
            assert await conn.fetchval("SELECT count(*) FROM audit_log") == 1
        finally:
            await conn.close()
    # why the owner's login stays with the migration step: it owns the tables, so it could rewrite the trail
    owner = await asyncpg.connect(db.owner_url("registry"))
    try:
        assert await owner.execute("UPDATE registry.audit_log SET actor = 'someone else'") == "UPDATE 1"
    finally:
        await owner.close()
