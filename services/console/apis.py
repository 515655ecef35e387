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
                   client: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """``client``: the browser's address, sent as X-Forwarded-For where the service limits per address (sign-in,
        the public routes); the service believes it only from a trusted proxy (TRUSTED_PROXIES). ``timeout``: a
        shorter wait than the client's for a call a page can do without (the menu's unread count). An answer
        without a body (204) is ``{}``."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if client:
            headers["X-Forwarded-For"] = client
        try:
            r = await self.http.request(method, self.urls[service] + path, json=json, params=params, headers=headers,
                                        extensions={"ward.target": service},
                                        **({"timeout": timeout} if timeout is not None else {}))
        except httpx.HTTPError as exc:
            raise ApiProblem(service, 0) from exc
        if r.status_code >= 400:
            kind = ""
            if r.headers.get("content-type", "").startswith("application/problem+json"):
                kind = str(r.json().get("type", "")).rstrip("/").rsplit("/", 1)[-1]
            raise ApiProblem(service, r.status_code, kind)
        return r.json() if r.content else {}

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

    # -- files (evidence): streamed both ways, never held whole in the console's memory ---------------------------
    async def upload(self, service: str, path: str, content: Any, *, token: str, media_type: str,
                     params: dict[str, Any] | None = None, length: int | None = None) -> dict[str, Any]:
        """POST ``content`` (an async iterator of bytes) as the raw request body; the JSON answer, or ApiProblem."""
        headers = {"Authorization": f"Bearer {token}", "Content-Type": media_type or "application/octet-stream"}
        if length is not None:
            headers["Content-Length"] = str(length)
        try:
            r = await self.http.request("POST", self.urls[service] + path, content=content, params=params,
                                        headers=headers, extensions={"ward.target": service})
        except httpx.HTTPError as exc:
            raise ApiProblem(service, 0) from exc
        return self._answer(service, r)

    async def open_stream(self, service: str, path: str, *, token: str) -> httpx.Response:
        """GET a file: the response with its body not read yet (``aiter_bytes``, then ``aclose``), or ApiProblem."""
        request = self.http.build_request("GET", self.urls[service] + path,
                                          headers={"Authorization": f"Bearer {token}"},
                                          extensions={"ward.target": service})
        try:
            r = await self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise ApiProblem(service, 0) from exc
        if r.status_code >= 400:
            await r.aread()
            await r.aclose()
            self._answer(service, r)
        return r

    @staticmethod
    def _answer(service: str, r: httpx.Response) -> dict[str, Any]:
        if r.status_code >= 400:
            kind = ""
            if r.headers.get("content-type", "").startswith("application/problem+json"):
                kind = str(r.json().get("type", "")).rstrip("/").rsplit("/", 1)[-1]
            raise ApiProblem(service, r.status_code, kind)
        return r.json()
