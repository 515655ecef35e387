"""PostgreSQL access: one asyncpg pool per service, as the service's own login role.

Each pooled connection has the service's schema first on its search_path and jsonb/json codecs set, so
repositories write plain SQL against their own tables and pass Python dicts for JSON columns.
"""

from __future__ import annotations

import json

import asyncpg

from shared.jsonutil import dumps


async def _init_connection(conn: asyncpg.Connection, schema: str) -> None:
    await conn.set_type_codec("jsonb", encoder=dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=dumps, decoder=json.loads, schema="pg_catalog")
    await conn.execute(f'SET search_path TO "{schema}", public')


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool whose connections work in ``schema``. Call from the application's lifespan."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=lambda conn: _init_connection(conn, schema),
        command_timeout=30,
        server_settings={"application_name": f"ward-{schema}"},
    )
