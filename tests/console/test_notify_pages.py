"""The notification pages (pages_notify.py) and the intake pages (pages_intake.py), in-process against fake services
that answer as notify's and incidents' APIs do (docs/services/notify.md, docs/services/incidents.md): the inbox and
its unread count in the menu (and every page still whole when notify is down), marking read, contact points with
their verification code (addresses shown only as notify's hints), preferences per kind with the quiet hours; a
group leader's report for a resident; the police's question to an anonymous tipster and the tipster's answer on
the follow-up page, their code and secret kept nowhere."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest

from services.console import pages
from tests.console.conftest import csrf
from tests.console.fakes import (
    URLS,
    FakeServices,
    PeopleServices,
    PoliceAndMediationFakes,
    _problem,
)
from tests.console.test_leader import sign_in  # password, then the code; answers where the console sent them

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes

URLS["notify"] = "http://notify.test"
TIP_CODE, TIP_SECRET = "TB-ABCDE-FGHJK", "s3cret-shown-once"


@dataclass
class Notify:
    """notify's API for one person: the inbox, contacts and preferences, as its routes answer."""

    down: bool = False
    items: list = field(default_factory=lambda: [
        {"notification_id": "n1", "person_id": "acc", "ward_id": "phu-son", "kind": "tip.overdue", "urgent": True,
         "fact_key": "incidents.overdue:i1:2024-09-02", "title": "Tin báo quá hạn quyết định",
         "body": "Hãy quyết định về tin báo i1.", "link": "https://console.example/police/incidents/i1",
         "created_at": "2024-09-03T01:00:00+00:00", "read_at": None},
        {"notification_id": "n2", "person_id": "acc", "ward_id": "phu-son", "kind": "tip.assigned", "urgent": False,
         "fact_key": "incidents.assigned:i2", "title": "Tin báo được giao cho bạn", "body": "",
         "link": "https://console.example/police/incidents/i2", "created_at": "2024-09-01T01:00:00+00:00",
         "read_at": "2024-09-01T02:00:00+00:00"}])
    contacts: dict = field(default_factory=dict)
    preferences: dict = field(default_factory=lambda: {"tip.overdue": {"kind": "tip.overdue",
                                                                        "channels": ["email", "sms"],
                                                                        "digest": False}})
    #: what the console sent: (method, path, body)
    sent: list = field(default_factory=list)

    def answer(self, request: httpx.Request, body: dict) -> httpx.Response:
        method, path = request.method, request.url.path
        if self.down:
            return httpx.Response(503, json={"type": "https://ward.example/problems/unavailable", "status": 503},
                                  headers={"content-type": "application/problem+json"})
        self.sent.append((method, path, body))
        if path == "/v1/notifications/unread-count":
            return httpx.Response(200, json={"count": sum(1 for n in self.items if not n["read_at"])})
        if path == "/v1/notifications":
            unread = request.url.params.get("unread") == "true"
            return httpx.Response(200, json={"items": [n for n in self.items if not (unread and n["read_at"])],
                                             "next_cursor": None})
        if path == "/v1/notifications/read-all":
            for n in self.items:
                n["read_at"] = n["read_at"] or "2024-09-03T02:00:00+00:00"
            return httpx.Response(200, json={"read": len(self.items)})
        m = re.fullmatch(r"/v1/notifications/([^/]+)/read", path)
        if m:
            n = next((n for n in self.items if n["notification_id"] == m[1]), None)
            if n is None:
                return _problem(404, "not-found")
            n["read_at"] = n["read_at"] or "2024-09-03T02:00:00+00:00"
            return httpx.Response(200, json=n)
        if path == "/v1/contacts":
            return httpx.Response(200, json=list(self.contacts.values()))
        m = re.fullmatch(r"/v1/contacts/(email|sms|zalo)(/verify)?", path)
        if m and method == "PUT":
            hint = "••••" + body["address"][-4:]
            self.contacts[m[1]] = {"channel": m[1], "address_hint": hint, "verified": False}
            return httpx.Response(202, json={"channel": m[1], "address_hint": hint, "verified": False})
        if m and m[2]:
            if body.get("code") != "246810":
                return _problem(422, "invalid-input")
            self.contacts[m[1]]["verified"] = True
            return httpx.Response(200, json=self.contacts[m[1]])
        if m and method == "DELETE":
            self.contacts.pop(m[1], None)
            return httpx.Response(204)
        if path == "/v1/preferences":
            return httpx.Response(200, json={"kinds": list(self.preferences.values()), "quiet_hours": {
                "start": "22:00:00", "end": "06:00:00", "timezone": "Asia/Ho_Chi_Minh"}})
        if path.startswith("/v1/preferences/") and method == "PUT":
            kind = path.rsplit("/", 1)[1]
            self.preferences[kind] = {"kind": kind, **body}
            return httpx.Response(200, json=self.preferences[kind])
        return _problem(404, "not-found")


def _notify_first(services, notify: Notify, request: httpx.Request) -> httpx.Response | None:
    if request.url.host != "notify.test":
        return None
    services.calls.append(("notify", request.url.path, request.headers.get("authorization")))
    if request.headers.get("authorization") != f"Bearer access-{services.refreshes}":
        return _problem(401, "unauthorized")
    return notify.answer(request, json.loads(request.content) if request.content else {})


@dataclass
class PoliceWithNotify(PoliceAndMediationFakes):
    """A police officer, with notify and an anonymous tip whose tipster the police may ask (tip-messages)."""

    notify: Notify = field(default_factory=Notify)
    messages: list = field(default_factory=list)
    identity_down: bool = False  # its refresh answers 503

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self.identity_down and request.url.path == "/v1/sessions/refresh":
            return _problem(503, "unavailable")
        found = _notify_first(self, self.notify, request)
        if found is not None:
            return found
        path = request.url.path
        if path == "/v1/incidents/i1/tip-messages":
            self.calls.append(("incidents", path, request.headers.get("authorization")))
            if request.method == "GET":
                return httpx.Response(200, json={"items": self.messages, "next_cursor": None})
            body = json.loads(request.content)
            self.posted.append((path, body))
            self.messages.append({"message_id": f"m{len(self.messages) + 1}", "author": "police",
                                  "text": body["text"], "created_at": "2024-09-03T03:00:00+00:00",
                                  "reply_to": None, "officer_ref": "area-police"})
            return httpx.Response(201, json=self.messages[-1])
        return super().answer(request)


@dataclass
class LeaderWithNotify(PeopleServices):
    notify: Notify = field(default_factory=Notify)
    assisted_refused: bool = False

    def answer(self, request: httpx.Request) -> httpx.Response:
        found = _notify_first(self, self.notify, request)
        if found is not None:
            return found
        if request.url.path == "/v1/incidents/assisted":
            body = json.loads(request.content)
            self.posted.append(("incidents", "/v1/incidents/assisted", body))
            if request.headers.get("authorization") != f"Bearer access-{self.refreshes}":
                return _problem(401, "unauthorized")
            if self.assisted_refused:  # not a resident of the leader's groups, as incidents decides
                return _problem(403, "forbidden")
            return httpx.Response(201, json={"incident_id": "i-assisted", "state": "received",
                                             "follow_up_code": None, "secret": None, "notice": None})
        return super().answer(request)


@dataclass
class Tipster(FakeServices):
    """incidents' public follow-up with one question from the police, and the answers it takes."""

    messages: list = field(default_factory=lambda: [
        {"message_id": "q1", "author": "police", "text": "Anh/chị thấy mấy người?",
         "created_at": "2024-09-03T03:00:00+00:00", "reply_to": None}])
    answers: list = field(default_factory=list)
    read_down: bool = False  # the follow-up read answers 503

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        if self.read_down and path == "/v1/follow-up":
            return _problem(503, "unavailable")
        if path == "/v1/follow-up/messages":
            self.calls.append(("incidents", path, request.headers.get("authorization")))
            if (body.get("code"), body.get("secret")) != (TIP_CODE, TIP_SECRET):
                return _problem(404, "not-found")
            self.answers.append(body)
            self.messages.append({"message_id": f"a{len(self.answers)}", "author": "tipster", "text": body["text"],
                                  "created_at": "2024-09-03T04:00:00+00:00", "reply_to": body["reply_to"]})
            return httpx.Response(201, json=self.messages[-1])
        response = super().answer(request)
        if path == "/v1/follow-up" and response.status_code == 200:
            return httpx.Response(200, json={**response.json(), "messages": self.messages})
        return response


# -- the inbox ---------------------------------------------------------------------------------------------------
@pytest.fixture
def services(request):
    kind = getattr(request, "param", "police")
    return {"police": PoliceWithNotify, "leader": LeaderWithNotify, "tipster": Tipster}[kind]()


async def test_the_menu_counts_unread_notifications_and_the_inbox_marks_them_read(console, services):
    assert await sign_in(console) == "/police/incidents"  # nobody lands on the inbox
    page = await console.get("/police/incidents")
    assert 'href="/inbox"' in page.text and 'hx-get="/inbox/unread-count"' in page.text
    count = await console.get("/inbox/unread-count")
    assert count.status_code == 200 and ">1<" in count.text and "chưa đọc" in count.text  # a number, in words too
    inbox = await console.get("/inbox")
    assert inbox.status_code == 200
    assert "Tin báo quá hạn quyết định" in inbox.text and "Khẩn" in inbox.text and "Chưa đọc" in inbox.text
    assert "Quyết định về tin báo đã quá hạn" in inbox.text or "Hạn quyết định" in inbox.text  # the kind, in words
    r = await console.post("/inbox/n1/read", data={"csrf_token": csrf(inbox.text), "next": "/inbox"})
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    assert ("POST", "/v1/notifications/n1/read", {}) in services.notify.sent
    assert (await console.get("/inbox/unread-count")).text == ""  # none left: nothing shown
    assert "Tin báo được giao cho bạn" not in (await console.get("/inbox?unread=true")).text
    assert ("notify", "/v1/notifications", "Bearer access-0") in services.calls  # the person's own token


async def test_open_marks_read_and_goes_to_the_consoles_page_only(console, services):
    await sign_in(console)
    inbox = await console.get("/inbox")
    r = await console.post("/inbox/n1/open", data={"csrf_token": csrf(inbox.text),
                                                   "link": "https://console.example/police/incidents/i1"})
    assert r.status_code == 303 and r.headers["location"] == "/police/incidents/i1"
    r = await console.post("/inbox/n2/open", data={"csrf_token": csrf(inbox.text), "link": "//evil.example/x"})
    assert r.headers["location"].startswith("/") and "evil" not in r.headers["location"]
    r = await console.post("/inbox/read-all", data={"csrf_token": csrf(inbox.text)})
    assert r.status_code == 303 and ("POST", "/v1/notifications/read-all", {}) in services.notify.sent


async def test_a_forged_form_is_refused_before_notify_is_called(console, services):
    await sign_in(console)
    sent = len(services.notify.sent)
    r = await console.post("/inbox/n1/read", data={"csrf_token": "forged"})
    assert r.status_code == 403 and "đã hết hạn" in r.text
    assert len(services.notify.sent) == sent + 1  # only the inbox shown again, nothing marked
    assert services.notify.sent[-1][1] == "/v1/notifications"
    assert all(n["notification_id"] != "n1" or n["read_at"] is None for n in services.notify.items)


async def test_notify_down_never_breaks_a_page(console, services):
    await sign_in(console)
    services.notify.down = True
    page = await console.get("/police/incidents")
    assert page.status_code == 200 and 'href="/inbox"' in page.text
    count = await console.get("/inbox/unread-count")
    assert count.status_code == 200 and count.text == ""
    inbox = await console.get("/inbox")
    assert inbox.status_code == 503 and "chưa sẵn sàng" in inbox.text
    settings = await console.get("/notifications/settings")
    assert settings.status_code == 503 and "chưa sẵn sàng" in settings.text


async def test_the_unread_count_is_nothing_when_the_session_cannot_be_refreshed(console, services, monkeypatch):
    await sign_in(console)
    real_now = pages.now
    monkeypatch.setattr(pages, "now", lambda: real_now() + timedelta(seconds=590))  # the token is due for refresh
    services.identity_down = True
    count = await console.get("/inbox/unread-count")
    assert count.status_code == 200 and count.text == ""
    assert not any(c[0] == "notify" for c in services.calls)
    services.identity_down = False
    count = await console.get("/inbox/unread-count")
    assert ">1<" in count.text and services.refreshes == 1  # refreshed like any page, then counted


async def test_the_unread_count_of_nobody_is_nothing_never_a_redirect(console, services):
    r = await console.get("/inbox/unread-count")
    assert r.status_code == 200 and r.text == ""
    assert (await console.get("/inbox")).status_code == 303  # the page itself asks to sign in


# -- contact points and preferences -------------------------------------------------------------------------------
async def test_a_contact_point_is_added_verified_with_its_code_and_removed(console, services):
    await sign_in(console)
    page = await console.get("/notifications/settings")
    assert page.status_code == 200 and "22:00" in page.text and "06:00" in page.text  # the quiet hours
    r = await console.post("/notifications/contacts", data={"csrf_token": csrf(page.text), "channel": "sms",
                                                            "address": "0912 345 678"})
    assert r.status_code == 303 and r.headers["location"] == "/notifications/settings?done=code-sent"
    assert ("PUT", "/v1/contacts/sms", {"address": "0912 345 678"}) in services.notify.sent
    page = await console.get(r.headers["location"])
    assert "••••5 678"[-4:] in page.text and "0912 345 678" not in page.text  # the hint only
    assert "Chưa xác nhận" in page.text and "mã gồm 6 chữ số" in page.text
    wrong = await console.post("/notifications/contacts/sms/verify", data={"csrf_token": csrf(page.text),
                                                                           "code": "111111"})
    assert wrong.status_code == 422 and "Mã không đúng" in wrong.text
    short = await console.post("/notifications/contacts/sms/verify", data={"csrf_token": csrf(page.text),
                                                                           "code": "12"})
    assert short.status_code == 422 and services.notify.sent[-1][1] != "/v1/contacts/sms/verify"
    ok = await console.post("/notifications/contacts/sms/verify", data={"csrf_token": csrf(page.text),
                                                                        "code": "246 810"})
    assert ok.status_code == 303 and services.notify.contacts["sms"]["verified"] is True
    assert "Đã xác nhận" in (await console.get("/notifications/settings")).text
    gone = await console.post("/notifications/contacts/sms/remove", data={"csrf_token": csrf(page.text)})
    assert gone.status_code == 303 and "sms" not in services.notify.contacts
    bad = await console.post("/notifications/contacts", data={"csrf_token": csrf(page.text), "channel": "fax",
                                                              "address": "x"})
    assert bad.status_code == 422 and ("PUT", "/v1/contacts/fax", {"address": "x"}) not in services.notify.sent


async def test_preferences_per_kind_with_channels_and_digest(console, services):
    await sign_in(console)
    page = await console.get("/notifications/settings")
    assert "Tổng hợp hằng ngày" in page.text or "bản tổng hợp" in page.text
    assert page.text.count('action="/notifications/preferences/') == 11  # every kind notify sends
    r = await console.post("/notifications/preferences/stay.late", data={
        "csrf_token": csrf(page.text), "channel_email": "on", "digest": "on"})
    assert r.status_code == 303
    assert ("PUT", "/v1/preferences/stay.late", {"channels": ["email"], "digest": True}) in services.notify.sent


# -- a leader's report for a resident -------------------------------------------------------------------------------
@pytest.mark.parametrize("services", ["leader"], indirect=True)
async def test_a_group_leader_files_a_report_for_a_resident_of_their_group(console, services):
    assert await sign_in(console) == "/my-group"
    page = await console.get("/group/assisted-report")
    assert page.status_code == 200 and "Lê Văn Tám" in page.text  # the group's residents, from the registry
    assert 'href="/group/assisted-report"' in page.text
    empty = await console.post("/group/assisted-report?group=g1", data={
        "csrf_token": csrf(page.text), "resident_id": "r1", "category": "theft", "description": "x"})
    assert empty.status_code == 422 and not any(p[1] == "/v1/incidents/assisted" for p in services.posted)
    r = await console.post("/group/assisted-report?group=g1", data={
        "csrf_token": csrf(page.text), "resident_id": "r1", "category": "theft",
        "description": "Bà bị mất xe đạp trước cửa", "address": "Số 1 phố Trần Phú", "latitude": "",
        "longitude": ""})
    assert r.status_code == 303 and "filed=i-assisted" in r.headers["location"]
    assert services.posted[-1] == ("incidents", "/v1/incidents/assisted", {
        "resident_id": "r1", "reporter": {"full_name": "Lê Văn Tám"}, "category": "theft",
        "description": "Bà bị mất xe đạp trước cửa", "place": {"group_id": "g1", "address": "Số 1 phố Trần Phú"}})
    done = await console.get(r.headers["location"])
    assert 'data-testid="assisted-filed"' in done.text
    refused = await console.post("/group/assisted-report?group=g1", data={
        "csrf_token": csrf(page.text), "resident_id": "r-elsewhere", "category": "theft",
        "description": "Không phải người trong tổ"})
    assert refused.status_code == 422 and "Không phải người trong tổ" in refused.text  # not of the group: shown again
    services.residents["r9"] = {**services.residents["r1"], "resident_id": "r9", "full_name": "Người tổ khác"}
    services.assisted_refused = True
    other = await console.post("/group/assisted-report?group=g1", data={
        "csrf_token": csrf(page.text), "resident_id": "r9", "category": "theft",
        "description": "Incidents từ chối", "phone": "0912 000 222"})
    assert other.status_code == 403 and "không có quyền" in other.text  # incidents' refusal, said
    assert services.posted[-1][2]["reporter"] == {"full_name": "Người tổ khác", "phone": "0912 000 222"}


# -- questions to an anonymous tipster -----------------------------------------------------------------------------
async def test_the_police_ask_an_anonymous_tipster_and_read_the_thread(console, services):
    services.incident.update(anonymous=True, reporter_ref=None)
    await sign_in(console)
    page = await console.get("/police/incidents/i1")
    assert page.status_code == 200 and "Câu hỏi cho người tố giác" in page.text and "Chưa có câu hỏi" in page.text
    r = await console.post("/police/tips/i1/questions", data={"csrf_token": csrf(page.text),
                                                              "text": "Anh/chị thấy mấy người?"})
    assert r.status_code == 303 and r.headers["location"] == "/police/incidents/i1#tip-messages"
    assert services.posted[-1] == ("/v1/incidents/i1/tip-messages", {"text": "Anh/chị thấy mấy người?"})
    page = await console.get("/police/incidents/i1")
    assert "Anh/chị thấy mấy người?" in page.text and "Chưa được trả lời" in page.text
    short = await console.post("/police/tips/i1/questions", data={"csrf_token": csrf(page.text), "text": "Ai?"})
    assert short.status_code == 422 and 'value="Ai?"' not in short.text and ">Ai?</textarea>" in short.text


async def test_an_identified_report_has_no_questions_to_a_tipster(console, services):
    await sign_in(console)
    page = await console.get("/police/incidents/i1")
    assert "Câu hỏi cho người tố giác" not in page.text
    assert ("incidents", "/v1/incidents/i1/tip-messages", "Bearer access-0") not in services.calls


@pytest.mark.parametrize("services", ["tipster"], indirect=True)
async def test_the_tipster_reads_the_question_and_answers_it_with_code_and_secret_kept_nowhere(console, services):
    follow = await console.get("/tip/follow-up")
    read = await console.post("/tip/follow-up", data={"csrf_token": csrf(follow.text), "follow_up_code": TIP_CODE,
                                                      "secret": TIP_SECRET})
    assert read.status_code == 200 and "Anh/chị thấy mấy người?" in read.text
    assert TIP_SECRET not in read.text and 'action="/tip/follow-up/answer"' in read.text
    no_secret = await console.post("/tip/follow-up/answer", data={
        "csrf_token": csrf(read.text), "follow_up_code": TIP_CODE, "secret": "", "reply_to": "q1",
        "text": "Ba người"})
    assert no_secret.status_code == 422 and not services.answers
    answered = await console.post("/tip/follow-up/answer", data={
        "csrf_token": csrf(read.text), "follow_up_code": TIP_CODE, "secret": TIP_SECRET, "reply_to": "q1",
        "text": "Ba người, đi xe máy"})
    assert answered.status_code == 200, answered.text
    assert services.answers == [{"code": TIP_CODE, "secret": TIP_SECRET, "text": "Ba người, đi xe máy",
                                 "reply_to": "q1"}]
    assert "Ba người, đi xe máy" in answered.text and TIP_SECRET not in answered.text
    assert 'name="reply_to" value="q1"' not in answered.text  # answered: no second form for it
    services.read_down = True  # the answer goes, the read after it fails: the tipster is told it went
    sent = await console.post("/tip/follow-up/answer", data={
        "csrf_token": csrf(read.text), "follow_up_code": TIP_CODE, "secret": TIP_SECRET, "reply_to": "q1",
        "text": "Thêm: một người đội mũ đỏ"})
    assert sent.status_code == 503 and len(services.answers) == 2
    assert "đã được gửi tới công an" in sent.text and TIP_SECRET not in sent.text
    services.read_down = False
    wrong = await console.post("/tip/follow-up/answer", data={
        "csrf_token": csrf(read.text), "follow_up_code": TIP_CODE, "secret": "guess", "reply_to": "q1",
        "text": "x"})
    assert wrong.status_code == 404 and "guess" not in wrong.text
    # nothing kept: a new visit knows neither the code nor the secret
    again = await console.get("/tip/follow-up")
    assert TIP_CODE not in again.text and TIP_SECRET not in again.text
    assert all(auth is None for host, _p, auth in services.calls if host == "incidents")
