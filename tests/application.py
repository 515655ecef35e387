"""Running one handler suite over the fake and the real unit of work.

A service's ``tests/<s>/test_handlers.py`` asks for the ``app`` fixture its conftest builds with ``applications``:
parametrised ``fake`` (its ``FakeUnitOfWork`` subclass: milliseconds, no database) and ``postgres`` (its
``PgUnitOfWork`` subclass on a fresh migrated database of the real PostgreSQL). The same test bodies run on both,
so a fake that answers differently from the SQL fails the suite::

    @pytest.fixture(params=["fake", "postgres"])
    async def app(request):
        async with applications(request, "donations", FakeDonationsUnitOfWork, DonationsUnitOfWork,
                                handlers.HANDLERS) as application:
            yield application

Tests read what a command left through ``application.read()`` (repositories) and what it emitted through
``emitted(application)``, which reads the fake's ``published`` list (with the public copies the outbox would
write beside each event) or the real outbox table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest

from shared import audit
from shared.application import Application, FakeUnitOfWork, PgContext, PgUnitOfWork
from shared.db import create_pool
from shared.events import EVENT_TYPES, Event
from shared.idempotency import Sealer

TEST_AUDIT_KEYS = audit.AuditKeys("test", {"test": b"test-audit-key-for-handler-suites"})


@asynccontextmanager
async def applications(request: pytest.FixtureRequest, service: str, fake: Callable[[], FakeUnitOfWork],
                       real: type[PgUnitOfWork], handlers: Mapping[type, Any]) -> AsyncIterator[Application]:
    if request.param == "fake":
        uow = fake()
        yield Application(service, lambda conn=None, *, read_only=False: uow, handlers)
        return
    from tests.conftest import make_database

    db = await make_database(request.getfixturevalue("pg_server").admin_url, (service,))
    pool = await create_pool(db.app_url(service), service, min_size=1, max_size=4)
    ctx = PgContext(pool, service, TEST_AUDIT_KEYS, Sealer(service, "handler-suite-idempotency-key"))
    try:
        yield Application(service, lambda conn=None, *, read_only=False: real(ctx, conn, read_only=read_only),
                          handlers)
    finally:
        await pool.close()


async def emitted(application: Application) -> list[Event]:
    """Every event the application's committed commands emitted, in order."""
    probe = application.uow()
    if isinstance(probe, FakeUnitOfWork):  # each event, then its public copies, as shared.outbox.enqueue writes them
        return [e for event in probe.published for e in (event, *event.public_copies())]
    async with application.read() as uow:
        rows = await uow.conn.fetch("SELECT event_type, payload FROM outbox ORDER BY seq")
    return [EVENT_TYPES[r["event_type"]].model_validate_json(bytes(r["payload"])) for r in rows]


async def audited(application: Application) -> list[tuple[str, str, str]]:
    """(command, target_type, target_id) of every audit row, in order."""
    probe = application.uow()
    if isinstance(probe, FakeUnitOfWork):
        return [(c, e.target_type, e.target_id) for c, _, e in probe.audit_log]
    async with application.read() as uow:
        rows = await uow.conn.fetch("SELECT command, target_type, target_id FROM audit_log ORDER BY seq")
    return [(r["command"], r["target_type"], r["target_id"]) for r in rows]
