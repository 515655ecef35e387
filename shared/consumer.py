"""The inbox-backed event consumer: exactly-once effects on top of at-least-once delivery.

A service declares handlers per event type; the consumer takes messages in batches (faststream batch
subscriber, ``AckPolicy.MANUAL``) and, in ONE PostgreSQL transaction per batch:

1. decodes and strictly validates each message (``shared.events.from_kafka``); one that cannot be decoded,
   or that fails its type's schema, is dead-lettered at once: retrying cannot fix it. One of a well-formed
   type this version does not know (a producer deployed before this consumer) is **parked** with its raw
   message; ``drain_parked`` hands it to the same path when a version that knows the type runs;
2. skips it if its id is already in the inbox (a redelivery, a duplicate, a republished event);
3. runs the handler in a savepoint, up to ``max_attempts`` times with backoff; the inbox row is written in
   the same savepoint, so the handler's effects and "handled" commit or vanish together;
4. after the last failed attempt, dead-letters it: the original key, value and headers plus the error are kept
   in ``dead_letters`` and go to the service's outbox for the dead-letter topic (atomic with the inbox row
   ``dead_lettered``), and the batch goes on.

A dead letter is recovered by ``wardctl dead-letters redrive``: it sends the original message again, through this
service's outbox, to this service's own dead-letter topic (which its consumer also reads, and which only this
service may write and read under the Kafka ACLs), with headers naming this service and the record; the consumer
locks the record and the inbox row and runs the same handler path, turning the inbox row to ``handled`` only if
the handler succeeds (``_redrive``). The dead-letter copies themselves are passed by, never handled.

Only after that transaction commits are the Kafka offsets committed. If the database itself fails, the batch
is not acknowledged: the consumer seeks back and takes it again, so nothing is skipped; a crash between the
database commit and the offset commit only causes a redelivery, which step 2 absorbs.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from shared import metrics, outbox
from shared.events import (
    EVENT_TYPES,
    MAX_MESSAGE_BYTES,
    Event,
    EventDecodeError,
    UnknownEventType,
    from_kafka,
)
from shared.telemetry import SAMPLER, context_from_carrier, tracer, tracer_provider

log = logging.getLogger(__name__)
#: One line per event handled, after its transaction committed (topic, type, id, the flow's trace id).
event_log = logging.getLogger("ward.events")

Handler = Callable[[asyncpg.Connection, Any], Awaitable[None]]

#: Headers ``wardctl dead-letters redrive`` adds to the original message: the service whose dead letter it is
#: (every other consumer group of the topic passes it by) and the dead-letter record's id.
REDRIVE_SERVICE_HEADER = "ward_redrive_service"
REDRIVE_OF_HEADER = "ward_redrive_of"

#: Errors that mean "the database is not there", not "this message is bad": the batch is retried whole.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    ConnectionError,
    OSError,
    TimeoutError,
)


@dataclass(frozen=True)
class RawMessage:
    """What the consumer needs of one Kafka record (also built by tests and the in-memory runner)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def from_record(cls, rec: ConsumerRecord) -> RawMessage:
        return cls(rec.topic, rec.partition, rec.offset, rec.key, rec.value, tuple(rec.headers or ()))

    @property
    def position_id(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


_TRACEPARENT = re.compile(rb"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


class _ProcessSpan(trace.NonRecordingSpan):
    """A CONSUMER span built directly: current during the handler as a plain span context (children and the outbox
    rows the handler writes take it as their parent), handed to the provider's span processors, finished, at
    ``end``. Only with the platform's own sampler (``shared.telemetry.SAMPLER``: every flow sampled) and a sampled or
    absent parent; ``start`` returns None otherwise and the SDK's path is taken."""

    _setup: tuple[Any, Any, Any, Any] | None = None

    def __init__(self, name: str, context: SpanContext, parent: SpanContext | None, attributes: dict[str, Any]) -> None:
        super().__init__(context)
        self._name, self._parent, self._attributes = name, parent, attributes
        self._status = Status(StatusCode.UNSET)
        self._start = time.time_ns()

    @classmethod
    def start(cls, name: str, headers: dict[str, bytes], attributes: dict[str, Any]) -> _ProcessSpan | None:
        if cls._setup is None:
            provider = tracer_provider()
            processor = getattr(provider, "_active_span_processor", None)
            usable = provider.sampler is SAMPLER and processor is not None
            cls._setup = (processor, provider.id_generator, provider.resource, InstrumentationScope("ward.consumer")) \
                if usable else (None, None, None, None)
        processor, ids, _, _ = cls._setup
        if processor is None:
            return None
        header = headers.get("traceparent")
        state = None
        if header is None:  # an event without trace context: its consumer span starts a flow
            trace_id, parent = ids.generate_trace_id(), None
        else:
            parsed = _TRACEPARENT.fullmatch(header)
            if parsed is None or not int(parsed[3], 16) & 1 or set(parsed[1]) == {48} or set(parsed[2]) == {48}:
                return None  # unsampled, or not a plain traceparent: the SDK decides
            raw_state = headers.get("tracestate")
            state = TraceState.from_header([raw_state.decode("utf-8", "replace")]) if raw_state else None
            trace_id = int(parsed[1], 16)
            parent = SpanContext(trace_id, int(parsed[2], 16), True, TraceFlags(1), state)
        context = SpanContext(trace_id, ids.generate_span_id(), False, TraceFlags(1), state)
        return cls(name, context, parent, attributes)

    def set_attribute(self, key: str, value: Any) -> None:
        self._attributes[key] = value

    def end(self, end_time: int | None = None) -> None:
        processor, _, resource, scope = self._setup  # type: ignore[misc]
        processor.on_end(ReadableSpan(
            self._name, context=self.get_span_context(), parent=self._parent, resource=resource,
            attributes=self._attributes, kind=SpanKind.CONSUMER, status=self._status, start_time=self._start,
            end_time=end_time or time.time_ns(), instrumentation_scope=scope))


class _TakeOneByOne(Exception):
    """A handler failed on the batch path: the batch is rolled back and taken again event by event."""


class EventConsumer:
    """Dispatches events to handlers, with the inbox, bounded retries and the dead-letter topic."""

    #: Try each batch whole first (one inbox insert, no savepoint per event); False: always event by event.
    fast_batches: bool = True

    def __init__(
        self,
        service: str,
        pool: asyncpg.Pool,
        handlers: dict[type[Event], Handler],
        *,
        dead_letter_topic: str,
        max_attempts: int = 3,
        retry_backoff_s: float = 0.05,
        max_payload_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.service = service
        self.pool = pool
        self.handlers = {cls.event_type: h for cls, h in handlers.items()}
        self.dead_letter_topic = dead_letter_topic
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self.max_payload_bytes = max_payload_bytes
        self._tracer = tracer("ward.consumer")
        self._parked_changed = False
        self._trace_id = ""  # the trace of the message being handled (set in its span)

    @property
    def topics(self) -> list[str]:
        """The topics of the events it handles, and its own dead-letter topic, where its redrives arrive."""
        return sorted({EVENT_TYPES[t].topic for t in self.handlers} | {self.dead_letter_topic})

    async def handle_batch(self, messages: Iterable[RawMessage]) -> None:
        """Handle a batch in one transaction. Raises only for infrastructure failures (nothing committed).

        The batch is first tried whole, without a savepoint per event (``_handle_fast``): its inbox rows in one
        ``unnest`` insert, then each handler. Only when a handler fails (or the batch holds a dead-letter copy, a
        redrive, an unknown type or an undecodable message) is it rolled back and taken again event by event, each in
        its own savepoints with retries and dead-lettering; the failure seen on the fast path counts as the event's
        first attempt."""
        batch = list(messages)
        first_failures: dict[str, str] = {}
        done: list[tuple[RawMessage, str, str]] | None = None
        if self.fast_batches:
            done = await self._handle_fast(batch, first_failures)
        if done is None:
            done = []
            async with self.pool.acquire() as conn, conn.transaction():
                seen = await self._already_handled(conn, batch)
                for msg in batch:
                    outcome = await self._handle_one(conn, msg, seen, first_failures)
                    done.append((msg, outcome, self._trace_id))
        # Committed: one line per event handled (dead letters have their own line, written as they happen).
        for msg, outcome, trace_id in done:
            if outcome == "handled":
                headers = dict(msg.headers)
                event_log.info("event handled", extra={
                    "topic": msg.topic, "event_type": headers.get("ce_type", b"").decode("utf-8", "replace"),
                    "message_id": headers.get("ce_id", b"").decode("utf-8", "replace"), "trace_id": trace_id})
        if self._parked_changed:
            await self.refresh_parked_metric()

    async def _handle_fast(
        self, batch: list[RawMessage], first_failures: dict[str, str]
    ) -> list[tuple[RawMessage, str, str]] | None:
        """The whole batch in one go, or None (nothing committed) when it must be taken event by event."""
        decoded: list[tuple[RawMessage, dict[str, bytes], Event]] = []
        for msg in batch:
            headers = {k: v for k, v in msg.headers}
            if msg.topic == self.dead_letter_topic or REDRIVE_SERVICE_HEADER in headers:
                return None
            try:
                event = from_kafka(msg.value, headers, max_bytes=self.max_payload_bytes)
            except EventDecodeError:  # undecodable or of an unknown type: dead-lettered or parked, one by one
                return None
            decoded.append((msg, headers, event))
        spans: list[tuple[Any, str]] = []
        done: list[tuple[RawMessage, str, str]] = []
        timings: list[tuple[str, float]] = []
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                ids = [str(e.id) for _, _, e in decoded]
                claimed = {r["message_id"] for r in await conn.fetch(
                    "INSERT INTO inbox (message_id, topic, event_type, outcome) "
                    "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
                    "ON CONFLICT (message_id) DO NOTHING RETURNING message_id",
                    ids, [m.topic for m, _, _ in decoded], [e.event_type for _, _, e in decoded],
                    ["handled" if e.event_type in self.handlers else "ignored" for _, _, e in decoded])}
                for (msg, headers, event), message_id in zip(decoded, ids, strict=True):
                    span = self._start_process_span(msg, headers)
                    span.set_attribute("ward.event_type", event.event_type)
                    span.set_attribute(messaging.MESSAGING_MESSAGE_ID, message_id)
                    trace_id = format(span.get_span_context().trace_id, "032x")
                    handler = self.handlers.get(event.event_type)
                    if message_id not in claimed:  # handled before, earlier in this batch, or by another member
                        outcome = "duplicate"
                    elif handler is None:
                        outcome = "ignored"
                    else:
                        outcome = "handled"
                        started = time.perf_counter()
                        try:
                            with trace.use_span(span, end_on_exit=False):
                                await handler(conn, event)
                        except INFRASTRUCTURE_ERRORS:
                            spans.append((span, "batch_retried"))
                            raise
                        except asyncpg.InFailedSQLTransactionError as exc:
                            # An earlier handler caught a database error and went on: the failure is not this
                            # event's; event by event, each in its savepoint, shows whose it is.
                            spans.append((span, "batch_retried"))
                            raise _TakeOneByOne from exc
                        except Exception as exc:
                            spans.append((span, "batch_retried"))
                            self._first_failure(event, exc, span, first_failures)
                            raise _TakeOneByOne from exc
                        timings.append((event.event_type, time.perf_counter() - started))
                    claimed.discard(message_id)
                    spans.append((span, outcome))
                    done.append((msg, outcome, trace_id))
                if timings:
                    # PostgreSQL answers COMMIT of an aborted transaction with a silent ROLLBACK (asyncpg raises
                    # nothing): were the last handler to swallow a database error, the batch would look committed
                    # and its offsets be committed over nothing. One statement first, which fails in that case.
                    try:
                        await conn.execute("SELECT 1")
                    except asyncpg.InFailedSQLTransactionError as exc:
                        raise _TakeOneByOne from exc
        except _TakeOneByOne:
            for span, _ in spans:
                span.set_attribute("ward.outcome", "batch_retried")
                span.end()
            return None
        except BaseException:
            for span, _ in spans:
                span.set_attribute("ward.outcome", "batch_retried")
                span.end()
            raise
        for span, outcome in spans:
            span.set_attribute("ward.outcome", outcome)
            span.end()
        for event_type, seconds in timings:
            metrics.HANDLER_LATENCY.labels(self.service, event_type).observe(seconds)
        for outcome in ("handled", "duplicate"):
            if n := sum(1 for _, o, _ in done if o == outcome):
                metrics.EVENTS_HANDLED.labels(self.service, outcome).inc(n)
        return done

    def _first_failure(self, event: Event, exc: Exception, span: Any, first_failures: dict[str, str]) -> None:
        """A handler failed on the batch path: that was its event's first attempt (logged and counted as such)."""
        metrics.HANDLER_ERRORS.labels(self.service, event.event_type).inc()
        first_failures[str(event.id)] = redact("".join(traceback.format_exception_only(type(exc), exc)).strip())
        span.set_attribute("error.type", type(exc).__name__)
        log.warning("event handler failed", extra={"event_type": event.event_type, "event_id": str(event.id),
                                                   "attempt": 1, "error_type": type(exc).__name__})

    def _start_process_span(self, msg: RawMessage, headers: dict[str, bytes]) -> Any:
        """The ``process <topic>`` span of the batch path, child of the ``traceparent`` the message carries. With the
        platform's sampler it is built directly (``_ProcessSpan``: ~5x cheaper than the SDK's, the same span for the
        exporters); otherwise through the SDK, so that the configured sampler decides."""
        attributes = {
            messaging.MESSAGING_SYSTEM: messaging.MessagingSystemValues.KAFKA.value,
            messaging.MESSAGING_OPERATION_NAME: "process",
            messaging.MESSAGING_OPERATION_TYPE: messaging.MessagingOperationTypeValues.PROCESS.value,
            messaging.MESSAGING_DESTINATION_NAME: msg.topic,
            messaging.MESSAGING_DESTINATION_PARTITION_ID: str(msg.partition),
            messaging.MESSAGING_KAFKA_OFFSET: msg.offset,
            messaging.MESSAGING_CONSUMER_GROUP_NAME: f"{self.service}-service",
        }
        span = _ProcessSpan.start(f"process {msg.topic}", headers, attributes)
        if span is not None:
            return span
        carrier = {k: v.decode("utf-8", "replace") for k, v in headers.items() if k in ("traceparent", "tracestate")}
        return self._tracer.start_span(f"process {msg.topic}", context=context_from_carrier(carrier),
                                       kind=SpanKind.CONSUMER, attributes=attributes)

    async def _already_handled(self, conn: asyncpg.Connection, batch: list[RawMessage]) -> set[str]:
        """The batch's event ids already in the inbox, in one query (ids read from the CloudEvents header)."""
        ids = [v.decode("utf-8", "replace") for m in batch for k, v in m.headers if k == "ce_id"]
        if not ids:
            return set()
        rows = await conn.fetch("SELECT message_id FROM inbox WHERE message_id = ANY($1::text[])", ids)
        return {r["message_id"] for r in rows}

    async def _handle_one(self, conn: asyncpg.Connection, msg: RawMessage, seen: set[str] | frozenset[str] = frozenset(),
                          first_failures: dict[str, str] | None = None) -> str:
        """Handle one message; returns its outcome (``handled``, ``duplicate``, ``dead_lettered``, ...)."""
        headers = {k: v for k, v in msg.headers}
        carrier = {k: v.decode("utf-8", "replace") for k, v in headers.items() if k in ("traceparent", "tracestate")}
        # The producer's context, restored from the record's traceparent: this span is a child of the relay's
        # "send" span, in the trace of the flow that wrote the event (messaging conventions: "process <topic>").
        with self._tracer.start_as_current_span(
            f"process {msg.topic}",
            context=context_from_carrier(carrier),
            kind=SpanKind.CONSUMER,
            attributes={
                messaging.MESSAGING_SYSTEM: messaging.MessagingSystemValues.KAFKA.value,
                messaging.MESSAGING_OPERATION_NAME: "process",
                messaging.MESSAGING_OPERATION_TYPE: messaging.MessagingOperationTypeValues.PROCESS.value,
                messaging.MESSAGING_DESTINATION_NAME: msg.topic,
                messaging.MESSAGING_DESTINATION_PARTITION_ID: str(msg.partition),
                messaging.MESSAGING_KAFKA_OFFSET: msg.offset,
                messaging.MESSAGING_CONSUMER_GROUP_NAME: f"{self.service}-service",
            },
        ) as span:
            self._trace_id = format(span.get_span_context().trace_id, "032x")  # for the line after the commit
            redrive_for = headers.get(REDRIVE_SERVICE_HEADER)
            if msg.topic == self.dead_letter_topic or redrive_for is not None:
                # Its own dead-letter topic: the copies of its dead letters (for operators; never handled nor
                # dead-lettered again, which would loop) and the redrives `wardctl dead-letters` sends.
                if redrive_for is None:
                    outcome = "dead_letter_copy"
                elif redrive_for.decode("utf-8", "replace") != self.service or msg.topic != self.dead_letter_topic:
                    outcome = "not_mine"  # a redrive header on another topic or for another service: not ours
                else:
                    outcome = await self._redrive(conn, msg, headers, span)
                span.set_attribute("ward.outcome", outcome)
                metrics.EVENTS_HANDLED.labels(self.service, outcome).inc()
                return outcome
            try:
                event = from_kafka(msg.value, headers, max_bytes=self.max_payload_bytes)
            except UnknownEventType as exc:
                outcome = await self._park(conn, msg, exc)
                span.set_attribute("ward.event_type", exc.event_type)
                span.set_attribute("ward.outcome", outcome)
                metrics.EVENTS_HANDLED.labels(self.service, outcome).inc()
                return outcome
            except EventDecodeError as exc:
                span.set_attribute("ward.outcome", "dead_lettered")
                await self._dead_letter(conn, msg, msg.position_id, None, f"undecodable: {exc}", attempts=1)
                return "dead_lettered"
            span.set_attribute("ward.event_type", event.event_type)
            span.set_attribute(messaging.MESSAGING_MESSAGE_ID, str(event.id))
            message_id = str(event.id)
            # Seen before this batch, or earlier in it (the same event twice in one batch); the savepoint below
            # also refuses a concurrent duplicate through the inbox's primary key.
            if message_id in seen:
                span.set_attribute("ward.outcome", "duplicate")
                metrics.EVENTS_HANDLED.labels(self.service, "duplicate").inc()
                return "duplicate"
            handler = self.handlers.get(event.event_type)
            if handler is None:
                await self._mark(conn, message_id, msg.topic, event.event_type, "ignored")
                span.set_attribute("ward.outcome", "ignored")
                return "ignored"

            async def claim() -> bool:  # the inbox row, written in the handler's savepoint
                return await self._mark(conn, message_id, msg.topic, event.event_type, "handled")

            outcome, error = await self._run_handler(conn, handler, event, claim, span,
                                                     failed_once=(first_failures or {}).get(message_id))
            if outcome == "handled" and isinstance(seen, set):
                seen.add(message_id)
            if outcome == "failed":
                outcome = "dead_lettered"
                await self._dead_letter(conn, msg, message_id, event.event_type, f"handler failed: {error}",
                                        self.max_attempts)
            span.set_attribute("ward.outcome", outcome)
            return outcome

    async def _run_handler(
        self, conn: asyncpg.Connection, handler: Handler, event: Event, claim: Callable[[], Awaitable[bool]], span: Any,
        *, failed_once: str | None = None,
    ) -> tuple[str, str]:
        """The one path every event takes to its handler: up to ``max_attempts`` savepoints, each claiming the inbox
        row (``claim`` returns False when another member already handled the event) and running the handler, so
        the effects and "handled" commit or vanish together. Returns (``handled`` | ``duplicate`` | ``failed``, the
        last error). ``failed_once``: the error of a first attempt already made (on the batch path, rolled back
        with it), so this goes on from the second."""
        error = ""
        message_id = str(event.id)
        first = 1
        if failed_once is not None:
            error, first = failed_once, 2
            if self.max_attempts > 1:
                await asyncio.sleep(self.retry_backoff_s)
        for attempt in range(first, self.max_attempts + 1):
            started = time.perf_counter()
            try:
                async with conn.transaction():  # a savepoint: this event's effects only
                    if not await claim():  # handled concurrently by another member after a rebalance
                        metrics.EVENTS_HANDLED.labels(self.service, "duplicate").inc()
                        return "duplicate", ""
                    await handler(conn, event)
                metrics.HANDLER_LATENCY.labels(self.service, event.event_type).observe(time.perf_counter() - started)
                metrics.EVENTS_HANDLED.labels(self.service, "handled").inc()
                return "handled", ""
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:
                metrics.HANDLER_ERRORS.labels(self.service, event.event_type).inc()
                error = redact("".join(traceback.format_exception_only(type(exc), exc)).strip())
                span.set_attribute("error.type", type(exc).__name__)
                log.warning(
                    "event handler failed",
                    extra={"event_type": event.event_type, "event_id": message_id, "attempt": attempt,
                           "error_type": type(exc).__name__},
                )
                if attempt < self.max_attempts:
                    await asyncio.sleep(self.retry_backoff_s * 2 ** (attempt - 1))
        return "failed", error

    async def _mark(self, conn: asyncpg.Connection, message_id: str, topic: str, event_type: str | None, outcome: str) -> bool:
        row = await conn.fetchval(
            "INSERT INTO inbox (message_id, topic, event_type, outcome) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (message_id) DO NOTHING RETURNING 1",
            message_id, topic, event_type, outcome,
        )
        return row is not None

    async def _dead_letter(
        self, conn: asyncpg.Connection, msg: RawMessage, message_id: str, event_type: str | None, error: str, attempts: int
    ) -> None:
        if not await self._mark(conn, message_id, msg.topic, event_type, "dead_lettered"):
            return
        error = redact(error)[:4000]
        original = {k: v.decode("utf-8", "backslashreplace") for k, v in msg.headers}
        await conn.execute(
            "INSERT INTO dead_letters (message_id, topic, kafka_partition, kafka_offset, error, attempts, event_type, "
            "message_key, payload, headers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            message_id, msg.topic, msg.partition, msg.offset, error, attempts, event_type, msg.key, msg.value or b"",
            original,
        )
        headers = dict(original)
        headers.update({
            "dlq_error": error,
            "dlq_original_topic": msg.topic,
            "dlq_original_partition": str(msg.partition),
            "dlq_original_offset": str(msg.offset),
            "dlq_consumer": f"{self.service}-service",
            "dlq_attempts": str(attempts),
        })
        await outbox.enqueue_raw(
            conn,
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"dlq:{self.service}:{message_id}"),
            topic=self.dead_letter_topic,
            key=(msg.key or message_id.encode()).decode("utf-8", "backslashreplace"),
            event_type="dead-letter",
            headers=headers,
            payload=msg.value or b"",
        )
        metrics.DEAD_LETTERS.labels(self.service, msg.topic).inc()
        log.error("message dead-lettered", extra={"topic": msg.topic, "message_id": message_id, "attempts": attempts})

    # -- redrive: a dead letter sent again by `wardctl dead-letters redrive` ---------------------------------------
    async def _redrive(self, conn: asyncpg.Connection, msg: RawMessage, headers: dict[str, bytes], span: Any) -> str:
        """Handle a redriven copy of one of this service's dead letters, through the same handler path.

        The dead-letter row and then the inbox row are locked (``FOR UPDATE``) in this transaction: a discard, a
        second copy on another replica, or the original event redelivered wait here and then find the state
        changed, so the event is handled at most once. The inbox turns from ``dead_lettered`` to ``handled`` in the
        handler's savepoint, so only when the handler succeeds; otherwise the record stays open with the new error.
        """
        try:
            dl_id = int(headers.get(REDRIVE_OF_HEADER, b""))
        except ValueError:
            log.warning("redrive without a dead-letter id ignored", extra={"topic": msg.topic})
            return "stale_redrive"
        dl = await conn.fetchrow(
            "SELECT id, message_id, topic, status, payload FROM dead_letters WHERE id = $1 FOR UPDATE", dl_id)
        if dl is None or dl["status"] not in ("open", "redriving"):
            return "stale_redrive"  # discarded, or already redriven by an earlier copy
        if dl["payload"] is None or bytes(dl["payload"]) != (msg.value or b""):
            # Only the message the record holds is redriven: a copy with another body (a forged or mistaken
            # header) does not get past the inbox under a dead-lettered event's id.
            log.warning("redrive refused: the message is not the one dead-lettered", extra={"dead_letter_id": dl_id})
            return "stale_redrive"
        original = {k: v for k, v in headers.items() if k not in (REDRIVE_SERVICE_HEADER, REDRIVE_OF_HEADER)}
        try:
            event = from_kafka(msg.value, original, max_bytes=self.max_payload_bytes)
        except EventDecodeError as exc:
            await self._redrive_failed(conn, dl_id, f"undecodable: {exc}", 1)
            return "redrive_failed"
        span.set_attribute("ward.event_type", event.event_type)
        span.set_attribute("messaging.message.id", str(event.id))
        message_id = str(event.id)
        await conn.execute("SELECT 1 FROM inbox WHERE message_id = ANY($1::text[]) FOR UPDATE",
                           [message_id, dl["message_id"]])
        handler = self.handlers.get(event.event_type)

        async def claim() -> bool:
            turned = await conn.fetchval(
                "UPDATE inbox SET outcome = 'handled', handled_at = now() "
                "WHERE message_id = $1 AND outcome = 'dead_lettered' RETURNING 1", message_id)
            return turned is not None or await self._mark(conn, message_id, dl["topic"], event.event_type, "handled")

        if handler is None:
            outcome = "ignored" if await claim() else "duplicate"
        else:
            outcome, error = await self._run_handler(conn, handler, event, claim, span)
            if outcome == "failed":
                await self._redrive_failed(conn, dl_id, f"handler failed: {error}", self.max_attempts)
                return "redrive_failed"
        # handled now, or found handled already (the event came through another path): the dead letter is resolved
        await conn.execute(
            "UPDATE inbox SET outcome = 'handled', handled_at = now() WHERE message_id = $1 AND outcome = 'dead_lettered'",
            dl["message_id"])
        await conn.execute(
            "UPDATE dead_letters SET status = 'redriven', resolved_at = now(), resolved_by = $2 WHERE id = $1",
            dl_id, f"{self.service}-service ({outcome})")
        log.info("dead letter redriven", extra={"dead_letter_id": dl_id, "event_id": message_id, "outcome": outcome})
        return "redriven" if outcome == "handled" else outcome

    async def _redrive_failed(self, conn: asyncpg.Connection, dl_id: int, error: str, attempts: int) -> None:
        await conn.execute(
            "UPDATE dead_letters SET status = 'open', error = $2, attempts = attempts + $3 WHERE id = $1",
            dl_id, redact(error)[:4000], attempts)
        log.error("redriven dead letter failed again", extra={"dead_letter_id": dl_id, "attempts": attempts})

    # -- parking: events of a type this version does not know yet ------------------------------------------------
    async def _park(self, conn: asyncpg.Connection, msg: RawMessage, exc: UnknownEventType) -> str:
        if exc.event_id in await self._already_handled(conn, [msg]):
            return "duplicate"
        inserted = await conn.fetchval(
            "INSERT INTO parked_events (message_id, topic, kafka_partition, kafka_offset, event_type, message_key, "
            "payload, headers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING RETURNING 1",
            exc.event_id, msg.topic, msg.partition, msg.offset, exc.event_type, msg.key, msg.value or b"",
            [[k, base64.b64encode(v).decode()] for k, v in msg.headers],
        )
        if inserted is None:
            return "duplicate"
        self._parked_changed = True
        log.warning("event of an unknown type parked", extra={"topic": msg.topic, "event_type": exc.event_type,
                                                               "message_id": exc.event_id})
        return "parked"

    async def drain_parked(self, batch_size: int = 100) -> int:
        """Handle the parked events whose type this version knows, oldest first, through the inbox path.

        Runs on one replica at a time (a transaction-level advisory lock); each batch is one transaction, like
        a batch from Kafka, and its rows leave ``parked_events`` in that transaction. Returns how many left.
        """
        drained = 0
        known = sorted(EVENT_TYPES)
        while True:
            async with self.pool.acquire() as conn, conn.transaction():
                got = await conn.fetchval(
                    "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':parked-drain'))")
                if not got:
                    break  # another replica is draining
                rows = await conn.fetch(
                    "SELECT seq, topic, kafka_partition, kafka_offset, message_key, payload, headers FROM parked_events "
                    "WHERE event_type = ANY($1::text[]) ORDER BY seq LIMIT $2", known, batch_size)
                if not rows:
                    break
                batch = [RawMessage(r["topic"], r["kafka_partition"] or 0, r["kafka_offset"] or 0, r["message_key"],
                                    r["payload"], tuple((k, base64.b64decode(v)) for k, v in r["headers"]))
                         for r in rows]
                seen = await self._already_handled(conn, batch)
                for msg in batch:
                    await self._handle_one(conn, msg, seen)
                await conn.execute("DELETE FROM parked_events WHERE seq = ANY($1::bigint[])", [r["seq"] for r in rows])
            drained += len(rows)
        if drained:
            log.info("parked events drained", extra={"count": drained})
        await self.refresh_parked_metric()
        return drained

    async def refresh_parked_metric(self) -> None:
        """Set ``ward_parked_events`` from the table (a type whose events all left goes back to 0)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch("SELECT event_type, count(*) AS n FROM parked_events GROUP BY event_type")
        counts = {r["event_type"]: r["n"] for r in rows}
        shown = {s.labels["event_type"] for m in metrics.PARKED_EVENTS.collect() for s in m.samples
                 if s.labels.get("service") == self.service}
        for event_type in shown | set(counts):
            metrics.PARKED_EVENTS.labels(self.service, event_type).set(counts.get(event_type, 0))
        self._parked_changed = False


def redact(text: str) -> str:
    """An error text without what could be a national ID or a phone number (runs of 9 or more digits): a handler's
    exception may quote a value, and the error goes to the dead-letter record, its topic's headers and the logs."""
    return _DIGIT_RUN.sub("[digits]", text)


_DIGIT_RUN = re.compile(r"(?<![\w-])\+?\d[\d .]{7,}\d(?![\w-])")


def record_lag(service: str, group: str, consumer: Any, records: Iterable[ConsumerRecord]) -> None:
    """Messages behind the partition's high watermark, per group, topic and partition, as of this batch."""
    last: dict[TopicPartition, int] = {}
    for rec in records:
        last[TopicPartition(rec.topic, rec.partition)] = rec.offset
    for tp, offset in last.items():
        try:
            high = consumer.highwater(tp)
        except Exception:
            continue
        if high is not None:
            metrics.CONSUMER_LAG.labels(service, group, tp.topic, str(tp.partition)).set(max(high - offset - 1, 0))
