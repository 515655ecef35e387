"""Issue 18 in the console, in-process against fake services: the ward map (markers drawn as the viewer's token gets
them, tiles only when set and then admitted by the page's CSP), evidence files on the police incident page (the
upload passed on as the raw body, the download streamed as an attachment, the chain of custody), nearby duplicates
offered on the tip form with "me too", and the merge of a repeated report."""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from services.console import nav
from services.console.apis import Apis
from services.console.bootstrap import build
from services.console.pages_map import bbox_of, tile_origin
from services.console.security import CONTENT_SECURITY_POLICY
from tests.conftest import settings_for
from tests.console.conftest import csrf
from tests.console.fakes import URLS, FakeServices, PeopleServices, PoliceAndMediationFakes, _problem
from tests.console.test_police import signed_in

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes

AREA = {"type": "Feature", "id": "g1", "bbox": [105.80, 21.02, 105.81, 21.03],
        "geometry": {"type": "Polygon", "coordinates": [[[105.80, 21.02], [105.81, 21.02], [105.81, 21.03],
                                                         [105.80, 21.02]]]},
        "properties": {"group_id": "g1", "name": "Tổ Trần Phú", "ward_id": "phu-son",
                       "updated_at": "2024-08-13T02:00:00+00:00"}}
EXACT = (21.028511, 105.804817)
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 2000 + b"\xff\xd9"


class PlacesFakes(PoliceAndMediationFakes):
    """incidents' and registry's places and evidence routes, as A, B and C answer them (issue 18's contract)."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.precision = "exact"
        self.map_params: list[dict] = []
        self.nearby: list[dict] = []
        self.uploads: list[tuple[dict, bytes, str]] = []
        self.public: list[tuple[str, str]] = []

    def answer(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host.split(".")[0], request.url.path
        if host == "incidents" and path in ("/v1/public/nearby",) or path.startswith("/v1/public/incidents/"):
            self.public.append((request.method, path))
            if path == "/v1/public/nearby":
                return httpx.Response(200, json={"items": self.nearby})
            return httpx.Response(201, json={"incident_id": path.split("/")[4], "supporters": 3,
                                             "follow_up_code": "UH-AAAAA-BBBBB", "secret": "secret-once",
                                             "notice": "keep them"})
        if path.startswith("/v1/public/") or path == "/v1/follow-up":  # the tip itself, groups, follow-up
            return FakeServices.answer(self, request)
        signed = request.headers.get("authorization") == f"Bearer access-{self.refreshes}"
        if host == "registry" and path == "/v1/groups/areas" and signed:
            return httpx.Response(200, json={"type": "FeatureCollection", "features": [AREA]},
                                  headers={"content-type": "application/geo+json"})
        if host == "incidents" and signed and path == "/v1/incidents/map":
            self.map_params.append(dict(request.url.params))
            lat, lon = EXACT if self.precision == "exact" else (round(EXACT[0], 3), round(EXACT[1], 3))
            return httpx.Response(200, headers={"content-type": "application/geo+json"}, json={
                "type": "FeatureCollection", "features": [{
                    "type": "Feature", "id": "i1", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"incident_id": "i1", "category": "theft", "state": "received", "group_id": "g1",
                                   "received_at": "2024-08-13T02:00:00+00:00", "precision": self.precision,
                                   "supporters": 2}}]})
        if host == "incidents" and signed and path == "/v1/incidents/nearby":
            return httpx.Response(200, json={"items": self.nearby})
        if host == "incidents" and signed and path == "/v1/incidents/i1/evidence" and request.method == "POST":
            self.uploads.append((dict(request.url.params), request.read(), request.headers.get("content-type")))
            if not request.content.startswith(b"\xff\xd8"):
                return _problem(415, "unsupported-media-type")
            return httpx.Response(201, json={"evidence_id": "e1", "incident_id": "i1", "media_type": "image/jpeg",
                                             "size": len(request.content), "sha256": "ab" * 32})
        if host == "incidents" and signed and path == "/v1/incidents/i1/evidence":
            return httpx.Response(200, json={"items": [
                {"evidence_id": "e1", "incident_id": "i1", "media_type": "image/jpeg", "size": len(JPEG),
                 "sha256": "ab" * 32, "uploaded_at": "2024-08-13T03:00:00+00:00", "camera_id": None,
                 "campaign_id": None, "metadata_removed": True}], "next_cursor": None})
        if host == "incidents" and signed and path == "/v1/incidents/i1/evidence/e1/content":
            return httpx.Response(200, content=JPEG, headers={
                "content-type": "image/jpeg", "content-disposition": 'attachment; filename="e1.jpg"'})
        if host == "incidents" and signed and path == "/v1/incidents/i1/evidence/e1/custody":
            return httpx.Response(200, json={"items": [
                {"at": "2024-08-13T03:00:00+00:00", "action": "download", "actor": "cong.an",
                 "sha256": "ab" * 32}], "next_cursor": None})
        if host == "incidents" and signed and path == "/v1/incidents/i1/merge":
            self.posted.append((path, json.loads(request.content)))
            return httpx.Response(200, json={"incident_id": "i1", "state": "closed", "outcome": "merged",
                                             "merged_into": "i2", "into_supporters": 3})
        return super().answer(request)


@pytest.fixture
def services() -> PlacesFakes:
    return PlacesFakes(roles=["police"])


@pytest.fixture
async def tiled(console_db, services) -> AsyncIterator[httpx.AsyncClient]:
    app = build(settings_for("console", console_db, None,
                             console_map_tiles_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
                             console_map_tiles_attribution="© OpenStreetMap"),
                apis=Apis(URLS, transport=services.transport()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
        client.headers["accept-language"] = "vi"
        yield client


def test_a_tile_template_s_origin_is_what_the_csp_admits_and_anything_else_is_no_tiles():
    assert tile_origin("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    assert tile_origin("https://tiles.city.vn/{z}/{x}/{y}.png") == "https://tiles.city.vn"
    for bad in ("", "javascript:alert(1)//{z}{x}{y}", "https://a.example/no-placeholders.png",
                "https://x.example;script-src */{z}/{x}/{y}", "//host/{z}/{x}/{y}"):
        assert tile_origin(bad) is None, bad
    assert bbox_of({"features": [AREA]}) == "105.798000,21.018000,105.812000,21.032000"
    assert bbox_of({"features": []}) is None


async def test_the_police_map_draws_the_exact_markers_inside_the_areas_with_no_tiles_and_the_strict_csp(
        console, services):
    await signed_in(console)
    page = await console.get("/map")
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY  # nothing admitted: no tiles
    assert services.map_params == [{"bbox": "105.798000,21.018000,105.812000,21.032000"}]
    data = json.loads(html.unescape(re.search(r'id="ward-map"[^>]* data-geo="([^"]*)"', page.text).group(1)))
    assert data["markers"]["features"][0]["geometry"]["coordinates"] == [EXACT[1], EXACT[0]]
    assert data["areas"]["features"][0]["properties"]["name"] == "Tổ Trần Phú"
    assert data["words"]["categories"]["theft"] == "Trộm cắp"
    assert "21.028511, 105.804817" in page.text and "Vị trí chính xác" in page.text  # the table, without a map
    assert 'data-link="/police/incidents/{id}"' in page.text and 'data-tiles=""' in page.text
    assert 'href="/map"' in page.text  # in the menu
    assert "<script>" not in page.text and 'type="application/json"' not in page.text  # data in an attribute


async def test_a_group_leader_gets_what_incidents_gives_their_token_and_a_resident_has_no_map(console, services):
    assert "/map" not in [e.path for e in nav.visible(["resident"])]
    assert "/map" in [e.path for e in nav.visible(["team_leader"], ["anxh"])] and nav.home(["team_member"], ["anxh"]) is None
    services.roles, services.precision = ["team_leader"], "approximate"
    await signed_in(console)
    page = await console.get("/map")
    assert page.status_code == 200
    assert "21.029, 105.805" in page.text and "21.028511" not in page.text and "Trong khoảng 100 m" in page.text
    assert "data-link" not in page.text  # no incident page for a group leader


async def test_tiles_when_set_are_drawn_and_their_origin_alone_is_added_to_the_page_s_csp(tiled, services):
    await signed_in(tiled)
    page = await tiled.get("/map")
    csp = page.headers["content-security-policy"]
    assert "img-src 'self' data: https://*.tile.example.org;" in csp
    assert csp.replace(" https://*.tile.example.org", "") == CONTENT_SECURITY_POLICY
    assert 'data-tiles="https://{s}.tile.example.org/{z}/{x}/{y}.png"' in page.text
    other = await tiled.get("/police/incidents")
    assert other.headers["content-security-policy"] == CONTENT_SECURITY_POLICY  # only the pages with a map


async def test_evidence_is_listed_uploaded_as_the_raw_body_downloaded_as_an_attachment_with_its_custody(
        console, services):
    await signed_in(console)
    page = await console.get("/police/incidents/i1")
    assert page.status_code == 200 and "Tệp chứng cứ" in page.text
    assert 'href="/police/incidents/i1/evidence/e1"' in page.text and 'enctype="multipart/form-data"' in page.text
    token = csrf(page.text)
    r = await console.post("/police/evidence/i1", data={"csrf_token": token, "camera_id": "cam1"},
                           files={"file": ("anh.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 303, r.text
    params, body, media = services.uploads[-1]
    assert body == JPEG and params == {"camera_id": "cam1"} and media == "application/octet-stream"
    refused = await console.post("/police/evidence/i1", data={"csrf_token": token},
                                 files={"file": ("x.jpg", b"MZ not a photo", "image/jpeg")})
    assert refused.status_code == 415 and "Tệp này không được nhận" in refused.text
    forged = await console.post("/police/evidence/i1", data={"csrf_token": "forged"},
                                files={"file": ("anh.jpg", JPEG, "image/jpeg")})
    assert forged.status_code == 403 and len(services.uploads) == 2
    empty = await console.post("/police/evidence/i1", data={"csrf_token": token},
                               files={"file": ("", b"", "application/octet-stream")})
    assert empty.status_code == 422 and len(services.uploads) == 2
    file = await console.get("/police/incidents/i1/evidence/e1")
    assert file.status_code == 200 and file.content == JPEG
    assert file.headers["content-disposition"].startswith("attachment")
    assert file.headers["x-content-type-options"] == "nosniff" and file.headers["cache-control"] == "no-store"
    log = await console.get("/police/incidents/i1/evidence/e1/custody")
    assert log.status_code == 200 and "Tải xuống" in log.text and "cong.an" in log.text


async def test_an_oversized_upload_is_refused_before_it_is_read(console_db, services):
    app = build(settings_for("console", console_db, None, console_evidence_max_bytes=1000),
                apis=Apis(URLS, transport=services.transport()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
        client.headers["accept-language"] = "vi"
        await signed_in(client)
        page = await client.get("/police/incidents/i1")
        r = await client.post("/police/evidence/i1", data={"csrf_token": csrf(page.text)},
                              files={"file": ("anh.jpg", JPEG * 200, "image/jpeg")})
        assert r.status_code == 413 and not services.uploads


TIP = {"group_id": "g1", "category": "theft", "description": "Mất trộm xe máy trước ngõ", "address": "Hẻm 12"}
NEARBY = [{"incident_id": "i7", "category": "theft", "group_id": "g1", "received_at": "2024-08-13T02:00:00+00:00",
           "supporters": 2, "distance_m": 40}]


async def test_a_tip_with_a_point_is_offered_the_reports_nearby_and_me_too_counts_without_filing_another(
        console, services):
    services.nearby = NEARBY
    form = await console.get("/tip")
    token = csrf(form.text)
    bad = await console.post("/tip", data={"csrf_token": token, **TIP, "latitude": "21.02"})
    assert bad.status_code == 422 and "Vị trí trên bản đồ không hợp lệ" in bad.text and not services.tips
    offered = await console.post("/tip", data={"csrf_token": token, **TIP, "latitude": "21,028511",
                                               "longitude": "105.804817"})
    assert offered.status_code == 200 and not services.tips  # not filed yet: the reporter chooses
    assert "cách khoảng 40 m" in offered.text and 'action="/tip/me-too/i7"' in offered.text
    assert 'value="Mất trộm xe máy trước ngõ"' in offered.text or "Mất trộm xe máy trước ngõ" in offered.text
    me_too = await console.post("/tip/me-too/i7", data={"csrf_token": token})
    assert me_too.status_code == 201 and "UH-AAAAA-BBBBB" in me_too.text and "secret-once" in me_too.text
    assert ("POST", "/v1/public/incidents/i7/supporters") in services.public and not services.tips
    sent = await console.post("/tip", data={"csrf_token": token, **TIP, "latitude": "21.028511",
                                            "longitude": "105.804817", "new": "yes"})
    assert sent.status_code == 201
    assert services.tips[-1]["place"] == {"group_id": "g1", "address": "Hẻm 12", "latitude": 21.028511,
                                          "longitude": 105.804817}
    services.nearby = []
    plain = await console.post("/tip", data={"csrf_token": token, **TIP})
    assert plain.status_code == 201 and "latitude" not in services.tips[-1]["place"]


async def test_the_police_merge_a_repeated_report_with_a_reason_and_never_into_itself(console, services):
    services.incident["place"] = {"address": "Ngõ 20", "latitude": EXACT[0], "longitude": EXACT[1],
                                  "precision": "exact", "group_id": "g1"}
    services.nearby = [{**NEARBY[0], "incident_id": "i2", "category": "drugs"}]
    await signed_in(console)
    page = await console.get("/incidents/i1/merge")
    assert page.status_code == 200 and 'value="i2"' in page.text
    token = csrf(page.text)
    itself = await console.post("/incidents/i1/merge", data={"csrf_token": token, "other": "i1", "reason": "trùng"})
    assert itself.status_code == 422 and not [p for p in services.posted if p[0].endswith("/merge")]
    no_reason = await console.post("/incidents/i1/merge", data={"csrf_token": token, "into": "i2"})
    assert no_reason.status_code == 422
    done = await console.post("/incidents/i1/merge", data={"csrf_token": token, "into": "i2",
                                                            "reason": "Cùng một vụ trộm"})
    assert done.status_code == 303 and done.headers["location"] == "/police/incidents/i2"
    assert services.posted[-1] == ("/v1/incidents/i1/merge", {"into": "i2", "reason": "Cùng một vụ trộm"})


class ResidentPlaces(PeopleServices):
    """A resident (PeopleServices), with incidents' nearby and "me too" routes and registry's areas."""

    def answer(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host.split(".")[0], request.url.path
        signed = request.headers.get("authorization") == f"Bearer access-{self.refreshes}"
        if signed and host == "registry" and path == "/v1/groups/areas":
            return httpx.Response(200, json={"type": "FeatureCollection", "features": [AREA]})
        if signed and host == "incidents" and path == "/v1/incidents/nearby":
            self.calls.append((host, path, request.headers.get("authorization")))
            return httpx.Response(200, json={"items": NEARBY})
        if signed and host == "incidents" and path == "/v1/incidents/i7/supporters":
            self.posted.append((host, path, {}))
            return httpx.Response(200, json={"incident_id": "i7", "supporters": 3, "counted": True})
        return super().answer(request)


async def test_a_resident_s_report_with_a_point_offers_the_nearby_report_and_me_too_adds_them_to_it(console_db):
    services = ResidentPlaces(me={"roles": ["resident"], "team_ids": [], "resident_id": "r1", "household_id": "h1"})
    app = build(settings_for("console", console_db, None), apis=Apis(URLS, transport=services.transport()))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
        client.headers["accept-language"] = "vi"
        await signed_in(client)
        page = await client.get("/my-reports")
        assert page.status_code == 200 and 'data-map="pick"' in page.text
        geo = json.loads(html.unescape(re.search(r'data-map="pick" data-geo="([^"]*)"', page.text).group(1)))
        assert geo["areas"]["features"][0]["properties"]["name"] == "Tổ Trần Phú"  # drawn under the picker
        report = {"csrf_token": csrf(page.text), "category": "theft", "description": "Mất xe đạp trước cửa nhà",
                  "address": "", "phone": "", "latitude": "21.028511", "longitude": "105.804817"}
        offered = await client.post("/my-reports", data=report)
        assert offered.status_code == 200 and "cách khoảng 40 m" in offered.text
        assert not [p for p in services.posted if p[1] == "/v1/incidents"]  # not filed: the resident chooses
        added = await client.post("/my-reports/me-too/i7", data={"csrf_token": report["csrf_token"]})
        assert added.status_code == 303 and added.headers["location"] == "/my-reports?supported=1"
        assert ("incidents", "/v1/incidents/i7/supporters", {}) in services.posted
        assert "Bạn đã được thêm vào tin báo đó" in (await client.get("/my-reports?supported=1")).text
        new = await client.post("/my-reports", data={**report, "new": "yes"})
        assert new.status_code == 303
        assert services.posted[-1][1] == "/v1/incidents" and services.posted[-1][2]["place"] == {
            "group_id": "g1", "latitude": 21.028511, "longitude": 105.804817}
