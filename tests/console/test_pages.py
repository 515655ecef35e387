"""The console over HTTP (in-process): sign-in with the second factor, sessions, CSRF, headers, languages."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.console import pages
from services.console.security import SESSION_COOKIE
from tests.console.conftest import csrf
from tests.console.fakes import CODE, PASSWORD, USERNAME

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes


async def sign_in(console, *, code: str = CODE):
    form = await console.get("/sign-in")
    r = await console.post("/sign-in", data={"csrf_token": csrf(form.text), "username": USERNAME,
                                             "password": PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == "/sign-in/code"
    page = await console.get("/sign-in/code")
    return await console.post("/sign-in/code", data={"csrf_token": csrf(page.text), "code": code})


async def test_every_page_has_a_strict_policy_and_a_host_only_secure_session_cookie(console):
    r = await console.get("/sign-in")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"):
        assert attribute.lower() in cookie.lower()
    assert "domain=" not in cookie.lower()
    assert "<script>" not in r.text and " style=" not in r.text  # nothing inline that the policy would refuse
    assert '<html lang="vi">' in r.text and "Đăng nhập" in r.text


async def test_an_official_signs_in_with_the_code_and_sees_the_dashboard_in_vietnamese(console, console_db,
                                                                                       services):
    r = await sign_in(console)
    assert r.status_code == 303 and r.headers["location"] == "/dashboard"
    page = await console.get("/dashboard")
    assert page.status_code == 200
    text = page.text
    assert "35.250.000\xa0₫" in text  # the balance, from donations, in Vietnamese money format
    assert "13/08/2024" in text  # the campaign's end, and the incident's receipt, as dates are written here
    assert "Chưa đạt" in text and "Quá hạn" in text  # not compliant, overdue: words, not only colour
    # the registry's compliance codes, said in Vietnamese with their parameters, not its English sentences
    assert "Chưa có tổ trưởng" in text and "Chưa đủ 3 hòa giải viên (hiện có 2)" in text
    assert "no leader" not in text and "fewer than 3 mediators" not in text
    assert ("registry", "/v1/teams", "Bearer access-0") in services.calls
    rows = await console_db.fetch("console", "SELECT sealed FROM sessions WHERE sealed IS NOT NULL")
    assert rows and all(b"access-0" not in bytes(r["sealed"]) and b"refresh-0" not in bytes(r["sealed"])
                        for r in rows)


async def test_a_compliance_code_the_console_does_not_know_is_shown_in_the_registry_s_english(console, services):
    services.teams[1]["compliance"].append({"code": "mediators_untrained", "message": "2 mediators not yet trained"})
    services.teams[0]["compliance"] = [{"code": "too_few_mediators", "message": "fewer than 3 mediators (1)"}]
    services.teams.append({**services.teams[0], "team_id": "t7", "name": "Tổ cũ", "compliance_issues": ["old words"]})
    del services.teams[-1]["compliance"]  # an older registry: the sentences only
    await sign_in(console)
    text = (await console.get("/dashboard")).text
    assert "Chưa đủ 3 hòa giải viên (hiện có 2)" in text and "2 mediators not yet trained" in text
    assert "fewer than 3 mediators (1)" in text  # a known code without its parameters: the English, not a 500
    assert "old words" in text


async def test_a_wrong_code_starts_again_with_a_sentence_and_no_session(console):
    r = await sign_in(console, code="654321")
    assert r.status_code == 401
    assert "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng" in r.text
    assert (await console.get("/dashboard")).headers["location"] == "/sign-in"


async def test_a_post_without_the_session_s_csrf_token_is_refused_before_identity_is_called(console, services):
    await console.get("/sign-in")
    r = await console.post("/sign-in", data={"csrf_token": "forged", "username": USERNAME, "password": PASSWORD})
    assert r.status_code == 403
    assert not [c for c in services.calls if c[0] == "identity"]
    await sign_in(console)
    r = await console.post("/sign-out", data={})
    assert r.status_code == 403 and not services.signed_out
    assert (await console.get("/dashboard")).status_code == 200


async def test_the_access_token_is_refreshed_before_it_expires_and_sign_out_revokes_it(console, services,
                                                                                       monkeypatch):
    await sign_in(console)
    real_now = pages.now
    monkeypatch.setattr(pages, "now", lambda: real_now() + timedelta(seconds=590))
    page = await console.get("/dashboard")
    assert page.status_code == 200 and services.refreshes == 1
    assert ("registry", "/v1/teams", "Bearer access-1") in services.calls
    r = await console.post("/sign-out", data={"csrf_token": csrf(page.text)})
    assert r.headers["location"] == "/sign-in" and services.signed_out == ["refresh-1"]
    assert (await console.get("/dashboard")).headers["location"] == "/sign-in"


async def test_a_session_id_changes_at_sign_in(console):
    await console.get("/sign-in")
    before = console.cookies[SESSION_COOKIE]
    await sign_in(console)
    assert console.cookies[SESSION_COOKIE] != before


async def test_english_on_request_and_a_failing_service_is_a_sentence_not_a_broken_page(console, services):
    await sign_in(console)
    page = await console.get("/dashboard")
    r = await console.post("/language", data={"csrf_token": csrf(page.text), "lang": "en", "next": "//evil.test/"})
    assert r.headers["location"] == "/"  # no redirect off the site
    services.registry_down = True
    page = await console.get("/dashboard")
    assert '<html lang="en">' in page.text and "Ward dashboard" in page.text
    assert "₫35,250,000" in page.text and "Aug 13, 2024" in page.text
    services.registry_down = False
    assert "Fewer than 3 mediators (2 now)" in (await console.get("/dashboard")).text
    assert "The service is not ready at the moment" in page.text


async def test_readiness_answers_as_the_services_do(console):
    r = await console.get("/health/ready")
    assert r.status_code == 200 and r.json() == {"status": "ok", "checks": {"database": "ok", "schema": "ok"}}
    assert (await console.get("/health/live")).json() == {"status": "ok"}
