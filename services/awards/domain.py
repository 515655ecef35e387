"""Rules of emulation and commendation (thi đua, khen thưởng) as the Law of 2022 lays them out, without I/O.

* An achievement (thành tích) is one holder's record of one kind in one year; it keeps the facts behind it.
* A criterion (tiêu chuẩn) says which achievements earn a nomination, and from which issuer.
* A nomination (đề nghị khen thưởng) goes proposed -> reviewed by the council (Hội đồng thi đua, khen thưởng,
  with its minutes) -> approved or rejected by the issuer with a decision (quyết định) number and date.
* An approved nomination is an award with a certificate of merit (Giấy khen) and a verification code; an award
  may be revoked (thu hồi) with a reason. One achievement backs at most one award.

Who may do what is a rule too: it takes the caller (``shared.actor.Principal``) as data.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from shared.actor import Principal, Role
from shared.clock import in_ward_time
from shared.contracts.awards import Issuer
from shared.errors import Forbidden, InvalidInput, RuleViolation

#: Which recipient an achievement kind can have: the law rewards individuals and collectives; a reporter is
#: an individual known only by a pseudonym.
HOLDER_KINDS: dict[str, set[str]] = {
    "mediations_succeeded": {"individual", "collective"},
    "tips_solved": {"reporter"},
    "cameras_helped": {"collective"},
    "collections": {"collective"},
    "campaign_target_reached": {"collective"},
    "fire_prevention_activity": {"collective"},
    "security_team_activity": {"collective"},
}

#: Who decides for each issuer: the ward's officials act for the ward chairman (Chủ tịch UBND phường), the
#: city's for the city chairman (Chủ tịch UBND thành phố).
DECIDING_ROLE: dict[str, Role] = {"ward_chairman": Role.WARD_OFFICIAL, "city_chairman": Role.CITY_OFFICIAL}

#: Who reads the ward's awards records, and who may act on a nomination or an award at all.
OFFICIALS = (Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)
#: Who configures criteria, proposes nominations and records the council's review: the ward's emulation office.
WARD_OFFICE = (Role.WARD_OFFICIAL, Role.ADMIN)

#: Allowed moves of a nomination; approval and rejection only after the council's review.
TRANSITIONS: dict[str, set[str]] = {
    "proposed": {"reviewed", "rejected"},
    "reviewed": {"approved", "rejected"},
    "approved": set(),
    "rejected": set(),
}

#: A registry id of each recipient kind names one of these (resident, team or group); a reporter has no name.
RECIPIENT_REF_KINDS: dict[str, tuple[str, ...]] = {"individual": ("resident",), "collective": ("team", "group")}

#: Registry team kinds whose strength is an achievement of the team.
ACTIVITY_KIND = {
    "fire_prevention": "fire_prevention_activity",
    "security_order": "security_team_activity",
    "anxh": "security_team_activity",
}

ACHIEVEMENT_NAMESPACE = uuid.UUID("4b0e7a52-2f63-4f3e-9a44-0a7d0c1e6a11")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed from paper


def achievement_id(ward_id: str, kind: str, holder_kind: str, holder_ref: str, year: int, scope: str = "") -> str:
    """Deterministic, so that recording the same achievement twice is one upsert."""
    return str(uuid.uuid5(ACHIEVEMENT_NAMESPACE, "|".join((ward_id, kind, holder_kind, holder_ref, str(year), scope))))


def ward_year(day: date | datetime) -> int:
    """The calendar year in the ward's zone (a fact at 23:30 on 31 December in Hà Nội counts for that year)."""
    if isinstance(day, datetime):
        return in_ward_time(day).year
    return day.year


def new_verification_code(year: int) -> str:
    """``GK-2024-XXXX-XXXX``: 40 random bits, unguessable, easy to read from paper."""
    body = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"GK-{year}-{body[:4]}-{body[4:]}"


def normalise_code(code: str) -> str:
    return code.strip().upper()


# -- who may do what -------------------------------------------------------------------------------------------
def ensure_official_of(actor: Principal, ward_id: str) -> None:
    """The ward's records (issuers, criteria, achievements, nominations, the festival) are read by officials."""
    actor.require(*OFFICIALS)
    actor.ensure_ward(ward_id)


def ensure_ward_office(actor: Principal, ward_id: str) -> None:
    """Criteria, evaluation and nominations by hand are the ward's emulation office's work."""
    actor.require(*WARD_OFFICE)
    actor.ensure_ward(ward_id)


def ensure_may_decide(actor: Principal, issuer: Issuer | str) -> None:
    """Only the issuer's level decides (approves, rejects, revokes, configures its authority): a ward official
    cannot sign for the city chairman, nor a city official for the ward chairman."""
    role = DECIDING_ROLE[issuer]
    if not actor.has(role, Role.ADMIN):
        raise Forbidden(f"only the {issuer.replace('_', ' ')}'s office ({role}) decides these nominations")


def ensure_claim_proven(proven: bool) -> None:
    """The printed code is not enough to name a reporter: only the reporter, through the follow-up, holds the
    claim secret (shared/claims.py)."""
    if not proven:
        raise Forbidden("the claim secret does not match this certificate")


# -- configuration ---------------------------------------------------------------------------------------------
def check_issuer_period(valid_from: date, valid_until: date | None) -> None:
    if valid_until is not None and valid_until < valid_from:
        raise InvalidInput("valid_until is before valid_from")


def check_holder_kind(kind: str, holder_kind: str) -> None:
    if holder_kind not in HOLDER_KINDS[kind]:
        allowed = ", ".join(sorted(HOLDER_KINDS[kind]))
        raise InvalidInput(f"achievements of kind {kind} are held by: {allowed}")


def check_criterion(achievement_kind: str, holder_kind: str, min_count: int, min_amount_vnd: int) -> None:
    """E.g. a mediator with at least 5 successful mediations earns a Giấy khen of the ward chairman."""
    check_holder_kind(achievement_kind, holder_kind)
    if min_count == 0 and min_amount_vnd == 0:
        raise InvalidInput("a criterion needs a minimum count or amount")


# -- nominations -----------------------------------------------------------------------------------------------
def check_evidence(achievement_ids: list[str], evidence_note: str | None) -> None:
    if not achievement_ids and not evidence_note:
        raise InvalidInput("a nomination needs evidence: achievement_ids or an evidence_note")


def check_backing(achievement_ids: list[str], found: Mapping[str, Mapping[str, Any]], *, recipient_kind: str,
                  recipient_ref: str, year: int) -> None:
    """A nomination by hand rests only on the ward's achievements of its recipient and its year."""
    for aid in achievement_ids:
        a = found.get(aid)
        if a is None:
            raise InvalidInput(f"achievement {aid} is not one of this ward's")
        if a["holder_ref"] != recipient_ref or a["holder_kind"] != recipient_kind:
            raise InvalidInput(f"achievement {aid} belongs to another holder")
        if a["year"] != year:
            raise InvalidInput(f"achievement {aid} is of {a['year']}, not {year}")


def check_transition(current: str, target: str) -> None:
    if target in TRANSITIONS.get(current, set()):
        return
    if current == "proposed" and target == "approved":
        raise RuleViolation("a nomination must be reviewed by the council before the issuer decides")
    raise RuleViolation(f"a nomination that is {current} cannot become {target}")


def name_on_award(recipient_kind: str, known_name: str | None) -> str | None:
    """The name an award carries: a reporter's never (they stay a pseudonym); anyone else's must be known."""
    if recipient_kind == "reporter":
        return None
    if not known_name:
        raise RuleViolation("the recipient's name is not known yet (no registry event names them)")
    return known_name


# -- awards ----------------------------------------------------------------------------------------------------
def check_revocable(status: str) -> None:
    if status == "revoked":
        raise RuleViolation("this award is already revoked")


def check_certifiable(status: str) -> None:
    if status == "revoked":
        raise RuleViolation("a revoked award has no certificate to issue")


def check_claimable(status: str) -> None:
    if status == "revoked":
        raise RuleViolation("this award was revoked")
