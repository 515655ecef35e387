"""The group leader's and the resident's pages (issue 16).

* A group leader (tổ trưởng) is a ``team_leader`` account: its ``team_ids`` name the teams it leads, and the
  residential groups of those teams are the groups it works in (the registry resolves the same binding and lets
  a team leader list and register in those groups only). Pages: the group, its households (register one, and
  residents in it), its residence declarations (declare an absence or a temporary residence for a resident), its
  boarding houses and their stay notices (lists: boarding houses are registered by ward officials or police, stay
  notices filed by the landlord).
* A resident is a ``resident`` account bound to its ``resident_id`` and ``household_id``: their household, a
  declaration of their own absence or temporary residence, their reports to the police (identified; the reporter's
  identity is shown to the police only) and the link to the anonymous tip page.

The binding (teams, resident, household) is the account's, read from identity's ``GET /v1/me`` with the person's
token; every list and form is a call to registry or incidents with the same token, which decide what it may do.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import labels, messages, nav
from services.console.apis import ApiProblem
from services.console.pages import gettext_for, person, post_form, posted, redirect, render
from services.console.pages_map import group_areas, with_tiles
from services.console.pages_public import BAD_PLACE, nearby, point
from services.console.sessions import Session

router = APIRouter()


def _token(session: Session) -> str:
    return session.data["access_token"]


async def _me(request: Request, session: Session) -> dict[str, Any]:
    return await request.app.state.apis.call("identity", "GET", "/v1/me", token=_token(session))


def _explain(request: Request, exc: ApiProblem) -> str:
    return messages.explain(exc, gettext_for(request))



def _clean(form: dict[str, str], *names: str) -> dict[str, Any]:
    """The named fields, trimmed; empty ones left out (the service says what is missing)."""
    return {n: form[n].strip() for n in names if form.get(n, "").strip()}


# -- the group leader ---------------------------------------------------------------------------------------------
async def _groups(request: Request, session: Session) -> list[dict[str, Any]]:
    """The groups of the leader's teams (registry: each team by id, then its group with the household count)."""
    apis, token = request.app.state.apis, _token(session)
    me = await _me(request, session)
    groups: dict[str, dict[str, Any]] = {}
    for team_id in me.get("team_ids", []):
        try:
            team = await apis.call("registry", "GET", f"/v1/teams/{team_id}", token=token)
        except ApiProblem as exc:
            if exc.status == 404:  # a team the registry no longer knows: nothing to show for it
                continue
            raise
        if team["group_id"] not in groups:
            groups[team["group_id"]] = await apis.call("registry", "GET", f"/v1/groups/{team['group_id']}",
                                                       token=token)
    return sorted(groups.values(), key=lambda g: g["name"])


async def _leader(request: Request) -> tuple[Session | None, Response | None, dict[str, Any]]:
    """The leader's session and their groups, the chosen one (``?group=``, else the first) under ``group``."""
    session, refused = await person(request, nav.LEADERS)
    if refused:
        return None, refused, {}
    assert session is not None
    try:
        groups = await _groups(request, session)
    except ApiProblem as exc:
        return session, render(request, "leader/group.html", session, status=messages.page_status(exc), groups=[], group=None,
                               error=_explain(request, exc)), {}
    wanted = request.query_params.get("group")
    group = next((g for g in groups if g["group_id"] == wanted), groups[0] if groups else None)
    if group is None:
        return session, render(request, "leader/group.html", session, groups=[], group=None), {}
    return session, None, {"groups": groups, "group": group}


def _q(group: dict[str, Any]) -> str:
    return f"?group={group['group_id']}"


@router.get("/my-group", include_in_schema=False)
async def group_page(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    return render(request, "leader/group.html", session, **ctx)


async def _group_list(request: Request, session: Session, path: str, group_id: str,
                      **params: Any) -> list[dict[str, Any]]:
    return await request.app.state.apis.list_all("registry", path, _token(session),
                                                 params={"group_id": group_id, **params})


async def _households(request: Request, session: Session, ctx: dict[str, Any], *, status: int = 200,
                      error: str | None = None, form: dict[str, str] | None = None) -> Response:
    try:
        households = await _group_list(request, session, "/v1/households", ctx["group"]["group_id"])
    except ApiProblem as exc:
        households, error, status = [], error or _explain(request, exc), messages.page_status(exc)
    return render(request, "leader/households.html", session, status=status, error=error, households=households,
                  form=form or {}, **ctx)


@router.get("/group/households", include_in_schema=False)
async def households_page(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    assert session is not None
    return await _households(request, session, ctx)


@router.post("/group/households", include_in_schema=False)
async def register_household(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    return await post_form(
        request, nav.LEADERS, lambda s, form: request.app.state.apis.call(
            "registry", "POST", "/v1/households", token=_token(s),
            json={"group_id": ctx["group"]["group_id"], **_clean(form, "address")}),
        again=lambda sent: _households(request, sent.session, ctx, status=sent.status, form=sent.form,
                                       error=sent.error),
        done=lambda sent: f"/group/households/{sent.answer['household_id']}{_q(ctx['group'])}")


async def _household(request: Request, session: Session, ctx: dict[str, Any], household_id: str, *,
                     status: int = 200, error: str | None = None, form: dict[str, str] | None = None) -> Response:
    try:
        household = await request.app.state.apis.call("registry", "GET", f"/v1/households/{household_id}",
                                                      token=_token(session))
    except ApiProblem as exc:
        return render(request, "leader/household.html", session, status=messages.page_status(exc), household=None,
                      error=_explain(request, exc), form={}, **ctx)
    return render(request, "leader/household.html", session, status=status, error=error, household=household,
                  form=form or {}, **ctx)


@router.get("/group/households/{household_id}", include_in_schema=False)
async def household_page(household_id: str, request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    assert session is not None
    return await _household(request, session, ctx, household_id)


@router.post("/group/households/{household_id}", include_in_schema=False)
async def register_resident(household_id: str, request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    return await post_form(
        request, nav.LEADERS, lambda s, form: request.app.state.apis.call(
            "registry", "POST", "/v1/residents", token=_token(s),
            json={"household_id": household_id, **_clean(form, "full_name", "sex", "birth_date", "phone")}),
        again=lambda sent: _household(request, sent.session, ctx, household_id, status=sent.status,
                                      form=sent.form, error=sent.error),
        done=lambda _sent: f"/group/households/{household_id}{_q(ctx['group'])}")


async def _declarations(request: Request, session: Session, ctx: dict[str, Any], *, status: int = 200,
                        error: str | None = None, form: dict[str, str] | None = None) -> Response:
    gid = ctx["group"]["group_id"]
    try:
        declarations = await _group_list(request, session, "/v1/declarations", gid)
        residents = await _group_list(request, session, "/v1/residents", gid)
    except ApiProblem as exc:
        declarations, residents, error, status = [], [], error or _explain(request, exc), messages.page_status(exc)
    names = {r["resident_id"]: r["full_name"] for r in residents}
    return render(request, "leader/declarations.html", session, status=status, error=error,
                  declarations=declarations, residents=residents, names=names, form=form or {}, **ctx)


@router.get("/group/declarations", include_in_schema=False)
async def declarations_page(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    assert session is not None
    return await _declarations(request, session, ctx)


def _declaration(form: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The registry path and body of a declaration form: an absence, or a temporary residence."""
    if form.get("kind") == "temporary_residence":
        return "/v1/temporary-residences", _clean(form, "resident_id", "valid_from", "valid_until")
    body = _clean(form, "resident_id", "case", "destination")
    body.update({k: v for k, v in (("absent_from", form.get("valid_from", "").strip()),
                                   ("absent_until", form.get("valid_until", "").strip())) if v})
    return "/v1/absences", body


async def _declare(request: Request, session: Session, form: dict[str, str]) -> dict[str, Any]:
    path, body = _declaration(form)
    return await request.app.state.apis.call("registry", "POST", path, token=_token(session), json=body)


@router.post("/group/declarations", include_in_schema=False)
async def declare_for_resident(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    return await post_form(
        request, nav.LEADERS, lambda s, form: _declare(request, s, form),
        again=lambda sent: _declarations(request, sent.session, ctx, status=sent.status, form=sent.form,
                                         error=sent.error),
        done=lambda _sent: f"/group/declarations{_q(ctx['group'])}")


@router.get("/group/boarding-houses", include_in_schema=False)
async def boarding_houses_page(request: Request) -> Response:
    session, refused, ctx = await _leader(request)
    if refused:
        return refused
    assert session is not None
    gid, error, status = ctx["group"]["group_id"], None, 200
    try:
        houses = await _group_list(request, session, "/v1/boarding-houses", gid)
        notices = await _group_list(request, session, "/v1/stay-notices", gid)
    except ApiProblem as exc:
        houses, notices, error, status = [], [], _explain(request, exc), messages.page_status(exc)
    house_names = {h["boarding_house_id"]: h["name"] for h in houses}
    return render(request, "leader/boarding_houses.html", session, status=status, error=error, houses=houses,
                  notices=notices, house_names=house_names, **ctx)


# -- the resident ---------------------------------------------------------------------------------------------
async def _resident(request: Request) -> tuple[Session | None, Response | None, dict[str, Any]]:
    """The resident's session, their account's binding and their household (registry, with its residents)."""
    session, refused = await person(request, nav.RESIDENTS)
    if refused:
        return None, refused, {}
    assert session is not None
    try:
        me = await _me(request, session)
        household = await request.app.state.apis.call("registry", "GET", f"/v1/households/{me['household_id']}",
                                                      token=_token(session))
    except ApiProblem as exc:
        return session, render(request, "resident/home.html", session, status=messages.page_status(exc), household=None,
                               me={}, error=_explain(request, exc)), {}
    return session, None, {"me": me, "household": household}


@router.get("/my-household", include_in_schema=False)
async def home_page(request: Request) -> Response:
    session, refused, ctx = await _resident(request)
    return refused or render(request, "resident/home.html", session, **ctx)


def _declare_page(request: Request, session: Session, ctx: dict[str, Any], *, status: int = 200,
                  error: str | None = None, form: dict[str, str] | None = None, done: str | None = None) -> Response:
    return render(request, "resident/declare.html", session, status=status, error=error, form=form or {},
                  done=done, **ctx)


@router.get("/my-declaration", include_in_schema=False)
async def declare_page(request: Request) -> Response:
    session, refused, ctx = await _resident(request)
    if refused:
        return refused
    assert session is not None
    return _declare_page(request, session, ctx, done=request.query_params.get("done"))


@router.post("/my-declaration", include_in_schema=False)
async def declare(request: Request) -> Response:
    session, refused, ctx = await _resident(request)
    if refused:
        return refused
    return await post_form(
        request, nav.RESIDENTS, lambda s, form: _declare(request, s, {**form, "resident_id": ctx["me"]["resident_id"]}),
        again=lambda sent: _declare_page(request, sent.session, ctx, status=sent.status, form=sent.form,
                                         error=sent.error),
        done=lambda sent: f"/my-declaration?done={sent.answer['kind']}")


async def _reports(request: Request, session: Session, ctx: dict[str, Any], *, status: int = 200,
                   error: str | None = None, form: dict[str, str] | None = None,
                   duplicates: list[dict[str, Any]] | None = None) -> Response:
    try:
        reports = await request.app.state.apis.list_all("incidents", "/v1/incidents", _token(session))
    except ApiProblem as exc:
        reports, error, status = [], error or _explain(request, exc), messages.page_status(exc)
    # the group areas, drawn under the point picker (static/map.js); none when registry does not answer
    areas, _problem = await group_areas(request, _token(session))
    return with_tiles(render(request, "resident/reports.html", session, status=status, error=error, reports=reports,
                             form=form or {}, categories=labels.INCIDENT_CATEGORIES, duplicates=duplicates or [],
                             areas=areas, supported=request.query_params.get("supported") == "1", **ctx), request)


@router.get("/my-reports", include_in_schema=False)
async def reports_page(request: Request) -> Response:
    session, refused, ctx = await _resident(request)
    if refused:
        return refused
    assert session is not None
    return await _reports(request, session, ctx)


@router.post("/my-reports", include_in_schema=False)
async def file_report(request: Request) -> Response:
    _session, form, ok = await posted(request)
    session, refused, ctx = await _resident(request)
    if refused:
        return refused
    assert session is not None
    if not ok:
        return await _reports(request, session, ctx, status=403, form=form,
                              error=gettext_for(request)(messages.FORM_EXPIRED))
    reporter = {"full_name": session.data.get("name") or ctx["me"].get("display_name", ""),
                **_clean(form, "phone")}
    try:
        at = point(form)
    except ValueError:
        return await _reports(request, session, ctx, status=422, form=form,
                              error=gettext_for(request)(BAD_PLACE))
    if at and form.get("new") != "yes":  # offered first: the same thing reported near here in the last days
        duplicates = await nearby(request, form.get("category", ""), at, token=_token(session))
        if duplicates:
            return await _reports(request, session, ctx, form=form, duplicates=duplicates)
    body = {"category": form.get("category", ""), "description": form.get("description", "").strip(),
            "place": {"group_id": ctx["household"]["group_id"], **_clean(form, "address"),
                      **({"latitude": at[0], "longitude": at[1]} if at else {})},
            "anonymous": False, "reporter": reporter}
    try:
        await request.app.state.apis.call("incidents", "POST", "/v1/incidents", token=_token(session), json=body)
    except ApiProblem as exc:
        return await _reports(request, session, ctx, status=messages.page_status(exc), form=form, error=_explain(request, exc))
    return redirect("/my-reports", session)


@router.post("/my-reports/me-too/{incident_id}", include_in_schema=False)
async def me_too(request: Request, incident_id: str) -> Response:
    """"Me too" on a report offered as a duplicate: incidents counts the resident once (by their pseudonym)."""
    session, refused, ctx = await _resident(request)
    if refused:
        return refused
    return await post_form(
        request, nav.RESIDENTS, lambda s, _form: request.app.state.apis.call(
            "incidents", "POST", f"/v1/incidents/{quote(incident_id, safe='')}/supporters", token=_token(s)),
        again=lambda sent: _reports(request, sent.session, ctx, status=sent.status, error=sent.error),
        done=lambda _sent: "/my-reports?supported=1")
