"""The ward official's registry management (issue 16): the ward's teams with their members and compliance, its
residential groups, and the two forms officials use most - form a team, add a member to a team. The registry
decides who may (a ward official of the ward); a refusal is shown as a sentence with what was typed."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages, nav
from services.console.apis import ApiProblem
from services.console.pages import gettext_for, person, post_form, render, token
from services.console.sessions import Session

router = APIRouter()
MANAGERS = frozenset({"ward_official"})


async def _page(request: Request, session: Session, *, status: int = 200, error: str = "", form: str = "",
                typed: dict[str, str] | None = None) -> Response:
    apis, token = request.app.state.apis, session.data["access_token"]
    gettext = gettext_for(request)
    results = await asyncio.gather(
        apis.list_all("registry", "/v1/teams", token), apis.list_all("registry", "/v1/groups", token),
        apis.list_all("registry", "/v1/residents", token), return_exceptions=True)
    problems: dict[str, str | None] = {}
    board: dict[str, dict[str, Any]] = {}
    for key, result in zip(("teams", "groups", "residents"), results, strict=True):
        if isinstance(result, ApiProblem):
            problems[key], board[key] = messages.explain(result, gettext), {"items": []}
        elif isinstance(result, BaseException):
            raise result
        else:
            problems[key], board[key] = None, {"items": result}
    board["teams"]["items"].sort(key=lambda t: (t["compliant"], t["kind"], t["name"]))
    board["residents"]["items"].sort(key=lambda r: r["full_name"])
    groups = {g["group_id"]: g["name"] for g in board["groups"]["items"]}
    return render(request, "registry/teams.html", session, status=status, error=error, board=board,
                  problems=problems, group_names=groups, manages=bool(MANAGERS & set(session.data["roles"])),
                  form=form, typed=typed or {})


@router.get("/registry", include_in_schema=False)
async def registry(request: Request) -> Response:
    session, refused = await person(request, nav.OFFICIALS)
    if refused:
        return refused
    assert session is not None
    return await _page(request, session)


async def _post(request: Request, form_name: str, call) -> Response:
    return await post_form(
        request, MANAGERS, lambda session, form: call(request.app.state.apis, token(session), form),
        again=lambda sent: _page(request, sent.session, status=sent.status, error=sent.error, form=form_name,
                                 typed=sent.form),
        done=lambda _sent: "/registry")


@router.post("/registry/teams", include_in_schema=False)
async def form_team(request: Request) -> Response:
    async def call(apis, token, form: dict[str, str]) -> dict:
        return await apis.call("registry", "POST", "/v1/teams", token=token, json={
            "group_id": form.get("group_id", ""), "kind": form.get("kind", ""), "name": form.get("name", ""),
            "formed_on": form.get("formed_on", ""), "formation_act": form.get("formation_act", "")})

    return await _post(request, "team", call)


@router.post("/registry/members", include_in_schema=False)
async def add_member(request: Request) -> Response:
    async def call(apis, token, form: dict[str, str]) -> dict:
        return await apis.call("registry", "POST", f"/v1/teams/{form.get('team_id', '')}/members", token=token, json={
            "resident_id": form.get("resident_id", ""), "role": form.get("role", "member"),
            "appointed_on": form.get("appointed_on", ""),
            "appointment_act": form.get("appointment_act", "").strip() or None})

    return await _post(request, "member", call)
