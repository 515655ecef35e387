"""The ward official's award pages (issue 16): the year's nominations to review and decide, and the festival list
(danh sách khen thưởng at the Ngày hội toàn dân bảo vệ an ninh Tổ quốc) with the certificates' codes.

Awards decides who may (services/awards/domain.py): the ward's officials record the council's review; only the
issuer's level decides - ward officials for the ward chairman, city officials for the city chairman - approving,
rejecting and revoking. A decision form is shown to the level that decides; the others read whose decision waits.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages, nav
from services.console.apis import ApiProblem
from services.console.messages import _
from services.console.pages import Refused, gettext_for, person, post_form, render, token
from services.console.sessions import Session
from shared.clock import ward_today

router = APIRouter()

#: Who decides for each issuer (awards: DECIDING_ROLE).
DECIDES = {"ward_chairman": "ward_official", "city_chairman": "city_official"}
WRONG_STEP = _("This nomination is not at that step any more. Reload the page.")


def _year(request: Request) -> int:
    text = request.query_params.get("year", "")
    return int(text) if text.isdigit() and 2000 <= int(text) <= 2100 else ward_today().year


def _explain(exc: ApiProblem, gettext) -> str:
    if exc.problem_type == "rule-violated":
        return gettext(WRONG_STEP)
    return messages.explain(exc, gettext)


async def _nominations_page(request: Request, session: Session, year: int, *, status: int = 200, error: str = "",
                            typed: dict[str, str] | None = None) -> Response:
    apis, token = request.app.state.apis, session.data["access_token"]
    problem = None
    items: list[dict[str, Any]] = []
    try:
        items = await apis.list_all("awards", f"/v1/wards/{session.data['ward_id']}/nominations", token,
                                    params={"year": year})
    except ApiProblem as exc:
        problem = messages.explain(exc, gettext_for(request))
    order = {"proposed": 0, "reviewed": 1, "approved": 2, "rejected": 3}
    items.sort(key=lambda n: (order.get(n["status"], 9), n.get("created_at") or ""))
    roles = set(session.data.get("roles", ()))
    return render(request, "awards/nominations.html", session, status=status, error=error, year=year,
                  items=items, problem=problem, reviews="ward_official" in roles,
                  decides={issuer for issuer, role in DECIDES.items() if role in roles}, typed=typed or {})


@router.get("/awards", include_in_schema=False)
async def nominations(request: Request) -> Response:
    session, refused = await person(request, nav.OFFICIALS)
    if refused:
        return refused
    assert session is not None
    return await _nominations_page(request, session, _year(request))


def _year_of(form: dict[str, str]) -> int:
    return int(form["year"]) if form.get("year", "").isdigit() else ward_today().year


@router.post("/awards/nominations/{nomination_id}/{step}", include_in_schema=False)
async def decide(request: Request, nomination_id: str, step: str) -> Response:
    bodies = {
        "review": lambda form: {"council_minutes_ref": form.get("council_minutes_ref", "")},
        "approve": lambda form: {"decision_number": form.get("decision_number", ""),
                                 "decision_date": form.get("decision_date") or ward_today().isoformat()},
        "reject": lambda form: {"reason": form.get("reason", "")},
    }

    async def call(session: Session, form: dict[str, str]) -> dict[str, Any]:
        if step not in bodies:
            raise Refused(messages.BY_STATUS[404], 404)
        return await request.app.state.apis.call("awards", "POST", f"/v1/nominations/{nomination_id}/{step}",
                                                 token=token(session), json=bodies[step](form))

    return await post_form(
        request, nav.OFFICIALS, call, explain=lambda exc: _explain(exc, gettext_for(request)),
        again=lambda sent: _nominations_page(request, sent.session, _year_of(sent.form), status=sent.status,
                                             error=sent.error, typed=sent.form),
        done=lambda sent: f"/awards?year={_year_of(sent.form)}")


async def _festival_page(request: Request, session: Session, year: int, *, status: int = 200,
                         error: str = "") -> Response:
    problem, festival = None, None
    try:
        festival = await request.app.state.apis.call(
            "awards", "GET", f"/v1/wards/{session.data['ward_id']}/festival/{year}",
            token=session.data["access_token"])
    except ApiProblem as exc:
        problem = messages.explain(exc, gettext_for(request))
    roles = set(session.data.get("roles", ()))
    return render(request, "awards/festival.html", session, status=status, error=error, year=year,
                  festival=festival, problem=problem,
                  decides={issuer for issuer, role in DECIDES.items() if role in roles})


@router.get("/festival", include_in_schema=False)
async def festival(request: Request) -> Response:
    session, refused = await person(request, nav.OFFICIALS)
    if refused:
        return refused
    assert session is not None
    return await _festival_page(request, session, _year(request))


@router.post("/festival/awards/{award_id}/revoke", include_in_schema=False)
async def revoke(request: Request, award_id: str) -> Response:
    return await post_form(
        request, nav.OFFICIALS, lambda session, form: request.app.state.apis.call(
            "awards", "POST", f"/v1/awards/{award_id}/revoke", token=token(session),
            json={"reason": form.get("reason", ""), "revoked_on": ward_today().isoformat()}),
        explain=lambda exc: _explain(exc, gettext_for(request)),
        again=lambda sent: _festival_page(request, sent.session, _year_of(sent.form), status=sent.status,
                                          error=sent.error),
        done=lambda sent: f"/festival?year={_year_of(sent.form)}")
