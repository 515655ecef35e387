"""Rate limits of the public and anonymous routes, held in the service's own PostgreSQL schema so that every
replica counts against the same limit (no extra infrastructure; a Redis would be one more thing to run and secure).

A fixed window per bucket: ``limit(request, scope, ...)`` counts one request in the bucket of the client's address
and, where the route has one, of the code it names (a certificate code, a follow-up code), and answers 429 with
``Retry-After`` past ``limit`` per ``window_s``. The counting is its own committed statement, so a refused request
counts too (a wrong secret is an attempt). The address is never stored: the bucket holds a keyed pseudonym of it
(HMAC under a sub-key of the service's ``AUDIT_KEY``), and a window's row is deleted as soon as the window ends
(``purge``, run by every runtime), so nothing is left to match against the time of an anonymous tip.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Request

from shared.errors import TooManyRequests
from shared.forwarding import client_address

_HIT = """
INSERT INTO rate_limits AS w (bucket, window_start, expires_at, hits)
SELECT $1, s, s + make_interval(secs => $2), 1
FROM (SELECT to_timestamp(floor(extract(epoch FROM clock_timestamp()) / $2) * $2) AS s) AS now_window
ON CONFLICT (bucket, window_start) DO UPDATE SET hits = w.hits + 1
RETURNING w.hits, ceil(extract(epoch FROM w.expires_at - clock_timestamp()))::int AS wait
"""


async def hit(pool: asyncpg.Pool, bucket: str, *, limit: int, window_s: int) -> int | None:
    """Count one request in ``bucket``; None if it is within ``limit`` per ``window_s``, else the seconds to wait."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_HIT, bucket, float(window_s))
    if row["hits"] <= limit:
        return None
    return max(1, int(row["wait"]))


async def purge(conn: asyncpg.Connection) -> int:
    """Delete the windows that are over."""
    result = await conn.execute("DELETE FROM rate_limits WHERE expires_at < clock_timestamp()")
    return int(result.split()[-1])


@functools.lru_cache(maxsize=16)
def _sub_key(service_key: bytes, kind: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"ward-platform:rate-limit-{kind}:v1".encode()).derive(service_key)


def pseudonym(runtime: Any, kind: str, value: str) -> str:
    """A keyed pseudonym of ``value`` (an address, a sender's number) for a bucket's name: HMAC under a sub-key of
    the service's ``AUDIT_KEY`` per ``kind``, so that the value is never stored."""
    key = runtime.audit_keys.keys[runtime.audit_keys.current_id]
    return hmac.new(_sub_key(key, kind), value.encode(), hashlib.sha256).hexdigest()[:32]


def address_pseudonym(runtime: Any, request: Request) -> str:
    # Behind a trusted proxy (the console, the ingress: TRUSTED_PROXIES) the address it forwards, else the peer's.
    return pseudonym(runtime, "address", client_address(request, runtime.settings.trusted_proxy_networks))


async def limit_buckets(runtime: Any, buckets: list[str], *, limit: int, window_s: int) -> None:
    """Count one request in each of ``buckets``; raise 429 (with the longest wait) if any is past ``limit``."""
    waits = [await hit(runtime.pool, b, limit=limit, window_s=window_s) for b in buckets]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        raise TooManyRequests("too many requests; try again later", retry_after_s=wait)


async def limit(request: Request, scope: str, *, limit: int, window_s: int, code: str | None = None) -> None:
    """Count this request per client address (and per ``code``); raise 429 past ``limit`` per ``window_s``."""
    runtime = request.app.state.runtime
    buckets = [f"{scope}:addr:{address_pseudonym(runtime, request)}"]
    if code is not None:
        buckets.append(f"{scope}:code:{code}")
    await limit_buckets(runtime, buckets, limit=limit, window_s=window_s)
