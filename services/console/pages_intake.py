"""Reports that come in through someone else, and questions to an anonymous tipster (issue 17).

* **Assisted report** (``/group/assisted-report``): a group leader (``team_leader``) files a report for a resident
  of one of their groups - an elderly neighbour, someone without a phone. Incidents ``POST /v1/incidents/assisted``:
  the resident is the reporter, the leader is recorded as the one who entered it, and incidents audits it (it
  checks that the resident lives in a group of the leader's teams).
* **Questions to the tipster**: on an anonymous tip's page the police ask a question (incidents ``POST
  /v1/incidents/{id}/tip-messages``) and read the questions and answers (``GET`` the same). Nothing identifies the
  tipster: incidents holds the texts sealed and the thread names no one but the asking officer's reference.
* **The tipster's answer** (``/tip/follow-up``): the follow-up read shows the police's questions; the tipster
  answers with their code and secret (incidents ``POST /v1/follow-up/messages {code, secret, text, reply_to}``).
  The code and secret live in that one request: the console keeps neither (no session, no URL, no page - the
  secret is typed again for each answer).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import labels, messages, nav
from services.console.apis import ApiProblem
from services.console.messages import _
from services.console.pages import Refused, browser_address, gettext_for, post_form, render, token
from services.console.pages_map import with_tiles
from services.console.pages_people import _leader
from services.console.pages_public import BAD_PLACE, NO_TIP, _explain, follow_up_sent, point, read_tip, thread
from services.console.sessions import Session

router = APIRouter()

ASSISTED_INCOMPLETE = _("Choose the resident and the kind of incident, and describe what happened (at least 5 "
                        "characters).")
QUESTION_NEEDED = _("Write the question (at least 5 characters).")
ANSWER_NEEDED = _("Write your answer, and enter your secret again: it is not kept between pages.")
ANSWER_SENT = _("Your answer was sent to the police. Nobody can tell from it who you are.")
MAX_TEXT = 2000


# -- the group leader's report for a resident -------------------------------------------------------------------
async def _assisted_page(request: Request, session: Session, ctx: dict[str, Any], *, status: int = 200,
                         error: str | None = None, form: dict[str, str] | None = None,
                         filed: str | None = None) -> Response:
    residents: list[dict[str, Any]] = []
    try:
        residents = await request.app.state.apis.list_all("registry", "/v1/residents", token(session),
                                                          params={"group_id": ctx["group"]["group_id"]})
    except ApiProblem as exc:
        error, status = error or messages.explain(exc, gettext_for(request)), messages.page_status(exc)
    return with_tiles(render(request, "leader/assisted.html", session, status=status, error=error, form=form or {},
                             residents=residents, categories=labels.INCIDENT_CATEGORIES, filed=filed, **ctx),
                      request)


@router.get("/group/assisted-report", include_in_schema=False)
async def assisted_form(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    assert session is not None
    return await _assisted_page(request, session, ctx, filed=request.query_params.get("filed"))


def _assisted_body(form: dict[str, str], group_id: str, residents: list[dict[str, Any]]) -> dict[str, Any]:
    """What incidents' assisted intake takes, from the form; Refused for what is missing (incidents checks the
    rest, and that the resident is of the leader's groups). The reporter is the resident as the registry knows
    them (name), with the phone the leader typed, else the registry's."""
    description = form.get("description", "").strip()
    if not form.get("resident_id") or form.get("category") not in labels.INCIDENT_CATEGORIES or len(description) < 5:
        raise Refused(ASSISTED_INCOMPLETE)
    try:
        at = point(form)
    except ValueError:
        raise Refused(BAD_PLACE) from None
    resident = next((r for r in residents if r["resident_id"] == form["resident_id"]), None)
    if resident is None:  # not of this group: incidents would refuse it too
        raise Refused(ASSISTED_INCOMPLETE)
    reporter = {"full_name": resident["full_name"]}
    phone = form.get("phone", "").strip() or resident.get("phone")
    if phone:
        reporter["phone"] = phone
    place: dict[str, Any] = {"group_id": group_id}
    if form.get("address", "").strip():
        place["address"] = form["address"].strip()
    if at:
        place.update(latitude=at[0], longitude=at[1])
    return {"resident_id": resident["resident_id"], "reporter": reporter, "category": form["category"],
            "description": description, "place": place}


@router.post("/group/assisted-report", include_in_schema=False)
async def file_assisted(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    assert session is not None
    group = ctx["group"]

    async def file(s: Session, form: dict[str, str]) -> dict[str, Any]:
        residents = await request.app.state.apis.list_all("registry", "/v1/residents", token(s),
                                                          params={"group_id": group["group_id"]})
        return await request.app.state.apis.call("incidents", "POST", "/v1/incidents/assisted", token=token(s),
                                                 json=_assisted_body(form, group["group_id"], residents))

    return await post_form(
        request, nav.LEADERS, file,
        again=lambda sent: _assisted_page(request, sent.session, ctx, status=sent.status, error=sent.error,
                                          form=sent.form),
        done=lambda sent: f"/group/assisted-report?group={quote(group['group_id'], safe='')}&filed="
                          f"{quote(str(sent.answer.get('incident_id', '')), safe='')}")


# -- the police: questions to an anonymous tipster ----------------------------------------------------------------
async def tip_thread(request: Request, access_token: str,
                     incident: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
    """An anonymous tip's questions and answers for its page (None for any other report), or the problem in a
    sentence: the rest of the page shows anyway."""
    if not incident.get("anonymous"):
        return None, None
    try:
        items = await request.app.state.apis.list_all(
            "incidents", f"/v1/incidents/{quote(incident['incident_id'], safe='')}/tip-messages", access_token)
    except ApiProblem as exc:
        return None, messages.explain(exc, gettext_for(request))
    return thread(items), None


@router.post("/police/tips/{incident_id}/questions", include_in_schema=False)
async def ask_tipster(request: Request, incident_id: str) -> Response:
    from services.console.pages_police import _incident_page, explain  # the police's page imports this module

    async def ask(s: Session, form: dict[str, str]) -> dict[str, Any]:
        text = form.get("text", "").strip()
        if len(text) < 5:
            raise Refused(QUESTION_NEEDED)
        return await request.app.state.apis.call(
            "incidents", "POST", f"/v1/incidents/{quote(incident_id, safe='')}/tip-messages", token=token(s),
            json={"text": text[:MAX_TEXT]})

    return await post_form(
        request, nav.POLICE, ask, explain=lambda exc: explain(exc, request),
        again=lambda sent: _incident_page(request, sent.session, incident_id, status=sent.status, error=sent.error,
                                          form={**sent.form, "step": "question"}),
        done=lambda _sent: f"/police/incidents/{quote(incident_id, safe='')}#tip-messages")


# -- the tipster: their answer, with the code and secret of that request only -------------------------------------
@router.post("/tip/follow-up/answer", include_in_schema=False)
async def answer_police(request: Request) -> Response:
    session, form, code, secret, refused = await follow_up_sent(request)
    if refused:
        return refused
    gettext, text, shown = gettext_for(request), form.get("text", "").strip(), {"follow_up_code": code}
    try:
        if text:
            await request.app.state.apis.call(
                "incidents", "POST", "/v1/follow-up/messages", client=browser_address(request),
                json={"code": code, "secret": secret, "text": text[:MAX_TEXT],
                      "reply_to": form.get("reply_to") or None})
    except ApiProblem as exc:
        return render(request, "public/follow_up.html", session, status=messages.page_status(exc),
                      error=_explain(request, exc, NO_TIP),
                      form={**shown, "text": text, "reply_to": form.get("reply_to", "")})
    answered = gettext(ANSWER_SENT) if text else None
    try:
        tip = await read_tip(request, code, secret)
    except ApiProblem as exc:  # the answer went (when there was one): say so, lest it be sent twice
        return render(request, "public/follow_up.html", session, status=messages.page_status(exc),
                      error=_explain(request, exc, NO_TIP), form=shown, answered=answered)
    if not text:
        return render(request, "public/follow_up.html", session, status=422, error=gettext(ANSWER_NEEDED),
                      form=shown, tip=tip)
    return render(request, "public/follow_up.html", session, form=shown, tip=tip, answered=answered)
