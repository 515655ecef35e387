"""Each service's /docs in a real browser with the network cut (only the service's own address answers): Swagger UI
comes from the files installed with the project, lists every operation, and "Try it out" with a token works."""

from __future__ import annotations

import pytest
from playwright.async_api import Route, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from shared.settings import SERVICES
from tests.browser import LAUNCH_ARGS, chromium_path
from tests.conftest import token

pytestmark = pytest.mark.e2e


async def test_every_services_docs_page_works_without_internet_and_try_it_out_answers(platform):
    executable = chromium_path()
    outside: list[str] = []

    async def only_local(route: Route) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            await route.continue_()
        else:  # the network is cut: anything else would fail on a ward's machine without internet
            outside.append(route.request.url)
            await route.abort("internetdisconnected")

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            context = await browser.new_context()
            await context.route("**/*", only_local)
            page = await context.new_page()
            said: list[str] = []  # what the browser said, for the failure message
            page.on("console", lambda m: said.append(f"console {m.type}: {m.text}"))
            page.on("requestfailed", lambda r: said.append(f"failed {r.url}: {r.failure}"))
            page.on("response", lambda r: said.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            for svc in SERVICES:
                async with platform.client(svc) as client:
                    doc = (await client.get("/openapi.json")).json()
                operations = sum(1 for item in doc["paths"].values() for m in item if m in
                                 ("get", "post", "put", "patch", "delete"))
                said.clear()
                await page.goto(platform.url(svc) + "/docs")
                try:  # a loaded 2-core machine renders the biggest document in seconds, not tens of them
                    await page.locator(".opblock").first.wait_for(timeout=90_000)
                except PlaywrightTimeout:
                    body = (await page.locator("body").inner_text())[:1500]
                    raise AssertionError(f"{svc}: no operation shown\n{body}\n" + "\n".join(said)) from None
                assert await page.locator(".opblock").count() == operations, svc

            # "Try it out" with a token, as the README's first ten minutes do
            await page.goto(platform.url("registry") + "/docs")
            await page.locator(".auth-wrapper .authorize").click()
            await page.locator(".modal-ux input").first.fill(token("ward_official"))
            await page.locator(".modal-ux .auth-btn-wrapper .authorize").first.click()
            await page.locator(".modal-ux .btn-done").first.click()
            block = page.locator(".opblock-get", has=page.locator("[data-path='/v1/teams']")).first
            await block.locator(".opblock-summary").click()
            await block.get_by_role("button", name="Try it out").click()
            await block.get_by_role("button", name="Execute").click()
            status = block.locator(".live-responses-table tr.response .response-col_status").first
            await status.wait_for()
            assert (await status.inner_text()).strip() == "200"
        finally:
            await browser.close()
    assert outside == []
