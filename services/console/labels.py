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

# -- public pages (pages_public.py): a tip's state and outcome as its reporter reads them, a certificate's issuer --
TIP_STATES = {
    "received": _("Received: waiting to be looked at"), "triaged": _("Looked at by the police"),
    "assigned": _("Assigned to someone to handle"), "in_progress": _("Being handled"),
    "resolved": _("Resolved"), "closed": _("Closed"),
}
TIP_OUTCOMES = {
    "solved": _("Solved"), "unfounded": _("Not founded after checking"),
    "referred_to_mediation": _("Referred to the mediation team"), "mediated": _("Settled by mediation"),
    "transferred": _("Transferred to the competent authority"),
}
CERTIFICATE_ISSUERS = {"ward_chairman": _("Chairman of the ward People's Committee"),
                       "city_chairman": _("Chairman of the city People's Committee")}
