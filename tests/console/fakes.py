"""The services the console calls, answered in-process (httpx.MockTransport): identity's sign-in routes with one
official who has a second factor, and the three read endpoints of the dashboard. Their shapes are those of the real
services' response models (the end-to-end test in test_browser.py checks them against the running platform)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

URLS = {s: f"http://{s}.test" for s in ("identity", "registry", "incidents", "donations")}
USERNAME, PASSWORD, CODE = "chu.tich", "a long enough password", "123456"


def _problem(status: int, kind: str) -> httpx.Response:
    return httpx.Response(status, json={"type": f"https://ward.example/problems/{kind}", "status": status},
                          headers={"content-type": "application/problem+json"})


@dataclass
class FakeServices:
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    refreshes: int = 0
    signed_out: list[str] = field(default_factory=list)
    registry_down: bool = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host.split(".")[0], request.url.path
        self.calls.append((host, path, request.headers.get("authorization")))
        body = json.loads(request.content) if request.content else {}
        if host == "identity":
            return self._identity(path, body, request)
        if request.headers.get("authorization") != f"Bearer access-{self.refreshes}":
            return _problem(401, "unauthorized")
        if host == "registry":
            if self.registry_down:
                return _problem(503, "unavailable")
            return httpx.Response(200, json={"items": [
                {"team_id": "t1", "ward_id": "phu-son", "group_id": "g1", "kind": "anxh", "name": "Tổ ANXH số 1",
                 "formed_on": "2024-01-02", "formation_act": "QĐ 1", "compliant": False,
                 "compliance_issues": ["fewer than 3 active members"], "members": []}], "next_cursor": None})
        if host == "incidents":
            items = [] if request.url.params.get("state") != "received" else [
                {"incident_id": "i1", "group_id": "g1", "category": "theft", "is_crime_tip": False,
                 "state": "received", "outcome": None, "received_at": "2024-08-13T02:00:00+00:00",
                 "deadline_on": "2024-08-20", "overdue": True}]
            return httpx.Response(200, json={"items": items, "next_cursor": None})
        if path == "/v1/campaigns":
            return httpx.Response(200, json={"items": [
                {"campaign_id": "c1", "group_id": "g1", "name": "Camera cho tổ 1", "purpose": "cameras",
                 "target_vnd": 50_000_000, "starts_on": "2024-08-01", "ends_on": "2024-08-13", "closed_on": None,
                 "target_reached_on": None}], "next_cursor": None})
        return httpx.Response(200, json={"campaign_id": "c1", "name": "Camera cho tổ 1", "ends_on": "2024-08-13",
                                         "status": "open",
                                         "target_vnd": 50_000_000, "raised_vnd": 40_250_000,
                                         "spent_vnd": 5_000_000, "balance_vnd": 35_250_000})

    def _identity(self, path: str, body: dict, request: httpx.Request) -> httpx.Response:
        if path == "/v1/sessions":
            if (body.get("username"), body.get("password")) != (USERNAME, PASSWORD):
                return _problem(401, "unauthorized")
            if "code" not in body:
                return httpx.Response(200, json={"second_factor_required": True})
            if body["code"] != CODE:
                return _problem(401, "unauthorized")
            return self._tokens()
        if path == "/v1/sessions/refresh":
            if body.get("refresh_token") != f"refresh-{self.refreshes}":
                return _problem(401, "unauthorized")
            self.refreshes += 1
            return self._tokens()
        if path == "/v1/sessions/sign-out":
            self.signed_out.append(body["refresh_token"])
            return httpx.Response(200, json={"signed_out": True})
        if path == "/v1/me" and request.headers.get("authorization") == f"Bearer access-{self.refreshes}":
            return httpx.Response(200, json={"display_name": "Chủ tịch phường", "ward_id": "phu-son",
                                             "roles": ["ward_official"]})
        return _problem(404, "not-found")

    def _tokens(self) -> httpx.Response:
        n = self.refreshes
        return httpx.Response(200, json={"access_token": f"access-{n}", "token_type": "Bearer", "expires_in": 600,
                                         "refresh_token": f"refresh-{n}",
                                         "refresh_token_expires_at": "2030-01-01T00:00:00Z"})


# -- the group leader's and the resident's pages (pages_people.py) -------------------------------------------------
@dataclass
class PeopleServices(FakeServices):
    """The same sign-in, for an account bound as ``me`` says (a team leader of team t1 in group g1, or a resident of
    household h1), and the registry and incidents routes those pages call, answering as the real ones do: lists as
    ``{items, next_cursor}``, created records as their response models, refusals as problems."""

    me: dict = field(default_factory=lambda: {"roles": ["team_leader"], "team_ids": ["t1"], "resident_id": None,
                                              "household_id": None})
    households: dict = field(default_factory=lambda: {"h1": {
        "household_id": "h1", "ward_id": "phu-son", "group_id": "g1", "address": "Số 1 phố Trần Phú",
        "head_resident_id": "r1"}})
    residents: dict = field(default_factory=lambda: {"r1": {
        "resident_id": "r1", "ward_id": "phu-son", "household_id": "h1", "full_name": "Lê Văn Tám", "sex": "male",
        "birth_date": "1980-05-02", "phone": None, "has_national_id": False, "group_id": "g1"}})
    declarations: list = field(default_factory=list)
    incidents: list = field(default_factory=list)
    posted: list = field(default_factory=list)

    def answer(self, request: httpx.Request) -> httpx.Response:
        host, path, method = request.url.host.split(".")[0], request.url.path, request.method
        if host == "identity" and path == "/v1/me":
            self.calls.append((host, path, request.headers.get("authorization")))
            if request.headers.get("authorization") != f"Bearer access-{self.refreshes}":
                return _problem(401, "unauthorized")
            return httpx.Response(200, json={"account_id": "a1", "ward_id": "phu-son", "username": USERNAME,
                                             "display_name": "Lê Văn Tám", **self.me, "status": "active",
                                             "second_factor": "active", "password_set": True,
                                             "created_at": "2024-01-01T00:00:00Z"})
        if host in ("registry", "incidents") and request.headers.get("authorization") == f"Bearer access-{self.refreshes}":
            body = json.loads(request.content) if request.content else {}
            found = self._people(host, method, path, request.url.params, body)
            if found is not None:
                self.calls.append((host, path, request.headers.get("authorization")))
                if method == "POST":
                    self.posted.append((host, path, body))
                return found
        return super().answer(request)

    def _page(self, items: list) -> httpx.Response:
        return httpx.Response(200, json={"items": items, "next_cursor": None})

    def _people(self, host: str, method: str, path: str, params, body: dict) -> httpx.Response | None:
        leader = "team_leader" in self.me["roles"]
        if host == "incidents" and path == "/v1/incidents":
            if method == "GET":
                return self._page(self.incidents)
            if len(body.get("description", "")) < 5 or body.get("reporter") is None:
                return _problem(422, "invalid-input")
            self.incidents.append({"incident_id": f"i{len(self.incidents) + 1}", "group_id": body["place"]["group_id"],
                                   "category": body["category"], "is_crime_tip": False, "state": "received",
                                   "outcome": None, "received_at": "2024-08-13T02:00:00+00:00",
                                   "deadline_on": None, "overdue": False})
            return httpx.Response(201, json={"incident_id": self.incidents[-1]["incident_id"], "state": "received",
                                             "follow_up_code": None, "secret": None, "notice": None})
        if host != "registry":
            return None
        if path == "/v1/teams/t1":
            return httpx.Response(200, json={"team_id": "t1", "ward_id": "phu-son", "group_id": "g1", "kind": "anxh",
                                             "name": "Tổ ANXH số 1", "formed_on": "2024-01-02", "formation_act": "QĐ 1",
                                             "compliant": True, "compliance_issues": [], "members": []})
        if path == "/v1/groups/g1":
            return httpx.Response(200, json={"group_id": "g1", "ward_id": "phu-son", "name": "Tổ dân phố Trần Phú",
                                             "household_count": len(self.households)})
        group_ok = leader and params.get("group_id") == "g1"
        if method == "GET" and path in ("/v1/households", "/v1/residents", "/v1/declarations",
                                        "/v1/boarding-houses", "/v1/stay-notices") and not group_ok:
            return _problem(403, "forbidden")
        if path == "/v1/households":
            if method == "GET":
                return self._page(list(self.households.values()))
            if not body.get("address"):
                return _problem(422, "invalid-input")
            hid = f"h{len(self.households) + 1}"
            self.households[hid] = {"household_id": hid, "ward_id": "phu-son", "group_id": body["group_id"],
                                    "address": body["address"], "head_resident_id": None}
            return httpx.Response(201, json=self.households[hid])
        if path.startswith("/v1/households/"):
            hid = path.rsplit("/", 1)[-1]
            if hid not in self.households or not (leader or self.me.get("household_id") == hid):
                return _problem(404, "not-found")
            members = [r for r in self.residents.values() if r["household_id"] == hid]
            return httpx.Response(200, json={**self.households[hid], "residents": members})
        if path == "/v1/residents":
            if method == "GET":
                return self._page(list(self.residents.values()))
            rid = f"r{len(self.residents) + 1}"
            self.residents[rid] = {"resident_id": rid, "ward_id": "phu-son", "household_id": body["household_id"],
                                   "full_name": body["full_name"], "sex": body["sex"],
                                   "birth_date": body.get("birth_date"), "phone": body.get("phone"),
                                   "has_national_id": False, "group_id": "g1"}
            return httpx.Response(201, json=self.residents[rid])
        if path in ("/v1/absences", "/v1/temporary-residences"):
            absence = path == "/v1/absences"
            start, end = (body.get("absent_from"), body.get("absent_until")) if absence else (
                body.get("valid_from"), body.get("valid_until"))
            if not (start and end) or (absence and not (body.get("case") and body.get("destination"))):
                return _problem(422, "invalid-input")
            if not leader and body["resident_id"] != self.me.get("resident_id"):
                return _problem(403, "forbidden")
            made = {"declaration_id": f"d{len(self.declarations) + 1}", "ward_id": "phu-son", "group_id": "g1",
                    "resident_id": body["resident_id"], "kind": "absence" if absence else "temporary_residence",
                    "status": "active", "valid_from": start, "valid_until": end, "boarding_house_id": None,
                    "room": None, "absence_case": body.get("case"), "destination": body.get("destination"),
                    "ended_on": None}
            self.declarations.append(made)
            return httpx.Response(201, json=made)
        if path == "/v1/declarations":
            return self._page(self.declarations)
        if path == "/v1/boarding-houses":
            return self._page([{"boarding_house_id": "b1", "ward_id": "phu-son", "group_id": "g1",
                                "name": "Khu nhà trọ Trần Phú", "address": "Ngõ 20 phố Trần Phú",
                                "landlord_resident_id": "r1", "rooms": ["P101", "P102"]}])
        if path == "/v1/stay-notices":
            return self._page([{"notice_id": "n1", "ward_id": "phu-son", "group_id": "g1", "boarding_house_id": "b1",
                                "lodger_resident_id": None, "lodger_name": "Vũ Thị Giang", "room": "P101",
                                "arrived_at": "2024-08-12T15:00:00+00:00", "notified_at": "2024-08-13T02:00:00+00:00",
                                "late": True}])
        return None
