"""A person's notifications (issue 17): the in-app inbox, its unread count in the menu, and where else they are
reached - their contact points (email, SMS, Zalo; each verified with a code sent through it) and their preferences
per kind of notification (channels, daily digest), with the ward's quiet hours.

Everything through the notify service's API (docs/services/notify.md) with the person's token: notify knows the
person from the token's ``sub``. The console keeps nothing of it; an address is shown only as notify's hint
(``••••1234``), never as typed once it is sent.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.console import messages
from services.console.apis import ApiProblem
from services.console.messages import _
from services.console.pages import Refused, gettext_for, person, post_form, render, token
from services.console.security import safe_next
from services.console.sessions import Session

router = APIRouter()

PAGE_SIZE = 50
#: The unread count is a decoration of every page: a slow notify never holds the menu up for long.
COUNT_TIMEOUT_S = 2.0

CHANNELS = {"email": _("Email"), "sms": _("SMS"), "zalo": _("Zalo")}
#: The kinds notify sends (docs/services/notify.md), as a person reads them; urgent ones are never held back.
KINDS = {
    "tip.deadline_near": _("A tip's decision deadline is near"),
    "tip.overdue": _("A tip's decision deadline has passed"),
    "tip.assigned": _("A tip was assigned to you"),
    "tip.answered": _("An anonymous tipster answered a question"),
    "mediation.case_waiting": _("A mediation case waits for mediators"),
    "residence.expiring": _("A temporary residence is about to expire"),
    "residence.expired": _("A temporary residence has expired"),
    "stay.late": _("A stay notice is late"),
    "pledge.overdue": _("A pledge instalment is overdue"),
    "expense.second_approval": _("An expense waits for its second approval"),
    "award.decided": _("An award was decided"),
}
URGENT = frozenset({"tip.overdue", "tip.answered"})

ADDRESS_NEEDED = _("Choose a channel and enter the address: an email address, a phone number for SMS, or your "
                   "Zalo user ID for the ward's Official Account.")
CODE_NEEDED = _("Enter the 6-digit code we sent to that address.")
CODE_WRONG = _("The code is not right or has expired. Check it, or ask for a new one by adding the address again.")
CODE_SENT = _("We sent a 6-digit code to that address. Enter it below to confirm the address.")
SAVED = _("Saved.")
UNREAD = _("unread")  # beside the menu's count, for screen readers


def _explain(request: Request, exc: ApiProblem, *, verifying: bool = False) -> str:
    gettext = gettext_for(request)
    if verifying and exc.status in (404, 409, 422):
        return gettext(CODE_WRONG)
    return messages.explain(exc, gettext)


def _call(request: Request):
    return request.app.state.apis.call


# -- the menu's unread count ------------------------------------------------------------------------------------------
@router.get("/inbox/unread-count", include_in_schema=False)
async def unread_count(request: Request) -> Response:
    """The fragment htmx puts beside "Notifications" in the menu once a page is shown: the count of unread
    notifications, or nothing at all when there are none, nobody is signed in, or notify does not answer (in
    time) - the page around it is never the worse for it. Never a redirect: htmx would put the sign-in page into
    the menu."""
    try:  # the session's refresh too: identity down is no reason to break the menu
        session, refused = await person(request)
        if refused:
            return HTMLResponse("")
        assert session is not None
        answer = await _call(request)("notify", "GET", "/v1/notifications/unread-count", token=token(session),
                                      timeout=COUNT_TIMEOUT_S)
        count = int(answer.get("count", 0))
    except (ApiProblem, AttributeError, TypeError, ValueError):
        return HTMLResponse("")
    if count <= 0:
        return HTMLResponse("")
    words = gettext_for(request)(UNREAD)
    return HTMLResponse(f'<span class="badge" data-testid="unread-count">{count}'
                        f'<span class="visually-hidden"> {escape(words)}</span></span>')


# -- the inbox ----------------------------------------------------------------------------------------------------
async def _inbox(request: Request, session: Session, *, status: int = 200, error: str | None = None) -> Response:
    unread = request.query_params.get("unread") == "true"
    cursor = request.query_params.get("cursor", "")
    params: dict[str, Any] = {"limit": PAGE_SIZE, **({"unread": "true"} if unread else {}),
                              **({"cursor": cursor} if cursor else {})}
    try:
        page = await _call(request)("notify", "GET", "/v1/notifications", token=token(session), params=params)
    except ApiProblem as exc:
        return render(request, "notify/inbox.html", session, status=status if error else messages.page_status(exc),
                      error=error or _explain(request, exc), items=[], unread=unread, next_cursor=None, kinds=KINDS)
    return render(request, "notify/inbox.html", session, status=status, error=error, items=page["items"],
                  unread=unread, next_cursor=page.get("next_cursor"), kinds=KINDS)


@router.get("/inbox", include_in_schema=False)
async def inbox(request: Request) -> Response:
    session, refused = await person(request)
    if refused:
        return refused
    assert session is not None
    return await _inbox(request, session)


def console_path(link: str) -> str:
    """Where a notification's link goes, as a path of this console (notify writes absolute links to the console's
    public address, ``NOTIFY_CONSOLE_URL``); anything else is the inbox."""
    parts = urlsplit(link or "")
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else "")) if parts.path else "/inbox"


def _inbox_again(request: Request):
    return lambda sent: _inbox(request, sent.session, status=sent.status, error=sent.error)


def _mark_read(request: Request, notification_id: str):
    return lambda s, _form: _call(request)(
        "notify", "POST", f"/v1/notifications/{quote(notification_id, safe='')}/read", token=token(s))


@router.post("/inbox/{notification_id}/read", include_in_schema=False)
async def mark_read(request: Request, notification_id: str) -> Response:
    return await post_form(request, None, _mark_read(request, notification_id), again=_inbox_again(request),
                           done=lambda sent: safe_next(sent.form.get("next") or "/inbox"))


@router.post("/inbox/{notification_id}/open", include_in_schema=False)
async def open_notification(request: Request, notification_id: str) -> Response:
    """"Open": marked read, then to the page it links (a path of this console only)."""
    return await post_form(request, None, _mark_read(request, notification_id), again=_inbox_again(request),
                           done=lambda sent: console_path(sent.form.get("link", "")))


@router.post("/inbox/read-all", include_in_schema=False)
async def mark_all_read(request: Request) -> Response:
    return await post_form(request, None, lambda s, _form: _call(request)(
        "notify", "POST", "/v1/notifications/read-all", token=token(s)), again=_inbox_again(request),
        done=lambda _sent: "/inbox")


# -- contact points and preferences ---------------------------------------------------------------------------------
async def _settings(request: Request, session: Session, *, status: int = 200, error: str | None = None,
                    form: dict[str, str] | None = None, done: str | None = None) -> Response:
    gettext = gettext_for(request)
    contacts: list[dict[str, Any]] | None = None
    preferences: dict[str, Any] | None = None
    problems: dict[str, str] = {}
    try:
        answer = await _call(request)("notify", "GET", "/v1/contacts", token=token(session))
        contacts = answer if isinstance(answer, list) else list(answer.get("items", []))
    except ApiProblem as exc:
        problems["contacts"] = messages.explain(exc, gettext)
    try:
        preferences = await _call(request)("notify", "GET", "/v1/preferences", token=token(session))
    except ApiProblem as exc:
        problems["preferences"] = messages.explain(exc, gettext)
    if problems and status == 200:
        status = 503
    rows = _preference_rows(preferences)
    return render(request, "notify/settings.html", session, status=status, error=error, form=form or {},
                  contacts={c["channel"]: c for c in contacts or []}, contacts_known=contacts is not None,
                  preferences=rows, quiet=(preferences or {}).get("quiet_hours"), problems=problems,
                  channels=CHANNELS, kinds=KINDS, urgent=URGENT, done=gettext(done) if done else None)


def _preference_rows(preferences: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per kind: notify's answer, and the kinds it did not list (nothing set: its defaults)."""
    if preferences is None:
        return []
    given = {p["kind"]: p for p in preferences.get("kinds", [])}
    rows = [given.get(k, {"kind": k, "channels": [], "digest": False, "unset": True}) for k in KINDS]
    return rows + [p for k, p in given.items() if k not in KINDS]


@router.get("/notifications/settings", include_in_schema=False)
async def settings_page(request: Request) -> Response:
    session, refused = await person(request)
    if refused:
        return refused
    assert session is not None
    done = {"code-sent": CODE_SENT, "saved": SAVED}.get(request.query_params.get("done", ""))
    return await _settings(request, session, done=done)


def _channel(value: str) -> str:
    if value not in CHANNELS:
        raise Refused(ADDRESS_NEEDED)
    return value


async def _add_contact(request: Request, session: Session, form: dict[str, str]) -> dict[str, Any]:
    channel, address = _channel(form.get("channel", "")), form.get("address", "").strip()
    if not address:
        raise Refused(ADDRESS_NEEDED)
    return await _call(request)("notify", "PUT", f"/v1/contacts/{channel}", token=token(session),
                                json={"address": address})


def _settings_again(request: Request, *, keep_channel: bool = False):
    return lambda sent: _settings(request, sent.session, status=sent.status, error=sent.error,
                                  form={"channel": sent.form.get("channel", "")} if keep_channel else None)


SAVED_PAGE = "/notifications/settings?done=saved"


@router.post("/notifications/contacts", include_in_schema=False)
async def add_contact(request: Request) -> Response:
    """Add (or change) the address of a channel: notify sends a code through it; the address is not shown again,
    only notify's hint of it."""
    return await post_form(request, None, lambda s, form: _add_contact(request, s, form),
                           again=_settings_again(request, keep_channel=True),
                           done=lambda _sent: "/notifications/settings?done=code-sent")


async def _verify(request: Request, session: Session, channel: str, form: dict[str, str]) -> dict[str, Any]:
    code = "".join(form.get("code", "").split())
    if not (code.isdigit() and len(code) == 6):
        raise Refused(CODE_NEEDED)
    return await _call(request)("notify", "POST", f"/v1/contacts/{_channel(channel)}/verify", token=token(session),
                                json={"code": code})


@router.post("/notifications/contacts/{channel}/verify", include_in_schema=False)
async def verify_contact(request: Request, channel: str) -> Response:
    return await post_form(request, None, lambda s, form: _verify(request, s, channel, form),
                           again=_settings_again(request), done=lambda _sent: SAVED_PAGE,
                           explain=lambda exc: _explain(request, exc, verifying=True))


@router.post("/notifications/contacts/{channel}/remove", include_in_schema=False)
async def remove_contact(request: Request, channel: str) -> Response:
    async def remove(s: Session, _form: dict[str, str]) -> dict[str, Any]:
        return await _call(request)("notify", "DELETE", f"/v1/contacts/{_channel(channel)}", token=token(s))

    return await post_form(request, None, remove, again=_settings_again(request), done=lambda _sent: SAVED_PAGE)


@router.post("/notifications/preferences/{kind}", include_in_schema=False)
async def save_preference(request: Request, kind: str) -> Response:
    """One kind's channels (besides the inbox, which always has it) and whether it waits for the daily digest."""
    async def save(s: Session, form: dict[str, str]) -> dict[str, Any]:
        body = {"channels": [c for c in CHANNELS if form.get(f"channel_{c}") == "on"],
                "digest": form.get("digest") == "on"}
        return await _call(request)("notify", "PUT", f"/v1/preferences/{quote(kind, safe='')}", token=token(s),
                                    json=body)

    return await post_form(request, None, save, again=_settings_again(request), done=lambda _sent: SAVED_PAGE)
