"""The inbox-backed event consumer: exactly-once effects on top of at-least-once delivery.

A service declares handlers per event type; the consumer takes messages in batches (faststream batch
subscriber, ``AckPolicy.MANUAL``) and, in ONE PostgreSQL transaction per batch:

1. decodes and strictly validates each message (``shared.events.from_kafka``); one that cannot be decoded,
   or whose type is unknown, is dead-lettered at once: retrying cannot fix it;
2. skips it if its id is already in the inbox (a redelivery, a duplicate, a republished event);
3. runs the handler in a savepoint, up to ``max_attempts`` times with backoff; the inbox row is written in
   the same savepoint, so the handler's effects and "handled" commit or vanish together;
4. after the last failed attempt, dead-letters it: the original value and headers plus the error go to the
   service's outbox for the dead-letter topic (atomic with marking it handled), and the batch goes on.

Only after that transaction commits are the Kafka offsets committed. If the database itself fails, the batch
is not acknowledged: the consumer seeks back and takes it again, so nothing is skipped; a crash between the
database commit and the offset commit only causes a redelivery, which step 2 absorbs.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.trace import SpanKind

from shared import metrics, outbox
from shared.events import MAX_MESSAGE_BYTES, Event, EventDecodeError, from_kafka
from shared.telemetry import context_from_carrier, tracer

log = logging.getLogger(__name__)

Handler = Callable[[asyncpg.Connection, Any], Awaitable[None]]

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


class EventConsumer:
    """Dispatches events to handlers, with the inbox, bounded retries and the dead-letter topic."""

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

    @property
    def topics(self) -> list[str]:
        from shared.events import EVENT_TYPES

        return sorted({EVENT_TYPES[t].topic for t in self.handlers})

    async def handle_batch(self, messages: Iterable[RawMessage]) -> None:
        """Handle a batch in one transaction. Raises only for infrastructure failures (nothing committed)."""
        batch = list(messages)
        async with self.pool.acquire() as conn, conn.transaction():
            seen = await self._already_handled(conn, batch)
            for msg in batch:
                await self._handle_one(conn, msg, seen)

    async def _already_handled(self, conn: asyncpg.Connection, batch: list[RawMessage]) -> set[str]:
        """The batch's event ids already in the inbox, in one query (ids read from the CloudEvents header)."""
        ids = [v.decode("utf-8", "replace") for m in batch for k, v in m.headers if k == "ce_id"]
        if not ids:
            return set()
        rows = await conn.fetch("SELECT message_id FROM inbox WHERE message_id = ANY($1::text[])", ids)
        return {r["message_id"] for r in rows}

    async def _handle_one(self, conn: asyncpg.Connection, msg: RawMessage, seen: set[str] | frozenset[str] = frozenset()) -> None:
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
            try:
                event = from_kafka(msg.value, headers, max_bytes=self.max_payload_bytes)
            except EventDecodeError as exc:
                span.set_attribute("ward.outcome", "dead_lettered")
                await self._dead_letter(conn, msg, msg.position_id, None, f"undecodable: {exc}", attempts=1)
                return
            span.set_attribute("ward.event_type", event.event_type)
            span.set_attribute(messaging.MESSAGING_MESSAGE_ID, str(event.id))
            message_id = str(event.id)
            # Seen before this batch, or earlier in it (the same event twice in one batch); the savepoint below
            # also refuses a concurrent duplicate through the inbox's primary key.
            if message_id in seen:
                span.set_attribute("ward.outcome", "duplicate")
                metrics.EVENTS_HANDLED.labels(self.service, "duplicate").inc()
                return
            handler = self.handlers.get(event.event_type)
            if handler is None:
                await self._mark(conn, message_id, msg.topic, event.event_type, "ignored")
                span.set_attribute("ward.outcome", "ignored")
                return
            error = ""
            for attempt in range(1, self.max_attempts + 1):
                started = time.perf_counter()
                try:
                    async with conn.transaction():  # a savepoint: this event's effects only
                        inserted = await self._mark(conn, message_id, msg.topic, event.event_type, "handled")
                        if not inserted:  # handled concurrently by another member after a rebalance
                            return
                        await handler(conn, event)
                    if isinstance(seen, set):
                        seen.add(message_id)
                    metrics.HANDLER_LATENCY.labels(self.service, event.event_type).observe(time.perf_counter() - started)
                    metrics.EVENTS_HANDLED.labels(self.service, "handled").inc()
                    span.set_attribute("ward.outcome", "handled")
                    return
                except INFRASTRUCTURE_ERRORS:
                    raise
                except Exception as exc:
                    metrics.HANDLER_ERRORS.labels(self.service, event.event_type).inc()
                    error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                    span.set_attribute("error.type", type(exc).__name__)
                    log.warning(
                        "event handler failed",
                        extra={"event_type": event.event_type, "event_id": message_id, "attempt": attempt,
                               "error_type": type(exc).__name__},
                    )
                    if attempt < self.max_attempts:
                        await asyncio.sleep(self.retry_backoff_s * 2 ** (attempt - 1))
            span.set_attribute("ward.outcome", "dead_lettered")
            await self._dead_letter(conn, msg, message_id, event.event_type, f"handler failed: {error}", self.max_attempts)

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
        error = error[:4000]
        await conn.execute(
            "INSERT INTO dead_letters (message_id, topic, kafka_partition, kafka_offset, error, attempts) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            message_id, msg.topic, msg.partition, msg.offset, error, attempts,
        )
        headers = {k: v.decode("utf-8", "backslashreplace") for k, v in msg.headers}
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
