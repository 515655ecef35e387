"""The audit trail: who changed what, when, by which command. Insert-only for the application role
(the migration revokes UPDATE/DELETE), and hash-chained so that tampering by a superuser shows."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import asyncpg

from shared.jsonutil import dumps

GENESIS = "0" * 64


def _hash(prev: str, fields: dict[str, Any]) -> str:
    # The details are hashed with their keys sorted: PostgreSQL's jsonb gives them back in its own order, so the
    # order they were written in cannot be checked later (a row whose details had several keys out of order
    # failed verification although nobody touched it). Top-level fields keep their fixed order.
    fields = {**fields, "details": _sorted(fields["details"])}
    return hashlib.sha256((prev + dumps(fields)).encode()).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


async def record(
    conn: asyncpg.Connection,
    *,
    actor: str,
    actor_roles: list[str],
    ward_id: str | None,
    command: str,
    target_type: str,
    target_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction (serialised, so the chain never forks)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':audit'))")
    prev = await conn.fetchval("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1") or GENESIS
    at = await conn.fetchval("SELECT clock_timestamp()")
    fields = {
        "at": at.isoformat(), "actor": actor, "actor_roles": sorted(actor_roles), "ward_id": ward_id,
        "command": command, "target_type": target_type, "target_id": target_id, "details": details or {},
    }
    await conn.execute(
        "INSERT INTO audit_log (at, actor, actor_roles, ward_id, command, target_type, target_id, details, prev_hash, hash) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        at, actor, sorted(actor_roles), ward_id, command, target_type, target_id, details or {}, prev, _hash(prev, fields),
    )


async def verify_chain(conn: asyncpg.Connection) -> int | None:
    """The seq of the first row whose hash does not match, or None when the chain is intact."""
    prev = GENESIS
    async with conn.transaction(readonly=True, isolation="repeatable_read"):
        async for row in conn.cursor("SELECT * FROM audit_log ORDER BY seq"):
            details = row["details"]
            fields = {
                "at": row["at"].isoformat(), "actor": row["actor"], "actor_roles": sorted(row["actor_roles"]),
                "ward_id": row["ward_id"], "command": row["command"], "target_type": row["target_type"],
                "target_id": row["target_id"], "details": json.loads(details) if isinstance(details, str) else details,
            }
            if row["prev_hash"] != prev or row["hash"] != _hash(prev, fields):
                return row["seq"]
            prev = row["hash"]
    return None
