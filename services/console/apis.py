"""The services' HTTP APIs as the console calls them: with the signed-in person's token, never their databases.

A problem (RFC 9457) or an unreachable service becomes :class:`ApiProblem`, which the pages show as a sentence in
the person's language (``messages.py``), never as the service's English detail.
"""

from __future__ import annotations

from typing import Any

import httpx

from services.console.telemetry import TracedTransport


class ApiProblem(Exception):
    """A service answered a problem, or did not answer. ``status`` 0: unreachable."""

    def __init__(self, service: str, status: int, problem_type: str = "") -> None:
        super().__init__(f"{service} answered {status} {problem_type}")
        self.service = service
        self.status = status
        #: the last part of the problem's ``type`` URI (docs/problems.md), e.g. ``too-many-requests``
        self.problem_type = problem_type


class Apis:
    """One httpx client for all the services (connection pooling); the base URL is chosen per call."""

    def __init__(self, urls: dict[str, str], *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.urls = urls
        # every call a client span whose trace context the service continues, and counted (telemetry.py)
        self.http = httpx.AsyncClient(timeout=timeout, transport=TracedTransport(transport))

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, service: str, method: str, path: str, *, token: str | None = None,
                   json: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                   client: str | None = None) -> dict[str, Any]:
        """``client``: the browser's address, sent as X-Forwarded-For where the service limits per address (sign-in,
        the public routes); the service believes it only from a trusted proxy (TRUSTED_PROXIES)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if client:
            headers["X-Forwarded-For"] = client
        try:
            r = await self.http.request(method, self.urls[service] + path, json=json, params=params, headers=headers,
                                        extensions={"ward.target": service})
        except httpx.HTTPError as exc:
            raise ApiProblem(service, 0) from exc
        if r.status_code >= 400:
            kind = ""
            if r.headers.get("content-type", "").startswith("application/problem+json"):
                kind = str(r.json().get("type", "")).rstrip("/").rsplit("/", 1)[-1]
            raise ApiProblem(service, r.status_code, kind)
        return r.json()

    async def list_all(self, service: str, path: str, token: str | None, *, limit: int = 200,
                       params: dict[str, Any] | None = None, most: int = 1000,
                       client: str | None = None) -> list[dict[str, Any]]:
        """Every item of a paged list (docs/development.md, Lists), following ``next_cursor``; at most ``most``."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while len(items) < most:
            page = await self.call(service, "GET", path, token=token, client=client,
                                   params={**(params or {}), "limit": limit, **({"cursor": cursor} if cursor else {})})
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items
