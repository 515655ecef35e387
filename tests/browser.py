"""The browser of the browser tests: Debian's ``chromium`` driven by Playwright through ``executable_path``
(Playwright's own browser download cannot reach its server here, nor from CI).

Found on the PATH; when it is missing and the tests run as root on Debian (CI does), installed with apt-get;
otherwise the tests are skipped with the reason and the command that would make them run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pyotp
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

from tests.conftest import auth

NAMES = ("chromium", "chromium-browser")
#: Screenshots and axe reports, one folder per test (gitignored).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"


def _found() -> str | None:
    return next((p for p in map(shutil.which, NAMES) if p), None)


def chromium_path() -> str:
    found = _found()
    if found:
        return found
    if not shutil.which("apt-get"):
        pytest.skip("no chromium on the PATH, and no apt-get to install it: install a Chromium and put it on the PATH")
    if os.geteuid() != 0:
        pytest.skip("no chromium on the PATH, and not root to install it: run `sudo apt-get install -y chromium`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True, text=True,
                         timeout=900)
    if run.returncode != 0:  # the package lists may be missing on a fresh machine
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        run = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env, capture_output=True,
                             text=True, timeout=900)
    found = _found()
    if not found:
        pytest.skip(f"`apt-get install -y chromium` failed ({run.returncode}): {run.stderr.strip()[-300:]}")
    return found


#: Chromium as root in a container needs --no-sandbox (no user namespaces); the pages are our own.
LAUNCH_ARGS = ["--no-sandbox", "--disable-dev-shm-usage"]


#: The password every browser test's account sets (long enough for identity's rule).
PASSWORD = "một mật khẩu đủ dài cho cổng 2024"


async def account(platform: Any, username: str, roles: list[str], *, ward: str = "phu-son", display_name: str = "",
                  **binding: Any) -> str | None:
    """An account made through identity's API as a city official would (``binding``: resident_id, household_id,
    team_ids), its password set to PASSWORD with the one-time reset code. Answers the TOTP secret enrolled when the
    role needs a second factor, else None."""
    async with platform.client("identity") as identity:
        r = await identity.post("/v1/accounts", headers=auth("city_official", "*"), json={
            "ward_id": ward, "username": username, "display_name": display_name or username, "roles": roles,
            **binding})
        assert r.status_code == 201, r.text
        r = await identity.post("/v1/password", json={"username": username, "reset_code": r.json()["reset_code"],
                                                      "new_password": PASSWORD})
        assert r.status_code == 200, r.text
        second = r.json().get("second_factor")
        return second["secret"] if second else None


async def sign_in(page: Page, console_url: str, username: str, secret: str | None) -> None:
    """Sign in through the console's forms in Vietnamese (the default), with the TOTP code when there is a secret."""
    await page.goto(console_url + "/sign-in")
    await page.get_by_label("Tên đăng nhập").fill(username)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Tiếp tục").click()
    if secret:
        await page.get_by_label("Mã 6 chữ số từ ứng dụng xác thực").fill(pyotp.TOTP(secret).now())
        await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_url(lambda url: "/sign-in" not in url)


async def serious(page: Page, name: str) -> list[str]:
    """axe-core's serious and critical violations on the page; its whole report and a screenshot are written to
    ARTIFACTS as <name>.axe.json and <name>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    results = await Axe().run(page)
    (ARTIFACTS / f"{name}.axe.json").write_text(json.dumps(results.response["violations"], indent=1))
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    return [f"{name}: {v['id']} ({v['impact']}): {v['help']}" for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]
