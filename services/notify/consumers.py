"""What the notify service consumes: each event type -> its handler in services/notify/handlers.py (projections,
and the facts someone must act on). ``TipAnswered`` is consumed once the incidents contract has it."""

from __future__ import annotations

from typing import Any

from services.notify import handlers as h
from shared.contracts import awards, donations, identity, incidents, mediation, registry

HANDLERS: dict[type, Any] = {
    identity.AccountChanged: h.on_account_changed,
    registry.GroupCreated: h.on_group_created,
    registry.TeamFormed: h.on_team_formed,
    registry.TeamMemberJoined: h.on_member,
    registry.TeamMemberRoleChanged: h.on_member,
    registry.TeamMemberLeft: h.on_member_left,
    registry.TemporaryResidenceRegistered: h.on_residence,
    registry.TemporaryResidenceRenewed: h.on_residence,
    registry.TemporaryResidenceEnded: h.on_residence_ended,
    registry.TemporaryResidenceExpired: h.on_residence_expired,
    registry.BoardingHouseRegistered: h.on_boarding_house,
    registry.StayNotified: h.on_stay_notified,
    incidents.IncidentReported: h.on_incident_reported,
    incidents.IncidentTriaged: h.on_incident_triaged,
    incidents.IncidentAssigned: h.on_incident_assigned,
    incidents.IncidentDeadlineExtended: h.on_deadline_extended,
    incidents.IncidentOverdue: h.on_incident_overdue,
    incidents.IncidentResolved: h.on_incident_done,
    incidents.IncidentClosed: h.on_incident_done,
    incidents.IncidentReopened: h.on_incident_reopened,
    mediation.CaseOpened: h.on_case_opened,
    donations.PledgeInstalmentOverdue: h.on_pledge_overdue,
    donations.ExpenseProposed: h.on_expense_proposed,
    awards.NominationApproved: h.on_nomination_approved,
    awards.NominationRejected: h.on_nomination_rejected,
}
if hasattr(incidents, "TipAnswered"):
    HANDLERS[incidents.TipAnswered] = h.on_tip_answered
