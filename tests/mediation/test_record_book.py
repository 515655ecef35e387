"""The record book (sổ theo dõi hoạt động hòa giải ở cơ sở): the seed article's "10 disputes mediated
successfully" reproduced case by case over HTTP, then read from Part II; Part I as the official form; JSON,
CSV and a printable document; who may read it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from services.mediation.schemas import RecordBook
from tests.mediation.conftest import GROUP, LEADER, MEDIATOR, OFFICIAL, PARTY, TEAM, as_

pytestmark = pytest.mark.integration

KINDS = ["neighbours", "family", "property_or_land_boundary", "other_civil"]


async def _case(svc, n: int, received: datetime, kind: str) -> str:
    r = await svc.client.post("/v1/cases", headers=as_(OFFICIAL), json={
        "origin": "party_request", "group_id": GROUP, "kind": kind, "summary": f"Vụ việc số {n}",
        "received_at": received.isoformat(),
        "parties": [{"display_name": f"Bên A{n}"}, {"display_name": f"Bên B{n}"}]})
    assert r.status_code == 201, r.text
    cid = r.json()["case_id"]
    assert (await svc.client.post(f"/v1/cases/{cid}/mediators", json={"mediator_ids": ["r-lan", "r-minh"]},
                                  headers=as_(LEADER))).status_code == 200
    session = await svc.client.post(f"/v1/cases/{cid}/sessions", headers=as_(MEDIATOR), json={
        "held_at": (received + timedelta(days=2)).isoformat(), "mediator_ids": ["r-lan", "r-minh"],
        "invitees": [{"name": "Cụ Tư", "relation": "người có uy tín"}] if n == 1 else []})
    assert session.status_code == 201, session.text
    return cid


async def test_the_seeds_ten_successful_mediations_are_read_from_the_record_book(svc):
    year = datetime.now(UTC).year - 1  # a whole past year, whatever day the test runs
    start = datetime(year, 2, 2, 8, 0, tzinfo=UTC)
    for n in range(1, 11):
        received = start + timedelta(days=20 * n)
        cid = await _case(svc, n, received, KINDS[n % 4])
        r = await svc.client.post(f"/v1/cases/{cid}/success", headers=as_(MEDIATOR), json={
            "agreement": f"Thỏa thuận {n}", "carry_out_how": "Tự nguyện thực hiện",
            "concluded_on": (received + timedelta(days=3)).date().isoformat()})
        assert r.status_code == 200, r.text
    failed = await _case(svc, 11, start + timedelta(days=250), "family")
    assert (await svc.client.post(f"/v1/cases/{failed}/failure", headers=as_(MEDIATOR), json={
        "directed_to": "Tòa án nhân dân", "demands": "Chia tài sản",
        "concluded_on": (start + timedelta(days=255)).date().isoformat()})).status_code == 200
    withdrawn = await svc.client.post("/v1/cases", headers=as_(OFFICIAL), json={
        "origin": "party_request", "group_id": GROUP, "kind": "neighbours", "summary": "Tiếng ồn",
        "received_at": (start + timedelta(days=260)).isoformat(),
        "parties": [{"display_name": "X"}, {"display_name": "Y"}]})
    await svc.client.post(f"/v1/cases/{withdrawn.json()['case_id']}/withdrawal", json={}, headers=as_(OFFICIAL))
    this_year = await svc.client.post("/v1/cases", headers=as_(OFFICIAL), json={
        "origin": "party_request", "group_id": GROUP, "kind": "neighbours", "summary": "Năm sau",
        "parties": [{"display_name": "X"}, {"display_name": "Y"}]})
    assert this_year.status_code == 201  # received this year: not in last year's book

    r = await svc.client.get(f"/v1/teams/{TEAM}/record-book/{year}", headers=as_(MEDIATOR))
    assert r.status_code == 200, r.text
    book = r.json()
    RecordBook.model_validate(book)  # the body its operation documents
    summary = book["part_ii"]
    assert summary["succeeded"] == 10  # "hoà giải thành công 10 vụ"
    assert (summary["received"], summary["failed"], summary["withdrawn"], summary["in_progress"]) == (12, 1, 1, 0)
    assert sum(k["succeeded"] for k in summary["by_kind"].values()) == 10
    assert summary["by_kind"]["family"] == {"received": 4, "succeeded": 3, "failed": 1}  # cases 1, 5, 9 and 11
    by_mediator = {m["mediator_id"]: m for m in summary["by_mediator"]}
    assert by_mediator["r-lan"] == {"mediator_id": "r-lan", "full_name": "Phạm Thị Lan", "cases": 11,
                                    "succeeded": 10, "failed": 1}

    rows = book["part_i"]
    assert [row["stt"] for row in rows] == list(range(1, 13))
    first = rows[0]
    assert first["date_received"] == (start + timedelta(days=20)).strftime("%d/%m/%Y")
    assert set(first["mediators_and_invitees"].split("; ")) == {"Phạm Thị Lan", "Đỗ Văn Minh", "Cụ Tư (người có uy tín)"}
    assert first["parties"] == "Bên A1; Bên B1" and first["content"] == "Vụ việc số 1"
    assert first["agreement_or_demands"].startswith("Thỏa thuận 1") and first["result"] == "Thành"
    assert rows[10]["result"] == "Không thành" and rows[10]["agreement_or_demands"] == "Chia tài sản"
    assert "Tòa án nhân dân" in rows[10]["notes"]

    csv_r = await svc.client.get(f"/v1/teams/{TEAM}/record-book/{year}", params={"format": "csv"},
                                 headers=as_(OFFICIAL))
    assert csv_r.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(csv_r.text.lstrip("\ufeff"))))
    assert table[0][0] == "STT" and table[0][6] == "Kết quả (Thành / Không thành)"
    assert sum(1 for line in table[1:13] if line[6] == "Thành") == 10
    assert ["succeeded", "10"] in table

    html = await svc.client.get(f"/v1/teams/{TEAM}/record-book/{year}", params={"format": "html"},
                                headers=as_(OFFICIAL))
    assert html.headers["content-type"].startswith("text/html")
    assert "SỔ THEO DÕI HOẠT ĐỘNG HÒA GIẢI Ở CƠ SỞ" in html.text and "@media print" in html.text
    assert "<th>Hòa giải thành</th><td>10</td>" in html.text

    assert (await svc.client.get(f"/v1/teams/{TEAM}/record-book/{year}", headers=as_(PARTY))).status_code == 403
    other = {"roles": ["team_leader"], "team_ids": ["team-other"]}
    assert (await svc.client.get(f"/v1/teams/{TEAM}/record-book/{year}", headers=as_(other))).status_code == 403
    assert (await svc.client.get(f"/v1/teams/{TEAM}/record-book/{year}", params={"format": "pdf"},
                                 headers=as_(OFFICIAL))).status_code == 422
