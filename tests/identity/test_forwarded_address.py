"""Identity limits sign-ins per client address; behind the console the direct peer is the console, so the console
forwards the browser's address (X-Forwarded-For), and identity believes it only from a trusted proxy
(TRUSTED_PROXIES, shared/forwarding.py): otherwise the peer's own address counts and the header is ignored."""

from __future__ import annotations

import httpx
import pytest

from services.identity.bootstrap import build
from tests.harness import serve

pytestmark = pytest.mark.integration

CONSOLE = "10.42.0.7"
LIMIT = 2


def from_peer(app, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://identity")


async def attempts(client: httpx.AsyncClient, browser: str | None, n: int) -> list[int]:
    headers = {"X-Forwarded-For": browser} if browser else {}
    return [(await client.post("/v1/sessions", json={"username": "nobody", "password": "wrong password"},
                               headers=headers)).status_code for _ in range(n)]


async def test_behind_a_trusted_console_each_browser_has_its_own_limit(db, started):
    async with serve(build, "identity", db, started, sign_in_rate_limit=LIMIT,
                     trusted_proxies=["10.42.0.0/16"]) as svc:
        async with from_peer(svc.app, CONSOLE) as console:
            assert await attempts(console, "198.51.100.1", LIMIT + 1) == [401] * LIMIT + [429]
            # another person, through the same console: their own bucket
            assert await attempts(console, "198.51.100.2", LIMIT) == [401] * LIMIT
            # a chain: the console's hop is the right-most one; the browser's claim to its left is not believed
            assert await attempts(console, "203.0.113.9, 198.51.100.1", 1) == [429]
            # a malformed hop: the console's own address counts
            assert await attempts(console, "not-an-address", LIMIT + 1) == [401] * LIMIT + [429]


async def test_an_untrusted_peer_cannot_choose_its_bucket(db, started):
    async with serve(build, "identity", db, started, sign_in_rate_limit=LIMIT,
                     trusted_proxies=["10.42.0.0/16"]) as svc:
        async with from_peer(svc.app, "203.0.113.50") as outsider:
            answers = [(await attempts(outsider, f"198.51.100.{i}", 1))[0] for i in range(LIMIT + 1)]
            assert answers == [401] * LIMIT + [429]  # every forged address counted as the peer's own
