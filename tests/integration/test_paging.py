"""The one paging scheme (shared.paging): keyset cursors against real PostgreSQL, and every list route of every
service declares it."""

from __future__ import annotations

import base64
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared.errors import InvalidInput
from shared.paging import MAX_LIMIT, Keyset, PageRequest, encode_cursor, page_of
from shared.settings import SERVICES
from tests.conftest import settings_for

pytestmark = pytest.mark.integration

BY_NAME = Keyset.of("name:text", "id:text")
NEWEST_FIRST = Keyset.of("at:timestamptz", "id:text", descending=True)
BY_DAY = Keyset.of("day:date", "n:bigint")


@pytest.fixture
async def conn(db) -> Any:
    connection = await asyncpg.connect(db.owner_url("registry"))
    await connection.execute("CREATE TEMP TABLE things (id text PRIMARY KEY, name text NOT NULL, "
                             "at timestamptz NOT NULL, day date NOT NULL, n bigint NOT NULL, kind text NOT NULL)")
    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [(f"id-{i:04d}", rng.choice(["An", "Bình", "Chi", "Dũng", "Ánh"]),  # many equal names: the id decides
             start + timedelta(microseconds=rng.randrange(50)), date(2024, 1, 1) + timedelta(days=rng.randrange(3)),
             i, "even" if i % 2 == 0 else "odd") for i in range(137)]
    rng.shuffle(rows)
    await connection.executemany("INSERT INTO things VALUES ($1, $2, $3, $4, $5, $6)", rows)
    yield connection
    await connection.close()


async def _walk(conn: asyncpg.Connection, keyset: Keyset, limit: int, where: list[str] | None = None,
                filters: list[Any] | None = None) -> tuple[list[dict], int]:
    seen: list[dict] = []
    cursor, pages = None, 0
    while True:
        page = PageRequest(limit, cursor)
        args = list(filters or [])
        rows = await conn.fetch(keyset.query("SELECT * FROM things", list(where or []), args, page), *args)
        body = keyset.page(rows, page)
        assert len(body["items"]) <= limit
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages
        assert body["items"], "a cursor after an empty page"


@pytest.mark.parametrize(("keyset", "order"), [
    (BY_NAME, "name, id"), (NEWEST_FIRST, "at DESC, id DESC"), (BY_DAY, "day, n")])
@pytest.mark.parametrize("limit", [1, 7, 50, 137, 200])
async def test_paging_returns_each_item_once_in_order(conn, keyset: Keyset, order: str, limit: int):
    seen, pages = await _walk(conn, keyset, limit)
    expected = [dict(r) for r in await conn.fetch(f"SELECT * FROM things ORDER BY {order}")]
    assert [r["id"] for r in seen] == [r["id"] for r in expected]  # each once, in order
    assert pages == -(-137 // limit)  # the last page says there is no more (it asked for one row beyond)


async def test_filters_and_the_cursor_combine(conn):
    seen, _ = await _walk(conn, BY_NAME, 4, ["kind = $1"], ["odd"])
    expected = await conn.fetch("SELECT id FROM things WHERE kind = 'odd' ORDER BY name, id")
    assert [r["id"] for r in seen] == [r["id"] for r in expected] and len(seen) == 68


async def test_rows_added_behind_the_cursor_do_not_shift_the_pages(conn):
    first = PageRequest(10, None)
    args: list[Any] = []
    rows = await conn.fetch(BY_NAME.query("SELECT * FROM things", [], args, first), *args)
    body = BY_NAME.page(rows, first)
    # an insert before the cursor (an offset would now repeat the page's last item)
    await conn.execute("INSERT INTO things VALUES ('id-aaaa', 'A', now(), current_date, 999, 'odd')")
    second = PageRequest(10, body["next_cursor"])
    args = []
    rows = await conn.fetch(BY_NAME.query("SELECT * FROM things", [], args, second), *args)
    assert not {r["id"] for r in rows[:10]} & {r["id"] for r in body["items"]}


@pytest.mark.parametrize("cursor", [
    "garbage!",
    base64.urlsafe_b64encode(b"not json").decode(),
    encode_cursor(["only one value"]),
    encode_cursor(["An", "id-1", "extra"]),
    encode_cursor([{"name": "An"}, "id-1"]),
    encode_cursor([None, "id-1"]),
    encode_cursor(["a\x00b", "id-1"]),
])
async def test_a_bad_cursor_is_invalid_input(conn, cursor: str):
    with pytest.raises(InvalidInput, match="invalid cursor"):
        BY_NAME.query("SELECT * FROM things", [], [], PageRequest(10, cursor))


@pytest.mark.parametrize("cursor", [encode_cursor(["yesterday", "id-1"]), encode_cursor(["2024-01-01", "x"])])
def test_a_cursor_of_another_list_is_invalid_input(cursor: str):
    with pytest.raises(InvalidInput):
        BY_DAY.query("SELECT * FROM things", [], [], PageRequest(10, cursor))


def test_a_list_computed_in_python_pages_the_same_way():
    items = [{"kind": k, "name": n, "id": f"t{i}"} for i, (k, n) in enumerate(
        [("b", "x"), ("a", "y"), ("a", "x"), ("b", "x"), ("a", "x")] * 9)]
    keyset = Keyset.of("kind:text", "name:text", "id:text")
    seen, cursor = [], None
    while True:
        body = page_of(items, keyset, PageRequest(4, cursor), key=lambda t: (t["kind"], t["name"], t["id"]))
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(items, key=lambda t: (t["kind"], t["name"], t["id"]))


# -- every list route of every service declares the scheme -----------------------------------------------------------
#: Routes that answer a document of a fixed structure, bounded by what it is about, not a list (see
#: docs/development.md, "Lists"); every other collection route must take ?limit= and ?cursor=.
DOCUMENTS = {
    "/health/live", "/health/ready", "/metrics", "/asyncapi.json",
    "/problems",  # the catalogue of problem types every error points to: a constant
    "/v1/checks-due",  # registry: one ward's checks for the monthly briefing
    "/v1/campaigns/{campaign_id}/report", "/v1/campaigns/{campaign_id}/report.csv",  # one campaign's accounts
    "/v1/public/campaigns/{campaign_id}/report", "/v1/public/campaigns/{campaign_id}/report.csv",  # the same, public
    "/v1/briefings/{group_id}/{month}/print",  # one group's month
    "/v1/refusal-grounds",  # the grounds the law lists: a constant
    "/v1/awards/{award_id}/certificate.pdf", "/v1/wards/{ward_id}/festival/{year}.pdf",  # one award / one festival
    "/asyncapi/public.json", "/asyncapi/public.yaml", "/schemas/{event_type}.json",  # feed: the public contract
    "/v1/me", "/.well-known/jwks.json", "/.well-known/openid-configuration",  # identity: the caller; its keys
    # Map layers and duplicate offers (docs/places.md), GeoJSON or short lists bounded by their own rule: one ward's
    # group areas (tens), the newest incidents in a box (incidents.repository.MAP_LIMIT), reports within 50 m
    # (NEARBY_LIMIT).
    "/v1/groups/areas", "/v1/incidents/map", "/v1/incidents/nearby", "/v1/public/nearby",
    "/v1/groups/{group_id}/area",  # one group's area: a GeoJSON Feature
    "/v1/incidents/{incident_id}/evidence/{evidence_id}/content",  # one evidence file
    "/v1/notifications/unread-count",  # notify: one number
    "/v1/preferences",  # notify: the caller's preference per kind (a constant list of kinds) and quiet hours
    "/v1/contacts",  # notify: the caller's contact points, at most one per channel (three)
}

#: The public feed's event routes page by its own cursor (``after``, answered as Feed-Next-Cursor and in SSE ids)
#: over an append-only log, as CloudEvents batches: not ``{items, next_cursor}`` (docs/services/feed.md).
FEED_ROUTES = {"/v1/events", "/v1/events/stream"}


def _apps(db) -> dict[str, Any]:
    import importlib

    return {s: importlib.import_module(f"services.{s}.bootstrap").build(settings_for(s, db, None)) for s in SERVICES}


def test_every_list_route_takes_limit_and_cursor_and_bounds_the_limit(db):
    checked = 0
    for service, app in _apps(db).items():
        spec = app.openapi()
        for path, operations in spec["paths"].items():
            get = operations.get("get")
            if get is None or path.endswith("}") or path in DOCUMENTS:
                continue
            if path in FEED_ROUTES:
                assert "after" in {p["name"] for p in get.get("parameters", [])}, f"{service} GET {path}"
                continue
            params = {p["name"]: p for p in get.get("parameters", [])}
            assert {"limit", "cursor"} <= set(params), f"{service} GET {path} is not paged"
            assert params["limit"]["schema"]["maximum"] == MAX_LIMIT
            checked += 1
    assert checked >= 19
