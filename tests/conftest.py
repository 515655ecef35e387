"""Fixtures shared by the whole suite: a real PostgreSQL (embedded, free port, once per session), a real
tansu broker (a fresh one per test that asks, so tests share no log or consumer group), a fresh database per
test with every service's roles, schemas and migrations, and token minting."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest

from shared.auth import mint_token
from shared.devstack.stack import EmbeddedPostgres, TansuBroker, create_topics, owner_url, role_url
from shared.migrations import app_role, migrate, provision
from shared.settings import DATABASE_SERVICES, DEV_JWT_ISSUER, DEV_JWT_KID, SERVICES, ServiceSettings

os.environ.setdefault("OTEL_SDK_DISABLED", "false")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:  # an external server, for people who have one
        class External:
            admin_url = url
        yield External()  # type: ignore[misc]
        return
    tmp = Path(tempfile.mkdtemp(prefix="ward-test-pg-"))
    os.chmod(tmp, 0o755)
    server = EmbeddedPostgres(tmp / "data").start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(tmp, ignore_errors=True)  # each run's cluster is ~0.3-3 GB: left behind, they fill the disk


class Database:
    """A fresh database on the test server, provisioned and migrated for every service."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def app_url(self, service: str) -> str:
        return role_url(self.admin_url, app_role(service))

    def owner_url(self, service: str) -> str:
        return owner_url(self.admin_url, service)

    async def connect(self, service: str) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.app_url(service))
        await conn.execute(f'SET search_path TO "{service}"')
        return conn

    async def fetch(self, service: str, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await self.connect(service)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    async def fetchval(self, service: str, sql: str, *args: object) -> object:
        conn = await self.connect(service)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()


async def make_database(server_admin_url: str, services: tuple[str, ...] = DATABASE_SERVICES, *,
                        migrated: bool = True) -> Database:
    """A fresh database with every service's roles and schemas; migrated unless told not to (the migrate step's
    own tests start from a provisioned, unmigrated one)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    base = server_admin_url.rsplit("/", 1)[0]
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    db = Database(f"{base}/{name}")
    await provision(db.admin_url, services)
    if migrated:
        await asyncio.gather(*(migrate(db.owner_url(s), s) for s in services))
    return db


@pytest.fixture
async def db(pg_server: EmbeddedPostgres) -> Database:
    return await make_database(pg_server.admin_url)


@pytest.fixture
async def broker() -> AsyncIterator[TansuBroker]:
    b = TansuBroker().start()
    try:
        await create_topics(b.bootstrap)
        yield b
    finally:
        b.stop()


def settings_for(service: str, db: Database, broker: TansuBroker | None, **overrides: object) -> ServiceSettings:
    values: dict[str, object] = {
        "service_name": service,
        "environment": "test",
        "database_url": db.app_url(service),
        "kafka_bootstrap_servers": broker.bootstrap if broker else "127.0.0.1:1",
        "consumer_retry_backoff_s": 0.01,
        "relay_lease_s": 5.0,
        "db_pool_max": 5,
        "feed_allow_private_callbacks": True,  # the tests' webhook receivers listen on 127.0.0.1
    }
    values.update(overrides)
    return ServiceSettings(**values)  # type: ignore[arg-type]


def token(roles: list[str] | str, ward: str = "phu-son", sub: str | None = None, *,
          aud: str | list[str] | tuple[str, ...] = SERVICES, ttl: timedelta = timedelta(minutes=30),
          key: object = None, kid: str | None = DEV_JWT_KID, alg: str = "EdDSA", iss: str = DEV_JWT_ISSUER,
          without: tuple[str, ...] = (), **claims: object) -> str:
    """A bearer token signed with the development key (which services in test mode trust), for every service
    unless ``aud`` says otherwise. ``key``/``kid``/``alg``/``iss``/``ttl``/``without`` forge the tokens an attacker
    would send (another key, a shared secret, another issuer, a long life, a missing claim)."""
    roles = [roles] if isinstance(roles, str) else roles
    return mint_token(subject=sub or f"user-{uuid.uuid4().hex[:8]}", roles=roles, ward=ward, audience=aud,
                      ttl=ttl, key=key, kid=kid, algorithm=alg, issuer=iss, without=without, **claims)


class BearerHeader(Mapping[str, str]):
    """``{"Authorization": "Bearer <token>"}`` that mints a fresh token each time it is read, so that headers made
    once at import (module constants) do not expire during a long run: tokens live at most JWT_MAX_LIFETIME_S."""

    def __init__(self, mint: Callable[[], str]) -> None:
        self._mint = mint

    def __getitem__(self, key: str) -> str:
        if key != "Authorization":
            raise KeyError(key)
        return f"Bearer {self._mint()}"

    def __iter__(self) -> Iterator[str]:
        return iter(("Authorization",))

    def __len__(self) -> int:
        return 1


def auth(roles: list[str] | str, ward: str = "phu-son", sub: str | None = None, **claims: object) -> BearerHeader:
    """The header of one caller (one subject, random unless given), with a fresh token at each use."""
    subject = sub or f"user-{uuid.uuid4().hex[:8]}"
    return BearerHeader(lambda: token(roles, ward, subject, **claims))  # type: ignore[arg-type]


# -- what the suite needs ------------------------------------------------------------------------------------
_NEEDS = {"postgres": 0, "broker": 0, "total": 0}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count the selected tests (after ``-k``/``-m``) that need PostgreSQL (any fixture that reaches
    ``pg_server``) or a broker, for the summary line: the share of tests that need a real database is a figure the
    application layer is meant to lower."""
    for item in session.items:
        names = set(getattr(item, "fixturenames", ()))
        _NEEDS["total"] += 1
        params = getattr(getattr(item, "callspec", None), "params", {})
        _NEEDS["postgres"] += ("pg_server" in names or "postgres" in params.values()
                               or any(m.name == "needs_postgres" for m in item.iter_markers()))
        _NEEDS["broker"] += "broker" in names or any(m.name == "needs_broker" for m in item.iter_markers())
    if hasattr(session.config, "workeroutput"):  # a pytest-xdist worker: the controller prints the line
        session.config.workeroutput["needs"] = dict(_NEEDS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist's controller: every worker collects the whole suite, so one worker's counts are the suite's."""
    needs = getattr(node, "workeroutput", {}).get("needs")
    if needs and not _NEEDS["total"]:
        _NEEDS.update(needs)


# Tests that start the platform's processes (e2e, fault) run one after another on one worker: two platforms at once
# on a 2-core machine would slow both past their timeouts. Every other module stays whole on one worker, so that its
# module-scoped fixtures are made once. `make test` runs `pytest -n 2 --dist loadgroup`.
_SERIAL = ("tests/e2e/", "tests/fault/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = str(config.rootpath)
    for item in items:
        path = str(item.path).removeprefix(root).lstrip("/")
        group = "platform" if path.startswith(_SERIAL) else path
        item.add_marker(pytest.mark.xdist_group(group))
    # Within tests/e2e, the modules that start platforms of their own (make run, the neighbour ward) go first: the
    # package's shared platform starts with the first test that asks for it, and idle it still takes about half a
    # core (eight services polling the broker), which slowed `make run` on CI from 16 s to 88 s. A stable sort:
    # every worker collects the same order, as pytest-xdist requires.
    def own_platform_first(item: pytest.Item) -> int:
        path = str(item.path).removeprefix(root).lstrip("/")
        return 0 if not path.startswith("tests/e2e/") or "platform" in getattr(item, "fixturenames", ()) else -1
    items.sort(key=own_platform_first)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    total = _NEEDS["total"]
    if total:
        terminalreporter.write_line(
            f"tests needing PostgreSQL: {_NEEDS['postgres']} of {total} ({100 * _NEEDS['postgres'] / total:.0f}%); "
            f"needing a broker: {_NEEDS['broker']} of {total}")


@pytest.fixture
def otlp() -> Iterator[object]:
    """A real OTLP receiver that gets this process's spans (through the allow-list exporter) during the test."""
    from tests.otlp_receiver import OtlpReceiver, forward_to  # here: after OTEL_SDK_DISABLED is set above

    receiver = OtlpReceiver().start()
    forward_to(receiver)
    try:
        yield receiver
    finally:
        forward_to(None)
        receiver.stop()
