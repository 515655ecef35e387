"""``make bench``'s HTTP measure (bench/http.py): locust's CSV read right, and the raw twin (bench/http_twin.py)
running the incidents service's own SQL and answering its three endpoints on a real database. No load runs here."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest

from bench import http_twin
from bench.http import parse_failures, parse_stats
from services.incidents.repository import INCIDENT_COLUMNS, IncidentRepository, ProjectionRepository
from shared import outbox
from shared.paging import PageRequest

DATA = Path(__file__).resolve().parents[1] / "data" / "locust"


def test_stats_of_a_real_locust_run_are_read_per_endpoint() -> None:
    stats = parse_stats(DATA / "incidents_stats.csv")
    assert set(stats) == {"GET /v1/incidents", "GET /v1/incidents/{id}", "POST /v1/incidents", "Aggregated"}
    post = stats["POST /v1/incidents"]
    assert (post.requests, post.failures, post.p50, post.p99) == (145, 0, 140.0, 1000.0)
    assert math.isclose(post.rps, 36.3031524799775) and post.error_rate == 0
    total = stats["Aggregated"]
    assert total.requests == sum(s.requests for n, s in stats.items() if n != "Aggregated") == 710
    assert (total.p50, total.p99) == (250.0, 940.0)


def test_failures_of_a_real_locust_run_count_in_the_error_rate() -> None:
    stats = parse_stats(DATA / "refused_stats.csv")  # locust against a port nobody listens on
    assert stats["GET /v1/incidents"].error_rate == 1.0 and stats["Aggregated"].failures == 3424
    failures = parse_failures(DATA / "refused_failures.csv")
    assert failures[0] == "1350 x GET GET /v1/incidents: ConnectionRefusedError(111, 'Connection refused')"
    assert len(failures) == 3 and parse_failures(DATA / "absent.csv") == []


class _Recorder:
    def __init__(self) -> None:
        self.sql: list[str] = []

    async def fetch(self, sql: str, *_: object) -> list[object]:
        self.sql.append(sql)
        return []

    async def fetchrow(self, sql: str, *_: object) -> None:
        self.sql.append(sql)

    async def execute(self, sql: str, *_: object) -> None:
        self.sql.append(sql)


def _same(a: str) -> str:
    return " ".join(a.split())


async def test_the_twin_runs_the_statements_of_the_incidents_service() -> None:
    """If the service's SQL for these endpoints changes, the twin must follow, or it is no longer the twin."""
    rec = _Recorder()
    repo = IncidentRepository(rec)  # type: ignore[arg-type]
    await repo.list("phu-son", PageRequest(50, None))
    await repo.get("i-1")
    await repo.footage("i-1")
    await ProjectionRepository(rec).group("g-1")  # type: ignore[arg-type]
    await repo.add(dict.fromkeys(INCIDENT_COLUMNS))
    await repo.add_transition("i-1", "report", None, "received", "reporter", None)
    service = [_same(s) for s in [*rec.sql, outbox.INSERT_SQL]]
    twin = [
        _same(s)
        for s in (
            http_twin.LIST,
            http_twin.ONE,
            http_twin.FOOTAGE,
            http_twin.GROUP,
            http_twin.INSERT,
            http_twin.TRANSITION,
            http_twin.OUTBOX,
        )
    ]
    assert twin == service


@pytest.mark.integration
async def test_the_twin_answers_its_endpoints_on_the_incidents_schema(db) -> None:
    conn = await db.connect("incidents")
    await conn.execute("INSERT INTO known_groups (group_id, ward_id, name) VALUES ('g-1', 'phu-son', 'Tổ 1')")
    app = http_twin.make_app(db.app_url("incidents"), pool_size=2)
    body = {
        "category": "theft",
        "place": {"group_id": "g-1", "address": "5 ngõ 3"},
        "description": "xe máy bị lấy trộm",
        "reporter": {"full_name": "Nguyễn Văn An", "phone": "0901"},
    }
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://twin") as c,
        ):
            created = await c.post("/v1/incidents", json=body)
            assert created.status_code == 201, created.text
            incident_id = created.json()["incident_id"]
            refused = await c.post("/v1/incidents", json={**body, "place": {"group_id": "nowhere"}})
            assert refused.status_code == 422
            listed = (await c.get("/v1/incidents")).json()
            assert [i["incident_id"] for i in listed["items"]] == [incident_id] and listed[
                "next_cursor"
            ] is None
            one = (await c.get(f"/v1/incidents/{incident_id}")).json()
            assert (one["description"], one["footage"], one["state"]) == (
                "xe máy bị lấy trộm",
                [],
                "received",
            )
            assert (await c.get("/v1/incidents/nope")).status_code == 404
        row = await conn.fetchrow("SELECT reporter_identity, reporter_ref FROM incidents")
        assert (
            b"Nguy" not in row["reporter_identity"]
            and await conn.fetchval("SELECT count(*) FROM incidents") == 1
        )
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM incident_transitions WHERE incident_id = $1", incident_id
            )
            == 1
        )
        assert (
            await conn.fetchval("SELECT message_key FROM outbox WHERE topic = 'incidents.incidents'")
            == incident_id
        )
    finally:
        await conn.close()
