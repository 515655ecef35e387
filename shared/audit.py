"""The audit trail: who changed what, when, by which command.

Insert-only for the application role (the migration revokes UPDATE/DELETE), and chained with a key the
database does not hold: each row's ``hash`` is HMAC-SHA256, under the service's audit key (``AUDIT_KEY``, id
``AUDIT_KEY_ID`` kept in the row's ``key_id``), of the row's content, its ``seq`` and the previous row's hash.
Whoever can write the table but lacks the key cannot recompute the chain after editing or removing a row.

The chain runs in lanes (``LANES``, migration ``shared/0006``): a transaction appends to the first lane no other
transaction holds, and a row links to the previous row of its lane (its lane is under its MAC, except lane 0's, the
chain as it was before lanes). Commands committing together thus take several lanes instead of queueing behind one
lock until each commit; one command at a time always finds lane 0, so a quiet service keeps a single chain.

Every lane's head (its last ``seq``, hash and key id) leaves the database at intervals and at shutdown as the
event ``<service>.audit.head-published.v1`` on ``<service>.audit`` (``head_event``, published by the
``audit-head`` job through the outbox), so that cutting the tail is seen too: ``verify`` checks the rows and
then every published head, and names the first broken link.

Rows written before the chain was keyed (``key_id`` NULL) are verified as they were: a plain SHA-256 chain.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import asyncpg

from shared.jsonutil import _default, dumps

GENESIS = "0" * 64
#: Lanes of the chain (migration shared/0006): as many commands as lanes append at once; one at a time uses lane 0.
LANES = 16


def _canonical(value: Any) -> str:
    """One text for a value however PostgreSQL's jsonb ordered its keys."""
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _normalise(details: Any) -> Any:
    """What jsonb gives back for ``details`` (strings for dates, no tuples), so that writing and reading agree."""
    return json.loads(dumps(details or {}))


@dataclass(frozen=True)
class AuditKeys:
    """The key that signs new rows, and every key a verifier needs (current and retired), by key id."""

    current_id: str
    keys: Mapping[str, bytes] = field(repr=False)

    @classmethod
    def from_settings(cls, settings: Any) -> AuditKeys:
        keys = {kid: k.get_secret_value().encode() for kid, k in (settings.audit_retired_keys or {}).items()}
        keys[settings.audit_key_id] = settings.audit_key.get_secret_value().encode()
        return cls(settings.audit_key_id, keys)

    def mac(self, key_id: str, seq: int, prev: str, fields: dict[str, Any]) -> str:
        message = _canonical({"seq": seq, "key_id": key_id, "prev_hash": prev, **fields})
        return hmac.new(self.keys[key_id], message.encode(), hashlib.sha256).hexdigest()


def _legacy_hash(prev: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256((prev + dumps(fields)).encode()).hexdigest()


def _legacy_matches(stored: str, prev: str, fields: dict[str, Any]) -> bool:
    """An unkeyed row was hashed with ``details`` in the order the command built it, which jsonb does not keep
    (it orders keys by length): try the orders of its keys (commands write a handful), as they were written."""
    details = fields["details"]
    if not isinstance(details, dict) or len(details) > 6:
        return stored == _legacy_hash(prev, fields)
    return any(stored == _legacy_hash(prev, {**fields, "details": {k: details[k] for k in order}})
               for order in itertools.permutations(details))


def _fields(row: Mapping[str, Any]) -> dict[str, Any]:
    details = row["details"]
    fields = {
        "at": row["at"].isoformat(), "actor": row["actor"], "actor_roles": sorted(row["actor_roles"]),
        "ward_id": row["ward_id"], "command": row["command"], "target_type": row["target_type"],
        "target_id": row["target_id"], "details": json.loads(details) if isinstance(details, str) else details,
    }
    if row.get("lane"):
        fields["lane"] = row["lane"]
    return fields


async def record(
    conn: asyncpg.Connection,
    keys: AuditKeys,
    *,
    actor: str,
    actor_roles: list[str],
    ward_id: str | None,
    command: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction, to the first free lane (``LANES``): its lane's lock is held
    until commit, so a lane never forks and its rows commit in ``seq`` order; transactions committing together take
    other lanes instead of waiting behind one lock."""
    lane, prev, seq, at = await conn.fetchrow("SELECT * FROM audit_slot($1, $2)", LANES, secrets.randbelow(LANES))
    prev = prev or GENESIS
    details = _normalise(details)
    fields = {
        "at": at.isoformat(), "actor": actor, "actor_roles": sorted(actor_roles), "ward_id": ward_id,
        "command": command, "target_type": target_type, "target_id": target_id, "details": details,
    }
    if lane:  # under the MAC (lane 0, the chain as it was before lanes, keeps the MAC it had)
        fields["lane"] = lane
    await conn.execute(
        "INSERT INTO audit_log (seq, at, actor, actor_roles, ward_id, command, target_type, target_id, details, "
        "prev_hash, hash, key_id, lane) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        seq, at, actor, sorted(actor_roles), ward_id, command, target_type, target_id, details, prev,
        keys.mac(keys.current_id, seq, prev, fields), keys.current_id, lane,
    )


# -- the chain's head ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Head:
    """A published head: the chain had ``seq`` as its last row, with this hash, at ``at``."""

    seq: int
    hash: str
    key_id: str | None
    at: datetime
    source: str = "outbox"  # where the verifier read it: "kafka" or "outbox"


async def lane_heads(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The last row of every lane, by seq."""
    return await conn.fetch(
        "SELECT seq, hash, key_id FROM (SELECT DISTINCT ON (lane) seq, hash, key_id FROM audit_log "
        "ORDER BY lane, seq DESC) h ORDER BY seq")


async def publish_head(conn: asyncpg.Connection, service: str, reason: Literal["interval", "shutdown"]) -> Any:
    """Put the head of every lane in the outbox, except those this service already wrote (the last row of the whole
    trail last). Returns the last head written, or None when every lane's head was out already."""
    from shared import outbox
    from shared.contracts.audit import head_event_class

    heads = await lane_heads(conn)
    if not heads:
        return None
    cls = head_event_class(service)
    recent = await conn.fetch(
        "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq DESC LIMIT $2", cls.event_type, 4 * LANES)
    published = {(body.get("seq"), body.get("hash")) for body in (json.loads(bytes(r["payload"])) for r in recent)}
    events = [cls(ward_id=cls.SERVICE_WIDE, subject=service, service=service, seq=h["seq"], hash=h["hash"],
                  key_id=h["key_id"], reason=reason)
              for h in heads if (h["seq"], h["hash"]) not in published]
    if not events:
        return None
    await outbox.enqueue(conn, *events)
    return events[-1]


# -- verification --------------------------------------------------------------------------------------------
BreakKind = Literal["edited", "deleted", "cut_tail", "unknown_key", "head_mismatch"]


@dataclass(frozen=True)
class Break:
    """The first broken link: what kind, at which row, and in words."""

    kind: BreakKind
    seq: int | None
    message: str


@dataclass
class Report:
    rows: int = 0
    legacy_rows: int = 0
    last_seq: int | None = None
    heads_checked: int = 0
    broken: Break | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


async def verify(conn: asyncpg.Connection, keys: AuditKeys, heads: Iterable[Head] = ()) -> Report:
    """Check every row (its own MAC, then its link to the row before) and then each published head.

    * ``edited``: a row's content (or its prev_hash) no longer matches its MAC;
    * ``deleted``: a row is intact but does not follow the row before it (rows between were removed);
    * ``cut_tail``: a published head names a row past the end of the chain (the last rows were removed);
    * ``head_mismatch``: a published head's row exists but has another hash (the chain was rewritten);
    * ``unknown_key``: a row names a key id the verifier was not given.
    """
    report = Report()
    heads = list(heads)
    lanes: dict[int, tuple[str, int | None]] = {}  # each lane's last hash and seq so far
    last_seq = None
    hashes: dict[int, str] = {}
    # Unkeyed rows may only come before every keyed one: otherwise rows were rewritten as "legacy" ones (whose plain
    # hash anyone can recompute). A head published with a key id says the chain was keyed from that row on.
    keyed_from = min((h.seq for h in heads if h.key_id is not None), default=None)
    keyed_seen = False
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        async for row in conn.cursor("SELECT * FROM audit_log ORDER BY seq"):
            report.rows += 1
            seq, fields, kid = row["seq"], _fields(row), row["key_id"]
            lane = row.get("lane") or 0
            prev, prev_seq = lanes.get(lane, (GENESIS, None))
            if kid is None and (keyed_seen or (keyed_from is not None and seq >= keyed_from)):
                report.broken = Break("edited", seq, f"row {seq} was edited: it has no key id where the chain "
                                      "is keyed (a row rewritten with a plain hash)")
                return report
            if kid is None:
                report.legacy_rows += 1
                own_ok = _legacy_matches(row["hash"], row["prev_hash"], fields)
            elif kid not in keys.keys:
                report.broken = Break("unknown_key", seq, f"row {seq} is signed with key id {kid!r}, which was not given")
                return report
            else:
                keyed_seen = True
                own_ok = hmac.compare_digest(row["hash"], keys.mac(kid, seq, row["prev_hash"], fields))
            if not own_ok:
                report.broken = Break("edited", seq, f"row {seq} was edited: its content does not match its "
                                      + ("hash (legacy, unkeyed row)" if kid is None else "MAC"))
                return report
            if row["prev_hash"] != prev:
                where = f"after row {prev_seq}" if prev_seq is not None else "at the start of the chain"
                in_lane = f" (lane {lane})" if lane else ""
                report.broken = Break("deleted", seq, f"row {seq} is intact but does not follow the row before it"
                                      f"{in_lane}: rows were deleted {where}, before row {seq}")
                return report
            lanes[lane] = (row["hash"], seq)
            last_seq = seq
            hashes[seq] = row["hash"]
        report.last_seq = last_seq
    for head in sorted(heads, key=lambda h: h.seq):
        report.heads_checked += 1
        if report.last_seq is None or head.seq > report.last_seq:
            ends = f"ends at row {report.last_seq}" if report.last_seq is not None else "is empty"
            report.broken = Break("cut_tail", report.last_seq, f"the chain {ends}, but the head published "
                                  f"{head.at.isoformat()} ({head.source}) names row {head.seq}: its tail was cut")
            return report
        if hashes.get(head.seq) != head.hash:
            what = "is missing" if head.seq not in hashes else "has another hash"
            report.broken = Break("head_mismatch", head.seq, f"row {head.seq} {what} than the head published "
                                  f"{head.at.isoformat()} ({head.source}) says: the chain was rewritten")
            return report
    return report


async def verify_chain(conn: asyncpg.Connection, keys: AuditKeys) -> int | None:
    """The seq of the first broken row of the chain itself (no heads), or None when it is intact."""
    report = await verify(conn, keys)
    return report.broken.seq if report.broken else None


# -- where the published heads are read from -----------------------------------------------------------------
def _head_from_body(body: dict[str, Any], source: str) -> Head:
    return Head(seq=int(body["seq"]), hash=body["hash"], key_id=body.get("key_id"),
                at=datetime.fromisoformat(body["occurred_at"]), source=source)


async def heads_from_outbox(conn: asyncpg.Connection, service: str) -> list[Head]:
    """The heads still in the service's own outbox (published or not yet; kept OUTBOX_RETENTION_DAYS). Weaker than
    Kafka: whoever rewrites the audit trail can rewrite these too, but they catch a head not yet sent."""
    from shared.contracts.audit import head_event_class

    rows = await conn.fetch("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY seq",
                            head_event_class(service).event_type)
    return [_head_from_body(json.loads(bytes(r["payload"])), "outbox") for r in rows]


async def heads_from_kafka(bootstrap: str, service: str, *, timeout_s: float = 30.0, **client: Any) -> list[Head]:
    """Every head on the service's topic ``<service>.audit``, read from the beginning to the end offsets as they
    were when reading started (no consumer group: nothing is committed). The stronger anchor: whoever owns the
    database cannot rewrite the broker's log."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from shared.contracts.audit import head_event_class
    from shared.events import EventDecodeError, from_kafka

    cls = head_event_class(service)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50, **client)
    heads: list[Head] = []
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):
            partitions = consumer.partitions_for_topic(cls.topic)
            while not partitions:
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(cls.topic)
                if not partitions:
                    await asyncio.sleep(0.2)
            tps = [TopicPartition(cls.topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for records in batch.values():
                    for rec in records:
                        try:
                            event = from_kafka(rec.value, dict(rec.headers or ()))
                        except EventDecodeError:
                            continue  # not a head (nobody else writes here, but never trust it blindly)
                        if isinstance(event, cls):
                            heads.append(Head(event.seq, event.hash, event.key_id, event.occurred_at, "kafka"))
    finally:
        await consumer.stop()
    return heads
