"""A minimal service built on the shared plumbing only, to test the plumbing without any domain.

``registry`` plays the publisher (an HTTP command writes state and a ``ProbeRecorded`` event), ``incidents``
the consumer (its handler writes an effect row). The probe tables are created by the test fixture.
"""

from __future__ import annotations

from typing import ClassVar

import asyncpg
from fastapi import APIRouter, Request
from pydantic import BaseModel

from shared.application import Application, Command, Created, PgContext, PgUnitOfWork
from shared.auth import CurrentPrincipal, Principal
from shared.commands import dispatch
from shared.events import Event, PublicEvent, copy_fields
from shared.http import create_app
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings


class ProbePublic(PublicEvent):
    """Public probe: the value only."""

    event_type: ClassVar[str] = "public.registry.probe.recorded.v1"
    value: int


class ProbeRecorded(Event):
    """Test event."""

    event_type: ClassVar[str] = "registry.probe.recorded.v1"
    topic: ClassVar[str] = "registry.wards"
    value: int
    secret_note: str = ""  # stands for personal data: must never reach the public topic

    def to_public(self) -> ProbePublic:
        return copy_fields(ProbePublic, self)


PROBE_SQL = {
    "registry": "CREATE TABLE IF NOT EXISTS probe_state (id text PRIMARY KEY, value int NOT NULL)",
    "incidents": "CREATE TABLE IF NOT EXISTS probe_effects (event_id uuid PRIMARY KEY, subject text, value int NOT NULL)",
}


async def create_probe_tables(db) -> None:
    for service, sql in PROBE_SQL.items():
        conn = await asyncpg.connect(db.owner_url(service))
        try:
            await conn.execute(f'SET search_path TO "{service}"')
            await conn.execute(sql)
        finally:
            await conn.close()


class ProbeIn(BaseModel):
    id: str
    value: int
    fail: bool = False


class RecordProbe(Command):
    name: ClassVar[str] = "probe.record"
    id: str
    value: int
    fail: bool = False


async def record_probe(cmd: RecordProbe, uow: PgUnitOfWork, actor: Principal) -> Created:
    actor.ensure_ward("phu-son")
    await uow.conn.execute("INSERT INTO probe_state (id, value) VALUES ($1, $2)", cmd.id, cmd.value)
    uow.emit(ProbeRecorded(ward_id="phu-son", subject=cmd.id, value=cmd.value,
                           secret_note="Nguyễn Văn A, CCCD 001203004005"))
    uow.audit("probe", cmd.id)
    if cmd.fail:
        raise RuntimeError("fails after writing: nothing may remain")
    return Created({"id": cmd.id, "value": cmd.value})


def publisher_app(settings: ServiceSettings):
    runtime = ServiceRuntime(settings, publishes=[ProbeRecorded, ProbePublic], description="probe publisher")
    runtime.application = Application(
        "registry", lambda conn=None, *, read_only=False: PgUnitOfWork(PgContext.from_runtime(runtime), conn,
                                                                       read_only=read_only),
        {RecordProbe: record_probe})
    router = APIRouter()

    @router.post("/probe", status_code=201)
    async def record(body: ProbeIn, request: Request, principal: CurrentPrincipal):
        return await dispatch(request, RecordProbe(**body.model_dump()), principal)

    return create_app(runtime, [router], title="probe"), runtime


def consumer_runtime(settings: ServiceSettings, *, fail_values: set[int] | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime(settings, description="probe consumer")
    fail_values = fail_values or set()

    async def on_probe(conn: asyncpg.Connection, event: ProbeRecorded) -> None:
        if event.value in fail_values:
            raise ValueError(f"handler refuses value {event.value}")
        await conn.execute("INSERT INTO probe_effects (event_id, subject, value) VALUES ($1, $2, $3)",
                           event.id, event.subject, event.value)

    runtime.consume({ProbeRecorded: on_probe})
    return runtime
