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
