"""An HTTP client of the five services that acts under minted roles, sends an Idempotency-Key with every
command, and waits for effects that travel through Kafka by polling read endpoints (never by sleeping blind)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from demo.config import SERVICES, Config
from shared.auth import mint_token

T = TypeVar("T")


class DemoError(Exception):
    """A step of the replay failed: the message says which request and what the service answered."""


@dataclass(frozen=True)
class Actor:
    """Who calls: the token's subject, roles and claims (ward, resident_id, team_ids)."""

    subject: str
    roles: tuple[str, ...]
    ward: str
    claims: dict[str, Any] = field(default_factory=dict)

    def token(self, secret: str) -> str:
        return mint_token(secret, subject=self.subject, roles=list(self.roles), ward=self.ward, **self.claims)


class Platform:
    def __init__(self, config: Config, run_id: str) -> None:
        self.config = config
        self.run_id = run_id
        self._clients = {svc: httpx.AsyncClient(base_url=config.url(svc), timeout=30) for svc in SERVICES}
        self.requests = 0

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for c in self._clients.values()))

    # -- actors ------------------------------------------------------------------------------------------------
    def actor(self, subject: str, *roles: str, ward: str | None = None, **claims: Any) -> Actor:
        return Actor(f"demo-{subject}", roles, ward or self.config.ward_id,
                     {k: v for k, v in claims.items() if v is not None})

    # -- requests ----------------------------------------------------------------------------------------------
    async def request(self, svc: str, method: str, path: str, actor: Actor | None, *, json: Any = None,
                      params: dict[str, Any] | None = None, key: str | None = None) -> httpx.Response:
        headers = {}
        if actor is not None:
            headers["Authorization"] = f"Bearer {actor.token(self.config.jwt_secret)}"
        if key is not None:
            headers["Idempotency-Key"] = key
        self.requests += 1
        try:
            return await self._clients[svc].request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise DemoError(f"{svc} {method} {path}: {exc!r} (is the platform running? see --help)") from exc

    @staticmethod
    def _expect(r: httpx.Response, svc: str, ok: tuple[int, ...]) -> httpx.Response:
        if r.status_code not in ok:
            raise DemoError(f"{svc} {r.request.method} {r.request.url.path} -> {r.status_code}: {r.text[:500]}")
        return r

    async def get(self, svc: str, path: str, actor: Actor | None, **params: Any) -> Any:
        r = await self.request(svc, "GET", path, actor, params={k: v for k, v in params.items() if v is not None})
        return self._expect(r, svc, (200,)).json()

    async def list_all(self, svc: str, path: str, actor: Actor | None, **params: Any) -> list[Any]:
        """Every item of a list, following its ``next_cursor`` page by page (docs/development.md, "Lists")."""
        items: list[Any] = []
        cursor = None
        while True:
            page = await self.get(svc, path, actor, **params, limit=200, cursor=cursor)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    async def get_bytes(self, svc: str, path: str, actor: Actor | None) -> httpx.Response:
        return self._expect(await self.request(svc, "GET", path, actor), svc, (200,))

    async def post(self, svc: str, path: str, actor: Actor, body: Any = None, *, ok: tuple[int, ...] = (200, 201),
                   idempotent: bool = True, retry_while: str | None = None) -> httpx.Response:
        """A command. The Idempotency-Key is kept across retries, so a retried command counts once.

        ``retry_while``: where the platform exposes no read endpoint for a projection a command depends on
        (e.g. donations' copy of the registry's teams), the command is retried, with a timeout, while it is
        refused with a 4xx whose detail contains this text; a refused command writes nothing."""
        key = f"demo-{self.run_id}-{uuid.uuid4().hex}" if idempotent else None
        deadline = asyncio.get_running_loop().time() + self.config.timeout
        delay = 0.1
        while True:
            r = await self.request(svc, "POST", path, actor, json=body if body is not None else {}, key=key)
            waiting = (retry_while is not None and 400 <= r.status_code < 500 and retry_while in r.text)
            if not waiting or asyncio.get_running_loop().time() > deadline:
                return self._expect(r, svc, ok)
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)

    async def ok(self, svc: str, path: str, actor: Actor, body: Any = None, **kw: Any) -> Any:
        return (await self.post(svc, path, actor, body, **kw)).json()

    # -- waiting for asynchronous effects ------------------------------------------------------------------------
    async def eventually(self, what: str, check: Callable[[], Awaitable[T | None]]) -> T:
        """Poll ``check`` (a read through the APIs) until it returns something truthy, or fail after the timeout."""
        deadline = asyncio.get_running_loop().time() + self.config.timeout
        delay = 0.1
        last: Any = None
        while True:
            try:
                result = await check()
                if result:
                    return result
                last = result
            except DemoError as exc:  # e.g. a 404 until the projection has the record
                last = exc
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"timed out after {self.config.timeout:.0f}s waiting for {what}; last: {last!r}")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 1.0)
