"""Names people read for the services' vocabularies (shared/contracts), marked for translation."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


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
# -- police (incidents: the whole lifecycle, outcomes, assignees, warnings) ------------------------------------------
INCIDENT_STATES_ALL = {
    **INCIDENT_STATES, "resolved": _("Resolved"), "closed": _("Closed"),
}
INCIDENT_OUTCOMES = {
    "solved": _("Solved"), "unfounded": _("Unfounded"), "transferred": _("Transferred"),
    "referred_to_mediation": _("Referred to mediation"), "mediated": _("Settled by mediation"),
}
#: The outcomes police choose when resolving (the others come from mediation).
POLICE_OUTCOMES = ("solved", "unfounded", "transferred")
ASSIGNEE_KINDS = {"police": _("Police"), "team": _("A team of the ward")}
WARNING_KINDS = {"summons": _("Summons (gọi hỏi)"), "admonition": _("Admonition (răn đe)")}
#: The transitions of an incident's history (incidents' domain.Action and the scheduler's flag).
INCIDENT_ACTIONS = {
    "report": _("Reported"), "triage": _("Triaged"), "assign": _("Assigned"), "start": _("Work started"),
    "resolve": _("Resolved"), "refer_to_mediation": _("Referred to mediation"),
    "mediated": _("Settled by mediation"), "return_to_police": _("Returned to the police"),
    "close": _("Closed"), "reopen": _("Reopened"), "extend_deadline": _("Deadline extended"),
    "flag_overdue": _("Deadline passed"), "cite_footage": _("Footage cited"),
}
#: Who made a step of an incident's history when it was not a person's account (incidents writes these names).
INCIDENT_SYSTEM_ACTORS = {"reporter": _("The reporter"), "mediation": _("Mediation (automatically)"),
                          "scheduler": _("The automatic deadline check")}

# -- mediation (hòa giải ở cơ sở) ---------------------------------------------------------------------------------
CASE_STATUSES = {
    "received": _("Waiting for mediators"), "in_mediation": _("In mediation"),
    "succeeded": _("Mediated successfully"), "failed": _("Mediation failed"), "withdrawn": _("Withdrawn"),
    "refused": _("Refused"),
}
CASE_KINDS = {
    "family": _("Marriage and family"), "neighbours": _("Neighbours"),
    "property_or_land_boundary": _("Property, land boundary"), "other_civil": _("Other civil matter"),
}
CASE_ORIGINS = {
    "party_request": _("At a party's request"), "referral": _("Referred by the police"),
    "mediator_initiative": _("On a mediator's initiative"),
}
AGREEMENT_PROGRESS = {
    "carried_out": _("Carried out"), "partly_carried_out": _("Partly carried out"),
    "not_carried_out": _("Not carried out"),
}

# -- the group leader and the resident (pages_people.py) ---------------------------------------------------------
DECLARATION_KINDS = {"temporary_residence": _("Temporary residence"), "absence": _("Temporary absence")}
DECLARATION_STATUSES = {"active": _("Active"), "expired": _("Expired"), "ended": _("Ended")}
ABSENCE_CASES = {
    "bail_or_probation": _("On bail or probation (1 day or more)"),
    "military_age": _("Of military-service age (3 months or more)"),
    "other": _("Anyone else (12 months or more)"),
}
SEXES = {"female": _("Female"), "male": _("Male")}
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

# -- a team's compliance (registry's ``compliance``: codes with their parameters) --------------------------------
COMPLIANCE_ISSUES = {
    "no_leader": _("No team leader"),
    "too_few_mediators": _("Fewer than %(minimum)s mediators (%(active)s now)"),
    "no_woman_mediator": _("No woman among the mediators"),
}


def compliance_issue(issue: Mapping[str, Any] | str, gettext: Callable[[str], str]) -> str:
    """An issue in the reader's language: the sentence for its code with its parameters; the registry's English
    for a code the console does not know yet (or an issue that is only a sentence, from an older registry)."""
    if isinstance(issue, str):
        return issue
    text = COMPLIANCE_ISSUES.get(issue.get("code", ""))
    if text is not None:
        try:
            return gettext(text) % issue
        except (KeyError, TypeError, ValueError):  # a parameter missing: better the English than nothing
            pass
    return str(issue.get("message") or issue.get("code") or "")

# -- places (pages_map.py): how precisely a viewer sees where something happened (incidents' ``precision``) -------
PRECISIONS = {"exact": _("Exact point"), "approximate": _("Within about 100 m"),
              "group": _("The residential group only")}
#: What a chain of custody records of an evidence file (incidents' custody log).
CUSTODY_ACTIONS = {"upload": _("Uploaded"), "uploaded": _("Uploaded"), "list": _("Listed"), "listed": _("Listed"),
                   "view": _("Listed"), "download": _("Downloaded"), "downloaded": _("Downloaded")}
