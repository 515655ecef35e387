"""The services the console calls, answered in-process (httpx.MockTransport): identity's sign-in routes with one
official who has a second factor, and the three read endpoints of the dashboard. Their shapes are those of the real
services' response models (the end-to-end test in test_browser.py checks them against the running platform)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

URLS = {s: f"http://{s}.test" for s in ("identity", "registry", "incidents", "donations")}
USERNAME, PASSWORD, CODE = "chu.tich", "a long enough password", "123456"
RESET_CODE, TOTP_SECRET = "reset-code-of-the-official", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _problem(status: int, kind: str) -> httpx.Response:
    return httpx.Response(status, json={"type": f"https://ward.example/problems/{kind}", "status": status},
                          headers={"content-type": "application/problem+json"})


@dataclass
class FakeServices:
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    refreshes: int = 0
    signed_out: list[str] = field(default_factory=list)
    registry_down: bool = False
    password: str = PASSWORD  # POST /v1/password changes it

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
            if (body.get("username"), body.get("password")) != (USERNAME, self.password):
                return _problem(401, "unauthorized")
            if "code" not in body:
                return httpx.Response(200, json={"second_factor_required": True})
            if body["code"] != CODE:
                return _problem(401, "unauthorized")
            return self._tokens()
        if path == "/v1/password":  # identity's PasswordSetOut: an official enrols the second factor again
            if (body.get("username"), body.get("reset_code")) != (USERNAME, RESET_CODE):
                return _problem(422, "invalid-input")
            self.password = body["new_password"]
            return httpx.Response(200, json={"password_set": True, "second_factor": {
                "secret": TOTP_SECRET, "provisioning_uri": f"otpauth://totp/Ward:{USERNAME}?secret={TOTP_SECRET}"
                                                           "&issuer=Ward"}})
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
