"""A fixed-window request counter in PostgreSQL, so that every replica counts against the same limit.

``hit`` is the one function the routes call: swap its body for a shared limiter when the platform has one. Each
call adds one to the bucket's current window in its own statement (committed at once, whatever the request then
does: a refused claim still counts) and says how long to wait when the window is full. ``purge`` removes old
windows (the ``purge-rate-limits`` job).
"""

from __future__ import annotations

import asyncpg

_HIT = """
INSERT INTO rate_limit_windows AS w (bucket, window_start, hits)
VALUES ($1, to_timestamp(floor(extract(epoch FROM clock_timestamp()) / $2) * $2), 1)
ON CONFLICT (bucket, window_start) DO UPDATE SET hits = w.hits + 1
RETURNING w.hits, ceil(extract(epoch FROM w.window_start + make_interval(secs => $2) - clock_timestamp()))::int AS wait
"""


async def hit(pool: asyncpg.Pool, bucket: str, *, limit: int, window_s: int) -> int | None:
    """Count one request in ``bucket``; None if it is within ``limit`` per ``window_s``, else the seconds to wait."""
    async with pool.acquire() as conn:
        row = await conn.fetchrow(_HIT, bucket, float(window_s))
    if row["hits"] <= limit:
        return None
    return max(1, int(row["wait"]))


async def purge(conn: asyncpg.Connection, older_than_s: int = 24 * 3600) -> int:
    result = await conn.execute(
        "DELETE FROM rate_limit_windows WHERE window_start < clock_timestamp() - make_interval(secs => $1)",
        float(older_than_s))
    return int(result.split()[-1])
