"""What each role sees of an incident or a warning (pure functions over rows). Only the police of the ward ever
get a reporter's or a warned person's identity decrypted, and a reporter's only through ``reporter_identity`` (the
audited disclosure): no read of an incident carries it."""

from __future__ import annotations

import json
from typing import Any

from services.incidents import geo
from services.incidents.domain import OPEN_STATES, is_staff, sees_reporter
from services.incidents.repository import identity_context, warning_context
from shared.actor import Principal
from shared.crypto import PersonalDataProtector


def summary(inc: dict[str, Any]) -> dict[str, Any]:
    return {
        "incident_id": inc["incident_id"], "group_id": inc["group_id"], "category": inc["category"],
        "is_crime_tip": inc["is_crime_tip"], "state": inc["state"], "outcome": inc["outcome"],
        "received_at": inc["received_at"], "deadline_on": inc["deadline_on"],
        "overdue": inc["overdue_flagged_on"] is not None and inc["overdue_flagged_on"] == inc["deadline_on"]
        and inc["state"] in OPEN_STATES,
        "supporters": inc.get("supporters") or 0,
    }


def summary_for(viewer: Principal | None, inc: dict[str, Any]) -> dict[str, Any]:
    """``summary`` with the incident's place at the viewer's precision (``geo``)."""
    return summary(inc) | {"place": geo.place(inc, geo.precision_for(viewer))}


def detail(actor: Principal, inc: dict[str, Any], footage: list[dict[str, Any]]) -> dict[str, Any]:
    """One incident the caller may see (``domain.ensure_may_see``): never the reporter's identity, for anyone (the
    police ask for it through the audited disclosure, ``reporter_identity``); staff get the pseudonym."""
    body = summary(inc) | {
        "place": {"address": inc["address"], **geo.place(inc, geo.precision_for(actor))},
        "merged_into": inc.get("merged_into"),
        "happened_at": inc["happened_at"], "description": inc["description"], "evidence": inc["evidence"],
        "footage": footage,
        "assignee": {"kind": inc["assignee_kind"], "team_id": inc["assignee_team_id"],
                     "officer": inc["assignee_officer"]},
        "resolution_note": inc["resolution_note"], "mediation_case_id": inc["mediation_case_id"],
        "mediation_note": inc["mediation_note"], "anonymous": inc["anonymous"],
    }
    if is_staff(actor):
        body["reporter_ref"] = inc["reporter_ref"]
    # Assisted intake (issue 17): whether a team leader entered it, to those who may see the reporter (the police of
    # the ward) and to the reporter themselves (a non-staff caller reaches a detail only as its reporter); the
    # police also see which account entered it.
    if sees_reporter(actor, inc["ward_id"]) or not is_staff(actor):
        body["assisted"] = bool(inc.get("assisted"))
    if sees_reporter(actor, inc["ward_id"]):
        body["entered_by"] = inc.get("entered_by")
    return body


def reporter_identity(pii: PersonalDataProtector, inc: dict[str, Any]) -> dict[str, Any] | None:
    """The identified reporter of an incident, decrypted (None for an anonymous tip). Only the audited disclosure
    (``handlers.handle_disclose_reporter``, police of the ward) calls this."""
    if inc["anonymous"]:
        return None
    return json.loads(pii.decrypt(inc["reporter_identity"], identity_context(inc["incident_id"])))


def warning(actor: Principal, pii: PersonalDataProtector, w: dict[str, Any]) -> dict[str, Any]:
    item = {k: w[k] for k in ("warning_id", "group_id", "kind", "reason", "issued_on", "incident_id")}
    if sees_reporter(actor, w["ward_id"]):
        item["person"] = json.loads(pii.decrypt(w["person"], warning_context(w["warning_id"])))
    return item


def camera(c: dict[str, Any]) -> dict[str, Any]:
    return {"camera_id": c["facility_id"], "group_id": c["group_id"], "name": c["name"], "location": c["location"],
            "decommissioned_on": c["decommissioned_on"]}
