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

# -- money, awards, registry (pages_money.py, pages_awards.py, pages_registry.py) --------------------------------
CHANNELS = {"cash": _("Cash"), "bank_transfer": _("Bank transfer"), "in_kind": _("In kind")}
DONOR_KINDS = {"household": _("Household"), "resident": _("Resident"), "organisation": _("Organisation"),
               "anonymous": _("Anonymous")}
REVERSAL_KINDS = {"refund": _("Refund"), "void": _("Void (entered by mistake)")}
EXPENSE_STATUSES = {"proposed": _("Awaiting approval"), "approved": _("Approved")}
NOMINATION_STATUSES = {"proposed": _("Proposed"), "reviewed": _("Reviewed by the council"),
                       "approved": _("Approved"), "rejected": _("Rejected")}
ISSUERS = {"ward_chairman": _("Chairman of the ward People's Committee"),
           "city_chairman": _("Chairman of the city People's Committee")}
RECIPIENT_KINDS = {"individual": _("Individual"), "collective": _("Collective"), "reporter": _("Reporter")}
MEMBER_ROLES = {"leader": _("Leader"), "deputy": _("Deputy"), "member": _("Member")}
