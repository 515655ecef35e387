"""Database provisioning and the migration runner.

Provisioning (development, tests, and the container's init script) creates, for each service, a schema owned
by ``<service>_owner`` and a login role ``<service>`` that may only use that schema's tables. Migrations are
versioned SQL files, ``shared/migrations/*.sql`` (the plumbing every service has: outbox, inbox, audit,
idempotency keys) followed by ``services/<service>/migrations/*.sql``; each is applied once, in order, in its
own transaction, under an advisory lock so that replicas starting together do not race. An applied file whose
text has changed is refused: write a new migration instead.

Migrations are their own step, run as the schema owner by ``wardctl migrate`` (the ``migrate`` one-shot service in
compose, the ``ward-migrate`` Job in Kubernetes, a step of ``make run``): a running service holds only its
application role, which may not change the audit trail or the ledger. A service checks ``schema_migrations``
(``pending``) and refuses readiness until its schema has every migration its code expects.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shared.settings import DATABASE_SERVICES, WEB_SERVICES, dev_password

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
SHARED_MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def owner_role(service: str) -> str:
    return f"{service}_owner"


def app_role(service: str) -> str:
    return service


@dataclass(frozen=True)
class Migration:
    version: str  # "shared/0001", "registry/0002"
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations_for(service: str) -> list[Migration]:
    # A web application (the console) has no outbox, inbox, audit chain or idempotency records: only its own tables.
    shared = [] if service in WEB_SERVICES else sorted(SHARED_MIGRATIONS.glob("*.sql"))
    found = [Migration(f"shared/{p.stem}", p) for p in shared]
    own = ROOT / "services" / service / "migrations"
    found += [Migration(f"{service}/{p.stem}", p) for p in sorted(own.glob("*.sql"))]
    return found


def provision_sql(service: str, owner_password: str, app_password: str, database: str) -> str:
    """SQL (run as a superuser) that creates a service's roles and schema. Idempotent."""
    owner, app = owner_role(service), app_role(service)
    # Identifiers come from the fixed service list (settings.DATABASE_SERVICES), never from input.
    return f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{owner}') THEN
    CREATE ROLE "{owner}" LOGIN PASSWORD '{owner_password}';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{app}') THEN
    CREATE ROLE "{app}" LOGIN PASSWORD '{app_password}';
  END IF;
END $$;
GRANT CONNECT, TEMPORARY ON DATABASE "{database}" TO "{owner}", "{app}";
CREATE SCHEMA IF NOT EXISTS "{service}" AUTHORIZATION "{owner}";
REVOKE ALL ON SCHEMA "{service}" FROM PUBLIC;
GRANT USAGE ON SCHEMA "{service}" TO "{app}";
ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{service}"
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app}";
ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA "{service}"
  GRANT USAGE, SELECT ON SEQUENCES TO "{app}";
ALTER ROLE "{app}" SET search_path = "{service}";
ALTER ROLE "{owner}" SET search_path = "{service}";
-- Places (issue 18): points and distances with cube + earthdistance, which the embedded PostgreSQL and the
-- postgres image ship (PostGIS they do not). earthdistance is not a trusted extension: installed here, by the
-- superuser, once per database in the public schema; migrations name them schema-qualified (public.ll_to_earth).
CREATE EXTENSION IF NOT EXISTS cube SCHEMA public;
CREATE EXTENSION IF NOT EXISTS earthdistance SCHEMA public;
"""  # noqa: S608


async def provision(admin_dsn: str, services: tuple[str, ...] = DATABASE_SERVICES, passwords: dict[str, str] | None = None) -> None:
    """Create every service's roles and schema (development and tests; containers use deploy/postgres)."""
    passwords = passwords or {}
    conn = await asyncpg.connect(admin_dsn)
    try:
        database = await conn.fetchval("SELECT current_database()")
        await conn.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
        await conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        # Roles are cluster-wide: serialise concurrent provisioning (two test runs, two replicas).
        await conn.execute("SELECT pg_advisory_lock(hashtext('ward-platform:provision'))")
        try:
            for service in services:
                owner, app = owner_role(service), app_role(service)
                await conn.execute(
                    provision_sql(
                        service,
                        passwords.get(owner, dev_password(owner)),
                        passwords.get(app, dev_password(app)),
                        database,
                    )
                )
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('ward-platform:provision'))")
    finally:
        await conn.close()


async def migrate(owner_dsn: str, service: str) -> list[str]:
    """Apply the service's pending migrations as the schema owner. Returns the versions applied."""
    conn = await asyncpg.connect(owner_dsn)
    applied_now: list[str] = []
    try:
        await conn.execute(f'SET search_path TO "{service}"')
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", f"migrate:{service}")
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                     version text PRIMARY KEY, checksum text NOT NULL,
                     applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r["version"]: r["checksum"] for r in await conn.fetch("SELECT * FROM schema_migrations")}
            for m in migrations_for(service):
                if m.version in done:
                    if done[m.version] != m.checksum:
                        raise RuntimeError(
                            f"migration {m.version} was changed after it was applied; add a new migration instead"
                        )
                    continue
                sql = m.sql.replace("{{app_role}}", f'"{app_role(service)}"').replace("{{schema}}", service)
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations(version, checksum) VALUES ($1, $2)", m.version, m.checksum
                    )
                applied_now.append(m.version)
                log.info("migration applied", extra={"service": service, "version": m.version})
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", f"migrate:{service}")
    finally:
        await conn.close()
    return applied_now


async def pending(conn: asyncpg.Connection, service: str) -> list[str]:
    """The migrations this code expects that the service's schema lacks (read as the application role)."""
    exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f'"{service}".schema_migrations')
    expected = [m.version for m in migrations_for(service)]
    if not exists:
        return expected
    done = {r["version"] for r in await conn.fetch(f'SELECT version FROM "{service}".schema_migrations')}  # noqa: S608
    return [v for v in expected if v not in done]
