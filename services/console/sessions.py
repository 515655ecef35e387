"""The console's server-side sessions: the SQL of its own schema, and the sealing of what a session holds.

The browser holds only a random id (256 bits) in a ``__Host-`` cookie. The table keeps its SHA-256, the CSRF token
of the session (synchronizer token pattern) and, sealed under CONSOLE_KEY and bound to the session, either the
tokens identity issued or - between the password step and the code step of a sign-in - the name and password, which
identity needs again with the code.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared.idempotency import Sealer

#: An anonymous session (a sign-in form shown) and a half-done sign-in (password right, code not yet given) end soon.
ANONYMOUS_TTL = timedelta(hours=1)
PENDING_TTL = timedelta(minutes=5)


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def session_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


@dataclass
class Session:
    """One browser's session as the pages see it: ``data`` is the unsealed content (empty when anonymous)."""

    session_id: str
    csrf_token: str
    data: dict[str, Any] = field(default_factory=dict)
    access_expires_at: datetime | None = None

    @property
    def signed_in(self) -> bool:
        return "access_token" in self.data

    @property
    def pending(self) -> dict[str, str] | None:
        return self.data.get("pending")


_GET = "SELECT csrf_token, sealed, access_expires_at FROM sessions WHERE session_hash = $1 AND expires_at > $2"
_GET_FOR_UPDATE = _GET + " FOR UPDATE"


class SessionRepository:
    """All the SQL of the console (its schema: ``sessions``)."""

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self.conn = conn

    async def insert(self, key: bytes, csrf: str, sealed: bytes | None, access_expires_at: datetime | None,
                     expires_at: datetime) -> None:
        await self.conn.execute(
            "INSERT INTO sessions (session_hash, csrf_token, sealed, access_expires_at, expires_at)"
            " VALUES ($1, $2, $3, $4, $5)", key, csrf, sealed, access_expires_at, expires_at)

    async def get(self, key: bytes, now: datetime, *, for_update: bool = False) -> asyncpg.Record | None:
        return await self.conn.fetchrow(_GET_FOR_UPDATE if for_update else _GET, key, now)

    async def update(self, key: bytes, sealed: bytes | None, access_expires_at: datetime | None,
                     expires_at: datetime) -> None:
        await self.conn.execute(
            "UPDATE sessions SET sealed = $2, access_expires_at = $3, expires_at = $4 WHERE session_hash = $1",
            key, sealed, access_expires_at, expires_at)

    async def delete(self, key: bytes) -> None:
        await self.conn.execute("DELETE FROM sessions WHERE session_hash = $1", key)

    async def delete_expired(self, now: datetime) -> None:
        await self.conn.execute("DELETE FROM sessions WHERE expires_at <= $1", now)


class SessionSealer:
    """Seals a session's content under CONSOLE_KEY, bound to the session: a sealed value copied into another row
    does not open."""

    def __init__(self, active: str, retired: list[str]) -> None:
        self._sealer = Sealer("console", active, retired, purpose="console-session")

    def seal(self, key: bytes, data: dict[str, Any]) -> bytes | None:
        return self._sealer.encrypt(json.dumps(data), key.hex()) if data else None

    def open(self, key: bytes, sealed: bytes | None) -> dict[str, Any]:
        return json.loads(self._sealer.decrypt(bytes(sealed), key.hex())) if sealed else {}
