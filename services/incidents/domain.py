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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.contracts.incidents import Category
from shared.errors import InvalidInput, RuleViolation


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
POLICE_OUTCOMES: frozenset[str] = frozenset({"solved", "unfounded", "transferred"})

#: Open states a crime tip's deadline still runs in.
OPEN_STATES: frozenset[State] = frozenset({S.RECEIVED, S.TRIAGED, S.ASSIGNED, S.IN_PROGRESS})

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


# -- intake ----------------------------------------------------------------------------------------------------
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Place(_In):
    group_id: str = Field(min_length=1, max_length=64, description="The residential group (tổ dân phố)")
    address: str | None = Field(default=None, max_length=300)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)

    @model_validator(mode="after")
    def _both_coordinates(self) -> Place:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("give both latitude and longitude, or neither")
        return self


class Attachment(_In):
    """Evidence metadata (the file itself lives in object storage). ``file_name`` and ``captured_at`` are
    dropped for an anonymous tip: a file name or capture time can point to a device or a person."""

    media_type: str = Field(min_length=3, max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")
    size_bytes: int = Field(ge=1, le=2_000_000_000)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_name: str | None = Field(default=None, max_length=255)
    captured_at: datetime | None = None


class FootageCitation(_In):
    camera_id: str = Field(min_length=1, max_length=64, description="A registry facility id (security camera)")
    footage_from: datetime | None = None
    footage_to: datetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> FootageCitation:
        if self.footage_from and self.footage_to and self.footage_to < self.footage_from:
            raise ValueError("footage_to is before footage_from")
        return self


class ReporterContact(_In):
    """Identified reporters only: stored encrypted, shown to police only."""

    full_name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 .-]{6,32}$")


class ReportIn(_In):
    category: Category
    is_crime_tip: bool = Field(default=False, description="A crime tip (tố giác tội phạm) runs a 20-day deadline")
    place: Place
    happened_at: datetime | None = None
    description: str = Field(min_length=5, max_length=5000)
    evidence: list[Attachment] = Field(default_factory=list, max_length=20)
    footage: list[FootageCitation] = Field(default_factory=list, max_length=20)
    anonymous: bool = False
    reporter: ReporterContact | None = None

    @field_validator("happened_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("happened_at needs a time zone")
        return v

    @model_validator(mode="after")
    def _reporter(self) -> ReportIn:
        if self.anonymous and self.reporter is not None:
            raise ValueError("an anonymous report carries no reporter details")
        if not self.anonymous and self.reporter is None:
            raise ValueError("an identified report needs the reporter's name (or report anonymously)")
        if len({f.camera_id for f in self.footage}) != len(self.footage):
            raise ValueError("a camera is cited twice")
        return self

    def stored_evidence(self) -> list[dict]:
        drop = {"file_name", "captured_at"} if self.anonymous else set()
        return [a.model_dump(mode="json", exclude=drop) for a in self.evidence]


def check_not_future(happened_at: datetime | None, now: datetime) -> None:
    if happened_at is not None and happened_at > now + timedelta(minutes=5):
        raise InvalidInput("happened_at is in the future")


WarningKindIn = Literal["summons", "admonition"]
