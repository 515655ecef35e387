"""The application layer every service is written in: commands, handlers and the unit of work.

::

    HTTP route / event consumer / scheduled job      (adapters: decode, call, encode; no rules, no SQL)
            |  a Command (typed, frozen)
            v
    Application.handle(command, actor)               (one per service, built in its bootstrap)
            |  opens a UnitOfWork; checks the Idempotency-Key
            v
    handler(command, uow, actor)                     (services/<s>/handlers.py: one per command)
            |  loads aggregates from uow.<repository>, applies the rules of services/<s>/domain.py,
            |  saves them, uow.emit(events), uow.audit(target)
            v
    UnitOfWork.commit()                              (one transaction: state, outbox rows, audit row,
                                                      idempotency record; the inbox row for consumers)

A handler returns a domain result (a dict or a pydantic model; wrap it in ``Created`` when the command made a
new thing) or raises a domain error (``shared.errors``); ``shared.http`` is the one place that turns those errors
into RFC 9457 problems. The same handler runs whether the command came by HTTP, by an event (``on_connection``:
the consumer's savepoint is the transaction and the inbox row is written with it) or from a job.

Two implementations of ``UnitOfWork``: ``PgUnitOfWork`` (asyncpg, the service's schema) and ``FakeUnitOfWork``
(in memory, with fake repositories that restore their state on rollback). Each service subclasses both to add its
repositories, and runs one handler suite over both (tests/<s>/test_handlers.py), so the fakes cannot drift.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import asyncpg
from pydantic import BaseModel, ConfigDict

from shared import audit, idempotency, outbox
from shared.actor import SYSTEM, Principal
from shared.errors import Conflict, InvalidInput
from shared.events import Event
from shared.jsonutil import _default, dumps


class Command(BaseModel):
    """A request to change state: imperative name (``OpenCampaign``), typed fields, frozen, no unknown fields.

    ``name`` is what the audit trail records as the command (``campaign.open``)."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

    name: ClassVar[str] = ""
    #: A partial update (PATCH): which fields were given is part of the request (``null`` clears a field,
    #: leaving it out keeps it), so it is part of the fingerprint too.
    partial: ClassVar[bool] = False

    def fingerprint(self) -> str:
        """The command's canonical form, hashed: the same request in any key order or spacing is the same
        request (an Idempotency-Key's retry is compared on this, not on the bytes sent), and a field given with
        its default value is the field left out - except in a ``partial`` command, where a field set to null is
        not the field left out."""
        form: dict[str, Any] = {"fields": self.model_dump(mode="json")}
        if self.partial:
            form["given"] = sorted(self.model_fields_set)
        canonical = json.dumps(form, default=_default, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        return hashlib.sha256(f"{type(self).__name__}\n{canonical}".encode()).hexdigest()


@dataclass(frozen=True)
class Created:
    """A handler's result when the command made a new thing (HTTP answers 201)."""

    value: Any


@dataclass(frozen=True)
class AuditEntry:
    target_type: str
    target_id: str
    ward_id: str | None
    details: Mapping[str, Any]


@dataclass(frozen=True)
class Reply:
    """What ``Application.handle`` gives an adapter: the result encoded once (what a retry replays)."""

    body: bytes
    created: bool = False
    replayed: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class StoredReply:
    fingerprint: str
    body: bytes
    created: bool


C = TypeVar("C", bound=Command)
U = TypeVar("U", bound="UnitOfWork")
Handler = Callable[[Any, Any, Principal], Awaitable[Any]]


def encode(value: Any) -> bytes:
    return dumps(value).encode()


class UnitOfWork:
    """One atomic change: what a handler sees of storage. Subclasses add the service's repositories in ``bind``.

    ``emit`` collects events (written to the outbox at commit, in order); ``audit`` names what the command
    changed (written to the audit chain at commit, with the actor and the command's name)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.audit_entry: AuditEntry | None = None

    def emit(self, *events: Event) -> None:
        self.events.extend(events)

    def audit(self, target_type: str, target_id: Any, *, ward_id: str | None = None,
              details: Mapping[str, Any] | None = None) -> None:
        self.audit_entry = AuditEntry(target_type, str(target_id), ward_id, dict(details or {}))

    # -- what implementations provide --------------------------------------------------------------------
    async def __aenter__(self: U) -> U:
        raise NotImplementedError

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        raise NotImplementedError

    async def commit(self, command: str, actor: Principal) -> None:
        raise NotImplementedError

    async def recall(self, subject: str, key: str) -> StoredReply | None:
        """The reply stored for this caller's Idempotency-Key (serialising concurrent repeats of it)."""
        raise NotImplementedError

    async def remember(self, subject: str, key: str, command: str, stored: StoredReply) -> None:
        raise NotImplementedError


# -- PostgreSQL ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PgContext:
    """What a PostgreSQL unit of work needs from its service (``from_runtime`` in the services)."""

    pool: asyncpg.Pool | None
    service: str
    audit_keys: audit.AuditKeys
    sealer: idempotency.Sealer | None
    retention_hours: float = 24

    @classmethod
    def from_runtime(cls, runtime: Any) -> PgContext:
        return cls(runtime.pool, runtime.service, runtime.audit_keys, runtime.idempotency_sealer,
                   float(runtime.settings.idempotency_retention_hours))


class PgUnitOfWork(UnitOfWork):
    """A transaction on a connection of the service's pool, or a savepoint on a connection someone else holds
    (a consumer's inbox transaction, a job's): then the outer transaction decides, and commits the inbox row with
    the effects. Subclasses create their repositories on ``self.conn`` in ``bind``.

    ``read_only``: a repeatable-read, read-only transaction (one snapshot for a whole read), never committed."""

    def __init__(self, ctx: PgContext, conn: asyncpg.Connection | None = None, *, read_only: bool = False) -> None:
        super().__init__()
        self.ctx = ctx
        self._given = conn
        self.read_only = read_only
        self.conn: asyncpg.Connection = conn  # type: ignore[assignment]
        self._acquired: Any = None
        self._tx: Any = None

    def bind(self, conn: asyncpg.Connection) -> None:
        """Create the repositories on ``conn`` (subclasses)."""

    async def __aenter__(self: U) -> U:
        me: PgUnitOfWork = self  # type: ignore[assignment]
        if me._given is None:
            assert me.ctx.pool is not None, "the service's pool is not open"
            me._acquired = me.ctx.pool.acquire()
            me.conn = await me._acquired.__aenter__()
        me._tx = (me.conn.transaction(isolation="repeatable_read", readonly=True) if me.read_only
                  else me.conn.transaction())
        await me._tx.start()
        me.bind(me.conn)
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if self._tx is not None:  # not committed: an error, or a read
                tx, self._tx = self._tx, None
                try:
                    await tx.rollback()
                except (asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
                    # The transaction cannot be rolled back here (a commit cancelled half way, a connection lost):
                    # the original error must stand - above all a cancellation, or a stopping task would go on -
                    # and the pool resets or discards the connection.
                    if exc is None:
                        raise
        finally:
            if self._acquired is not None:
                await self._acquired.__aexit__(exc_type, exc, tb)
                self._acquired = None

    async def commit(self, command: str, actor: Principal) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work does not commit")
        if self.events:
            await outbox.enqueue(self.conn, *self.events)
            self.events = []
        if self.audit_entry is not None:
            entry = self.audit_entry
            await audit.record(
                self.conn, self.ctx.audit_keys, actor=actor.subject, actor_roles=[str(r) for r in actor.roles],
                ward_id=entry.ward_id or (None if actor.is_system else actor.ward_id), command=command,
                target_type=entry.target_type, target_id=entry.target_id, details=dict(entry.details))
            self.audit_entry = None
        await self._tx.commit()
        self._tx = None

    async def recall(self, subject: str, key: str) -> StoredReply | None:
        conn = self.conn
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"idem:{subject}:{key}")
        await conn.execute(  # a record past its retention is gone, whether or not the job has run yet
            "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 "
            "AND created_at < now() - make_interval(secs => $3)", subject, key, self.ctx.retention_hours * 3600)
        row = await conn.fetchrow("SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2", subject, key)
        if row is None:
            return None
        fingerprint, body = row["request_hash"], bytes(row["response_body"])
        if row["sealed"]:
            try:
                fingerprint, body = idempotency.unseal(self._sealing(), subject, key, body)
            except Exception as exc:  # the key that sealed it is gone: never run the command a second time
                raise Conflict("the stored response of this Idempotency-Key can no longer be read; "
                               "check the outcome and use a new key") from exc
        return StoredReply(fingerprint, body, row["status_code"] == 201)

    async def remember(self, subject: str, key: str, command: str, stored: StoredReply) -> None:
        sealing = self._sealing()
        sealed = idempotency.seals(sealing)
        body = (idempotency.seal(sealing, subject, key, stored.fingerprint, stored.body) if sealed
                else stored.body)
        await self.conn.execute(
            "INSERT INTO idempotency_keys (principal, key, method, path, request_hash, status_code, response_body, "
            "content_type, sealed) VALUES ($1, $2, 'COMMAND', $3, $4, $5, $6, 'application/json', $7)",
            subject, key, command, "" if sealed else stored.fingerprint, 201 if stored.created else 200, body, sealed)

    def _sealing(self) -> Any:
        """What ``shared.idempotency`` reads its key and service from."""
        return _Sealing(self.ctx.service, self.ctx.sealer)


@dataclass(frozen=True)
class _Sealing:
    service: str
    idempotency_sealer: idempotency.Sealer | None


# -- in memory -------------------------------------------------------------------------------------------------
class FakeRepository:
    """Base of in-memory repositories: their state is plain attributes, copied at the start of a unit of work and
    put back on rollback, so a failed command leaves nothing behind, as in PostgreSQL."""

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.__dict__)

    def restore(self, state: dict[str, Any]) -> None:
        self.__dict__.clear()
        self.__dict__.update(state)


class FakeUnitOfWork(UnitOfWork):
    """The in-memory unit of work for handler tests. One instance is reused across commands (its repositories
    are the "database"); ``published`` holds what committed units emitted, ``audit_log`` what they audited."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Event] = []
        self.audit_log: list[tuple[str, str, AuditEntry]] = []
        self.idempotency: dict[tuple[str, str], StoredReply] = {}
        self._saved: dict[str, Any] | None = None

    def repositories(self) -> dict[str, FakeRepository]:
        return {k: v for k, v in vars(self).items() if isinstance(v, FakeRepository)}

    async def __aenter__(self: U) -> U:
        me: FakeUnitOfWork = self  # type: ignore[assignment]
        me.events, me.audit_entry = [], None
        me._saved = {name: repo.snapshot() for name, repo in me.repositories().items()}
        me._saved["__idempotency__"] = dict(me.idempotency)
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._saved is not None:  # not committed: roll back
            for name, repo in self.repositories().items():
                repo.restore(self._saved[name])
            self.idempotency = self._saved["__idempotency__"]
            self._saved = None
        self.events, self.audit_entry = [], None

    async def commit(self, command: str, actor: Principal) -> None:
        self.published.extend(self.events)
        if self.audit_entry is not None:
            self.audit_log.append((command, actor.subject, self.audit_entry))
        self.events, self.audit_entry, self._saved = [], None, None

    async def recall(self, subject: str, key: str) -> StoredReply | None:
        return self.idempotency.get((subject, key))

    async def remember(self, subject: str, key: str, command: str, stored: StoredReply) -> None:  # noqa: ARG002 - the fake keeps no command names
        self.idempotency[(subject, key)] = stored


# -- the application -------------------------------------------------------------------------------------------
class Application(Generic[U]):
    """A service's use cases: its handlers by command type, and how to open its unit of work.

    ``uow(conn=None, *, read_only=False)`` makes a unit of work: on its own transaction (``conn`` None) or
    joining ``conn``; a fake's factory returns its one ``FakeUnitOfWork`` whatever the arguments."""

    def __init__(self, service: str, uow: Callable[..., U], handlers: Mapping[type[Command], Handler]) -> None:
        self.service = service
        self.uow = uow
        self.handlers = dict(handlers)

    async def handle(self, command: Command, actor: Principal, *, idempotency_key: str | None = None,
                     conn: asyncpg.Connection | None = None) -> Reply:
        """Run ``command`` once, atomically. With an Idempotency-Key, a repeat of the same command (compared in
        canonical form) answers the stored reply and changes nothing; the same key for another command is
        refused (422)."""
        handler = self.handlers.get(type(command))
        if handler is None:
            raise LookupError(f"{self.service} has no handler for {type(command).__name__}")
        if idempotency_key is not None and not (1 <= len(idempotency_key) <= 200):
            raise InvalidInput("Idempotency-Key must be 1 to 200 characters")
        fingerprint = command.fingerprint() if idempotency_key else ""
        async with self.uow(conn) as uow:
            if idempotency_key:
                stored = await uow.recall(actor.subject, idempotency_key)
                if stored is not None:
                    if stored.fingerprint != fingerprint:
                        raise InvalidInput("this Idempotency-Key was already used for a different request")
                    return Reply(stored.body, stored.created, replayed=True)
            result = await handler(command, uow, actor)
            created = isinstance(result, Created)
            body = encode(result.value if created else result)
            if uow.audit_entry is None and not actor.is_system:
                raise RuntimeError(f"{type(command).__name__}: a person's command must be audited (uow.audit)")
            if idempotency_key:
                await uow.remember(actor.subject, idempotency_key, command.name or type(command).__name__,
                                   StoredReply(fingerprint, body, created))
            await uow.commit(command.name or type(command).__name__, actor)
        return Reply(body, created)

    async def run(self, command: Command, actor: Principal, *, conn: asyncpg.Connection | None = None) -> Any:
        """``handle`` for in-process callers (consumers, jobs, tests): the decoded result."""
        return (await self.handle(command, actor, conn=conn)).json()

    def on_events(self, handlers: Mapping[type[Event], Callable[[Any, Any], Awaitable[None]]]
                  ) -> dict[type[Event], Callable[[asyncpg.Connection, Any], Awaitable[None]]]:
        """Consumer adapters for ``runtime.consume``: each event handler ``(event, uow)`` runs in a unit of work
        joining the consumer's savepoint, so its effects, its events and the inbox row commit together. An event
        that is really a command for this service is handled by translating it: ``lambda e, uow:
        handle_x(XCommand(...), uow, SYSTEM)``: the same handler as the HTTP route, no second code path."""

        def adapt(handler: Callable[[Any, Any], Awaitable[None]]) -> Callable[[asyncpg.Connection, Any], Awaitable[None]]:
            async def run(conn: asyncpg.Connection, event: Any) -> None:
                async with self.uow(conn) as uow:
                    await handler(event, uow)
                    await uow.commit(f"on {event.event_type}", SYSTEM)

            run.__name__ = getattr(handler, "__name__", "on_event")
            return run

        return {event_type: adapt(handler) for event_type, handler in handlers.items()}

    def job(self, name: str, work: Callable[[Any], Awaitable[Any]]) -> Callable[[asyncpg.Connection], Awaitable[Any]]:
        """A scheduled job's adapter for ``runtime.every``: ``work(uow)`` runs in a unit of work joining the job's
        transaction (which holds the job's lock), as the system actor."""

        async def run(conn: asyncpg.Connection) -> Any:
            async with self.uow(conn) as uow:
                result = await work(uow)
                await uow.commit(name, SYSTEM)
            return result

        return run

    def read(self) -> U:
        """A unit of work for a read: one consistent snapshot, never committed (``async with app.read() as uow``)."""
        return self.uow(None, read_only=True)
