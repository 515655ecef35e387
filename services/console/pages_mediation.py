"""The mediator's pages (hòa giải viên): their teams' cases (by state), a case with its parties, mediators, sessions
and outcome and the forms the mediation API allows in its state, and the team's record book (sổ theo dõi hoạt động
hòa giải ở cơ sở) ready to print.

A mediator is an account with the role ``team_member`` or ``team_leader`` whose ``team_ids`` hold a mediation team
(services/mediation/domain.py: ``MEDIATORS``, ``is_mediator_of``); only the team's leader assigns mediators and
refuses a case (``is_leader_of``). The console asks identity (``GET /v1/me``) for the account's teams, mediation
(``GET /v1/teams``) which of the ward's teams are mediation teams, and leaves every rule to mediation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages
from services.console.apis import ApiProblem
from services.console.nav import MEDIATORS
from services.console.pages import Refused, person, post_form, render, token
from services.console.pages_police import explain
from services.console.sessions import Session
from shared.clock import WARD_TZ, ward_today

router = APIRouter()

PAGE_SIZE = 50

#: The forms a case offers in each state (mediation's domain.ALLOWED decides; it refuses the rest): the form's
#: name is the last part of mediation's route.
FORMS: dict[str, tuple[str, ...]] = {
    "received": ("mediators", "withdrawal", "refusal"),
    "in_mediation": ("sessions", "success", "failure", "mediators", "withdrawal", "refusal"),
    "succeeded": ("follow-ups",),
}
LEADER_ONLY = frozenset({"mediators", "refusal"})


async def _mine(request: Request, session: Session) -> tuple[list[str], list[dict[str, Any]]]:
    """The account's mediation teams: (their ids, mediation's view of them with their mediators)."""
    apis, token = request.app.state.apis, session.data["access_token"]
    me = await apis.call("identity", "GET", "/v1/me", token=token)
    teams = await apis.list_all("mediation", "/v1/teams", token)
    mine = [t for t in teams if t["team_id"] in set(me.get("team_ids") or ())]
    return [t["team_id"] for t in mine], mine


@router.get("/mediation/cases", include_in_schema=False)
async def cases(request: Request, status: str = "", cursor: str = "") -> Response:
    session, refused = await person(request, MEDIATORS)
    if refused:
        return refused
    assert session is not None
    params: dict[str, Any] = {"limit": PAGE_SIZE, **({"status": status} if status else {}),
                              **({"cursor": cursor} if cursor else {})}
    try:
        page = await request.app.state.apis.call("mediation", "GET", "/v1/cases",
                                                 token=session.data["access_token"], params=params)
    except ApiProblem as exc:
        return render(request, "mediation/cases.html", session, status=messages.page_status(exc), items=[], state=status,
                      next_cursor=None, error=explain(exc, request))
    return render(request, "mediation/cases.html", session, items=page["items"], state=status,
                  next_cursor=page.get("next_cursor"))


async def _case_page(request: Request, session: Session, case_id: str, *, status: int = 200,
                     error: str | None = None, form: dict[str, str] | None = None) -> Response:
    apis, token = request.app.state.apis, session.data["access_token"]
    try:
        case = await apis.call("mediation", "GET", f"/v1/cases/{case_id}", token=token)
        _ids, teams = await _mine(request, session)
        grounds = (await apis.call("mediation", "GET", "/v1/refusal-grounds", token=token))["grounds"]
    except ApiProblem as exc:
        return render(request, "error.html", session, status=messages.page_status(exc), error=explain(exc, request))
    team = next((t for t in teams if t["team_id"] == case["team_id"]), None)
    leader = "team_leader" in session.data.get("roles", ())
    forms = [f for f in FORMS.get(case["status"], ()) if leader or f not in LEADER_ONLY]
    names = {m["resident_id"]: m["full_name"] for m in (team or {}).get("mediators", [])}
    names |= {m["mediator_id"]: m["full_name"] for m in case["mediators"]}
    return render(request, "mediation/case.html", session, status=status, error=error, case=case, forms=forms,
                  team=team, names=names, grounds=grounds, form=form or {}, today=ward_today().isoformat())


@router.get("/mediation/cases/{case_id}", include_in_schema=False)
async def case(request: Request, case_id: str) -> Response:
    session, refused = await person(request, MEDIATORS)
    if refused:
        return refused
    assert session is not None
    return await _case_page(request, session, case_id)


def _ticked(request_form: list[tuple[str, str]], name: str) -> list[str]:
    return [v for k, v in request_form if k == name and v]


def _body(what: str, form: dict[str, str], ticked: list[tuple[str, str]]) -> dict[str, Any]:
    """The body mediation's route ``what`` takes, from the form (mediation validates it)."""
    def text(key: str) -> str | None:
        return form.get(key, "").strip() or None

    if what == "mediators":
        return {"mediator_ids": _ticked(ticked, "mediator_ids"), "chosen_by_parties": form.get("chosen") == "yes"}
    if what == "sessions":
        held = form.get("held_at", "")
        try:
            held = datetime.fromisoformat(held).replace(tzinfo=WARD_TZ).isoformat()
        except ValueError:
            pass  # mediation answers 422, shown as a sentence
        return {"held_at": held, "place": text("place"), "mediator_ids": _ticked(ticked, "mediator_ids"),
                "parties_present": [int(p) for p in _ticked(ticked, "parties_present") if p.isdigit()],
                "notes": text("notes")}
    if what == "success":
        return {"agreement": form.get("agreement", "").strip(), "carry_out_how": form.get("carry_out_how", "").strip(),
                "carry_out_by": text("carry_out_by")}
    if what == "failure":
        return {"directed_to": form.get("directed_to", "").strip(), "demands": text("demands")}
    if what == "withdrawal":
        return {"reason": text("reason")}
    if what == "refusal":
        return {"ground": form.get("ground", ""), "explanation": text("explanation")}
    if what == "follow-ups":
        return {"checked_on": form.get("checked_on", ""), "progress": form.get("progress", ""), "notes": text("notes")}
    raise KeyError(what)


@router.post("/mediation/cases/{case_id}/{what}", include_in_schema=False)
async def case_form(request: Request, case_id: str, what: str) -> Response:
    async def call(session: Session, form: dict[str, str]) -> dict[str, Any]:
        if what not in {f for forms in FORMS.values() for f in forms}:
            raise Refused(messages.BY_STATUS[404], 404)
        ticked = parse_qsl((await request.body()).decode("utf-8", "replace"))  # the checkboxes' several values
        return await request.app.state.apis.call("mediation", "POST", f"/v1/cases/{case_id}/{what}",
                                                 token=token(session), json=_body(what, form, ticked))

    return await post_form(
        request, MEDIATORS, call, explain=lambda exc: explain(exc, request),
        again=lambda sent: _case_page(request, sent.session, case_id, status=sent.status, error=sent.error,
                                      form={**sent.form, "what": what}),
        done=lambda _sent: f"/mediation/cases/{case_id}")


@router.get("/mediation/record-book", include_in_schema=False)
async def record_book(request: Request, team_id: str = "", year: str = "") -> Response:
    """The team's record book of a year (mediation's JSON, through the mediator's token), printable on A4."""
    session, refused = await person(request, MEDIATORS)
    if refused:
        return refused
    assert session is not None
    chosen_year = int(year) if year.isdigit() else ward_today().year
    book, error, status, teams = None, None, 200, []
    try:
        _ids, teams = await _mine(request, session)
        chosen = team_id or (teams[0]["team_id"] if teams else "")
        if chosen:
            book = await request.app.state.apis.call(
                "mediation", "GET", f"/v1/teams/{chosen}/record-book/{chosen_year}",
                token=session.data["access_token"])
    except ApiProblem as exc:
        error, status, chosen = explain(exc, request), messages.page_status(exc), team_id
    return render(request, "mediation/record_book.html", session, status=status, error=error, teams=teams,
                  team_id=chosen, year=chosen_year, book=book)
