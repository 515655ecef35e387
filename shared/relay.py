"""The outbox relay: publishes committed outbox rows to Kafka in batches, then marks them published.

* Claims rows with ``FOR UPDATE SKIP LOCKED`` and a lease, so several replicas share one outbox without two
  publishing the same row at once; a replica that dies leaves its lease to expire and another takes over.
* Keeps one aggregate's events in order: a row is not claimed while an earlier row with the same key is
  leased to another relay (claims are serialised by a transaction-level advisory lock, so that check is exact);
  one relay's own batches in flight go through one producer, in order.
* Pipelined: the next batch is claimed while the last is sent and acknowledged (``publish_once``).
* Publishes with ``acks=all`` and keeps trying through a broker outage (backoff, no row given up).
* Restores the trace context stored with each row, so a trace goes on through the outbox.
* Keeps the outbox gauges (backlog, oldest unpublished row) fresh, also while the broker is down. Published rows
  are deleted after the retention period by a scheduled job (``shared.outbox.purge_published``), not here.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from shared import metrics
from shared.events import MAX_MESSAGE_BYTES
from shared.telemetry import SAMPLER, context_from_carrier, tracer, tracer_provider

log = logging.getLogger(__name__)


def make_producer(
    bootstrap_servers: str, *, enable_idempotence: bool = False, max_message_bytes: int = MAX_MESSAGE_BYTES,
    **overrides: Any,
) -> AIOKafkaProducer:
    """The producer every relay uses: acks=all always; idempotence where the broker supports it; messages up to
    ``max_message_bytes`` (``KAFKA_MAX_MESSAGE_BYTES``, which the outbox enforces when an event is enqueued)."""
    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap_servers,
        "acks": "all",
        "enable_idempotence": enable_idempotence,
        "linger_ms": 5,
        "request_timeout_ms": 10_000,
        "retry_backoff_ms": 200,
        "max_request_size": max_message_bytes,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


class SendSpans:
    """The relay's ``send <topic>`` PRODUCER span of every row: the child of the context stored with the row (the
    flow that wrote it), the parent of every consumer's ``process`` span (its context goes in ``traceparent``), with
    the partition and offset the broker gave.

    The SDK's own span machinery costs ~60 µs a row on the development machine, more than the send itself (~25 µs):
    with the platform's sampler (``shared.telemetry.SAMPLER``, every flow sampled) the span is built directly: the
    parent read from the stored ``traceparent``, a span id from the provider's generator, and on the broker's answer
    one finished ``ReadableSpan`` handed to the provider's span processors (the exporters see what they always saw).
    A row whose parent was not sampled gets no span and passes its context on unchanged. Any other sampler, or a
    provider that is not the SDK's, takes the SDK's own path (``start_span``), so the configured sampler decides."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self._tracer = tracer("ward.outbox")
        provider = tracer_provider()
        self._processor = getattr(provider, "_active_span_processor", None)
        self._fast = provider.sampler is SAMPLER and self._processor is not None
        self._ids = provider.id_generator
        self._resource = provider.resource
        self._scope = InstrumentationScope("ward.outbox")

    def _attributes(self, row: asyncpg.Record) -> dict[str, Any]:
        return {
            messaging.MESSAGING_SYSTEM: messaging.MessagingSystemValues.KAFKA.value,
            messaging.MESSAGING_OPERATION_NAME: "send",
            messaging.MESSAGING_OPERATION_TYPE: messaging.MessagingOperationTypeValues.SEND.value,
            messaging.MESSAGING_DESTINATION_NAME: row["topic"],
            messaging.MESSAGING_MESSAGE_ID: str(row["event_id"]),
            messaging.MESSAGING_CLIENT_ID: self.client_id,
            "ward.event_type": row["event_type"],
        }

    def start(self, row: asyncpg.Record) -> tuple[Any, list[tuple[str, bytes]]]:
        """(a span handle, the ``traceparent``/``tracestate`` headers to send with the row)."""
        carrier = row["trace_context"] or {}
        parent_header = carrier.get("traceparent")
        parsed = _TRACEPARENT.fullmatch(parent_header) if parent_header else None
        if not self._fast or (parent_header and (parsed is None or set(parsed[1]) == {"0"} or set(parsed[2]) == {"0"})):
            return self._start_sdk(row, carrier)
        state = carrier.get("tracestate")
        if parsed is not None:
            trace_hex, parent_id, flags = parsed[1], int(parsed[2], 16), int(parsed[3], 16)
            if not flags & 1:  # the flow was not sampled: nothing to record, its context goes on as it is
                return None, [(k, v.encode()) for k, v in carrier.items() if k in ("traceparent", "tracestate")]
        else:  # an outbox row written outside any flow: this span starts one (FlowSampler samples it)
            trace_hex, parent_id, flags, state = format(self._ids.generate_trace_id(), "032x"), None, 1, None
        span_id = self._ids.generate_span_id()
        headers = [("traceparent", f"00-{trace_hex}-{span_id:016x}-{flags:02x}".encode())]
        if state:
            headers.append(("tracestate", state.encode()))
        return (row, trace_hex, parent_id, span_id, flags, state, time.time_ns()), headers

    def _start_sdk(self, row: asyncpg.Record, carrier: dict[str, str]) -> tuple[Any, list[tuple[str, bytes]]]:
        span = self._tracer.start_span(f"send {row['topic']}", context=context_from_carrier(carrier),
                                       kind=SpanKind.PRODUCER, attributes=self._attributes(row))
        out: dict[str, str] = {}
        propagate.inject(out, context=trace.set_span_in_context(span))
        return span, [(k, v.encode()) for k, v in out.items()]

    def end(self, handle: Any, *, error: BaseException | None = None, metadata: Any = None) -> None:
        if handle is None:
            return
        if isinstance(handle, trace.Span):
            if error is not None:
                handle.set_status(trace.Status(trace.StatusCode.ERROR))
                handle.set_attribute("error.type", type(error).__name__)
            elif metadata is not None:  # aiokafka's RecordMetadata: where the broker put it
                handle.set_attribute(messaging.MESSAGING_DESTINATION_PARTITION_ID, str(metadata.partition))
                handle.set_attribute(messaging.MESSAGING_KAFKA_OFFSET, metadata.offset)
            handle.end()
            return
        row, trace_hex, parent_id, span_id, flags, state, started = handle
        trace_id = int(trace_hex, 16)
        trace_state = TraceState.from_header([state]) if state else None
        attributes = self._attributes(row)
        status = Status(StatusCode.UNSET)
        if error is not None:
            status = Status(StatusCode.ERROR)
            attributes["error.type"] = type(error).__name__
        elif metadata is not None:
            attributes[messaging.MESSAGING_DESTINATION_PARTITION_ID] = str(metadata.partition)
            attributes[messaging.MESSAGING_KAFKA_OFFSET] = metadata.offset
        self._processor.on_end(ReadableSpan(
            f"send {row['topic']}",
            context=SpanContext(trace_id, span_id, False, TraceFlags(flags), trace_state),
            parent=SpanContext(trace_id, parent_id, True, TraceFlags(flags), trace_state) if parent_id else None,
            resource=self._resource,
            attributes=attributes,
            kind=SpanKind.PRODUCER,
            status=status,
            start_time=started,
            end_time=time.time_ns(),
            instrumentation_scope=self._scope,
        ))


class TopicNotCreated(RuntimeError):
    """The broker does not have a topic the outbox publishes to (created by the stack from deploy/topics.json)."""


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        service: str,
        producer_factory: Callable[[], AIOKafkaProducer],
        *,
        batch_size: int = 500,
        lease_s: float = 30.0,
        idle_wait_s: float = 1.0,
        max_batches: int = 8,
    ) -> None:
        self.pool = pool
        self.service = service
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.lease_s = lease_s
        self.idle_wait_s = idle_wait_s
        self.max_batches = max_batches
        self.owner = f"{service}-{uuid.uuid4().hex[:12]}"
        self._producer: AIOKafkaProducer | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._listen_conn: asyncpg.Connection | None = None
        self.broker_ok = False
        self._topics_seen: set[str] = set()  # topics this producer connection has seen in the broker's metadata
        self._spans = SendSpans(self.owner)

    # -- lifecycle -----------------------------------------------------------------------------------
    async def run(self) -> None:
        """Publish until stopped. Never raises for broker or database outages: it waits and tries again."""
        backoff = 0.1
        last_gauges = -1e9
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                await self._ensure_listening()
                if loop.time() - last_gauges > 5:  # before publishing: a broker outage must not freeze them
                    await self.refresh_gauges()
                    last_gauges = loop.time()
                self._wake.clear()  # before the claim: a NOTIFY during an empty claim is not lost
                published = await self.publish_once()
                backoff = 0.1
                if published == 0:
                    # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a cancellation that arrives
                    # as the wake-up does (a NOTIFY at shutdown), and this loop, not yet stopping, never ended.
                    try:
                        async with asyncio.timeout(self.idle_wait_s):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker or database unavailable: wait, then try again
                metrics.OUTBOX_PUBLISH_ERRORS.labels(self.service).inc()
                log.warning("outbox relay cycle failed; retrying", extra={"error": type(exc).__name__, "retry_in_s": backoff})
                await self._drop_producer()
                await self._drop_listener()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await self._drop_producer()
        await self._drop_listener()

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self.producer_factory()
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                self.broker_ok = False
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        self.broker_ok = False
        self._topics_seen.clear()  # a broker that comes back may have lost its topics
        if producer is not None:
            try:
                await producer.stop()
            except Exception:
                log.debug("producer stop failed", exc_info=True)

    async def _ensure_listening(self) -> None:
        if self._listen_conn is None or self._listen_conn.is_closed():
            conn = await self.pool.acquire()
            try:
                schema = await conn.fetchval("SELECT current_schema()")
                self._channel = f"{schema}_outbox"
                await conn.add_listener(self._channel, self._on_notify)
            except BaseException:  # cancelled while stopping, or the database went away: give it back
                await asyncio.shield(self.pool.release(conn))
                raise
            self._listen_conn = conn

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _drop_listener(self) -> None:
        conn, self._listen_conn = self._listen_conn, None
        if conn is not None:
            try:
                if not conn.is_closed():
                    await conn.remove_listener(self._channel, self._on_notify)
                await self.pool.release(conn)
            except Exception:
                log.debug("listener release failed", exc_info=True)

    # -- one cycle -----------------------------------------------------------------------------------
    async def claim(self) -> list[asyncpg.Record]:
        """Rows with no earlier row of their key leased to someone else, leased to this relay (``FOR UPDATE SKIP
        LOCKED``), under the claim lock: one round trip (``outbox_claim``, migration shared/0008). In ``seq`` order,
        the order they are sent in (per-key order): an UPDATE's RETURNING promises no order."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT * FROM outbox_claim($1, $2, $3)", self.batch_size, self.owner, self.lease_s)
        return sorted(rows, key=lambda r: r["seq"])

    async def publish_once(self) -> int:
        """Claim a batch and send it, then the next: up to ``max_batches`` batches a cycle (the loop refreshes its
        gauges and sees a stop between cycles). Returns how many rows the broker acknowledged (and were marked).

        A pipeline of three: while this process hands batch N to the producer, PostgreSQL claims batch N+1 (on
        another connection) and the broker acknowledges batch N-1, which is marked once its answers are in. The rows
        in flight stay leased until marked, so another relay takes no later row of their keys; this relay may (its
        producer sends a key's messages in order, as within one batch: migration shared/0009). A cycle that fails
        settles what is in flight (marks what was acknowledged, releases the rest), releases what it had claimed, and
        renames the relay (a new owner), so that a key left in flight is sent again before any later row of it."""
        producer = await self._ensure_producer()
        published = 0
        in_flight: list[tuple[asyncpg.Record, asyncio.Future[Any], Any]] | None = None
        claiming: asyncio.Future[list[asyncpg.Record]] | None = None
        try:
            rows = await self.claim()
            batches = 0
            while rows:
                batches += 1
                if batches < self.max_batches and not self._stopping:
                    claiming = asyncio.ensure_future(self.claim())
                sent = await self._send(producer, rows)
                previous, in_flight = in_flight, sent
                if previous is not None:
                    published += await self._settle(previous)
                rows, claiming = (await claiming if claiming is not None else []), None
            previous, in_flight = in_flight, None
            if previous is not None:
                published += await self._settle(previous)
        except BaseException as exc:
            await self._abandon(claiming, in_flight, exc)
            raise
        if published == 0:
            self.broker_ok = True
        return published

    async def _abandon(
        self,
        claiming: asyncio.Future[list[asyncpg.Record]] | None,
        in_flight: list[tuple[asyncpg.Record, asyncio.Future[Any], Any]] | None,
        exc: BaseException,
    ) -> None:
        """A failed cycle: release the batch being claimed, settle the one in flight. Cancelled, it only cancels the
        claim (leases expire)."""
        if claiming is not None:
            if isinstance(exc, asyncio.CancelledError):
                claiming.cancel()
            else:
                try:
                    await self._release(await claiming, exc)
                except Exception:
                    log.debug("releasing the batch being claimed failed", exc_info=True)
        if in_flight is not None and not isinstance(exc, asyncio.CancelledError):
            try:
                await self._settle(in_flight)
            except Exception:
                log.debug("settling the batch in flight failed too", exc_info=True)
        # Leases left behind (not released, or released by nobody) now belong to "another relay": they hold their keys
        # back until released or expired, so this relay's next claims never overtake them.
        self.owner = f"{self.service}-{uuid.uuid4().hex[:12]}"

    async def _send(
        self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]
    ) -> list[tuple[asyncpg.Record, asyncio.Future[Any], Any]]:
        """Hand a claimed batch to the producer in ``seq`` order; the futures resolve on the broker's answer. If the
        producer refuses a row, the rows not handed over are released, those handed over are settled, and the error
        goes up."""
        await self._ensure_topics(producer, rows)
        spans = self._spans
        sent: list[tuple[asyncpg.Record, asyncio.Future[Any], Any]] = []
        for row in rows:
            span, trace_headers = spans.start(row)
            headers = [(k, str(v).encode()) for k, v in row["headers"].items() if k not in ("traceparent", "tracestate")]
            headers += trace_headers
            try:
                fut = await producer.send(row["topic"], value=bytes(row["payload"]), key=row["message_key"].encode(), headers=headers)
            except Exception as exc:
                spans.end(span, error=exc)
                await self._release(rows[len(sent):], exc)
                await self._settle(sent)
                raise
            sent.append((row, fut, span))
        return sent

    async def _ensure_topics(self, producer: AIOKafkaProducer, rows: list[asyncpg.Record]) -> None:
        """Publish only to topics that exist. A producer asking for a missing topic's metadata makes a broker that
        creates topics on demand (tansu always does; Kafka unless auto.create.topics.enable=false) create it with
        its own partition count (tansu: 4): consumers that joined with the topic's 3 partitions would not read the
        fourth until their metadata is refreshed, and keys would land on other partitions than the list in
        deploy/topics.json gives. Asking for every topic's metadata creates none."""
        wanted = {row["topic"] for row in rows} - self._topics_seen
        if not wanted:
            return
        cluster = await producer.client.fetch_all_metadata()
        self._topics_seen |= wanted & cluster.topics()
        missing = sorted(wanted - self._topics_seen)
        if missing:
            exc = TopicNotCreated(missing)
            log.error("topics missing on the broker; events wait in the outbox until they are created "
                      "(deploy/topics.json)", extra={"topics": missing})
            await self._release(rows, exc)
            raise exc

    async def _settle(self, sent: list[tuple[asyncpg.Record, asyncio.Future[Any], Any]]) -> int:
        results = await asyncio.gather(*(f for _, f, _ in sent), return_exceptions=True)
        ok = [row["seq"] for (row, _, _), res in zip(sent, results, strict=True) if not isinstance(res, BaseException)]
        failed = [(row, res) for (row, _, _), res in zip(sent, results, strict=True) if isinstance(res, BaseException)]
        for (_, _, span), res in zip(sent, results, strict=True):
            self._spans.end(span, error=res if isinstance(res, BaseException) else None, metadata=res)
        if ok:
            async with self.pool.acquire() as conn:
                await conn.execute(
                    "UPDATE outbox SET published_at = now(), lease_owner = NULL, lease_until = NULL, last_error = NULL "
                    "WHERE seq = ANY($1::bigint[])",
                    ok,
                )
            for topic, n in Counter(row["topic"] for (row, _, _), res in zip(sent, results, strict=True)
                                    if not isinstance(res, BaseException)).items():
                metrics.OUTBOX_PUBLISHED.labels(self.service, topic).inc(n)
            self.broker_ok = True
        if failed:
            await self._release([row for row, _ in failed], failed[0][1])
            raise ConnectionError(f"{len(failed)} outbox rows not acknowledged: {failed[0][1]!r}")
        return len(ok)

    async def _release(self, rows: list[asyncpg.Record], exc: BaseException) -> None:
        if not rows:
            return
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, last_error = $2 "
                "WHERE seq = ANY($1::bigint[]) AND lease_owner = $3 AND published_at IS NULL",
                [r["seq"] for r in rows],
                type(exc).__name__,
                self.owner,
            )

    async def refresh_gauges(self) -> None:
        """Backlog and age of the oldest unpublished row, read only (also on ``GET /metrics``)."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "
                "FROM outbox WHERE published_at IS NULL"
            )
        metrics.OUTBOX_BACKLOG.labels(self.service).set(row["n"])
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(float(row["age"]))

    async def backlog(self) -> int:
        async with self.pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
