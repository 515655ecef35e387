"""Rules of incidents (tin báo, tố giác tội phạm): the lifecycle table, crime-tip deadlines, intake validation.

The lifecycle follows Open311 in spirit: received → triaged → assigned → in progress → resolved → closed, with
reopening. A dispute may be referred to mediation (a resolution with outcome ``referred_to_mediation``); the
mediation service's outcome then either settles it (``mediated``) or sends it back to the police.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from shared.actor import Principal, Role
from shared.errors import InvalidInput, NotFound, RuleViolation


class State(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(StrEnum):
    TRIAGE = "triage"
    ASSIGN = "assign"
    START = "start"
    RESOLVE = "resolve"
    REFER_TO_MEDIATION = "refer_to_mediation"
    MEDIATED = "mediated"                      # the mediation case succeeded
    RETURN_TO_POLICE = "return_to_police"      # the mediation case failed, was refused or withdrawn
    CLOSE = "close"
    REOPEN = "reopen"


S, A = State, Action
#: The whole lifecycle: (state, action) -> the next state. Anything not here is refused.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (S.RECEIVED, A.TRIAGE): S.TRIAGED,
    (S.TRIAGED, A.TRIAGE): S.TRIAGED,          # re-triage (category corrected) before anyone works on it
    (S.TRIAGED, A.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.ASSIGN): S.ASSIGNED,        # reassignment
    (S.IN_PROGRESS, A.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, A.START): S.IN_PROGRESS,
    (S.IN_PROGRESS, A.RESOLVE): S.RESOLVED,
    # A neighbours' quarrel need not be investigated first: police may refer it as soon as it is triaged.
    (S.TRIAGED, A.REFER_TO_MEDIATION): S.RESOLVED,
    (S.ASSIGNED, A.REFER_TO_MEDIATION): S.RESOLVED,
    (S.IN_PROGRESS, A.REFER_TO_MEDIATION): S.RESOLVED,
    (S.RESOLVED, A.MEDIATED): S.RESOLVED,
    (S.RESOLVED, A.RETURN_TO_POLICE): S.ASSIGNED,
    (S.RESOLVED, A.CLOSE): S.CLOSED,
    (S.RESOLVED, A.REOPEN): S.IN_PROGRESS,
    (S.CLOSED, A.REOPEN): S.IN_PROGRESS,
}

#: Outcomes police choose when resolving; ``referred_to_mediation`` has its own command, ``mediated`` comes
#: only from the mediation service's outcome.
PoliceOutcome = Literal["solved", "unfounded", "transferred"]

#: The states of an incident still being worked on: a crime tip's deadline runs, footage may be cited.
OPEN_STATES: frozenset[State] = frozenset({S.RECEIVED, S.TRIAGED, S.ASSIGNED, S.IN_PROGRESS})

#: The cameras one incident may cite (``IncidentResolved.camera_ids`` carries them all).
MAX_CAMERAS_CITED = 200

#: Who reads the ward's incidents, warnings and briefings (a resident sees only their own reports).
STAFF: tuple[Role, ...] = (Role.POLICE, Role.WARD_OFFICIAL, Role.CITY_OFFICIAL, Role.ADMIN)

CRIME_TIP_DAYS = 20
CRIME_TIP_MAX_MONTHS = 2


def next_state(state: State | str, action: Action, *, outcome: str | None = None) -> State:
    """The state after ``action``, or RuleViolation when the lifecycle does not allow it."""
    current = State(state)
    target = TRANSITIONS.get((current, action))
    if target is None:
        raise RuleViolation(f"an incident that is {current.value} cannot {action.value.replace('_', ' ')}")
    if action in (A.MEDIATED, A.RETURN_TO_POLICE) and outcome != "referred_to_mediation":
        raise RuleViolation("only an incident referred to mediation takes a mediation outcome")
    if action is A.CLOSE and outcome == "referred_to_mediation":
        raise RuleViolation("an incident referred to mediation stays open until the mediation outcome is known")
    if action is A.REOPEN and outcome == "referred_to_mediation" and current is S.RESOLVED:
        raise RuleViolation("an incident referred to mediation is awaiting its outcome; it cannot be reopened")
    return target


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def crime_tip_deadline(received_on: date) -> date:
    """A crime tip must be decided within 20 days of receipt (Criminal Procedure Code 2015, Art. 147)."""
    return received_on + timedelta(days=CRIME_TIP_DAYS)


def extended_deadline(received_on: date, current: date, already_extended: bool, requested: date | None) -> date:
    """Extend once, to at most 2 months from receipt; without a requested date, to the full 2 months."""
    if already_extended:
        raise RuleViolation("the deadline of a crime tip may be extended only once")
    limit = add_months(received_on, CRIME_TIP_MAX_MONTHS)
    new = requested or limit
    if new <= current:
        raise InvalidInput("the extended deadline must be later than the current one")
    if new > limit:
        raise RuleViolation(f"the deadline may be extended to at most 2 months from receipt ({limit.isoformat()})")
    return new


def is_overdue(state: State | str, deadline_on: date | None, flagged_for: date | None, today: date) -> bool:
    """An open crime tip past its deadline, not yet flagged for this deadline (so the event goes out once)."""
    return (
        deadline_on is not None and State(state) in OPEN_STATES and today > deadline_on and flagged_for != deadline_on
    )


# -- anonymous reporters: follow-up code and secret ------------------------------------------------------------
def new_follow_up_code() -> str:
    """Short enough to write down; unguessable enough together with the secret (which does the real work)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    body = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"TB-{body[:5]}-{body[5:]}"


def new_secret() -> str:
    return secrets.token_urlsafe(24)  # 192 bits: a fast hash is enough, nothing to brute-force


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str | None) -> bool:
    return stored_hash is not None and hmac.compare_digest(hash_secret(secret), stored_hash)


# -- who may do what --------------------------------------------------------------------------------------------
def is_staff(actor: Principal) -> bool:
    return actor.has(*STAFF)


def is_open(state: State | str) -> bool:
    return State(state) in OPEN_STATES


def ensure_may_see(actor: Principal, incident: dict[str, Any] | None, own_reporter_ref: str | None) -> dict[str, Any]:
    """An incident the caller may read: staff of its ward, or the resident who reported it (identified reports
    only: an anonymous tip is followed up with its code and secret). Any other answers as one that does not
    exist (404): its existence is not theirs to learn."""
    actor.ensure_reaches(incident["ward_id"] if incident else None, "no such incident")
    assert incident is not None
    owns = not incident["anonymous"] and own_reporter_ref is not None and incident["reporter_ref"] == own_reporter_ref
    if not (is_staff(actor) or owns):
        raise NotFound("no such incident")
    return incident


def sees_reporter(actor: Principal, ward_id: str) -> bool:
    """Only the police of the incident's ward ever see a reporter's (or a warned person's) identity."""
    return actor.has(Role.POLICE) and actor.can_access_ward(ward_id)


# -- rules of the police's commands -----------------------------------------------------------------------------
def triaged_deadline(is_crime_tip: bool, deadline_on: date | None, received_on: date) -> date | None:
    """A report that becomes a crime tip at triage runs its 20 days from receipt; one that stops being one has
    no deadline."""
    if not is_crime_tip:
        return None
    return deadline_on or crime_tip_deadline(received_on)


def ensure_referable(category: str) -> None:
    if category != "dispute":
        raise RuleViolation("only a dispute can be referred to mediation")


def ensure_footage_may_be_cited(state: State | str, cited: set[str], camera_id: str) -> None:
    """Footage is cited while the incident is open, of at most ``MAX_CAMERAS_CITED`` cameras (citing a camera
    again updates its period)."""
    if not is_open(state):
        raise RuleViolation("footage can be cited only while the incident is open")
    if camera_id not in cited and len(cited) >= MAX_CAMERAS_CITED:
        raise RuleViolation(f"an incident cites at most {MAX_CAMERAS_CITED} cameras")


def check_camera(camera: dict[str, Any] | None, ward_id: str, camera_id: str) -> None:
    """Footage of a camera the registry registered in this ward and has not decommissioned."""
    if camera is None or camera["ward_id"] != ward_id:
        raise InvalidInput(f"camera {camera_id!r} is not a registered camera of this ward")
    if camera["decommissioned_on"] is not None:
        raise RuleViolation(f"camera {camera_id!r} was decommissioned on {camera['decommissioned_on']}")


def check_group(group: dict[str, Any] | None, ward_id: str, group_id: str) -> None:
    if group is None or group["ward_id"] != ward_id:
        raise InvalidInput(f"unknown residential group {group_id!r} in this ward")


def check_team(team: dict[str, Any] | None, ward_id: str, team_id: str) -> None:
    if team is None or team["ward_id"] != ward_id:
        raise InvalidInput(f"unknown team {team_id!r} in this ward")


def ensure_extendable(is_crime_tip: bool, deadline_on: date | None, state: State | str) -> None:
    if not is_crime_tip or deadline_on is None:
        raise RuleViolation("only a crime tip has a deadline to extend")
    if not is_open(state):
        raise RuleViolation("the tip is already decided")


def awaits_mediation(state: State | str, outcome: str | None) -> bool:
    """Referred to mediation and still waiting for the case's outcome (a repeated or late outcome changes
    nothing)."""
    return State(state) is S.RESOLVED and outcome == "referred_to_mediation"


def check_not_future(happened_at: datetime | None, now: datetime) -> None:
    if happened_at is not None and happened_at > now + timedelta(minutes=5):
        raise InvalidInput("happened_at is in the future")


def check_issued_on(issued_on: date, today: date) -> None:
    if issued_on > today:
        raise InvalidInput("issued_on is in the future")


def month_bounds(month: str) -> tuple[date, date]:
    """The first day of a ``YYYY-MM`` month and of the next."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError as exc:
        raise InvalidInput("month must be YYYY-MM") from exc
    return first, add_months(first, 1)
