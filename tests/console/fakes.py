"""The services the console calls, answered in-process (httpx.MockTransport): identity's sign-in routes with one
official who has a second factor, and the three read endpoints of the dashboard. Their shapes are those of the real
services' response models (the end-to-end test in test_browser.py checks them against the running platform)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx

URLS = {s: f"http://{s}.test" for s in ("identity", "registry", "incidents", "donations", "awards")}
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
    #: the X-Forwarded-For the console sent with each call (the browser's address), in order
    forwarded: list[str | None] = field(default_factory=list)
    #: the anonymous tips the public route received (their bodies), and the follow-up answers it gives
    tips: list[dict] = field(default_factory=list)
    tip_state: str = "received"
    public_limited: bool = False
    #: who /v1/me says the signed-in person is (tests of other roles change it before signing in)
    me_roles: list[str] = field(default_factory=lambda: ["ward_official"])
    me_account_id: str = "acc-official"
    me_team_ids: list[str] = field(default_factory=list)
    #: what the POSTs of the money and award pages sent: (service, path, body)
    posted: list[tuple[str, str, dict]] = field(default_factory=list)
    money: FakeMoney = field(default_factory=lambda: FakeMoney())
    nominations: list[dict] = field(default_factory=lambda: fake_nominations())
    password: str = PASSWORD  # POST /v1/password changes it
    #: registry GET /v1/teams: each team's compliance as codes with parameters, beside the English sentences
    teams: list[dict] = field(default_factory=lambda: fake_teams())

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
        if request.method == "POST" and host in ("donations", "awards", "registry"):
            self.posted.append((host, path, body))
        if host == "donations" and path not in ("/v1/campaigns", "/v1/campaigns/c1"):
            return self.money.answer(request.method, path, body, self.me_account_id)
        if host == "awards":
            return self._awards(request.method, path, body)
        if host == "registry" and request.method == "POST":
            return httpx.Response(201, json={"team_id": "t2"})
        if host == "registry" and path.startswith("/v1/teams/"):  # a signed-in collector's teams
            return httpx.Response(200, json={"team_id": path.rsplit("/", 1)[1], "kind": "mobilisation"})
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
            return httpx.Response(200, json={"items": self.teams, "next_cursor": None})
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


# -- police and mediators (tests/console/test_police.py, test_mediation.py) --------------------------------------
URLS["mediation"] = "http://mediation.test"


@dataclass
class PoliceAndMediationFakes(FakeServices):
    """The same sign-in, as a police officer or a mediator (``roles``, ``team_ids``); incidents' and mediation's
    routes the police and mediation pages call, with the shapes of their response models, one incident and one
    case that the forms move on. ``posted`` keeps what the console sent: (path, body)."""

    roles: list[str] = field(default_factory=lambda: ["police"])
    team_ids: list[str] = field(default_factory=list)
    posted: list[tuple[str, dict]] = field(default_factory=list)
    incident: dict = field(default_factory=lambda: {
        "incident_id": "i1", "group_id": "g1", "category": "drugs", "is_crime_tip": True, "state": "in_progress",
        "outcome": None, "received_at": "2024-08-13T02:00:00+00:00", "deadline_on": "2024-09-02", "overdue": False,
        "place": {"address": "Ngõ 20 phố Trần Phú", "latitude": None, "longitude": None}, "happened_at": None,
        "description": "Có người tụ tập sử dụng ma túy", "evidence": [], "footage": [],
        "assignee": {"kind": "police", "team_id": None, "officer": "area-police"}, "resolution_note": None,
        "mediation_case_id": None, "mediation_note": None, "anonymous": False, "reporter_ref": "ref-1",
        "supporters": 0, "merged_into": None, "assisted": False, "entered_by": None})
    #: Who reported ``incident``: only the audited disclosure answers it, as incidents does (never the plain read).
    reporter: dict | None = field(default_factory=lambda: {
        "resident_id": "r7", "full_name": "Lê Thị Tố Giác", "phone": "0912 000 111"})
    case: dict = field(default_factory=lambda: {
        "case_id": "c1", "ward_id": "phu-son", "group_id": "g1", "team_id": "tm1", "referral_incident_id": "i9",
        "origin": "referral", "kind": "neighbours", "summary": "Tranh chấp lối đi chung", "status": "in_mediation",
        "received_at": "2024-08-12T02:00:00+00:00", "received_on": "2024-08-12", "assignment_due": "2024-08-14",
        "assignment_late": False,
        "parties": [{"position": 1, "display_name": "Nguyễn Văn A", "resident_id": "r1"},
                    {"position": 2, "display_name": "Trần Thị B", "resident_id": "r2"}],
        "mediators": [{"mediator_id": "m1", "full_name": "Phạm Hòa Giải", "chosen_by_parties": False,
                       "assigned_on": "2024-08-13", "late": False}],
        "sessions": [], "refusal": None, "agreement": None, "demands": None, "directed_to": None,
        "withdrawal_reason": None, "concluded_on": None, "follow_ups": []})

    def answer(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host.split(".")[0], request.url.path
        if host == "identity" and path == "/v1/me":
            self.calls.append((host, path, request.headers.get("authorization")))
            return httpx.Response(200, json={"display_name": "Người dùng", "ward_id": "phu-son", "roles": self.roles,
                                             "team_ids": self.team_ids, "resident_id": "m1"})
        if host == "registry" and path.startswith("/v1/teams/"):  # the mediator's teams are mediation teams
            return httpx.Response(200, json={"team_id": path.rsplit("/", 1)[1], "kind": "mediation"})
        if host not in ("incidents", "mediation") and not (host == "registry" and path == "/v1/groups"):
            return super().answer(request)
        self.calls.append((host, path, request.headers.get("authorization")))
        if request.headers.get("authorization") != f"Bearer access-{self.refreshes}":
            return _problem(401, "unauthorized")
        body = json.loads(request.content) if request.content else {}
        if request.method == "POST":
            self.posted.append((path, body))
        if host == "registry":
            return httpx.Response(200, json={"items": [{"group_id": "g1", "ward_id": "phu-son", "name": "Tổ Trần Phú",
                                                        "household_count": 12}], "next_cursor": None})
        return self._incidents(request, path, body) if host == "incidents" else self._mediation(request, path, body)

    def _incidents(self, request: httpx.Request, path: str, body: dict) -> httpx.Response:
        inc = self.incident
        summary = {k: inc[k] for k in ("incident_id", "group_id", "category", "is_crime_tip", "state", "outcome",
                                       "received_at", "deadline_on", "overdue")}
        if path == "/v1/incidents":
            state = request.url.params.get("state")
            return httpx.Response(200, json={"items": [summary] if state in (None, inc["state"]) else [],
                                             "next_cursor": None})
        if path == "/v1/incidents/i1":
            return httpx.Response(200, json=inc)
        if path == "/v1/incidents/i1/history":
            return httpx.Response(200, json={"items": [
                {"action": "report", "from_state": None, "to_state": "received", "actor": "reporter", "reason": None,
                 "at": "2024-08-13T02:00:00+00:00"}], "next_cursor": None})
        if path == "/v1/incidents/i1/reporter-disclosure":
            return httpx.Response(200, json={"incident_id": "i1", "anonymous": inc["anonymous"],
                                             "reporter": self.reporter})
        if path == "/v1/incidents/i1/resolve":
            if inc["state"] != "in_progress":
                return _problem(422, "rule-violated")
            if len(body.get("note", "")) < 3:
                return _problem(422, "invalid-input")
            inc.update(state="resolved", outcome=body["outcome"], resolution_note=body["note"])
            return httpx.Response(200, json=summary | {"state": "resolved", "outcome": body["outcome"]})
        if path == "/v1/incidents/i1/close":
            return _problem(422, "rule-violated") if inc["state"] != "resolved" else httpx.Response(200, json=summary)
        if path == "/v1/cameras":
            return httpx.Response(200, json={"items": [{"camera_id": "cam1", "group_id": "g1", "name": "Camera 1",
                                                        "location": "Nhà văn hóa", "decommissioned_on": None}],
                                             "next_cursor": None})
        if path == "/v1/warnings" and request.method == "GET":
            return httpx.Response(200, json={"items": [
                {"warning_id": "w1", "group_id": "g1", "kind": "admonition", "reason": "Tụ tập gây mất trật tự",
                 "issued_on": "2024-08-10", "incident_id": None, "person": {"resident_id": None,
                                                                           "full_name": "Đỗ Văn Răn"}}],
                "next_cursor": None})
        if path == "/v1/warnings":
            return httpx.Response(201, json={"warning_id": "w2", "group_id": body["group_id"], "kind": body["kind"],
                                             "issued_on": body["issued_on"]})
        if path.startswith("/v1/briefings/g1/"):
            return httpx.Response(200, json={
                "ward_id": "phu-son", "group_id": "g1", "group_name": "Tổ Trần Phú", "month": path.rsplit("/", 1)[1],
                "prepared_on": "2024-08-31", "incidents": {"total": 3, "by_category": {"drugs": 1, "dispute": 2},
                                                           "by_state": {"resolved": 3}},
                "overdue_tips": [], "warnings": {"total": 1, "by_kind": {"admonition": 1}, "items": []},
                "residence_checks": {"temporary_residences_expiring_or_expired": [], "late_stay_notices": []},
                "mediations": {"by_status": {"succeeded": 2}, "cases": []}})
        return _problem(404, "not-found")

    def _mediation(self, request: httpx.Request, path: str, body: dict) -> httpx.Response:
        case = self.case
        if path == "/v1/cases":
            status = request.url.params.get("status")
            return httpx.Response(200, json={"items": [case] if status in (None, case["status"]) else [],
                                             "next_cursor": None})
        if path == "/v1/cases/c1":
            return httpx.Response(200, json=case)
        if path == "/v1/teams":
            return httpx.Response(200, json={"items": [{
                "team_id": "tm1", "group_id": "g1", "name": "Tổ hòa giải Trần Phú", "compliant": True,
                "compliance_issues": [], "registry_compliant": True,
                "mediators": [{"resident_id": "m1", "full_name": "Phạm Hòa Giải", "sex": "female", "role": "leader"},
                              {"resident_id": "m2", "full_name": "Vũ Trung Gian", "sex": "male", "role": "member"}]}],
                "next_cursor": None})
        if path == "/v1/refusal-grounds":
            return httpx.Response(200, json={"grounds": [{"code": "crime", "description": "A crime",
                                                          "description_vi": "Tội phạm", "legal_basis": "Art. 3"}]})
        if path == "/v1/cases/c1/sessions":
            if not body.get("mediator_ids"):
                return _problem(422, "invalid-input")
            case["sessions"].append({"session_id": "s1", "held_at": body["held_at"], "place": body["place"],
                                     "mediator_ids": body["mediator_ids"], "invitees": [],
                                     "parties_present": body["parties_present"], "notes": body["notes"]})
            return httpx.Response(201, json=case)
        if path == "/v1/cases/c1/follow-ups":
            return _problem(422, "rule-violated") if case["status"] != "succeeded" else httpx.Response(201, json=case)
        if path.startswith("/v1/teams/tm1/record-book/"):
            return httpx.Response(200, json={
                "team_id": "tm1", "team_name": "Tổ hòa giải Trần Phú", "group_id": "g1",
                "year": int(path.rsplit("/", 1)[1]),
                "part_i": [{"stt": 1, "case_id": "c1", "date_received": "12/08/2024",
                            "mediators_and_invitees": "Phạm Hòa Giải", "parties": "Nguyễn Văn A; Trần Thị B",
                            "kind": "neighbours", "content": "Tranh chấp lối đi chung", "agreement_or_demands": "",
                            "result": "", "status": "in_mediation", "notes": ""}],
                "part_ii": {"received": 1, "succeeded": 0, "failed": 0, "withdrawn": 0, "refused": 0,
                            "in_progress": 1, "by_kind": {}, "by_mediator": [
                                {"mediator_id": "m1", "full_name": "Phạm Hòa Giải", "cases": 1, "succeeded": 0,
                                 "failed": 0}]}})
        return _problem(404, "not-found")

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
                                             "compliant": True, "compliance": [], "compliance_issues": [],
                                             "members": []})
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


def fake_teams() -> list[dict]:
    def team(tid: str, kind: str, name: str, issues: list[dict]) -> dict:
        return {"team_id": tid, "ward_id": "phu-son", "group_id": "g1", "kind": kind, "name": name,
                "formed_on": "2024-01-02", "formation_act": "QĐ 1", "compliant": not issues, "compliance": issues,
                "compliance_issues": [i["message"] for i in issues], "members": []}

    return [team("t1", "anxh", "Tổ ANXH số 1", [{"code": "no_leader", "message": "no leader"}]),
            team("t8", "mediation", "Tổ hòa giải số 1", [
                {"code": "too_few_mediators", "message": "fewer than 3 mediators (2)", "minimum": 3, "active": 2}])]


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
