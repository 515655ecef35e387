"""What every service checks at the edge (shared.edge, shared.http), on the five real service apps and a real
PostgreSQL: the token before the body, text PostgreSQL cannot store, ward ids in paths, download names in headers,
and the shape of every 401 and of problem types."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from services.awards.bootstrap import build as build_awards
from services.donations.bootstrap import build as build_donations
from services.feed.bootstrap import build as build_feed
from services.incidents.bootstrap import build as build_incidents
from services.mediation.bootstrap import build as build_mediation
from services.registry.bootstrap import build as build_registry
from shared.edge import content_disposition
from tests.conftest import auth
from tests.harness import serve
from tests.integration.conftest import started  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

BUILDS = {"registry": build_registry, "incidents": build_incidents, "mediation": build_mediation,
          "donations": build_donations, "awards": build_awards, "feed": build_feed}
WARD = "phu-son"


@pytest.fixture
async def apps(db, started) -> AsyncIterator[dict[str, httpx.AsyncClient]]:  # noqa: F811
    async with AsyncExitStack() as stack:
        clients = {}
        for name, build in BUILDS.items():
            clients[name] = (await stack.enter_async_context(serve(build, name, db, started))).client
        yield clients


def _is_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and {"type", "title", "detail", "instance"} <= body.keys()
    return body


# One state-changing route per service whose body a caller without a token must never see parsed.
POSTS = {"registry": "/v1/groups", "incidents": "/v1/incidents", "mediation": "/v1/cases",
         "donations": "/v1/campaigns", "awards": f"/v1/wards/{WARD}/criteria", "feed": "/v1/subscribers"}


async def test_the_token_is_checked_before_the_body_is_read(apps):
    for service, path in POSTS.items():
        client = apps[service]
        for content in (b"{not json", b"\xff\xfe", b'{"unexpected": true}', b'"\\u0000"'):
            r = await client.post(path, content=content, headers={"Content-Type": "application/json"})
            body = _is_problem(r, 401)
            assert body["type"] == "/problems#unauthorized", service
            assert r.headers["www-authenticate"].startswith("Bearer")
        bad_token = await client.post(path, content=b"{not json", headers={
            "Content-Type": "application/json", "Authorization": "Bearer not-a-jwt"})
        _is_problem(bad_token, 401)
        assert bad_token.headers["www-authenticate"].startswith("Bearer")
        # with a token, the same malformed body is the validation problem it always was
        with_token = await client.post(path, content=b"{not json", headers={
            "Content-Type": "application/json", **auth("ward_official")})
        assert _is_problem(with_token, 422)["errors"][0]["type"] == "json_invalid"


async def test_nul_characters_and_lone_surrogates_are_refused_before_postgresql(apps):
    official, police = auth("ward_official"), auth("police")
    registry = apps["registry"]
    ward = await registry.post("/v1/wards", json={"ward_id": WARD, "name": "Phường Phú Sơn", "city": "Thanh Hóa"},
                               headers=auth("admin", "*"))
    assert ward.status_code == 201, ward.text
    group = (await registry.post("/v1/groups", json={"ward_id": WARD, "name": "Tổ Trần Phú"}, headers=official)).json()
    household = (await registry.post("/v1/households", json={"group_id": group["group_id"], "address": "1 Trần Phú"},
                                     headers=official)).json()
    resident = await registry.post("/v1/residents", json={"household_id": household["household_id"], "full_name": "Lê Văn B",
                                                          "sex": "male"}, headers=official)
    assert resident.status_code == 201, resident.text
    json_headers = {"Content-Type": "application/json"}
    refused = [
        # a query string (%00), in each service
        await apps["incidents"].get("/v1/incidents", params={"state": "\x00"}, headers=police),
        await apps["incidents"].get("/v1/incidents?group_id=a%00b", headers=police),
        await apps["incidents"].get("/v1/warnings?month=2024-01%00", headers=police),
        await registry.get("/v1/residents?ward_id=%00", headers=official),
        # a path id, in each service
        await apps["incidents"].get("/v1/incidents/a%00b", headers=police),
        await apps["mediation"].get("/v1/cases/a%00b", headers=official),
        await apps["donations"].get("/v1/pledges/a%00b", headers=official),
        await apps["awards"].get("/v1/awards/a%00b", headers=official),
        await registry.get("/v1/wards/a%00b", headers=official),
        # a JSON body: an escaped NUL, in a value or a key, and unpaired surrogates (escaped or raw bytes)
        await registry.patch(f"/v1/residents/{resident.json()['resident_id']}",
                             content=b'{"full_name": "a\\u0000b"}', headers={**json_headers, **official}),
        await registry.post("/v1/groups", content=b'{"ward_id": "phu-son", "name": "T\\ud800"}',
                            headers={**json_headers, **official}),
        await registry.post("/v1/groups", content=b'{"ward_id": "phu-son", "name": "T\xed\xa0\x80"}',
                            headers={**json_headers, **official}),
        await registry.post("/v1/groups", content=b'{"ward_id": "phu-son", "na\\u0000me": "T"}',
                            headers={**json_headers, **official}),
        await apps["donations"].post("/v1/campaigns", content=b'{"name": "\\u0000"}',
                                     headers={**json_headers, **official}),
        await apps["mediation"].post("/v1/cases", content=b'{"summary": ["\\udfff"]}',
                                     headers={**json_headers, **official}),
    ]
    for r in refused:
        body = _is_problem(r, 422)
        assert body["type"] == "/problems#invalid-input" and body["errors"][0]["type"] == "unstorable_text"
        assert "\x00" not in r.text
    # nothing was written; text that only looks like an escape is stored as it is
    after = await registry.get(f"/v1/residents/{resident.json()['resident_id']}", headers=official)
    assert after.status_code == 200 and after.json()["full_name"] == "Lê Văn B"
    literal = await registry.post("/v1/groups", json={"ward_id": WARD, "name": "T\\u0000 (literal)"}, headers=official)
    assert literal.status_code == 201 and literal.json()["name"] == "T\\u0000 (literal)"
    vietnamese = await registry.post("/v1/groups", json={"ward_id": WARD, "name": "Tổ Hàm Nghi 𝔸"}, headers=official)
    assert vietnamese.status_code == 201
    names = [r["name"] for r in await _groups(registry, official)]
    assert sorted(names) == sorted(["Tổ Trần Phú", "T\\u0000 (literal)", "Tổ Hàm Nghi 𝔸"])


async def _groups(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/v1/groups", params={"ward_id": WARD}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def test_ward_ids_in_paths_are_validated_and_download_names_encoded(apps):
    awards = apps["awards"]
    for ward in ("phú-sơn", "phu-son%0D%0ASet-Cookie:%20x=1", 'phu"son', "PHU-SON"):
        r = await awards.get(f"/v1/wards/{ward}/festival/2024.pdf", headers=auth("ward_official", ward=ward))
        assert r.status_code in (401, 422), (ward, r.status_code)  # never a 500, never a header built from it
        assert "set-cookie" not in r.headers
    ok = await awards.get(f"/v1/wards/{WARD}/festival/2024.pdf", headers=auth("ward_official"))
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/pdf"
    assert ok.headers["content-disposition"] == (
        "inline; filename=\"ngay-hoi-phu-son-2024.pdf\"; filename*=UTF-8''ngay-hoi-phu-son-2024.pdf")
    for path in (f"/v1/wards/{WARD}/issuers", f"/v1/wards/{WARD}/criteria?year=2024",
                 f"/v1/wards/{WARD}/nominations?year=2024", f"/v1/wards/{WARD}/festival/2024"):
        bad = await awards.get(path.replace(WARD, "phú-sơn"), headers=auth("ward_official", ward="phú-sơn"))
        assert _is_problem(bad, 422)["errors"][0]["loc"][:2] == ["path", "ward_id"], path


def test_content_disposition_encodes_any_name():
    assert content_disposition("sổ hòa giải \"Đông\"\r\nX: y.csv") == {"Content-Disposition": (
        "attachment; filename=\"so_hoa_giai_Dong_X_y.csv\"; "
        "filename*=UTF-8''s%E1%BB%95%20h%C3%B2a%20gi%E1%BA%A3i%20%22%C4%90%C3%B4ng%22%0D%0AX%3A%20y.csv")}
    header = content_disposition("giấy-khen-AB12.pdf", inline=True)["Content-Disposition"]
    header.encode("latin-1")  # any header value a server can send
    assert header.startswith('inline; filename="giay-khen-AB12.pdf"')


async def test_problem_types_resolve_to_their_documentation(apps):
    for service, client in apps.items():
        r = await client.get("/v1/nowhere")
        body = _is_problem(r, 404)
        page = await client.get(body["type"].split("#")[0])
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), service
        assert f'id="{body["type"].split("#")[1]}"' in page.text
        method = await client.delete("/problems")
        assert _is_problem(method, 405)["type"] == "/problems#method-not-allowed"
        assert method.headers["allow"] == "GET"


async def test_a_body_that_is_not_utf8_is_an_explained_422_in_every_service(apps):
    """FastAPI alone answers a bare 400 "There was an error parsing the body"; JSON text is UTF-8 (RFC 8259)."""
    for service, path in [("registry", "/v1/groups"), ("incidents", "/v1/incidents"), ("mediation", "/v1/cases"),
                          ("donations", "/v1/campaigns"), ("awards", "/v1/wards/phu-son/criteria"),
                          ("feed", "/v1/subscribers")]:
        r = await apps[service].post(path, content=b'{"name": "T\xff\xfe"}',
                                     headers={"Content-Type": "application/json", **auth("ward_official")})
        body = _is_problem(r, 422)
        assert body["errors"][0]["type"] == "invalid_utf8", (service, body)
        assert "UTF-8" in body["detail"] and "byte 11" in body["detail"]
