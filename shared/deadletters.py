"""Dead letters an operator can recover: list, show, redrive, discard (``wardctl dead-letters``).

A redrive does not run a handler here. It writes the original message (key, value, headers as the consumer
received them, kept in ``dead_letters``) to the service's own outbox for the service's own dead-letter topic, with
two headers naming the service and the record (``shared.consumer.REDRIVE_SERVICE_HEADER`` / ``REDRIVE_OF_HEADER``);
the relay publishes it and the service's running consumer, which reads its dead-letter topic too, handles it
through its one handler path (``EventConsumer._redrive``). So the fixed code that handles it is the code the
service runs, on whichever replica owns the partition; the record's state changes under the same row locks as any
delivery; and no service writes to a topic it does not own (the Kafka ACLs allow each its own dead-letter topic).

A discard is an operator's decision: the record is closed with the operator's name, and the reason goes to the
service's audit trail (``shared.audit.record``). The inbox row stays ``dead_lettered``: the event stays unhandled.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from shared import audit, outbox
from shared.consumer import REDRIVE_OF_HEADER, REDRIVE_SERVICE_HEADER, redact

UNRESOLVED = ("open", "redriving")
STATUSES = ("open", "redriving", "redriven", "discarded")
OPERATOR_ROLES = ["operator"]


class NothingSelected(ValueError):
    """A redrive or discard without a filter and without ``--all``."""


@dataclass
class Selection:
    """Which dead letters a command acts on. Every given filter must hold; nothing given selects nothing
    unless ``everything`` (``--all``) is set."""

    ids: list[int] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    event_type: str | None = None
    topic: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    everything: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.ids or self.event_ids or self.event_type or self.topic or self.since or self.until)

    def where(self, statuses: tuple[str, ...]) -> tuple[str, list[Any]]:
        sql = ("($1::bigint[] IS NULL OR id = ANY($1)) AND ($2::text[] IS NULL OR message_id = ANY($2)) "
               "AND ($3::text IS NULL OR event_type = $3) AND ($4::text IS NULL OR topic = $4) "
               "AND ($5::timestamptz IS NULL OR created_at >= $5) AND ($6::timestamptz IS NULL OR created_at < $6) "
               "AND status = ANY($7::text[])")
        return sql, [self.ids or None, self.event_ids or None, self.event_type, self.topic, self.since, self.until,
                     list(statuses)]


async def select(conn: asyncpg.Connection, sel: Selection, statuses: tuple[str, ...] = UNRESOLVED,
                 *, lock: bool = False, limit: int | None = None) -> list[asyncpg.Record]:
    where, args = sel.where(statuses)
    sql = f"SELECT * FROM dead_letters WHERE {where} ORDER BY id"  # noqa: S608 - fixed text, values are parameters
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if lock:
        # Waits for a consumer redriving one of them right now, then re-checks the status: a record it resolved
        # meanwhile is no longer selected.
        sql += " FOR UPDATE"
    return await conn.fetch(sql, *args)


def _require_selection(sel: Selection) -> None:
    if not sel.narrowed and not sel.everything:
        raise NothingSelected("name the dead letters (--id, --event-id, --event-type, --topic, --since/--until) or --all")


def dead_letter_topic(service: str) -> str:
    return f"{service}.dead-letter"  # as ServiceSettings.dead_letter_topic


async def redrive(conn: asyncpg.Connection, service: str, sel: Selection, *, keys: audit.AuditKeys, actor: str,
                  again: bool = False) -> tuple[list[int], list[int]]:
    """Queue the selected open dead letters (and, with ``again``, those already being redriven) for their
    consumer once more. Run inside a transaction. Returns (queued ids, ids without a stored message)."""
    _require_selection(sel)
    queued: list[int] = []
    missing: list[int] = []
    for row in await select(conn, sel, UNRESOLVED if again else ("open",), lock=True):
        if row["payload"] is None:  # dead-lettered before the message was kept with its record
            missing.append(row["id"])
            continue
        headers = dict(row["headers"] or {})
        trace = {k: headers.pop(k) for k in ("traceparent", "tracestate") if k in headers}
        headers[REDRIVE_SERVICE_HEADER] = service
        headers[REDRIVE_OF_HEADER] = str(row["id"])
        key = row["message_key"] if row["message_key"] is not None else row["message_id"].encode()
        await outbox.enqueue_raw(
            conn,
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"redrive:{service}:{row['id']}:{row['redrives'] + 1}"),
            topic=dead_letter_topic(service),
            key=bytes(key).decode("utf-8", "backslashreplace"),
            event_type=row["event_type"] or "redrive",
            headers=headers,
            payload=bytes(row["payload"]),
            trace_context=trace,  # the redrive continues the original flow's trace
        )
        await conn.execute(
            "UPDATE dead_letters SET status = 'redriving', redrives = redrives + 1, last_redrive_at = now() "
            "WHERE id = $1", row["id"])
        await audit.record(conn, keys, actor=actor, actor_roles=OPERATOR_ROLES, ward_id=None,
                           command="dead_letters.redrive", target_type="dead_letter", target_id=str(row["id"]),
                           details=_about(row))
        queued.append(row["id"])
    return queued, missing


async def discard(conn: asyncpg.Connection, sel: Selection, *, keys: audit.AuditKeys, actor: str,
                  reason: str) -> list[int]:
    """Close the selected unresolved dead letters as the operator's decision, the reason in the audit trail.
    Run inside a transaction. Returns the ids discarded."""
    _require_selection(sel)
    reason = reason.strip()
    if not reason:
        raise ValueError("a discard needs a reason (--reason)")
    done: list[int] = []
    for row in await select(conn, sel, UNRESOLVED, lock=True):
        await conn.execute(
            "UPDATE dead_letters SET status = 'discarded', resolved_at = now(), resolved_by = $2 WHERE id = $1",
            row["id"], actor)
        await audit.record(conn, keys, actor=actor, actor_roles=OPERATOR_ROLES, ward_id=None,
                           command="dead_letters.discard", target_type="dead_letter", target_id=str(row["id"]),
                           details={**_about(row), "reason": reason})
        done.append(row["id"])
    return done


def _about(row: asyncpg.Record) -> dict[str, Any]:
    return {"message_id": row["message_id"], "topic": row["topic"], "event_type": row["event_type"]}


async def statuses_of(conn: asyncpg.Connection, ids: list[int]) -> dict[int, str]:
    rows = await conn.fetch("SELECT id, status FROM dead_letters WHERE id = ANY($1::bigint[])", ids)
    return {r["id"]: r["status"] for r in rows}


# -- what an operator reads ----------------------------------------------------------------------------------------
def summary_line(row: asyncpg.Record) -> str:
    """One line per record: never the payload; the error's first line, with digit runs redacted."""
    error = redact((row["error"] or "").splitlines()[0] if row["error"] else "")
    if len(error) > 120:
        error = error[:117] + "..."
    return (f"{row['id']:>6}  {row['created_at']:%Y-%m-%dT%H:%M:%SZ}  {row['status']:<9}  "
            f"{row['attempts']:>3}/{row['redrives']:<2}  {row['topic']}  {row['event_type'] or '-'}  "
            f"{row['message_id']}  {error}")


SUMMARY_HEADER = "    id  created (UTC)         status     att/rd  topic  event type  event id  error"


def detail(row: asyncpg.Record, *, with_payload: bool = False) -> str:
    """The whole record. The payload (an internal event: no national IDs by contract, but names) only on request;
    otherwise its size and its top-level field names."""
    payload = bytes(row["payload"]) if row["payload"] is not None else None
    lines = [
        f"dead letter {row['id']} ({row['status']})",
        f"  event id     {row['message_id']}",
        f"  event type   {row['event_type'] or '- (undecodable)'}",
        f"  topic        {row['topic']} partition {row['kafka_partition']} offset {row['kafka_offset']}",
        f"  created      {row['created_at']:%Y-%m-%dT%H:%M:%SZ}",
        f"  attempts     {row['attempts']} (redriven {row['redrives']} times"
        + (f", last {row['last_redrive_at']:%Y-%m-%dT%H:%M:%SZ})" if row["last_redrive_at"] else ")"),
    ]
    if row["resolved_at"]:
        lines.append(f"  resolved     {row['resolved_at']:%Y-%m-%dT%H:%M:%SZ} by {row['resolved_by']}")
    lines.append("  error        " + redact(row["error"] or "").replace("\n", "\n               "))
    headers = row["headers"] or {}
    for name in sorted(headers):
        if name.startswith("ce_") or name in ("content-type", "traceparent"):
            lines.append(f"  header       {name}: {headers[name]}")
    if payload is None:
        lines.append("  message      not kept (dead-lettered before the message was stored with its record)")
    elif with_payload:
        lines.append("  payload      " + payload.decode("utf-8", "backslashreplace"))
    else:
        try:
            fields = sorted(json.loads(payload))
        except (ValueError, TypeError):
            fields = ["(not a JSON object)"]
        lines.append(f"  payload      {len(payload)} bytes; fields: {', '.join(map(str, fields))} (--payload prints it)")
    return "\n".join(lines)
