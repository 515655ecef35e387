"""The pages without an account (pages_public.py), in-process against the fake services: an anonymous tip whose
code and secret are shown once, its follow-up (a wrong secret tells nothing), a campaign's public accounts in
Vietnamese money format, certificate verification; no token is ever sent, the browser's address is forwarded."""

from __future__ import annotations

import pytest

from tests.console.conftest import csrf
from tests.console.fakes import CODE, PASSWORD, USERNAME

pytestmark = pytest.mark.integration  # a real PostgreSQL schema; the services are fakes

TIP = {"group_id": "g1", "category": "theft", "is_crime_tip": "yes", "description": "Có người lạ cạy khoá xe",
       "address": "Hẻm 12", "happened_at": "2024-08-12T21:30"}


def no_token_sent(services) -> bool:
    return all(auth is None for host, _path, auth in services.calls if host != "identity")


async def test_the_sign_in_page_links_the_pages_without_an_account(console):
    page = (await console.get("/sign-in")).text
    assert "Không cần tài khoản" in page
    for link in ('href="/tip"', 'href="/tip/follow-up"', 'href="/certificates/verify"'):
        assert link in page


async def test_an_anonymous_tip_shows_its_code_and_secret_once_and_follows_up(console, services):
    form = await console.get("/tip")
    assert form.status_code == 200 and "Tổ dân phố số 2" in form.text and "Trộm cắp" in form.text
    filed = await console.post("/tip", data={"csrf_token": csrf(form.text), **TIP})
    assert filed.status_code == 201
    assert "TB-ABCDE-FGHJK" in filed.text and "s3cret-shown-once" in filed.text
    assert "Hãy ghi lại ngay" in filed.text  # write them down now
    sent = services.tips[-1]
    assert sent["place"] == {"group_id": "g1", "address": "Hẻm 12"} and sent["is_crime_tip"] is True
    assert sent["happened_at"] == "2024-08-12T21:30:00+07:00" and "reporter" not in sent
    # nothing of the code or secret is kept by the console: the follow-up page knows neither
    follow = await console.get("/tip/follow-up")
    assert "TB-ABCDE-FGHJK" not in follow.text and "s3cret-shown-once" not in follow.text

    wrong = await console.post("/tip/follow-up", data={"csrf_token": csrf(follow.text),
                                                       "follow_up_code": "tb-abcde-fghjk", "secret": "guess"})
    assert wrong.status_code == 404 and "Không có tin báo nào" in wrong.text and "guess" not in wrong.text
    services.tip_state = "resolved"
    seen = await console.post("/tip/follow-up", data={"csrf_token": csrf(follow.text),
                                                      "follow_up_code": " tb-abcde-fghjk ",
                                                      "secret": "s3cret-shown-once"})
    assert seen.status_code == 200
    assert "Đã giải quyết" in seen.text and "Đã làm rõ" in seen.text and "13/08/2024" in seen.text
    assert "s3cret-shown-once" not in seen.text  # the secret is not put back into the page
    assert no_token_sent(services)
    assert services.forwarded[-1] == "127.0.0.1"  # the browser's address, for the services' per-address limits


async def test_a_tip_form_without_its_csrf_token_or_incomplete_is_refused_and_shown_again(console, services):
    form = await console.get("/tip")
    forged = await console.post("/tip", data={"csrf_token": "forged", **TIP})
    assert forged.status_code == 403 and not services.tips
    short = await console.post("/tip", data={"csrf_token": csrf(form.text), **TIP, "description": "xe"})
    assert short.status_code == 422 and not services.tips and "Hẻm 12" in short.text
    future = await console.post("/tip", data={"csrf_token": csrf(form.text), **TIP, "happened_at": "2999-01-01T00:00"})
    assert future.status_code == 422 and not services.tips
    services.public_limited = True
    flooded = await console.post("/tip", data={"csrf_token": csrf(form.text), **TIP})
    assert flooded.status_code == 429 and "thử quá nhiều lần" in flooded.text


async def test_a_campaign_s_public_page_shows_its_accounts_in_vietnamese(console, services):
    page = await console.get("/public/campaigns/c1")
    assert page.status_code == 200
    text = page.text
    for shown in ("Camera cho tổ 1", "50.000.000\xa0₫", "40.250.000\xa0₫", "5.000.000\xa0₫", "35.250.000\xa0₫",
                  "Đầu ghi hình", "Cửa hàng Minh Tâm", "Tổ vận động 1", "01/08/2024"):
        assert shown in text, shown
    missing = await console.get("/public/campaigns/c-unknown")
    assert missing.status_code == 404 and "Không có cuộc vận động nào" in missing.text
    english = await console.get("/public/campaigns/c1", headers={"accept-language": "en"})
    assert "₫40,250,000" in english.text
    assert no_token_sent(services)


async def test_a_certificate_is_verified_valid_or_revoked(console, services):
    empty = await console.get("/certificates/verify")
    assert empty.status_code == 200 and 'name="code"' in empty.text
    valid = await console.get("/certificates/verify", params={"code": " gk-2024-0001 "})
    assert valid.status_code == 200 and "Còn hiệu lực" in valid.text and "15/QĐ-UBND" in valid.text
    revoked = await console.get("/certificates/verify", params={"code": "GK-2024-0002"})
    assert revoked.status_code == 200 and "Đã bị thu hồi" in revoked.text and "01/09/2024" in revoked.text
    unknown = await console.get("/certificates/verify", params={"code": "GK-0000-0000"})
    assert unknown.status_code == 404 and "Không có giấy khen nào" in unknown.text
    odd = await console.get("/certificates/verify", params={"code": "../../v1/x"})
    assert odd.status_code == 404
    assert ("awards", "/v1/public/certificates/GK-2024-0001", None) in services.calls


async def test_the_console_forwards_the_browser_s_address_to_identity_s_sign_in(console, services):
    form = await console.get("/sign-in")
    await console.post("/sign-in", data={"csrf_token": csrf(form.text), "username": USERNAME, "password": PASSWORD})
    page = await console.get("/sign-in/code")
    await console.post("/sign-in/code", data={"csrf_token": csrf(page.text), "code": CODE})
    sign_ins = [f for (host, path, _a), f in zip(services.calls, services.forwarded, strict=True)
                if (host, path) == ("identity", "/v1/sessions")]
    assert sign_ins == ["127.0.0.1", "127.0.0.1"]
