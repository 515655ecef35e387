"""Sign-in through the city's OpenID Connect provider (services/console/oidc.py), when one is configured.

``GET /sign-in/oidc`` keeps the state, nonce and PKCE verifier in the server-side session and sends the browser to
the provider; ``GET /sign-in/oidc/callback`` checks them, exchanges the code and signs the person in (a new session
id). A wrong or replayed state, an error from the provider or a refused code ends on the sign-in page, saying so.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages
from services.console.apis import ApiProblem
from services.console.oidc import CALLBACK_PATH, OidcRefused
from services.console.pages import _landing, _session, gettext_for, now, redirect, render

router = APIRouter()
log = logging.getLogger(__name__)


def redirect_uri(request: Request) -> str:
    """The callback URL: the configured one, else this request's origin (set it behind a proxy)."""
    oidc = request.app.state.sessions.oidc
    return oidc.redirect_url or str(request.base_url).rstrip("/") + CALLBACK_PATH


@router.get("/sign-in/oidc", include_in_schema=False)
async def begin(request: Request) -> Response:
    sessions = request.app.state.sessions
    if sessions.oidc is None:
        return render(request, "error.html", None, status=404, error=gettext_for(request)(messages.NOT_FOUND))
    session = await _session(request)
    if session and session.signed_in:
        return redirect(_landing(session))
    session = session or await sessions.anonymous(now())
    try:
        url, pending = await sessions.oidc.begin(redirect_uri(request))
    except (httpx.HTTPError, OidcRefused, KeyError, ValueError):  # the provider unreachable or misconfigured
        return render(request, "sign_in.html", session, status=503,
                      error=gettext_for(request)(messages.PROVIDER_UNAVAILABLE))
    session = await sessions.keep(session, {"oidc_pending": pending}, now())
    return redirect(url, session)


@router.get("/sign-in/oidc/callback", include_in_schema=False)
async def callback(request: Request) -> Response:
    sessions = request.app.state.sessions
    gettext = gettext_for(request)
    session = await _session(request)
    if sessions.oidc is None or session is None:
        fresh = await sessions.anonymous(now())
        return render(request, "sign_in.html", fresh, status=400, error=gettext(messages.OIDC_REFUSED))
    try:
        after = await sessions.sign_in_oidc(session, dict(request.query_params), now())
    except OidcRefused as exc:
        log.info("OIDC sign-in refused: %s", exc)
        return render(request, "sign_in.html", session, status=400, error=gettext(messages.OIDC_REFUSED))
    except ApiProblem:
        return render(request, "sign_in.html", session, status=503, error=gettext(messages.PROVIDER_UNAVAILABLE))
    return redirect(_landing(after), after)
