"""Pages without an account (issue 16): an anonymous tip and its follow-up, a campaign's public transparency page,
and certificate verification. The sign-in page links them.

They call only the services' public routes, without a token: incidents ``POST /v1/public/tips``,
``GET /v1/public/groups`` and ``POST /v1/follow-up``; donations ``GET /v1/public/campaigns/{id}/report``; awards
``GET /v1/public/certificates/{code}``. The browser's address is forwarded (X-Forwarded-For) so that each service's
per-address limit counts people, not the console; nothing of the visitor is kept here beyond the anonymous
session that carries the forms' CSRF token (as the sign-in form's does). The follow-up code and secret are shown
once, in the answer to the form, and never kept: the page is ``no-store`` like every page of the console.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages
from services.console.apis import ApiProblem
from services.console.pages import _sessions, browser_address, gettext_for, now, posted, render
from services.console.pages_map import with_tiles
from services.console.security import SESSION_COOKIE
from services.console.sessions import Session
from shared.clock import WARD_TZ

router = APIRouter()


def _(text: str) -> str:  # marks a string for extraction; translated when shown
    return text


NO_TIP = _("No tip has this code and secret. Check what you wrote down and try again.")
NO_CAMPAIGN = _("There is no campaign at this address. Check the link you were given.")
NO_CERTIFICATE = _("No certificate has this code. Check the code printed on the certificate.")
TIP_INCOMPLETE = _("Choose the residential group and the kind of incident, and describe what happened "
                   "(at least 5 characters).")
BAD_TIME = _("The time it happened is not a valid date and time, or it is in the future.")
FOLLOW_UP_INCOMPLETE = _("Enter both the follow-up code and the secret.")
BAD_PLACE = _("The point on the map is not valid: give both the latitude and the longitude, as decimal degrees, "
              "or neither.")

CATEGORIES = ("theft", "fraud", "drugs", "fire", "dispute", "public_order", "other")


async def _visitor(request: Request) -> Session:
    """The visitor's session (signed in or not), else a new anonymous one: it carries the CSRF token of the forms."""
    session = await _sessions(request).load(request.cookies.get(SESSION_COOKIE), now())
    return session or await _sessions(request).anonymous(now())


def _explain(request: Request, exc: ApiProblem, not_found: str) -> str:
    gettext = gettext_for(request)
    return gettext(not_found) if exc.status == 404 else messages.explain(exc, gettext)



# -- an anonymous tip ------------------------------------------------------------------------------------------------
async def _groups(request: Request) -> tuple[list[dict[str, Any]], str | None]:
    try:
        groups = await request.app.state.apis.list_all("incidents", "/v1/public/groups", None,
                                                       client=browser_address(request))
        return groups, None
    except ApiProblem as exc:
        return [], messages.explain(exc, gettext_for(request))


def _tip_page(request: Request, session: Session, groups: list[dict[str, Any]], *, status: int = 200,
              error: str | None = None, form: dict[str, str] | None = None,
              duplicates: list[dict[str, Any]] | None = None) -> Response:
    return with_tiles(render(request, "public/tip.html", session, status=status, error=error, groups=groups,
                             categories=CATEGORIES, form=form or {}, duplicates=duplicates or [],
                             group_names={g["group_id"]: g["name"] for g in groups}), request)


def point(form: dict[str, str]) -> tuple[float, float] | None:
    """The form's latitude and longitude (decimal degrees, a comma allowed as the decimal mark); None when both
    are empty; ValueError when only one is given, or either is not a number in its range."""
    lat, lon = (form.get(k, "").strip().replace(",", ".") for k in ("latitude", "longitude"))
    if not lat and not lon:
        return None
    la, lo = float(lat), float(lon)  # ValueError for "" or words
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        raise ValueError("out of range")
    return la, lo


async def nearby(request: Request, category: str, at: tuple[float, float], *, token: str | None = None
                 ) -> list[dict[str, Any]]:
    """Open reports of the same kind near the point (incidents: 50 m, 7 days; never a crime tip to the public or
    a resident). A failure offers none: the report is still taken."""
    path = "/v1/incidents/nearby" if token else "/v1/public/nearby"
    try:
        found = await request.app.state.apis.call(
            "incidents", "GET", path, token=token, client=None if token else browser_address(request),
            params={"category": category, "latitude": at[0], "longitude": at[1]})
    except ApiProblem:
        return []
    return list(found.get("items", []))


@router.get("/tip", include_in_schema=False)
async def tip_form(request: Request) -> Response:
    session = await _visitor(request)
    groups, problem = await _groups(request)
    return _tip_page(request, session, groups, status=503 if problem else 200, error=problem)


def _happened_at(value: str) -> str | None:
    """``datetime-local`` (the ward's time) -> ISO 8601 with the zone; "" -> None; ValueError when not a time or
    in the future."""
    if not value.strip():
        return None
    moment = datetime.fromisoformat(value.strip()).replace(tzinfo=WARD_TZ)
    if moment > now():
        raise ValueError("in the future")
    return moment.isoformat()


@router.post("/tip", include_in_schema=False)
async def file_tip(request: Request) -> Response:
    session, form, ok = await posted(request)
    gettext = gettext_for(request)
    if not ok or session is None:
        groups, _problem = await _groups(request)
        return _tip_page(request, await _visitor(request), groups, status=403,
                         error=gettext(messages.FORM_EXPIRED), form=form)
    group_id, category = form.get("group_id", "").strip(), form.get("category", "")
    description, address = form.get("description", "").strip(), form.get("address", "").strip()
    if not group_id or category not in CATEGORIES or len(description) < 5:
        groups, _problem = await _groups(request)
        return _tip_page(request, session, groups, status=422, error=gettext(TIP_INCOMPLETE), form=form)
    try:
        happened_at = _happened_at(form.get("happened_at", ""))
    except ValueError:
        groups, _problem = await _groups(request)
        return _tip_page(request, session, groups, status=422, error=gettext(BAD_TIME), form=form)
    try:
        at = point(form)
    except ValueError:
        groups, _problem = await _groups(request)
        return _tip_page(request, session, groups, status=422, error=gettext(BAD_PLACE), form=form)
    if at and form.get("new") != "yes":  # someone may have reported it already: offer to add to theirs
        duplicates = await nearby(request, category, at)
        if duplicates:
            groups, _problem = await _groups(request)
            return _tip_page(request, session, groups, form=form, duplicates=duplicates)
    place: dict[str, Any] = {"group_id": group_id, "address": address or None}
    if at:
        place.update(latitude=at[0], longitude=at[1])
    body: dict[str, Any] = {"category": category, "is_crime_tip": form.get("is_crime_tip") == "yes",
                            "description": description, "place": place, "happened_at": happened_at}
    try:
        receipt = await request.app.state.apis.call("incidents", "POST", "/v1/public/tips", json=body,
                                                    client=browser_address(request))
    except ApiProblem as exc:
        groups, _problem = await _groups(request)
        return _tip_page(request, session, groups, status=messages.page_status(exc), error=messages.explain(exc, gettext),
                         form=form)
    # Shown once, in this answer only: nothing of it is kept by the console (the page is no-store).
    return render(request, "public/tip_filed.html", session, status=201, receipt=receipt)


@router.post("/tip/me-too/{incident_id}", include_in_schema=False)
async def me_too(request: Request, incident_id: str) -> Response:
    """"Me too" on a report offered as a duplicate: counted by incidents with no identity kept; its answer (a
    follow-up code, to follow that report) is shown once, like a tip's receipt."""
    session, form, ok = await posted(request)
    gettext = gettext_for(request)
    if not ok or session is None:
        groups, _problem = await _groups(request)
        return _tip_page(request, await _visitor(request), groups, status=403,
                         error=gettext(messages.FORM_EXPIRED), form=form)
    try:
        receipt = await request.app.state.apis.call(
            "incidents", "POST", f"/v1/public/incidents/{quote(incident_id, safe='')}/supporters",
            client=browser_address(request))
    except ApiProblem as exc:
        groups, _problem = await _groups(request)
        return _tip_page(request, session, groups, status=messages.page_status(exc),
                         error=messages.explain(exc, gettext), form=form)
    return render(request, "public/tip_supported.html", session, status=201, receipt=receipt)


# -- its follow-up ---------------------------------------------------------------------------------------------------
@router.get("/tip/follow-up", include_in_schema=False)
async def follow_up_form(request: Request) -> Response:
    return render(request, "public/follow_up.html", await _visitor(request), form={})


async def follow_up_sent(request: Request) -> tuple[Session, dict[str, str], str, str, Response | None]:
    """A follow-up form (the read, or an answer to the police): the visitor's session, the form, the code as
    incidents writes it and the secret - these two for this request only, never kept - or the page refusing the
    form (a forged or expired one, 403; the code or secret missing, 422). The secret is never put back into a
    page."""
    session, form, ok = await posted(request)
    code = "".join(form.get("follow_up_code", "").split()).upper()
    secret = form.get("secret", "").strip()
    shown, gettext = {"follow_up_code": code}, gettext_for(request)
    if not ok or session is None:
        visitor = await _visitor(request)
        return visitor, form, code, secret, render(request, "public/follow_up.html", visitor, status=403,
                                                   error=gettext(messages.FORM_EXPIRED), form=shown)
    if not code or not secret:
        return session, form, code, secret, render(request, "public/follow_up.html", session, status=422,
                                                   error=gettext(FOLLOW_UP_INCOMPLETE), form=shown)
    return session, form, code, secret, None


@router.post("/tip/follow-up", include_in_schema=False)
async def follow_up(request: Request) -> Response:
    session, _form, code, secret, refused = await follow_up_sent(request)
    if refused:
        return refused
    shown = {"follow_up_code": code}  # the secret is never put back into the page
    try:
        try:
            tip = await read_tip(request, code, secret)
        except ApiProblem as exc:
            if exc.status != 404:
                raise
            # not a tip's code: perhaps the code of a "me too" (the report it was added to, or merged into)
            status = await request.app.state.apis.call("incidents", "POST", "/v1/public/supporters/follow-up",
                                                       json={"follow_up_code": code, "secret": secret},
                                                       client=browser_address(request))
            tip = {**status, "thread": thread(status.get("messages") or [])}
    except ApiProblem as exc:
        return render(request, "public/follow_up.html", session, status=messages.page_status(exc),
                      error=_explain(request, exc, NO_TIP), form=shown)
    return render(request, "public/follow_up.html", session, form=shown, tip=tip)


async def read_tip(request: Request, code: str, secret: str) -> dict[str, Any]:
    """incidents' follow-up read of a tip (ApiProblem as it answers), its questions and answers as a thread."""
    status = await request.app.state.apis.call("incidents", "POST", "/v1/follow-up",
                                               json={"follow_up_code": code, "secret": secret},
                                               client=browser_address(request))
    return {**status, "thread": thread(status.get("messages") or [])}


# -- the police's questions to a tipster and their answers (pages_intake.py answers them) ---------------------------
def thread(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions and answers of a tip (incidents' ``author``: ``police`` or ``tipster``), oldest first, each a
    ``question`` or not, a question ``answered`` when incidents says so or an answer replies to it."""
    out = [{**m, "question": m.get("author") == "police"} for m in items]
    replied = {m.get("reply_to") for m in out if not m["question"]}
    for m in out:
        m["answered"] = m["question"] and bool(m.get("answered") or m.get("answered_at")
                                               or m.get("message_id") in replied)
    return sorted(out, key=lambda m: str(m.get("created_at") or m.get("at") or ""))


# -- a campaign's public transparency page ---------------------------------------------------------------------------
@router.get("/public/campaigns/{campaign_id}", include_in_schema=False)
async def campaign_page(campaign_id: str, request: Request) -> Response:
    session = await _visitor(request)
    try:
        report = await request.app.state.apis.call(
            "donations", "GET", f"/v1/public/campaigns/{quote(campaign_id, safe='')}/report",
            client=browser_address(request))
    except ApiProblem as exc:
        return render(request, "public/campaign.html", session, status=messages.page_status(exc),
                      error=_explain(request, exc, NO_CAMPAIGN), report=None)
    return render(request, "public/campaign.html", session, report=report)


# -- certificate verification ----------------------------------------------------------------------------------------
@router.get("/certificates/verify", include_in_schema=False)
async def verify_certificate(request: Request, code: str = "") -> Response:
    session = await _visitor(request)
    code = "".join(code.split()).upper()[:64]
    if not code:
        return render(request, "public/verify.html", session, code="", certificate=None)
    if not all(c.isalnum() or c == "-" for c in code) or len(code) < 4:
        return render(request, "public/verify.html", session, status=404, code=code, certificate=None,
                      error=gettext_for(request)(NO_CERTIFICATE))
    try:
        certificate = await request.app.state.apis.call("awards", "GET", f"/v1/public/certificates/{code}",
                                                        client=browser_address(request))
    except ApiProblem as exc:
        return render(request, "public/verify.html", session, status=messages.page_status(exc), code=code, certificate=None,
                      error=_explain(request, exc, NO_CERTIFICATE))
    return render(request, "public/verify.html", session, code=code, certificate=certificate)
