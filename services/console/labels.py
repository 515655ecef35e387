"""Names people read for the services' vocabularies (shared/contracts), marked for translation."""

from __future__ import annotations


def _(text: str) -> str:  # marks a string for extraction; translated when shown
    return text


TEAM_KINDS = {
    "anxh": _("Community security team"),
    "security_order": _("Security and order team"),
    "mediation": _("Mediation team"),
    "fire_prevention": _("Fire prevention team"),
    "mobilisation": _("Mobilisation team"),
}
INCIDENT_CATEGORIES = {
    "theft": _("Theft"), "fraud": _("Fraud"), "drugs": _("Drugs"), "fire": _("Fire"), "dispute": _("Dispute"),
    "public_order": _("Public order"), "other": _("Other"),
}
INCIDENT_STATES = {
    "received": _("Received"), "triaged": _("Triaged"), "assigned": _("Assigned"), "in_progress": _("In progress"),
}
CAMPAIGN_STATUSES = {"open": _("Open"), "closed": _("Closed")}

# -- the group leader and the resident (pages_people.py) --
DECLARATION_KINDS = {"temporary_residence": _("Temporary residence"), "absence": _("Temporary absence")}
DECLARATION_STATUSES = {"active": _("Active"), "expired": _("Expired"), "ended": _("Ended")}
ABSENCE_CASES = {
    "bail_or_probation": _("On bail or probation (1 day or more)"),
    "military_age": _("Of military-service age (3 months or more)"),
    "other": _("Anyone else (12 months or more)"),
}
SEXES = {"female": _("Female"), "male": _("Male")}
INCIDENT_STATES_LATER = {
    "resolved": _("Resolved"), "closed": _("Closed"),
}
INCIDENT_OUTCOMES = {
    "solved": _("Solved"), "unfounded": _("Unfounded"), "referred_to_mediation": _("Referred to mediation"),
    "mediated": _("Mediated"), "transferred": _("Transferred"),
}
