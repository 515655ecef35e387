"""`make demo` replays the Phú Sơn article against the five services running as processes, through their HTTP
APIs only, and every figure it prints is read back from the services and equals the article's."""

from __future__ import annotations

import pytest

from demo import summary
from demo.__main__ import main
from demo.client import Platform
from demo.config import SERVICES, Config
from demo.run import run_demo
from demo.summary import Summary

pytestmark = pytest.mark.e2e


async def test_the_demo_replays_the_article_and_reads_back_its_figures(platform, replayed):
    # `replayed` is run_demo against this platform, once per session (tests/e2e/conftest.py)
    config = Config(urls={svc: platform.url(svc) for svc in SERVICES}, timeout=60)
    result = replayed
    printed: list[str] = list(result.output)
    print("\n".join(printed))  # the demo's own output, shown with pytest -s

    s = result.summary
    assert result.ok, "\n".join(printed)
    assert s.value("ANXH teams (tổ ANXH)") == 10
    assert s.value("security-and-order teams (tổ bảo vệ ANTT)") == 1
    assert s.value("inter-household fire-prevention teams (tổ PCCC liên gia)") == 2
    assert s.value("public fire-fighting points") == 1
    assert s.value("mobilisation teams (tổ vận động)") == 10
    assert s.value("mobilisation teams that collected") == 10
    assert 55_000_000 <= s.value("raised for security cameras") < 60_000_000  # "nearly 60 million VND"
    assert s.value("disputes mediated successfully (hòa giải thành)") == 10
    assert s.value("disputes resolved as mediated") == 10
    assert s.value("briefing: successful mediations") == 10
    assert set(s.value("crime tips solved (drugs, theft)")) == {"drugs", "theft"}
    assert s.value("award issuers") == {"city_chairman", "ward_chairman"}
    assert s.value("recipients") >= {"collective", "individual"}
    assert s.value("certificate PDF verified (public endpoint)") is True
    assert s.value("anonymous reporter recognised (follow-up code only)") == ["ward_chairman"]
    claim = s.value("anonymous reporter named only with the follow-up's claim secret")
    assert [status for status, _ in claim] == [403, 200, 200] and claim[1][1] == "Người tố giác ở Trần Phú"
    assert "every figure matches the article" in printed[-1]

    # The figures are read from the services, not from the replay's input: an eleventh ANXH team formed in the
    # group afterwards shows up in the read-back, which then no longer matches the article.
    api = Platform(config, "check")
    try:
        await api.ok("registry", "/v1/teams", api.actor("ward-official", "ward_official"), {
            "group_id": result.ward.group_id, "kind": "anxh", "name": "Tổ an ninh xã hội số 11",
            "formed_on": "2024-01-15", "formation_act": "QĐ 11/QĐ-UBND"})
        after = await summary.read_back(api, result.ward, result.campaign, result.cases, result.festival)
    finally:
        await api.aclose()
    assert after.value("ANXH teams (tổ ANXH)") == 11 and not after.ok
    assert "MISMATCH  ANXH teams" in after.render()

    # Run again on the same platform: the ward is found, the replay gets a group of its own, and its figures are
    # again the article's, not the sum of both runs.
    again = await run_demo(config, say=printed.append)
    assert again.ok, "\n".join(printed)
    assert again.ward.group_id != result.ward.group_id
    assert again.summary.value("disputes mediated successfully (hòa giải thành)") == 10
    assert 55_000_000 <= again.summary.value("raised for security cameras") < 60_000_000


def test_a_figure_that_does_not_match_fails_the_summary():
    s = Summary()
    s.add("ANXH teams (tổ ANXH)", "10", 10, "registry", lambda v: v == 10)
    assert s.ok
    s.add("raised for security cameras", "nearly 60.000.000 VND", 61_000_000, "donations",
          lambda v: 55_000_000 <= v < 60_000_000)
    assert not s.ok
    assert "MISMATCH  raised for security cameras" in s.render()
    assert Summary().ok is False  # nothing read back is not a success


def test_the_command_exits_non_zero_when_the_platform_does_not_answer(capsys):
    urls = [arg for svc in SERVICES for arg in (f"--{svc}", "http://127.0.0.1:9")]  # the discard port: refused
    assert main([*urls, "--timeout", "2"]) == 2
    assert "demo failed" in capsys.readouterr().err


async def test_the_demo_prints_the_accounts_of_the_seed_wards_people_who_then_see_it_in_the_console(
        platform, replayed):
    """`make demo` made accounts for six of the seed ward's people and printed their sign-in names and reset codes;
    the official sets a password with the printed code at the console's /password (the second factor's enrolment
    shown there, confirmed by a first code) and sees the seed ward's camera campaign; the resident sets theirs and
    is signed in at once."""
    import re

    import httpx
    import pyotp

    people = {p.part: p for p in replayed.people}
    assert len(people) == 6
    for p in people.values():
        assert any(p.username in line and p.reset_code in line for line in replayed.output), p
    official, resident = people["ward official"], people["resident"]

    class Browser:
        """The console's cookie is __Host- (Secure): sent here by hand over http://127.0.0.1, as a browser does."""

        def __init__(self, client: httpx.AsyncClient) -> None:
            self.client, self.cookie = client, ""

        async def __call__(self, method: str, path: str, **kw) -> httpx.Response:
            r = await self.client.request(method, path, headers={"cookie": self.cookie}, **kw)
            if "set-cookie" in r.headers:
                self.cookie = r.headers["set-cookie"].split(";", 1)[0]
            return r

    def csrf(html: str) -> str:
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    new = "a new password for the chairman"
    # a password set is an argon2id hash at identity, and the sign-in after it another: seconds on a loaded machine
    async with httpx.AsyncClient(base_url=platform.url("console"), headers={"accept-language": "vi"},
                                 timeout=60) as client:
        go = Browser(client)
        form = await go("GET", "/password")
        enrol = await go("POST", "/password", data={
            "csrf_token": csrf(form.text), "username": official.username, "reset_code": official.reset_code,
            "new_password": new, "again": new})
        assert enrol.status_code == 200, enrol.text
        secret = re.search(r'<code class="secret" translate="no">([A-Z2-7]+)</code>', enrol.text).group(1)
        assert 'src="data:image/svg+xml' in enrol.text
        done = await go("POST", "/sign-in/code", data={"csrf_token": csrf(enrol.text),
                                                       "code": pyotp.TOTP(secret).now()})
        assert done.status_code == 303 and done.headers["location"] == "/dashboard", done.text
        dashboard = await go("GET", "/dashboard")
        assert "Lắp đặt camera an ninh tổ dân phố Trần Phú" in dashboard.text

        go = Browser(client)
        form = await go("GET", "/password")
        signed = await go("POST", "/password", data={
            "csrf_token": csrf(form.text), "username": resident.username, "reset_code": resident.reset_code,
            "new_password": new, "again": new})
        assert signed.status_code == 303 and signed.headers["location"] not in ("/sign-in", "/sign-in/code")
        landing = await go("GET", signed.headers["location"])
        assert landing.status_code == 200 and "Đăng xuất" in landing.text
