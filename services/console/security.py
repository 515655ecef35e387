"""The browser-facing defences: security headers on every answer, the session cookie, and CSRF.

CSRF: the synchronizer token pattern (OWASP). Each session has a random token, kept server-side; every form carries
it in a hidden field ``csrf_token`` and every POST must send it back (htmx requests too: they submit the same
forms). A POST without the right token is refused before anything else runs. The ``SameSite=Lax`` cookie is a second
line, not the defence.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import URL, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: ``__Host-``: the browser accepts it only Secure, from a secure origin, without Domain, with Path=/ - so no
#: subdomain or plain-HTTP page can set or overwrite it. (Browsers treat http://localhost and 127.0.0.1 as secure
#: for this, which is how the development stack and the tests run without TLS.)
SESSION_COOKIE = "__Host-ward-console"
LANGUAGE_COOKIE = "__Host-ward-lang"

#: No inline script or style, nothing from another origin: htmx is served by the console itself, and configured by a
#: <meta name="htmx-config"> (no eval, no inline indicator styles, no script tags in swapped content).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
}


class SecurityHeaders:
    """``SECURITY_HEADERS`` on every answer (those a route set itself are kept), and ``Cache-Control: no-store``
    outside ``/static/``. A plain ASGI middleware (``BaseHTTPMiddleware`` costs a task group and a stream a request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = URL(scope=scope).path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers.setdefault("Cache-Control", "no-store")  # pages show personal data
            await send(message)

        await self.app(scope, receive, send_with_headers)


def set_session_cookie(response: Response, session_id: str) -> None:
    response.set_cookie(SESSION_COOKIE, session_id, secure=True, httponly=True, samesite="lax", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, secure=True, httponly=True, samesite="lax", path="/")


def set_language_cookie(response: Response, lang: str) -> None:
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, secure=True, httponly=True, samesite="lax",
                        path="/")


def csrf_ok(expected: str | None, given: object) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())


def safe_next(path: object) -> str:
    """Where to go back after a form: a path of this site only (no open redirect to //other or https://other)."""
    if isinstance(path, str) and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"
