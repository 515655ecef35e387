"""The police's pages (công an phường): tips and incidents with their lifecycle and deadlines, the reporter's identity
(only when the officer asks: every disclosure is audited by incidents), warnings, and the monthly briefing ready to
print. Everything through incidents' (and, for group names, registry's) HTTP API with the officer's token."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages
from services.console.apis import ApiProblem
from services.console.messages import _
from services.console.nav import POLICE
from services.console.pages import Refused, gettext_for, person, post_form, render, submit, token
from services.console.pages_evidence import EVIDENCE_ACCEPT, incident_evidence
from services.console.sessions import Session
from shared.clock import WARD_TZ, ward_today

router = APIRouter()

PAGE_SIZE = 50

#: The lifecycle steps the page offers in each state (incidents' domain.TRANSITIONS decides; it refuses the rest).
STEPS: dict[str, tuple[str, ...]] = {
    "received": ("triage",),
    "triaged": ("triage", "assign", "refer-to-mediation"),
    "assigned": ("assign", "start", "refer-to-mediation"),
    "in_progress": ("resolve", "footage", "assign", "refer-to-mediation"),
    "resolved": ("close", "reopen"),
    "closed": ("reopen",),
}
OPEN = frozenset({"received", "triaged", "assigned", "in_progress"})


#: A step the rules do not allow now (a problem of type ``rule-violated``): more than "not valid".
RULE_REFUSED = _("The rules do not allow this now (for example, this step in the current state, or a second "
                 "extension). Nothing was changed.")



def explain(exc: ApiProblem, request: Request) -> str:
    """messages.explain, with the rule refusals said as such."""
    gettext = gettext_for(request)
    return gettext(RULE_REFUSED) if exc.problem_type == "rule-violated" else messages.explain(exc, gettext)


def _text(form: dict[str, str], key: str) -> str | None:
    return form.get(key, "").strip() or None


def _month(value: str | None) -> str:
    try:
        return date.fromisoformat(f"{value}-01").strftime("%Y-%m")
    except (TypeError, ValueError):
        return ward_today().strftime("%Y-%m")


async def _groups(request: Request, token: str) -> list[dict[str, Any]]:
    """The ward's residential groups (registry): names for the forms; empty when registry does not answer."""
    try:
        return await request.app.state.apis.list_all("registry", "/v1/groups", token)
    except ApiProblem:
        return []


# -- the list -------------------------------------------------------------------------------------------------------
@router.get("/police/incidents", include_in_schema=False)
async def incidents(request: Request, state: str = "", cursor: str = "") -> Response:
    session, refused = await person(request, POLICE)
    if refused:
        return refused
    assert session is not None
    params: dict[str, Any] = {"limit": PAGE_SIZE, **({"state": state} if state else {}),
                              **({"cursor": cursor} if cursor else {})}
    try:
        page = await request.app.state.apis.call("incidents", "GET", "/v1/incidents",
                                                 token=session.data["access_token"], params=params)
    except ApiProblem as exc:
        return render(request, "police/incidents.html", session, status=messages.page_status(exc), items=[], state=state,
                      next_cursor=None, error=explain(exc, request))
    return render(request, "police/incidents.html", session, items=page["items"], state=state,
                  next_cursor=page.get("next_cursor"))


# -- one incident ---------------------------------------------------------------------------------------------------
async def _incident_page(request: Request, session: Session, incident_id: str, *, status: int = 200,
                         error: str | None = None, reporter: dict[str, Any] | None = None,
                         form: dict[str, str] | None = None) -> Response:
    apis, token = request.app.state.apis, session.data["access_token"]
    try:
        incident = await apis.call("incidents", "GET", f"/v1/incidents/{incident_id}", token=token)
        history = await apis.list_all("incidents", f"/v1/incidents/{incident_id}/history", token)
    except ApiProblem as exc:
        return render(request, "error.html", session, status=messages.page_status(exc),
                      error=explain(exc, request))
    # The identity is shown only from a disclosure the officer asked for (audited): incidents' read never carries it.
    steps = list(STEPS.get(incident["state"], ()))
    if incident["category"] != "dispute" and "refer-to-mediation" in steps:
        steps.remove("refer-to-mediation")
    if incident["outcome"] == "referred_to_mediation":  # waiting for the mediation's outcome
        steps = [s for s in steps if s not in ("close", "reopen")]
    if incident["is_crime_tip"] and incident["deadline_on"] and incident["state"] in OPEN:
        steps.append("extend-deadline")
    cameras: list[dict[str, Any]] = []
    if "footage" in steps:
        try:
            cameras = await apis.list_all("incidents", "/v1/cameras", token, params={"in_service": "true"})
        except ApiProblem:
            steps.remove("footage")
    if not cameras:  # the upload form ties a file to a camera (and its campaign) when the officer chooses one
        try:
            cameras = await apis.list_all("incidents", "/v1/cameras", token, params={"in_service": "true"})
        except ApiProblem:
            cameras = []
    # Evidence files (pages_evidence.py): incidents records this list view in each file's chain of custody.
    evidence, evidence_problem = await incident_evidence(request, token, incident_id)
    # An anonymous tip's questions to its tipster and their answers (pages_intake.py, which imports this module)
    from services.console.pages_intake import tip_thread
    tip_messages, tip_messages_problem = await tip_thread(request, token, incident)
    return render(request, "police/incident.html", session, status=status, error=error, incident=incident,
                  tip_messages=tip_messages, tip_messages_problem=tip_messages_problem,
                  history=history, steps=steps, reporter=reporter, cameras=cameras, form=form or {},
                  evidence=evidence, evidence_problem=explain(evidence_problem, request) if evidence_problem else None,
                  evidence_accept=EVIDENCE_ACCEPT)


@router.get("/police/incidents/{incident_id}", include_in_schema=False)
async def incident(request: Request, incident_id: str) -> Response:
    session, refused = await person(request, POLICE)
    if refused:
        return refused
    assert session is not None
    return await _incident_page(request, session, incident_id)


@router.post("/police/incidents/{incident_id}/reporter", include_in_schema=False)
async def show_reporter(request: Request, incident_id: str) -> Response:
    """The officer pressed "show the reporter": incidents discloses it and audits that they did. Shown in this
    answer only (not kept by the console, not in a URL); reloading the page hides it again."""
    sent, refused = await submit(request, POLICE, lambda session, _form: request.app.state.apis.call(
        "incidents", "POST", f"/v1/incidents/{incident_id}/reporter-disclosure", token=token(session)),
        explain=lambda exc: explain(exc, request))
    if refused:
        return refused
    assert sent is not None
    if not sent.ok:
        return await _incident_page(request, sent.session, incident_id, status=sent.status, error=sent.error)
    return await _incident_page(request, sent.session, incident_id, reporter=sent.answer)


def _body(step: str, form: dict[str, str]) -> dict[str, Any]:
    """The body incidents' route of ``step`` takes, from the form (incidents validates it)."""
    note = {"note": _text(form, "note")}
    if step == "triage":
        return {"category": form.get("category") or None, "is_crime_tip": form.get("is_crime_tip") == "yes", **note}
    if step == "assign":
        kind = form.get("kind", "police")
        return {"kind": kind, "team_id": _text(form, "team_id") if kind == "team" else None,
                "officer": _text(form, "officer") if kind == "police" else None, **note}
    if step in ("start", "close"):
        return note
    if step == "resolve":
        return {"outcome": form.get("outcome", ""), "note": form.get("note", "").strip()}
    if step == "reopen":
        return {"reason": form.get("reason", "").strip()}
    if step == "extend-deadline":
        return {"until": _text(form, "until"), "reason": form.get("reason", "").strip()}
    if step == "footage":
        return {"camera_id": form.get("camera_id", ""), "footage_from": _local(form.get("footage_from")),
                "footage_to": _local(form.get("footage_to"))}
    if step == "refer-to-mediation":
        parties = [{"display_name": line.strip()} for line in form.get("parties", "").splitlines() if line.strip()]
        return {"summary": form.get("summary", "").strip(), "parties": parties}
    raise KeyError(step)


def _local(value: str | None) -> str | None:
    """A ``datetime-local`` field, in the ward's time zone."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=WARD_TZ).isoformat()
    except ValueError:
        return value  # incidents answers 422, shown as a sentence


@router.post("/police/incidents/{incident_id}/{step}", include_in_schema=False)
async def incident_step(request: Request, incident_id: str, step: str) -> Response:
    async def call(session: Session, form: dict[str, str]) -> dict[str, Any]:
        if step not in {s for steps in STEPS.values() for s in steps} | {"extend-deadline"}:
            raise Refused(messages.BY_STATUS[404], 404)
        return await request.app.state.apis.call("incidents", "POST", f"/v1/incidents/{incident_id}/{step}",
                                                 token=token(session), json=_body(step, form))

    return await post_form(
        request, POLICE, call, explain=lambda exc: explain(exc, request),
        again=lambda sent: _incident_page(request, sent.session, incident_id, status=sent.status, error=sent.error,
                                          form={**sent.form, "step": step}),
        done=lambda _sent: f"/police/incidents/{incident_id}")


# -- warnings -------------------------------------------------------------------------------------------------------
async def _warnings_page(request: Request, session: Session, month: str, *, status: int = 200,
                         error: str | None = None, form: dict[str, str] | None = None) -> Response:
    token = session.data["access_token"]
    items: list[dict[str, Any]] = []
    try:
        items = await request.app.state.apis.list_all("incidents", "/v1/warnings", token, params={"month": month})
    except ApiProblem as exc:
        error = error or explain(exc, request)
        status = status if status != 200 else messages.page_status(exc)
    groups = await _groups(request, token)
    return render(request, "police/warnings.html", session, status=status, error=error, items=items, month=month,
                  groups=groups, group_names={g["group_id"]: g["name"] for g in groups}, form=form or {},
                  today=ward_today().isoformat())


@router.get("/police/warnings", include_in_schema=False)
async def warnings(request: Request, month: str = "") -> Response:
    session, refused = await person(request, POLICE)
    if refused:
        return refused
    assert session is not None
    return await _warnings_page(request, session, _month(month))


@router.post("/police/warnings", include_in_schema=False)
async def record_warning(request: Request) -> Response:
    async def call(session: Session, form: dict[str, str]) -> dict[str, Any]:
        body = {"group_id": form.get("group_id", ""), "kind": form.get("kind", ""),
                "person": {"full_name": form.get("full_name", "").strip(),
                           "resident_id": _text(form, "resident_id")},
                "reason": form.get("reason", "").strip(), "issued_on": form.get("issued_on", ""),
                "incident_id": _text(form, "incident_id")}
        return await request.app.state.apis.call("incidents", "POST", "/v1/warnings", token=token(session), json=body)

    return await post_form(
        request, POLICE, call, explain=lambda exc: explain(exc, request),
        again=lambda sent: _warnings_page(request, sent.session, _month(sent.form.get("issued_on", "")[:7]),
                                          status=sent.status, error=sent.error, form=sent.form),
        done=lambda sent: f"/police/warnings?month={str(sent.answer['issued_on'])[:7]}")


# -- the monthly briefing (giao ban) ----------------------------------------------------------------------------------
@router.get("/police/briefing", include_in_schema=False)
async def briefing(request: Request, group_id: str = "", month: str = "") -> Response:
    """Choose a group and a month; the briefing (incidents' JSON, through the officer's token) as a page that
    prints on A4 (print CSS: no menu, no forms)."""
    session, refused = await person(request, POLICE)
    if refused:
        return refused
    assert session is not None
    token = session.data["access_token"]
    groups = await _groups(request, token)
    chosen = group_id or (groups[0]["group_id"] if len(groups) == 1 else "")
    month = _month(month)
    report, error, status = None, None, 200
    if chosen:
        try:
            report = await request.app.state.apis.call("incidents", "GET", f"/v1/briefings/{chosen}/{month}",
                                                       token=token)
        except ApiProblem as exc:
            error, status = explain(exc, request), messages.page_status(exc)
    return render(request, "police/briefing.html", session, status=status, error=error, groups=groups,
                  group_id=chosen, month=month, report=report)
