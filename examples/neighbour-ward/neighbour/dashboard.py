"""The neighbour's dashboard: a pure fold of public CloudEvents into a small summary, and its text form.

Only the public event types of the feed's contract are read (``GET /asyncapi/public.yaml`` on the feed, or
``/schemas/<type>.json``); any other type is counted and otherwise ignored, so a newer feed never breaks it.
"""

from __future__ import annotations

import copy
from typing import Any

INCIDENT_RESOLVED = "public.incidents.incident.resolved.v1"
CASE_CLOSED = "public.mediation.case.closed.v1"
CAMPAIGN_OPENED = "public.donations.campaign.opened.v1"
TARGET_REACHED = "public.donations.campaign.target_reached.v1"
EXPENSE_RECORDED = "public.donations.expense.recorded.v1"
CAMPAIGN_CLOSED = "public.donations.campaign.closed.v1"
AWARD_GRANTED = "public.awards.award.granted.v1"
AWARD_REVOKED = "public.awards.award.revoked.v1"


def empty() -> dict[str, Any]:
    return {
        "events": 0,
        "by_ward": {},
        "by_type": {},
        "incidents_resolved": {},
        "resolved_incidents": {},
        "mediations": {},
        "campaigns": {},
        "awards": {"granted": 0, "revoked": 0},
    }


def _amount(data: dict[str, Any], *names: str) -> int:
    for name in names:
        value = data.get(name)
        if isinstance(value, int):
            return value
    return 0


def fold(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The dashboard after one more event (a structured CloudEvent as the feed serves it). Returns a new dict.

    Applying the same event twice would count it twice: deduplication by the event id is the store's job."""
    state = copy.deepcopy(state)
    kind = event.get("type", "")
    data = event.get("data") or {}
    state["events"] += 1
    ward = event.get("wardid") or data.get("ward_id") or "?"
    state["by_ward"][ward] = state["by_ward"].get(ward, 0) + 1
    state["by_type"][kind] = state["by_type"].get(kind, 0) + 1
    if kind == INCIDENT_RESOLVED:
        # One incident can be resolved more than once (a dispute referred to mediation, then mediated; an incident
        # reopened and resolved again): count incidents, not resolutions, and keep each one's latest outcome.
        incident = str(data.get("incident_id") or event.get("subject") or event.get("id"))
        resolved = state.setdefault("resolved_incidents", {})
        if incident not in resolved:
            category = data.get("category", "other")
            state["incidents_resolved"][category] = state["incidents_resolved"].get(category, 0) + 1
        resolved[incident] = data.get("outcome", "unknown")
    elif kind == CASE_CLOSED:
        outcome = data.get("outcome", "unknown")
        state["mediations"][outcome] = state["mediations"].get(outcome, 0) + 1
    elif kind in (CAMPAIGN_OPENED, TARGET_REACHED, EXPENSE_RECORDED, CAMPAIGN_CLOSED):
        _campaign(state["campaigns"], kind, data)
    elif kind == AWARD_GRANTED:
        state["awards"]["granted"] += 1
    elif kind == AWARD_REVOKED:
        state["awards"]["revoked"] += 1
    return state


def _campaign(campaigns: dict[str, dict[str, Any]], kind: str, data: dict[str, Any]) -> None:
    cid = data.get("campaign_id", "?")
    c = campaigns.setdefault(cid, {"name": None, "target_vnd": 0, "raised_vnd": 0, "spent_vnd": 0, "closed": False})
    if kind == CAMPAIGN_OPENED:
        c["name"] = data.get("name")
        c["target_vnd"] = _amount(data, "target_vnd")
    elif kind == TARGET_REACHED:
        c["raised_vnd"] = max(c["raised_vnd"], _amount(data, "raised_vnd"))
    elif kind == EXPENSE_RECORDED and not c["closed"]:
        c["spent_vnd"] += _amount(data, "amount_vnd")
    elif kind == CAMPAIGN_CLOSED:
        # The closing figures are the campaign's own account: they replace what was summed along the way.
        c["raised_vnd"] = _amount(data, "raised_vnd")
        c["spent_vnd"] = _amount(data, "spent_vnd")
        c["closed"] = True


def totals(state: dict[str, Any]) -> dict[str, Any]:
    """The headline figures: money raised and spent over every campaign, awards in force."""
    campaigns = state["campaigns"].values()
    raised = sum(c["raised_vnd"] for c in campaigns)
    spent = sum(c["spent_vnd"] for c in campaigns)
    awards = state["awards"]
    return {
        "raised_vnd": raised,
        "spent_vnd": spent,
        "campaigns_closed": sum(1 for c in campaigns if c["closed"]),
        "awards_in_force": awards["granted"] - awards["revoked"],
    }


def render_text(state: dict[str, Any], cursor: str | None = None) -> str:
    t = totals(state)
    lines = [f"Neighbour ward dashboard — {state['events']} public events"
             + (f" (cursor {cursor})" if cursor else "")]
    lines.append("  wards:               " + _pairs(state["by_ward"]))
    lines.append("  incidents resolved:  " + _pairs(state["incidents_resolved"]))
    lines.append("  mediations:          " + _pairs(state["mediations"]))
    lines.append(f"  money raised:        {t['raised_vnd']:,} VND".replace(",", "."))
    lines.append(f"  money spent:         {t['spent_vnd']:,} VND".replace(",", ".")
                 + f" ({t['campaigns_closed']} campaign(s) closed)")
    lines.append(f"  awards:              {state['awards']['granted']} granted, {state['awards']['revoked']} revoked")
    return "\n".join(lines)


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "—"
