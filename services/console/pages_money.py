"""The collector's and the treasurer's pages (issue 16): campaigns with their money, the contributions recorded with
their receipt numbers, reversals, and expenses with the second approval (four eyes).

Donations decides who may do what (services/donations/domain.py): members and leaders of a campaign's
mobilisation teams record what they collected; ward officials reverse a contribution and approve an expense;
officials and team leaders propose an expense; another official than its proposer approves it. A form is shown to
the roles the API accepts it from, and a refusal is shown as a sentence with what the person typed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import messages, nav
from services.console.apis import ApiProblem
from services.console.messages import _
from services.console.pages import Refused, gettext_for, person, post_form, render, token
from services.console.sessions import Session

router = APIRouter()

COLLECTORS = frozenset({"team_member", "team_leader"})
#: Who proposes an expense (donations: ward officials and team leaders).
PROPOSERS = frozenset({"ward_official", "team_leader"})
#: Who reverses a contribution and approves an expense (donations: ward officials).
TREASURERS = frozenset({"ward_official"})

AMOUNT_NEEDED = _("Write the amount in whole đồng, with digits only (for example 2000000).")
RECEIPT_USED = _("This receipt number is already used in this campaign. Check the receipt book.")
FOUR_EYES = _("An expense is approved by another official than the one who proposed it.")
REFUSED_BY_RULE = _("The campaign's rules refuse this: check the dates, the amount and the balance, and try again.")


def amount(text: str) -> int | None:
    """A whole number of đồng as people write it: ``2.000.000``, ``2 000 000``, ``2000000 ₫``; None if not one."""
    digits = "".join(ch for ch in text if ch not in " .,\u00a0₫đ")
    return int(digits) if digits.isdigit() and len(digits) <= 15 else None


def _explain(exc: ApiProblem, gettext, *, on: str = "") -> str:
    if on == "contribution" and exc.status == 409:
        return gettext(RECEIPT_USED)
    if on == "approve" and exc.status == 403:
        return gettext(FOUR_EYES)
    if exc.problem_type == "rule-violated":
        return gettext(REFUSED_BY_RULE)
    return messages.explain(exc, gettext)


async def _maybe(work) -> tuple[Any, ApiProblem | None]:
    try:
        return await work, None
    except ApiProblem as exc:
        return None, exc


@router.get("/campaigns", include_in_schema=False)
async def campaigns(request: Request) -> Response:
    session, refused = await person(request, nav.MONEY)
    if refused:
        return refused
    assert session is not None
    apis, token = request.app.state.apis, session.data["access_token"]
    try:
        listed = await apis.list_all("donations", "/v1/campaigns", token)
        items = list(await asyncio.gather(*(apis.call("donations", "GET", f"/v1/campaigns/{c['campaign_id']}",
                                                      token=token) for c in listed)))
    except ApiProblem as exc:
        return render(request, "money/campaigns.html", session, status=503 if exc.status in (0, 503) else 200,
                      items=[], error=messages.explain(exc, gettext_for(request)))
    return render(request, "money/campaigns.html", session, items=items)


async def _detail(request: Request, session: Session, campaign_id: str, *, status: int = 200, error: str = "",
                  typed: dict[str, str] | None = None, form: str = "") -> Response:
    apis, token = request.app.state.apis, session.data["access_token"]
    roles = set(session.data.get("roles", ()))
    try:
        campaign = await apis.call("donations", "GET", f"/v1/campaigns/{campaign_id}", token=token)
    except ApiProblem as exc:
        return render(request, "error.html", session, status=exc.status if exc.status in (403, 404) else 503,
                      error=messages.explain(exc, gettext_for(request)))
    reads_ledger = bool(roles & (nav.OFFICIALS | COLLECTORS))
    empty: list[dict[str, Any]] = []

    async def nothing() -> list[dict[str, Any]]:
        return empty

    (contributions, c_problem), (expenses, x_problem), (teams, _t) = await asyncio.gather(
        _maybe(apis.list_all("donations", f"/v1/campaigns/{campaign_id}/contributions", token)
               if reads_ledger else nothing()),
        _maybe(apis.list_all("donations", f"/v1/campaigns/{campaign_id}/expenses", token)),
        _maybe(apis.list_all("donations", "/v1/teams", token, params={"kind": "mobilisation"})
               if reads_ledger else nothing()))
    gettext = gettext_for(request)
    names = {t["team_id"]: t["name"] for t in teams or []}
    mine = set(session.data.get("team_ids") or [])
    # The person's own teams first: donations accepts an entry for a team they are a current member of.
    team_choices = sorted(campaign["team_ids"], key=lambda t: (t not in mine, names.get(t) or t))
    return render(
        request, "money/campaign.html", session, status=status, error=error, campaign=campaign,
        contributions=contributions or [], expenses=expenses or [], team_names=names, team_choices=team_choices,
        problems={"contributions": c_problem and messages.explain(c_problem, gettext),
                  "expenses": x_problem and messages.explain(x_problem, gettext)},
        may_collect=bool(roles & COLLECTORS) and campaign["status"] == "open",
        may_propose=bool(roles & PROPOSERS), may_approve=bool(roles & TREASURERS),
        may_reverse=bool(roles & TREASURERS), reads_ledger=reads_ledger, me=session.data.get("account_id"),
        typed=typed or {}, form=form)


@router.get("/campaigns/{campaign_id}", include_in_schema=False)
async def campaign_page(request: Request, campaign_id: str) -> Response:
    session, refused = await person(request, nav.MONEY)
    if refused:
        return refused
    assert session is not None
    return await _detail(request, session, campaign_id)


async def _post(request: Request, campaign_id: str, roles: frozenset[str], form_name: str, build, send):
    """The common path of the campaign page's forms (pages.post_form): signed in with one of ``roles``, the CSRF
    token, the body ``build(form)`` makes (or a sentence when what was typed is not one), ``send(apis, token,
    body)``; then back to the campaign page (303), or the page again with the sentence and what was typed."""
    async def call(session: Session, form: dict[str, str]) -> dict[str, Any]:
        body = build(form)
        if isinstance(body, str):
            raise Refused(body)
        await send(request.app.state.apis, token(session), body)
        return {}

    return await post_form(
        request, roles, call, explain=lambda exc: _explain(exc, gettext_for(request), on=form_name),
        again=lambda sent: _detail(request, sent.session, campaign_id, status=sent.status, error=sent.error,
                                   typed=sent.form, form=form_name),
        done=lambda _sent: f"/campaigns/{campaign_id}")


def _optional(form: dict[str, str], key: str) -> str | None:
    return form.get(key, "").strip() or None


@router.post("/campaigns/{campaign_id}/contributions", include_in_schema=False)
async def record_contribution(request: Request, campaign_id: str) -> Response:
    def build(form: dict[str, str]) -> dict[str, Any] | str:
        channel = form.get("channel", "cash")
        body: dict[str, Any] = {
            "team_id": form.get("team_id", ""), "channel": channel, "receipt_number": form.get("receipt_number", ""),
            "donor_kind": form.get("donor_kind", "household"), "donor_ref": _optional(form, "donor_ref"),
            "public_name": _optional(form, "public_name"), "received_on": _optional(form, "received_on")}
        if channel == "in_kind":
            body["in_kind_description"] = _optional(form, "in_kind_description")
        else:
            value = amount(form.get("amount", ""))
            if value is None:
                return AMOUNT_NEEDED
            body["amount_vnd"] = value
        return body

    async def send(apis, token, body) -> None:
        await apis.call("donations", "POST", f"/v1/campaigns/{campaign_id}/contributions", token=token, json=body)

    return await _post(request, campaign_id, COLLECTORS, "contribution", build, send)


@router.post("/campaigns/{campaign_id}/contributions/{contribution_id}/reversal", include_in_schema=False)
async def reverse_contribution(request: Request, campaign_id: str, contribution_id: str) -> Response:
    def build(form: dict[str, str]) -> dict[str, Any] | str:
        body: dict[str, Any] = {"kind": form.get("kind", "void"), "reason": form.get("reason", "")}
        if form.get("amount", "").strip():
            value = amount(form["amount"])
            if value is None:
                return AMOUNT_NEEDED
            body["amount_vnd"] = value
        return body

    async def send(apis, token, body) -> None:
        await apis.call("donations", "POST", f"/v1/contributions/{contribution_id}/reversals", token=token,
                        json=body)

    return await _post(request, campaign_id, TREASURERS, "reversal", build, send)


@router.post("/campaigns/{campaign_id}/expenses", include_in_schema=False)
async def propose_expense(request: Request, campaign_id: str) -> Response:
    def build(form: dict[str, str]) -> dict[str, Any] | str:
        value = amount(form.get("amount", ""))
        if value is None:
            return AMOUNT_NEEDED
        return {"item": form.get("item", ""), "amount_vnd": value, "invoice_ref": form.get("invoice_ref", ""),
                "paid_on": form.get("paid_on", "")}

    async def send(apis, token, body) -> None:
        await apis.call("donations", "POST", f"/v1/campaigns/{campaign_id}/expenses", token=token, json=body)

    return await _post(request, campaign_id, PROPOSERS, "expense", build, send)


@router.post("/campaigns/{campaign_id}/expenses/{expense_id}/approve", include_in_schema=False)
async def approve_expense(request: Request, campaign_id: str, expense_id: str) -> Response:
    def build(form: dict[str, str]) -> dict[str, Any]:
        return {"approval_ref": form.get("approval_ref", "")}

    async def send(apis, token, body) -> None:
        await apis.call("donations", "POST", f"/v1/expenses/{expense_id}/approve", token=token, json=body)

    return await _post(request, campaign_id, TREASURERS, "approve", build, send)
