"""The services the console calls, answered in-process (httpx.MockTransport): identity's sign-in routes with one
official who has a second factor, and the three read endpoints of the dashboard. Their shapes are those of the real
services' response models (the end-to-end test in test_browser.py checks them against the running platform)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

URLS = {s: f"http://{s}.test" for s in ("identity", "registry", "incidents", "donations", "awards")}
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
    #: the X-Forwarded-For the console sent with each call (the browser's address), in order
    forwarded: list[str | None] = field(default_factory=list)
    #: the anonymous tips the public route received (their bodies), and the follow-up answers it gives
    tips: list[dict] = field(default_factory=list)
    tip_state: str = "received"
    public_limited: bool = False

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.answer)

    def answer(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host.split(".")[0], request.url.path
        self.calls.append((host, path, request.headers.get("authorization")))
        body = json.loads(request.content) if request.content else {}
        self.forwarded.append(request.headers.get("x-forwarded-for"))
        if host == "identity":
            return self._identity(path, body, request)
        if path.startswith("/v1/public/") or path == "/v1/follow-up":
            return self._public(host, path, body)
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

    # -- the public routes (no token): incidents' tips, groups and follow-up, donations' report, awards' verification
    def _public(self, host: str, path: str, body: dict) -> httpx.Response:
        if self.public_limited:
            return _problem(429, "too-many-requests")
        if (host, path) == ("incidents", "/v1/public/groups"):
            return httpx.Response(200, json={"items": [
                {"group_id": "g1", "ward_id": "phu-son", "name": "Tổ dân phố số 1"},
                {"group_id": "g2", "ward_id": "phu-son", "name": "Tổ dân phố số 2"}], "next_cursor": None})
        if (host, path) == ("incidents", "/v1/public/tips"):
            if body.get("place", {}).get("group_id") not in ("g1", "g2"):
                return _problem(422, "invalid-input")
            self.tips.append(body)
            return httpx.Response(201, json={"incident_id": "i-tip", "state": "received",
                                             "follow_up_code": "TB-ABCDE-FGHJK", "secret": "s3cret-shown-once",
                                             "notice": "Keep the code and the secret"})
        if (host, path) == ("incidents", "/v1/follow-up"):
            if (body.get("follow_up_code"), body.get("secret")) != ("TB-ABCDE-FGHJK", "s3cret-shown-once"):
                return _problem(404, "not-found")
            return httpx.Response(200, json={
                "incident_id": "i-tip", "category": "theft", "state": self.tip_state,
                "outcome": "solved" if self.tip_state == "resolved" else None,
                "received_at": "2024-08-13T02:00:00+00:00", "recognition": [], "claim_secret": None,
                "claim_notice": None})
        if host == "donations" and path == "/v1/public/campaigns/c1/report":
            return httpx.Response(200, json={
                "campaign_id": "c1", "name": "Camera cho tổ 1", "purpose": "Lắp camera an ninh", "group_id": "g1",
                "organiser": "Ban công tác mặt trận", "starts_on": "2024-08-01", "ends_on": "2024-08-13",
                "status": "open", "target_vnd": 50_000_000, "target_reached_on": None, "raised_vnd": 40_250_000,
                "contributions": 12, "reversed_vnd": 0,
                "by_team": [{"team_id": "t9", "team_name": "Tổ vận động 1", "raised_vnd": 40_250_000}],
                "by_channel": {"cash": 40_250_000, "bank_transfer": 0}, "in_kind_gifts": [],
                "spent_vnd": 5_000_000, "spent_by_item": [{"item": "Đầu ghi hình", "amount_vnd": 5_000_000}],
                "balance_vnd": 35_250_000, "honour_roll": [{"name": "Cửa hàng Minh Tâm", "amount_vnd": 2_000_000,
                                                            "gifts": 1}]})
        if host == "awards" and path.startswith("/v1/public/certificates/"):
            code = path.rsplit("/", 1)[1]
            if code not in ("GK-2024-0001", "GK-2024-0002"):
                return _problem(404, "not-found")
            revoked = code.endswith("2")
            return httpx.Response(200, json={
                "verification_code": code, "valid": not revoked, "status": "revoked" if revoked else "granted",
                "recipient": "Người tố giác tội phạm (ẩn danh)", "recipient_kind": "reporter",
                "title": "Đã có thành tích tố giác tội phạm", "issuer": "ward_chairman",
                "issuer_title": "Chủ tịch UBND phường", "decision_number": "15/QĐ-UBND", "decision_date": "2024-08-13",
                "year": 2024, "revoked_on": "2024-09-01" if revoked else None,
                "revoked_reason": "Quyết định bị huỷ" if revoked else None})
        return _problem(404, "not-found")
