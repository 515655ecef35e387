"""The composition root every service uses: ``ServiceRuntime``.

A service's ``bootstrap.py`` builds one runtime from its settings, registers its handlers, scheduled jobs and
HTTP routers, and asks for the FastAPI app. The runtime owns the connections and background tasks and starts
and stops them in the application's lifespan (never at import time):

* the asyncpg pool (its own login role, its schema on the search_path). Migrations are not run here: they are
  their own step (``wardctl migrate``, as the schema owner); readiness stays false until the schema has every
  migration the code expects;
* the faststream ``KafkaBroker``, whose batch subscriber feeds the ``EventConsumer`` with ``AckPolicy.MANUAL``
  (offsets are committed after the database transaction). No faststream telemetry middleware: it would start
  a root trace for every batch; the consumer's per-message ``process`` span continues each event's own trace;
* the outbox relay; scheduled jobs, each run by one replica at a time (advisory lock), among them
  ``outbox-retention``, which deletes published outbox rows past ``OUTBOX_RETENTION_DAYS``, and
  ``idempotency-retention``, which deletes idempotency records past ``IDEMPOTENCY_RETENTION_HOURS``;
* the audit chain's key (``shared.audit``) and the ``audit-head`` job, which publishes the chain's head every
  ``AUDIT_HEAD_INTERVAL_S`` and once more at shutdown.

The broker may be down when a service starts: HTTP commands are accepted meanwhile (their events wait in
the outbox) and the runtime keeps connecting in the background; readiness reports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared import audit, idempotency, metrics, migrations, outbox, ratelimit
from shared.auth import TokenVerifier
from shared.consumer import INFRASTRUCTURE_ERRORS, EventConsumer, Handler, RawMessage, record_lag
from shared.contracts.audit import head_event_class
from shared.crypto import PersonalDataProtector
from shared.db import create_pool
from shared.events import Event
from shared.kafka_security import broker_security, client_options
from shared.relay import OutboxRelay, make_producer
from shared.settings import ServiceSettings
from shared.telemetry import setup_telemetry

log = logging.getLogger(__name__)

Job = Callable[[asyncpg.Connection], Awaitable[Any]]
IDEMPOTENCY_JOB = "idempotency-retention"
IDEMPOTENCY_JOB_INTERVAL_S = 600.0


@dataclass
class ScheduledJob:
    name: str
    interval_s: float
    run: Job


async def _no_decode(_msg: Any) -> None:
    return None


class ServiceRuntime:
    #: The bound of each step of ``stop`` (the audit head at shutdown gets twice as much).
    stop_step_timeout_s: float = 10.0

    def __init__(
        self,
        settings: ServiceSettings,
        *,
        publishes: Sequence[type[Event]] = (),
        description: str = "",
    ) -> None:
        self.settings = settings
        self.service = settings.service_name
        self.description = description
        # Every service publishes the head of its audit chain (shared.audit), besides its own events.
        self.publishes = [*publishes, head_event_class(self.service)]
        self.handlers: dict[type[Event], Handler] = {}
        self.application: Any = None  # the service's shared.application.Application (set in its bootstrap)
        self.jobs: list[ScheduledJob] = []
        self._background: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self.pool: asyncpg.Pool | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: EventConsumer | None = None
        self.broker_connected = False
        self._tasks: list[asyncio.Task[Any]] = []
        self._started = False
        self.pii: PersonalDataProtector = settings.protector()  # only the keys this service uses; none for most
        self._schema_ok = False
        self.audit_keys = audit.AuditKeys.from_settings(settings)
        self.idempotency_sealer = idempotency.Sealer(
            self.service, settings.idempotency_key.get_secret_value(),
            [k.get_secret_value() for k in settings.idempotency_retired_keys])
        self.every("audit-head", settings.audit_head_interval_s, self._publish_audit_head)
        self.every("rate-limit-purge", 60, ratelimit.purge)
        outbox.set_max_message_bytes(settings.kafka_max_message_bytes)
        self.token_verifier = TokenVerifier(settings)  # fetches nothing until the first token arrives
        setup_telemetry(self.service, otlp_endpoint=settings.otel_exporter_otlp_endpoint, log_level=settings.log_level)
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            acks="all",
            enable_idempotence=settings.kafka_enable_idempotence,
            logger=logging.getLogger(f"faststream.{self.service}"),
            client_id=f"{self.service}-service",
            metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
            security=broker_security(settings),
        )
        for cls in self.publishes:
            # Declared for the AsyncAPI document; the relay publishes the outbox rows.
            self.broker.publisher(cls.topic, title=f"{cls.topic}:{cls.event_type}", schema=cls,
                                  description=(cls.__doc__ or "").strip(), include_in_schema=True)
        self.every(IDEMPOTENCY_JOB, IDEMPOTENCY_JOB_INTERVAL_S, self._idempotency_housekeeping)
        self.every("outbox-retention", settings.outbox_retention_interval_s, self._purge_outbox)

    async def _purge_outbox(self, conn: asyncpg.Connection) -> int:
        return await outbox.purge_published(conn, self.settings.outbox_retention_days)

    async def _idempotency_housekeeping(self, conn: asyncpg.Connection) -> dict[str, int]:
        return await idempotency.housekeeping(conn, self, self.settings.idempotency_retention_hours)

    # -- registration ----------------------------------------------------------------------------------
    def consume(self, handlers: dict[type[Event], Handler]) -> None:
        """Handle these event types (each handler runs inside the inbox transaction)."""
        if self._started:
            raise RuntimeError("register handlers before the runtime starts")
        self.handlers.update(handlers)

    def every(self, name: str, interval_s: float, job: Job) -> None:
        self.jobs.append(ScheduledJob(name, interval_s, job))

    def background(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """A task of every replica that runs from start to stop (cancelled at stop), e.g. a LISTEN connection or a
        delivery worker; it handles its own errors and retries."""
        self._background.append((name, run))

    # -- lifecycle -------------------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        self.pool = await create_pool(s.database_url, self.service, min_size=s.db_pool_min, max_size=s.db_pool_max)
        try:
            await self._check_schema()
        except Exception as exc:  # the database may be down: readiness keeps asking
            log.warning("schema version not checked", extra={"error": type(exc).__name__})
        self.relay = OutboxRelay(
            self.pool,
            self.service,
            lambda: make_producer(s.kafka_bootstrap_servers, enable_idempotence=s.kafka_enable_idempotence,
                                  max_message_bytes=s.kafka_max_message_bytes, **client_options(s)),
            batch_size=s.relay_batch_size,
            lease_s=s.relay_lease_s,
        )
        if self.handlers:
            self.consumer = EventConsumer(
                self.service,
                self.pool,
                self.handlers,
                dead_letter_topic=s.dead_letter_topic,
                max_attempts=s.consumer_max_attempts,
                retry_backoff_s=s.consumer_retry_backoff_s,
                max_payload_bytes=s.kafka_max_message_bytes,
            )
            self._subscribe(self.consumer)
            # Parked events of types this version now knows are handled before new messages arrive (in order).
            await self._drain_parked_once()
        self._started = True
        self._tasks.append(asyncio.create_task(self.relay.run(), name=f"{self.service}-relay"))
        if self.consumer is not None:
            self._tasks.append(asyncio.create_task(self._drain_parked(), name=f"{self.service}-parked"))
        self._tasks.append(asyncio.create_task(self._connect_broker(), name=f"{self.service}-broker"))
        for job in self.jobs:
            self._tasks.append(asyncio.create_task(self._run_job(job), name=f"{self.service}-job-{job.name}"))
        for name, run in self._background:
            self._tasks.append(asyncio.create_task(run(), name=f"{self.service}-{name}"))

    async def _publish_audit_head(self, conn: asyncpg.Connection) -> Any:
        event = await audit.publish_head(conn, self.service, "interval")
        # The head is out (or already was: nothing changed since the last one); the WardAuditHeadNotPublished alert
        # fires when this stops moving. Whether the outbox row then leaves is the relay's gauges' business.
        metrics.AUDIT_HEAD_PUBLISHED.labels(self.service).set_to_current_time()
        return event

    async def publish_audit_head_at_shutdown(self, flush_timeout_s: float = 5.0) -> None:
        """Write the chain's head to the outbox and, if the broker is reachable, send the outbox out (bounded), so
        that the last head leaves the database before the process does. Left in the outbox otherwise: the relay
        sends it at the next start."""
        if self.pool is None:
            return
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                event = await audit.publish_head(conn, self.service, "shutdown")
            if event is None or self.relay is None or not self.relay.broker_ok:
                return
            async with asyncio.timeout(flush_timeout_s):
                while await self.relay.publish_once():
                    pass
        except Exception as exc:  # never block a shutdown on it; the head waits in the outbox
            log.warning("audit head not published at shutdown", extra={"error": type(exc).__name__})

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # Bounded too: a task that does not end when cancelled, or a pool with no free connection for the audit head,
        # must not hang the shutdown (a test run once sat for minutes in a teardown here). Waited for with
        # asyncio.wait, not wait_for: wait_for, at its timeout, cancels and then waits for the cancellation to end.
        t = self.stop_step_timeout_s
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=t)
            for task in done:  # retrieved, as gather(return_exceptions=True) did: no "never retrieved" at exit
                if not task.cancelled() and task.exception() is not None:
                    log.debug("background task ended with an error", exc_info=task.exception())
            if pending:
                log.warning("shutdown step timed out", extra={
                    "job": "background tasks", "tasks": sorted(task.get_name() for task in pending)})
        self._tasks.clear()
        if self._started:
            await self._bounded("audit head at shutdown", self.publish_audit_head_at_shutdown(), 2 * t)
        # Each step bounded: a shutdown must end (Kubernetes kills the pod after its grace period anyway), and what
        # is not done now is done at the next start (the outbox is sent again, the group rebalances).
        if self.relay is not None:
            await self._bounded("relay stop", self.relay.stop(), t)
        await self._bounded("broker stop", self.broker.stop(), t)
        if self.pool is not None:
            pool, self.pool = self.pool, None
            closing = asyncio.ensure_future(pool.close())
            await asyncio.wait({closing}, timeout=t)
            if not closing.done():  # a connection still held by a task that did not end: do not hang the shutdown
                closing.cancel()
                log.warning("shutdown step timed out", extra={"job": "pool close"})
                pool.terminate()

    @staticmethod
    async def _bounded(what: str, step: Awaitable[Any], timeout_s: float) -> None:
        """Run one step of the shutdown for at most ``timeout_s``; a step that overruns is cancelled and left (not
        waited for: it may not end when cancelled), logged; a step that fails is logged; neither is raised."""
        task = asyncio.ensure_future(step)
        try:
            await asyncio.wait({task}, timeout=timeout_s)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if not task.done():
            task.cancel()
            log.warning("shutdown step timed out", extra={"job": what})
        elif not task.cancelled() and task.exception() is not None:
            log.debug("shutdown step failed", extra={"job": what}, exc_info=task.exception())

    def _subscribe(self, consumer: EventConsumer) -> None:
        s = self.settings
        subscriber = self.broker.subscriber(
            *consumer.topics,
            group_id=s.consumer_group,
            batch=True,
            max_records=s.consumer_batch_max_records,
            batch_timeout_ms=50,
            fetch_max_wait_ms=s.kafka_fetch_max_wait_ms,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
            # Our consumer decodes and validates each record itself; faststream's JSON decoding of the batch
            # would fail the whole batch on one malformed message before the handler could dead-letter it.
            decoder=_no_decode,
            title=f"{self.service}-service consumer",
            description="Events this service handles: " + ", ".join(sorted(consumer.handlers)),
        )

        @subscriber
        async def on_batch(msg: KafkaMessage) -> None:
            records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
            record_lag(self.service, s.consumer_group, msg.consumer, records)
            raw = [RawMessage.from_record(r) for r in records]
            delay = 0.2
            for _ in range(8):  # ride out a short database outage without giving the batch up
                try:
                    await consumer.handle_batch(raw)
                except INFRASTRUCTURE_ERRORS as exc:
                    log.warning("batch not handled; database unavailable", extra={"error": type(exc).__name__})
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5.0)
                    continue
                except Exception:
                    # A fault of the plumbing itself (handler faults are dead-lettered inside handle_batch):
                    # never acknowledge past it; take the batch again after a pause.
                    log.exception("batch failed unexpectedly; it will be redelivered")
                    await asyncio.sleep(delay)
                    break
                await msg.ack()  # commit offsets only now, after the transaction
                return
            await msg.nack()  # seek back: the same batch is fetched again, nothing is skipped

        self._subscriber = subscriber

    async def wait_until_assigned(self, timeout: float = 30.0) -> None:
        """Wait until the consumer group has given this replica its partitions (tansu takes ~5 s)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            consumer = getattr(getattr(self, "_subscriber", None), "consumer", None)
            if consumer is not None and consumer.assignment():
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.service}: no partitions assigned after {timeout}s")

    async def _connect_broker(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.broker.start()
                self.broker_connected = True
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("broker not reachable; retrying", extra={"error": type(exc).__name__, "retry_in_s": delay})
                try:
                    await self.broker.stop()  # release what the failed start opened
                except Exception:
                    log.debug("broker stop after a failed start failed", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _drain_parked_once(self) -> None:
        assert self.consumer is not None
        try:
            await self.consumer.drain_parked()
        except Exception:  # the database is down: the periodic drain tries again
            log.exception("draining parked events failed")

    async def _drain_parked(self) -> None:
        """Drain periodically too: during a rolling upgrade an older replica may park events this one knows."""
        while True:
            await asyncio.sleep(self.settings.parked_drain_interval_s)
            await self._drain_parked_once()

    async def _run_job(self, job: ScheduledJob) -> None:
        while True:
            try:
                await self.run_job_once(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled job failed", extra={"job": job.name})
            await asyncio.sleep(job.interval_s)

    async def run_job_once(self, job: ScheduledJob) -> Any:
        assert self.pool is not None
        async with self.pool.acquire() as conn, conn.transaction():
            got = await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':job:' || $1))", job.name)
            if not got:
                return None  # another replica is running it
            return await job.run(conn)

    async def run_job(self, name: str) -> Any:
        """Run a scheduled job now (operators, tests)."""
        return await self.run_job_once(next(j for j in self.jobs if j.name == name))

    # -- health ----------------------------------------------------------------------------------------
    async def _check_schema(self, conn: asyncpg.Connection | None = None) -> str:
        """"ok" once the schema has every migration this code expects (then not asked again: schemas only move
        forward), else what is missing and the command that applies it."""
        if self._schema_ok:
            return "ok"
        if conn is None:
            assert self.pool is not None
            async with self.pool.acquire(timeout=2) as own:
                return await self._check_schema(own)
        missing = await migrations.pending(conn, self.service)
        if not missing:
            self._schema_ok = True
            return "ok"
        message = (f"not migrated: {len(missing)} migration(s) pending ({', '.join(missing)}); "
                   f"run `wardctl migrate {self.service}` as the schema owner")
        log.error("schema not migrated", extra={"pending": missing, "service": self.service})
        return message

    async def readiness(self) -> dict[str, Any]:
        checks: dict[str, Any] = {}
        try:
            assert self.pool is not None
            async with self.pool.acquire(timeout=2) as conn:
                await conn.fetchval("SELECT 1")
                checks["schema"] = await self._check_schema(conn)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unavailable: {type(exc).__name__}"
        try:
            ok = self.broker_connected and await self.broker.ping(timeout=2)
            checks["broker"] = "ok" if ok else "unavailable"
        except Exception as exc:
            checks["broker"] = f"unavailable: {type(exc).__name__}"
        return checks
