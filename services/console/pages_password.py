"""Setting a password with the reset code an official gave (identity ``POST /v1/password``, no token), and - for
the roles that sign in with a second factor - the enrolment identity answers, shown once as a QR code (segno, an
``img`` with a ``data:`` URI: the CSP allows ``img-src data:``) and as text, with the first code asked at once: the
first code identity accepts at sign-in confirms the enrolment, so the page signs the person in with it."""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages
from services.console.apis import ApiProblem
from services.console.pages import _landing, _session, _sessions, gettext_for, now, posted, redirect, render

router = APIRouter()
#: identity's rule (services/identity/domain.py MIN_PASSWORD), checked here first to say it in the person's words
MIN_PASSWORD = 12


def qr_data_uri(uri: str) -> str:
    """The otpauth:// URI as a QR code: SVG in a data: URI, dark on white (readable in a dark theme too)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000000", light="#ffffff")


@router.get("/password", include_in_schema=False)
async def password_form(request: Request) -> Response:
    session = await _session(request)
    if session and session.signed_in:
        return redirect(_landing(session))
    return render(request, "password/set.html", session or await _sessions(request).anonymous(now()))


@router.post("/password", include_in_schema=False)
async def set_password(request: Request) -> Response:
    session, form, ok = await posted(request)
    gettext = gettext_for(request)
    if not ok or session is None:
        return render(request, "password/set.html", await _sessions(request).anonymous(now()), status=403,
                      error=gettext(messages.FORM_EXPIRED))
    username = form.get("username", "").strip()
    code, password, again = form.get("reset_code", "").strip(), form.get("new_password", ""), form.get("again", "")

    def again_with(error: str, status: int = 422) -> Response:
        return render(request, "password/set.html", session, status=status, error=error, username=username)

    if not username or not code:
        return again_with(gettext(messages.RESET_NEEDED))
    if len(password) < MIN_PASSWORD or password == username:
        return again_with(gettext(messages.PASSWORD_TOO_SHORT) % {"n": MIN_PASSWORD})
    if password != again:
        return again_with(gettext(messages.PASSWORDS_DIFFER))
    try:
        answer = await request.app.state.apis.call(
            "identity", "POST", "/v1/password", json={"username": username, "reset_code": code,
                                                      "new_password": password})
    except ApiProblem as exc:
        if exc.status in (401, 422):
            return again_with(gettext(messages.PASSWORD_REFUSED))
        return again_with(messages.explain(exc, gettext), status=503 if exc.status in (0, 503) else exc.status)
    # Signed in with the new password at once; where a code is needed the session waits for it (5 minutes), and
    # the enrolment is shown beside the code form, which posts to the sign-in's code step.
    try:
        after = await _sessions(request).sign_in(session, username, password, None, now())
    except ApiProblem:
        return redirect("/sign-in")
    enrolment = answer.get("second_factor")
    if after.pending and enrolment:
        return render(request, "password/enrol.html", after, secret=enrolment["secret"],
                      qr=qr_data_uri(enrolment["provisioning_uri"]))
    return redirect("/sign-in/code" if after.pending else _landing(after), after)
