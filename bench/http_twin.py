"""The raw twin of ``bench/http.py``: a bare FastAPI app (uvicorn, one process, as a service runs) answering the
three incidents endpoints the load uses with the SQL the incidents service runs for them, on the same database.

What a person writing these endpoints by hand would write: a pydantic body, an asyncpg pool of the service's size
(``DB_POOL_MAX`` 10), the reporter's identity sealed (AES-GCM) because it is personal data, the incident, its first
transition and its event in the outbox in one transaction, the reads in one read-only snapshot each. What it leaves
out, and the platform pays for: the bearer token's check (Ed25519) and roles, the idempotency machinery, the audit
row (``audit_slot()`` then the keyed-hash ``audit_log`` row), the event's public copy (a second outbox row for the
public feed), the CloudEvents encoding and schema check of the event, the spans (FastAPI and asyncpg
instrumentation), the JSON log lines, the relay publishing the outbox to Kafka in the same process, the body-size
and problem-details middleware. The ward is fixed (the platform reads it from the token).

Run: ``TWIN_DATABASE_URL=<incidents' app URL> python -m uvicorn bench.http_twin:app``.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel, Field

WARD = "phu-son"

#: The statements the incidents service runs for these endpoints (read from PostgreSQL's statement log of a run).
LIST = (
    "SELECT * FROM incidents WHERE (ward_id = $1) AND ($2::text IS NULL OR group_id = $2) "
    "AND ($3::text IS NULL OR state = $3) AND ($4::text IS NULL OR (reporter_ref = $4 AND NOT anonymous)) "
    "ORDER BY received_at DESC, incident_id DESC LIMIT 51"
)
ONE = "SELECT * FROM incidents WHERE incident_id = $1"
FOOTAGE = (
    "SELECT camera_id, footage_from, footage_to FROM incident_footage WHERE incident_id = $1 "
    "ORDER BY camera_id"
)
GROUP = "SELECT * FROM known_groups WHERE group_id = $1"
INSERT = (
    "INSERT INTO incidents (incident_id, ward_id, group_id, category, is_crime_tip, state, address, latitude, "
    "longitude, happened_at, description, evidence, anonymous, reporter_ref, reporter_identity, "
    "follow_up_code, secret_hash, claim_verifier, received_at, deadline_on) VALUES ($1, $2, $3, $4, $5, $6, "
    "$7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
)
TRANSITION = (
    "INSERT INTO incident_transitions (incident_id, action, from_state, to_state, actor, reason) "
    "VALUES ($1, $2, $3, $4, $5, $6)"
)
OUTBOX = (
    "INSERT INTO outbox (event_id, topic, message_key, event_type, headers, payload, trace_context) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING"
)


class Place(BaseModel):
    group_id: str = Field(min_length=1, max_length=64)
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Reporter(BaseModel):
    full_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32)


class Report(BaseModel):
    category: str
    is_crime_tip: bool = False
    place: Place
    description: str = Field(min_length=5, max_length=5000)
    reporter: Reporter


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _json(body: object, status: int = 200) -> Response:
    return Response(
        json.dumps(body, default=_default, separators=(",", ":")), status, media_type="application/json"
    )


def _summary(row: asyncpg.Record) -> dict[str, object]:
    return {
        "incident_id": row["incident_id"],
        "group_id": row["group_id"],
        "category": row["category"],
        "is_crime_tip": row["is_crime_tip"],
        "state": row["state"],
        "outcome": row["outcome"],
        "received_at": row["received_at"],
        "deadline_on": row["deadline_on"],
        "place": {"latitude": row["latitude"], "longitude": row["longitude"], "group_id": row["group_id"]},
    }


def make_app(dsn: str, pool_size: int = 10) -> FastAPI:
    sealer = AESGCM(AESGCM.generate_key(bit_length=256))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=pool_size, server_settings={"search_path": "incidents"}
        )
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/v1/incidents")
    async def list_incidents(
        request: Request, group_id: str | None = None, state: str | None = None
    ) -> Response:
        async with (
            request.app.state.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            rows = await conn.fetch(LIST, WARD, group_id, state, None)
        shown = rows[:50]
        cursor = (
            f"{shown[-1]['received_at'].isoformat()}|{shown[-1]['incident_id']}" if len(rows) > 50 else None
        )
        return _json({"items": [_summary(r) for r in shown], "next_cursor": cursor})

    @app.get("/v1/incidents/{incident_id}")
    async def get_incident(incident_id: str, request: Request) -> Response:
        async with (
            request.app.state.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await conn.fetchrow(ONE, incident_id)
            footage = await conn.fetch(FOOTAGE, incident_id)
        if row is None:
            raise HTTPException(404, "no such incident")
        return _json(
            _summary(row)
            | {
                "description": row["description"],
                "address": row["address"],
                "happened_at": row["happened_at"],
                "evidence": json.loads(row["evidence"]),
                "footage": [dict(f) for f in footage],
            }
        )

    @app.post("/v1/incidents", status_code=201)
    async def report(body: Report, request: Request) -> Response:
        incident_id, now = str(uuid.uuid4()), datetime.now(UTC)
        identity = json.dumps({"full_name": body.reporter.full_name, "phone": body.reporter.phone}).encode()
        nonce = os.urandom(12)
        sealed = nonce + sealer.encrypt(nonce, identity, incident_id.encode())
        event_id = uuid.uuid4()
        event = {
            "id": str(event_id),
            "ward_id": WARD,
            "subject": incident_id,
            "incident_id": incident_id,
            "group_id": body.place.group_id,
            "category": body.category,
            "is_crime_tip": body.is_crime_tip,
            "anonymous": False,
            "reported_at": now.isoformat(),
        }
        async with request.app.state.pool.acquire() as conn, conn.transaction():
            if await conn.fetchrow(GROUP, body.place.group_id) is None:
                raise HTTPException(422, "unknown residential group")
            await conn.execute(
                INSERT,
                incident_id,
                WARD,
                body.place.group_id,
                body.category,
                body.is_crime_tip,
                "received",
                body.place.address,
                body.place.latitude,
                body.place.longitude,
                None,
                body.description,
                "[]",
                False,
                "twin-reporter",
                sealed,
                None,
                None,
                None,
                now,
                None,
            )
            await conn.execute(TRANSITION, incident_id, "report", None, "received", "reporter", None)
            await conn.execute(
                OUTBOX,
                event_id,
                "incidents.incidents",
                incident_id,
                "incidents.incident.reported.v1",
                json.dumps({"ce_id": str(event_id), "ce_type": "incidents.incident.reported.v1"}),
                json.dumps(event).encode(),
                "{}",
            )
        return _json({"incident_id": incident_id, "state": "received"}, 201)

    return app


app = make_app(os.environ["TWIN_DATABASE_URL"]) if "TWIN_DATABASE_URL" in os.environ else None
