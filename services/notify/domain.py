"""The notify service's rules: the kinds of notification, which are urgent, the stable key of each fact, what a
message says (what to do, a link to the console, never a third party's personal data), the default channels and
the hint of a contact address shown back to its owner.

Pure functions: no I/O. The handlers (services/notify/handlers.py) decide who is told, from the projections.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.errors import InvalidInput

CHANNELS = ("email", "sms", "zalo")
KINDS = ("tip.deadline_near", "tip.overdue", "tip.assigned", "tip.answered", "mediation.case_waiting",
         "residence.expiring", "residence.expired", "stay.late", "pledge.overdue", "expense.second_approval",
         "award.decided")
URGENT = frozenset({"tip.overdue", "tip.answered"})
#: Without a preference for a kind: the in-app inbox always; email and SMS too for urgent kinds (if verified).
DEFAULT_URGENT_CHANNELS = ("email", "sms")
CODE_LIFE_S = 15 * 60
MAX_CODE_ATTEMPTS = 5


@dataclass(frozen=True)
class Message:
    """One notification's content: kind, the fact's stable key, title, body and the console path it links to."""

    kind: str
    fact_key: str
    title: str
    body: str
    path: str

    @property
    def urgent(self) -> bool:
        return self.kind in URGENT


def link(console_url: str, path: str) -> str:
    return console_url.rstrip("/") + path


def _group(groups: dict[str, Any], group_id: str | None) -> str:
    """A group's name (public: it is on every group's sign) or its id."""
    if group_id is None:
        return "the ward"
    row = groups.get(group_id)
    return f"group {row['name']}" if row else f"group {group_id}"


# -- messages, one per kind: ids, categories, dates and group names at most -------------------------------------
def tip_assigned(incident_id: str, category: str | None, group: str, to: str) -> Message:
    what = f"A report ({category})" if category else "A report"
    return Message("tip.assigned", f"incidents.assigned:{incident_id}:{to}", f"Report {incident_id} assigned to you",
                   f"{what} in {group} has been assigned to you. Open it in the console, read it and record what "
                   "you do.", f"/police/incidents/{incident_id}")


def tip_deadline_near(incident_id: str, deadline_on: date, group: str) -> Message:
    return Message("tip.deadline_near", f"incidents.deadline_near:{incident_id}:{deadline_on.isoformat()}",
                   f"Crime tip {incident_id}: decide by {deadline_on.isoformat()}",
                   f"The crime tip in {group} must be decided by {deadline_on.isoformat()}. Decide it, or extend the "
                   "deadline with its legal ground, in the console.", f"/police/incidents/{incident_id}")


def tip_overdue(incident_id: str, deadline_on: date, group: str) -> Message:
    return Message("tip.overdue", f"incidents.overdue:{incident_id}:{deadline_on.isoformat()}",
                   f"Crime tip {incident_id} is overdue",
                   f"The crime tip in {group} was to be decided by {deadline_on.isoformat()} and is not. Decide it "
                   "now in the console.", f"/police/incidents/{incident_id}")


def tip_answered(incident_id: str, message_id: str) -> Message:
    return Message("tip.answered", f"incidents.answered:{message_id}", f"The tipster answered on tip {incident_id}",
                   "The anonymous tipster answered your question. Read the answer on the tip's page in the console.",
                   f"/police/incidents/{incident_id}")


def case_waiting(case_id: str, kind: str, group: str) -> Message:
    return Message("mediation.case_waiting", f"mediation.case_waiting:{case_id}",
                   f"Mediation case {case_id} needs a mediator",
                   f"A mediation case ({kind.replace('_', ' ')}) in {group} was opened and has no mediator yet. "
                   "Assign one in the console.", f"/mediation/cases/{case_id}")


def residence_expiring(declaration_id: str, valid_until: date) -> Message:
    return Message("residence.expiring", f"residence.expiring:{declaration_id}:{valid_until.isoformat()}",
                   f"Your temporary residence ends on {valid_until.isoformat()}",
                   f"Your temporary residence registration ends on {valid_until.isoformat()}. Renew it before then "
                   "if you are staying, or tell the ward you are leaving.", "/my-declaration")


def residence_expired(declaration_id: str, expired_on: date, *, own: bool, group: str) -> Message:
    if own:
        return Message("residence.expired", f"residence.expired:{declaration_id}:{expired_on.isoformat()}",
                       "Your temporary residence has expired",
                       f"Your temporary residence registration ended on {expired_on.isoformat()}. Register again if "
                       "you are still staying.", "/my-declaration")
    return Message("residence.expired", f"residence.expired:{declaration_id}:{expired_on.isoformat()}",
                   f"Temporary residence {declaration_id} expired",
                   f"A temporary residence registration in {group} expired on {expired_on.isoformat()}. Check "
                   "whether the person still stays there.", "/group/declarations")


def stay_late(notice_id: str, group: str) -> Message:
    return Message("stay.late", f"stay.late:{notice_id}", f"Late stay notice {notice_id}",
                   f"A boarding house in {group} filed a stay notice late. Review it in the console.",
                   "/group/boarding-houses")


def pledge_overdue(pledge_id: str, number: int, due_on: date, campaign_id: str) -> Message:
    return Message("pledge.overdue", f"donations.pledge_overdue:{pledge_id}:{number}",
                   f"Pledge instalment {number} overdue",
                   f"Instalment {number} of pledge {pledge_id} (campaign {campaign_id}) was due on "
                   f"{due_on.isoformat()}. Follow it up with the household.", f"/campaigns/{campaign_id}")


def expense_second_approval(expense_id: str, campaign_id: str, amount_vnd: int) -> Message:
    return Message("expense.second_approval", f"donations.expense_proposed:{expense_id}",
                   f"Expense {expense_id} waits for your approval",
                   f"An expense of {amount_vnd:,} đồng from campaign {campaign_id} was proposed and waits for a "
                   "second official's approval. Review its invoice and approve it in the console.",
                   f"/campaigns/{campaign_id}")


def award_decided(nomination_id: str, approved: bool, title: str | None = None) -> Message:
    outcome = "approved" if approved else "not approved"
    what = f" ({title})" if title else ""
    return Message("award.decided", f"awards.decided:{nomination_id}", f"Nomination {outcome}",
                   f"The nomination {nomination_id}{what} was {outcome}. See it in the console.", "/awards")


# -- preferences and channels ---------------------------------------------------------------------------------
def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    return kind


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise InvalidInput(f"unknown channel {channel!r}; one of {', '.join(CHANNELS)}")
    return channel


def channels_for(kind: str, preference: dict[str, Any] | None, verified: set[str]) -> tuple[list[str], bool]:
    """The channels a notification of ``kind`` goes out by (besides the in-app inbox), and whether as a digest:
    the person's preference, else the default; only verified ones. Urgent kinds are never held for a digest."""
    if preference is None:
        wanted = list(DEFAULT_URGENT_CHANNELS) if kind in URGENT else []
        digest = False
    else:
        wanted, digest = list(preference["channels"]), bool(preference["digest"])
    return [c for c in CHANNELS if c in wanted and c in verified], digest and kind not in URGENT


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9]{8,15}$")


def normalise_address(channel: str, address: str) -> str:
    """An email address (lower-cased domain) or a phone number in international or national form (SMS and Zalo:
    a Zalo user is reached through the phone number they registered, or their user id under the OA)."""
    value = address.strip()
    if channel == "email":
        if not _EMAIL.match(value):
            raise InvalidInput("not an email address")
        local, domain_part = value.rsplit("@", 1)
        return f"{local}@{domain_part.lower()}"
    compact = re.sub(r"[\s.()-]", "", value)
    if channel == "zalo" and re.fullmatch(r"[0-9]{10,25}", compact) and not compact.startswith("0"):
        return compact  # a Zalo user id under the OA
    if not _PHONE.match(compact):
        raise InvalidInput("not a phone number")
    return compact


def address_hint(channel: str, address: str) -> str:
    """What is shown back of an address: '••••1234' for a number, 'n•••@example.org' for an email."""
    if channel == "email":
        local, domain_part = address.rsplit("@", 1)
        return f"{local[:1]}•••@{domain_part}"
    return "••••" + address[-4:]


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_digest(person_id: str, channel: str, code: str) -> bytes:
    """The code's SHA-256, bound to the person and channel (a code for one contact opens no other)."""
    return hashlib.sha256(f"{len(person_id)}:{person_id}|{channel}|{code}".encode()).digest()


def code_matches(stored: bytes, person_id: str, channel: str, code: str) -> bool:
    return hmac.compare_digest(bytes(stored), code_digest(person_id, channel, code))


def contact_context(person_id: str, channel: str) -> str:
    return f"{person_id}|{channel}"
