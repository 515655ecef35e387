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
    #: who /v1/me says the signed-in person is (tests of other roles change it before signing in)
    me_roles: list[str] = field(default_factory=lambda: ["ward_official"])
    me_account_id: str = "acc-official"
    me_team_ids: list[str] = field(default_factory=list)
    #: what the POSTs of the money and award pages sent: (service, path, body)
    posted: list[tuple[str, str, dict]] = field(default_factory=list)
    money: FakeMoney = field(default_factory=lambda: FakeMoney())
    nominations: list[dict] = field(default_factory=lambda: fake_nominations())

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
        if request.method == "POST" and host in ("donations", "awards", "registry"):
            self.posted.append((host, path, body))
        if host == "donations" and path not in ("/v1/campaigns", "/v1/campaigns/c1"):
            return self.money.answer(request.method, path, body, self.me_account_id)
        if host == "awards":
            return self._awards(request.method, path, body)
        if host == "registry" and request.method == "POST":
            return httpx.Response(201, json={"team_id": "t2"})
        if host == "registry" and path in ("/v1/groups", "/v1/residents"):
            items = ([{"group_id": "g1", "ward_id": "phu-son", "name": "Tổ dân phố Trần Phú", "household_count": 4}]
                     if path == "/v1/groups" else
                     [{"resident_id": "r1", "ward_id": "phu-son", "household_id": "h1", "full_name": "Lê Văn Ba",
                       "sex": "male", "birth_date": None, "phone": None, "has_national_id": False,
                       "group_id": "g1"}])
            return httpx.Response(200, json={"items": items, "next_cursor": None})
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
        return httpx.Response(200, json=self.money.campaign())

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
                                             "roles": self.me_roles, "account_id": self.me_account_id,
                                             "resident_id": "r1" if "team_member" in self.me_roles else None,
                                             "team_ids": self.me_team_ids})
        return _problem(404, "not-found")

    def _tokens(self) -> httpx.Response:
        n = self.refreshes
        return httpx.Response(200, json={"access_token": f"access-{n}", "token_type": "Bearer", "expires_in": 600,
                                         "refresh_token": f"refresh-{n}",
                                         "refresh_token_expires_at": "2030-01-01T00:00:00Z"})

    def _awards(self, method: str, path: str, body: dict) -> httpx.Response:
        if method == "GET" and path.endswith("/nominations"):
            return httpx.Response(200, json={"items": self.nominations, "next_cursor": None})
        if method == "GET" and "/festival/" in path:
            awards = [{"award_id": "a1", "recipient_kind": "collective", "recipient_ref": "t1",
                       "recipient": n["recipient_name"], "title": n["title"], "issuer": n["issuer"],
                       "issuer_title": "Chủ tịch UBND phường Phú Sơn", "decision_number": n["decision_number"],
                       "decision_date": n["decision_date"], "verification_code": "GK-2024-ABCD-EFGH",
                       "achievements": []} for n in self.nominations if n["status"] == "approved"]
            return httpx.Response(200, json={"ward_id": "phu-son", "ward_name": "Phường Phú Sơn",
                                             "year": int(path.rsplit("/", 1)[1]), "awards": awards})
        if method == "POST" and path.startswith("/v1/nominations/"):
            nid, step = path.split("/")[3:5]
            n = next((n for n in self.nominations if n["nomination_id"] == nid), None)
            if n is None:
                return _problem(404, "not-found")
            allowed = {"review": ("proposed", "reviewed"), "approve": ("reviewed", "approved"),
                       "reject": ("reviewed", "rejected")}[step]
            if n["status"] != allowed[0] and not (step == "reject" and n["status"] == "proposed"):
                return _problem(422, "rule-violated")
            if step != "review" and "ward_official" not in self.me_roles:
                return _problem(403, "forbidden")
            n["status"] = allowed[1]
            n.update({k: v for k, v in body.items() if k in n})
            return httpx.Response(200, json={"nomination_id": nid, "status": n["status"], "ward_id": "phu-son"})
        if method == "POST" and path.endswith("/revoke"):
            return httpx.Response(200, json={"award_id": "a1", "status": "revoked", "ward_id": "phu-son"})
        return _problem(404, "not-found")


def fake_nominations() -> list[dict]:
    """Two nominations of the awards service's shape (NominationOut): one proposed, one reviewed."""
    base = {"ward_id": "phu-son", "year": 2024, "recipient_kind": "collective", "recipient_ref": "t1",
            "issuer": "ward_chairman", "origin": "criterion", "criterion_id": "k1", "achievement_ids": ["x1"],
            "evidence_event_ids": ["e1", "e2"], "evidence_note": None, "council_minutes_ref": None,
            "decision_number": None, "decision_date": None, "rejection_reason": None,
            "created_at": "2024-08-01T00:00:00+00:00", "updated_at": "2024-08-01T00:00:00+00:00"}
    return [{**base, "nomination_id": "n1", "recipient_name": "Tổ hòa giải Trần Phú", "status": "proposed",
             "title": "Đã có thành tích xuất sắc trong công tác hòa giải"},
            {**base, "nomination_id": "n2", "recipient_name": "Tổ PCCC số 1", "status": "reviewed",
             "council_minutes_ref": "BB 1/HĐTĐKT", "title": "Tổ PCCC liên gia hoạt động hiệu quả"}]


@dataclass
class FakeMoney:
    """Donations' campaign c1 with its ledger and expenses, answered in the shapes of the real routes
    (CampaignOut, ContributionPage, ExpensePage, TeamPage, ContributionOut, ExpenseProposedOut, ...)."""

    raised: int = 40_250_000
    spent: int = 5_000_000
    contributions: list[dict] = field(default_factory=list)
    expenses: list[dict] = field(default_factory=lambda: [
        {"expense_id": "x1", "campaign_id": "c1", "item": "Camera ngõ 12", "amount_vnd": 5_000_000,
         "invoice_ref": "HĐ 7", "paid_on": "2024-08-10", "cameras": [], "status": "approved",
         "proposed_by": "acc-other", "proposed_at": "2024-08-10T01:00:00+00:00", "approved_by": "acc-official",
         "approval_ref": "QĐ 3", "approved_at": "2024-08-10T02:00:00+00:00"}])

    def campaign(self) -> dict:
        return {"campaign_id": "c1", "group_id": "g1", "name": "Camera cho tổ 1", "purpose": "cameras",
                "target_vnd": 50_000_000, "starts_on": "2024-08-01", "ends_on": "2024-08-13", "closed_on": None,
                "target_reached_on": None, "ward_id": "phu-son", "organiser": "Ban công tác mặt trận",
                "status": "open", "team_ids": ["m1", "m2"],
                "vote": {"record_ref": "BB 1", "held_on": "2024-07-20", "households_total": 4, "in_favour": 3,
                         "against": 1, "abstained": 0},
                "raised_vnd": self.raised, "spent_vnd": self.spent, "balance_vnd": self.raised - self.spent,
                "opened_at": "2024-07-25T00:00:00+00:00"}

    def answer(self, method: str, path: str, body: dict, me: str) -> httpx.Response:
        if method == "GET" and path == "/v1/teams":
            return httpx.Response(200, json={"items": [
                {"team_id": t, "ward_id": "phu-son", "group_id": "g1", "kind": "mobilisation", "name": name,
                 "members": []} for t, name in (("m1", "Tổ vận động 1"), ("m2", "Tổ vận động 2"))],
                "next_cursor": None})
        if method == "GET" and path == "/v1/campaigns/c1/contributions":
            return httpx.Response(200, json={"items": self.contributions, "next_cursor": None})
        if method == "GET" and path == "/v1/campaigns/c1/expenses":
            return httpx.Response(200, json={"items": self.expenses, "next_cursor": None})
        if method == "POST" and path == "/v1/campaigns/c1/contributions":
            if any(c["receipt_number"] == body["receipt_number"] for c in self.contributions):
                return _problem(409, "conflict")
            self.raised += body.get("amount_vnd") or 0
            self.contributions.append({
                "contribution_id": f"k{len(self.contributions) + 1}", "receipt_number": body["receipt_number"],
                "received_on": body.get("received_on") or "2024-08-12", "amount_vnd": body.get("amount_vnd") or 0,
                "channel": body["channel"], "in_kind_description": body.get("in_kind_description"),
                "team_id": body["team_id"], "donor_kind": body["donor_kind"], "public_name": body.get("public_name"),
                "reversal": None, "reversed_vnd": 0, "reversal_reason": None,
                "recorded_at": "2024-08-12T03:00:00+00:00"})
            return httpx.Response(201, json={"contribution_id": self.contributions[-1]["contribution_id"],
                                             "amount_vnd": body.get("amount_vnd") or 0, "raised_vnd": self.raised})
        if method == "POST" and path.startswith("/v1/contributions/") and path.endswith("/reversals"):
            c = next(c for c in self.contributions if c["contribution_id"] == path.split("/")[3])
            taken = body.get("amount_vnd") or c["amount_vnd"]
            c.update(reversal=body["kind"], reversed_vnd=taken, reversal_reason=body["reason"])
            self.raised -= taken
            return httpx.Response(201, json={"reversal_id": "v1", "amount_vnd": taken, "raised_vnd": self.raised})
        if method == "POST" and path == "/v1/campaigns/c1/expenses":
            self.expenses.append({
                "expense_id": f"x{len(self.expenses) + 1}", "campaign_id": "c1", "item": body["item"],
                "amount_vnd": body["amount_vnd"], "invoice_ref": body["invoice_ref"], "paid_on": body["paid_on"],
                "cameras": [], "status": "proposed", "proposed_by": me, "proposed_at": "2024-08-12T03:00:00+00:00",
                "approved_by": None, "approval_ref": None, "approved_at": None})
            return httpx.Response(201, json={"expense_id": self.expenses[-1]["expense_id"], "status": "proposed"})
        if method == "POST" and path.startswith("/v1/expenses/") and path.endswith("/approve"):
            x = next(x for x in self.expenses if x["expense_id"] == path.split("/")[3])
            if x["proposed_by"] == me:
                return _problem(403, "forbidden")
            x.update(status="approved", approved_by=me, approval_ref=body["approval_ref"])
            self.spent += x["amount_vnd"]
            return httpx.Response(200, json={"expense_id": x["expense_id"], "status": "approved",
                                             "balance_vnd": self.raised - self.spent})
        return _problem(404, "not-found")
