"""The console's routes: HTML pages and the forms they post. Thin: read the form, call ``signin``/``dashboard``,
render a template. These are not JSON-API routes: no OpenAPI document, no problem bodies (a person reads a page)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console import dashboard, i18n, labels, messages, nav
from services.console.apis import ApiProblem
from services.console.security import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    clear_session_cookie,
    csrf_ok,
    safe_next,
    set_language_cookie,
    set_session_cookie,
)
from services.console.sessions import Session
from services.console.signin import Sessions
from shared.forwarding import client_address

router = APIRouter()
#: A form of the console is a few fields; anything larger is not one of ours.
MAX_FORM_BYTES = 16 * 1024


def now() -> datetime:
    return datetime.now(UTC)


def _sessions(request: Request) -> Sessions:
    return request.app.state.sessions


def browser_address(request: Request) -> str:
    """The browser's address as the console sees it (behind the ingress: what a trusted proxy forwarded), sent on
    to the services that limit per address (identity's sign-in, the public routes)."""
    return client_address(request, request.app.state.trusted_proxies)


def _lang(request: Request) -> str:
    return i18n.choose_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def render(request: Request, template: str, session: Session | None, *, status: int = 200,
           **context: Any) -> HTMLResponse:
    lang = _lang(request)
    env = request.app.state.templates[lang]
    html = env.get_template(template).render(
        lang=lang, csrf_token=session.csrf_token if session else "", user=session.data if session else {},
        path=request.url.path, labels=labels, money=lambda v: i18n.money(v, lang),
        day=lambda v: i18n.day(v, lang), number=lambda v: i18n.number(v, lang),
        issue=lambda i: labels.compliance_issue(i, request.app.state.translations[lang].gettext),
        menu=nav.visible(session.data.get("roles", ()), session.data.get("team_kinds")) if session and session.signed_in else [], **context)
    response = HTMLResponse(html, status_code=status)
    if session:
        set_session_cookie(response, session.session_id)
    return response


def gettext_for(request: Request):
    return request.app.state.translations[_lang(request)].gettext


def redirect(to: str, session: Session | None = None) -> RedirectResponse:
    response = RedirectResponse(to, status_code=303)
    if session:
        set_session_cookie(response, session.session_id)
    return response


async def _session(request: Request) -> Session | None:
    return await _sessions(request).load(request.cookies.get(SESSION_COOKIE), now())


async def posted(request: Request) -> tuple[Session | None, dict[str, str], bool]:
    """The session, the form, and whether the form's CSRF token is the session's."""
    session = await _session(request)
    form = await _form(request)
    return session, form, csrf_ok(session.csrf_token if session else None, form.get("csrf_token"))


async def person(request: Request, roles: frozenset[str] | None = None) -> tuple[Session | None, Response | None]:
    """The signed-in person's session, its tokens fresh, for a page of ``roles`` (any signed-in person when None);
    or the response to send instead: the sign-in page (not signed in, or the session ended), or a page saying
    their role does not work here (403). Every page of a role starts with it::

        session, refused = await person(request, nav.OFFICIALS)
        if refused:
            return refused
    """
    session = await _session(request)
    if session is None or not session.signed_in:
        return None, redirect("/sign-in")
    fresh = await _sessions(request).fresh(session, now())
    if fresh is None:
        response = redirect("/sign-in")
        clear_session_cookie(response)
        return None, response
    if roles is not None and not roles & set(fresh.data["roles"]):
        return None, render(request, "not_yet.html", fresh, status=403)
    return fresh, None


def _landing(session: Session) -> str:
    """The first page of the person's roles (nav.py), or a welcome page when none is for them yet."""
    return nav.home(session.data.get("roles", ()), session.data.get("team_kinds")) or "/welcome"


@router.get("/", include_in_schema=False)
async def home(request: Request) -> Response:
    session = await _session(request)
    if session is None or not session.signed_in:
        return redirect("/sign-in")
    return redirect(_landing(session), session)


@router.get("/welcome", include_in_schema=False)
async def welcome(request: Request) -> Response:
    session, refused = await person(request)
    return refused or render(request, "not_yet.html", session)


@router.get("/sign-in", include_in_schema=False)
async def sign_in_form(request: Request) -> Response:
    session = await _session(request)
    if session and session.signed_in:
        return redirect(_landing(session))
    if session and session.pending:
        return redirect("/sign-in/code")
    return render(request, "sign_in.html", session or await _sessions(request).anonymous(now()))


@router.post("/sign-in", include_in_schema=False)
async def sign_in(request: Request) -> Response:
    session, form, ok = await posted(request)
    if not ok or session is None:
        return render(request, "sign_in.html", await _sessions(request).anonymous(now()), status=403,
                      error=gettext_for(request)(messages.FORM_EXPIRED))
    username, password = form.get("username", "").strip(), form.get("password", "")
    if _sessions(request).oidc is not None and _sessions(request).oidc.only:
        return redirect("/sign-in/oidc")
    try:
        after = await _sessions(request).sign_in(session, username, password, None, now(),
                                                 client=browser_address(request))
    except ApiProblem as exc:
        return render(request, "sign_in.html", session, status=401 if exc.status == 401 else 503,
                      error=messages.explain(exc, gettext_for(request), signing_in=True), username=username)
    return redirect("/sign-in/code" if after.pending else _landing(after), after)


@router.get("/sign-in/code", include_in_schema=False)
async def code_form(request: Request) -> Response:
    session = await _session(request)
    if session is None or not session.pending:
        return redirect("/sign-in")
    return render(request, "code.html", session)


@router.post("/sign-in/code", include_in_schema=False)
async def sign_in_code(request: Request) -> Response:
    session, form, ok = await posted(request)
    if session is None or not session.pending:
        return redirect("/sign-in")
    if not ok:
        return render(request, "code.html", session, status=403, error=gettext_for(request)(messages.FORM_EXPIRED))
    code = "".join(form.get("code", "").split())
    if not (code.isdigit() and len(code) == 6):
        return render(request, "code.html", session, status=422, error=gettext_for(request)(messages.CODE_NEEDED))
    pending = session.pending
    try:
        after = await _sessions(request).sign_in(session, pending["username"], pending["password"], code, now(),
                                                 client=browser_address(request))
    except ApiProblem as exc:
        if exc.status == 401:  # identity tells nothing more: start again from the password (it counts attempts)
            fresh = await _sessions(request).anonymous(now())
            return render(request, "sign_in.html", fresh, status=401,
                          error=messages.explain(exc, gettext_for(request), signing_in=True))
        return render(request, "code.html", session, status=503, error=messages.explain(exc, gettext_for(request)))
    return redirect(_landing(after), after)


@router.post("/sign-out", include_in_schema=False)
async def sign_out(request: Request) -> Response:
    session, _form_, ok = await posted(request)
    if session is None:
        return redirect("/sign-in")
    if not ok:
        return render(request, "error.html", session, status=403, error=gettext_for(request)(messages.FORM_EXPIRED))
    end = await _sessions(request).sign_out(session, str(request.base_url).rstrip("/") + "/sign-in")
    response = redirect(end or "/sign-in")
    clear_session_cookie(response)
    return response


@router.post("/language", include_in_schema=False)
async def choose_language(request: Request) -> Response:
    session, form, ok = await posted(request)
    if not ok:
        return render(request, "error.html", session, status=403, error=gettext_for(request)(messages.FORM_EXPIRED))
    response = redirect(safe_next(form.get("next")))
    if form.get("lang") in i18n.LANGUAGES:
        set_language_cookie(response, form["lang"])
    return response


@router.get("/dashboard", include_in_schema=False)
async def official_dashboard(request: Request) -> Response:
    session, refused = await person(request, nav.OFFICIALS)
    if refused:
        return refused
    assert session is not None
    board = await dashboard.gather(request.app.state.apis, session.data["access_token"])
    gettext = gettext_for(request)
    problems = {name: messages.explain(s.problem, gettext) for name, s in vars(board).items() if s.problem}
    return render(request, "dashboard.html", session, board=board, problems=problems)


# -- a signed-in person's form, sent on to a service (every page module's POST routes) --------------------------------
class Refused(Exception):
    """A form the console refuses before calling a service (a required field missing, a code that is not six
    digits): ``message`` is the source string (translated when shown), ``status`` the page's."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Sent:
    """What became of a signed-in person's form: the service's ``answer``, or the ``error`` to show (a sentence in
    their language) with the page's ``status``; the ``form`` as typed, to show it again."""

    session: Session
    form: dict[str, str]
    answer: dict[str, Any] | None = None
    error: str | None = None
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.error is None


async def submit(request: Request, roles: frozenset[str] | None,
                 call: Callable[[Session, dict[str, str]], Awaitable[dict[str, Any]]], *,
                 explain: Callable[[ApiProblem], str] | None = None) -> tuple[Sent | None, Response | None]:
    """The guarded form, once: the person signed in with one of ``roles`` (``person``), the form's CSRF token
    checked before anything is sent, then ``call(session, form)`` (a service call with the person's token, or
    :class:`Refused`), its problem said as a sentence (``explain``, else ``messages.explain``). Returns the outcome,
    or the response to send instead (the sign-in page, a 403 for another role)::

        sent, refused = await submit(request, nav.POLICE, lambda s, form: apis.call(..., token=token(s)))
        if refused:
            return refused
        if not sent.ok:
            return await the_page(request, sent.session, status=sent.status, error=sent.error, form=sent.form)
        return redirect(..., sent.session)
    """
    session, refused = await person(request, roles)
    if refused:
        return None, refused
    assert session is not None
    form = await _form(request)
    gettext = gettext_for(request)
    if not csrf_ok(session.csrf_token, form.get("csrf_token")):
        return Sent(session, form, error=gettext(messages.FORM_EXPIRED), status=403), None
    try:
        return Sent(session, form, answer=await call(session, form)), None
    except Refused as exc:
        return Sent(session, form, error=gettext(exc.message), status=exc.status), None
    except ApiProblem as exc:
        said = explain(exc) if explain else messages.explain(exc, gettext)
        return Sent(session, form, error=said, status=messages.page_status(exc)), None


def token(session: Session) -> str:
    """The signed-in person's access token, for the services' APIs."""
    return session.data["access_token"]


async def post_form(request: Request, roles: frozenset[str] | None,
                    call: Callable[[Session, dict[str, str]], Awaitable[dict[str, Any]]], *,
                    again: Callable[[Sent], Awaitable[Response] | Response], done: Callable[[Sent], str],
                    explain: Callable[[ApiProblem], str] | None = None) -> Response:
    """:func:`submit`, answered the usual way: the page ``again`` with the sentence and the form as typed when it
    was refused, else a redirect (303) to ``done(sent)``, the session's cookie kept::

        return await post_form(request, nav.LEADERS, lambda s, form: apis.call(..., token=token(s), json=...),
                               again=lambda sent: the_page(request, sent.session, status=sent.status,
                                                           error=sent.error, form=sent.form),
                               done=lambda sent: f"/somewhere/{sent.answer['id']}")
    """
    sent, refused = await submit(request, roles, call, explain=explain)
    if refused:
        return refused
    assert sent is not None
    if not sent.ok:
        page = again(sent)
        return await page if isinstance(page, Awaitable) else page
    return redirect(done(sent), sent.session)
